/**
 * The image front ends: `sparsetune denoise | deblur | inpaint IN.png ... --out OUT.png`. Each
 * tunes tv itself and writes OUT.png (the input's bit depth), OUT.json (the report) and
 * OUT-compare.png (input | result | reference), all or nothing, after checking every input and
 * the output folder first.
 */
import { statSync } from "node:fs";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { InputError } from "../errors.js";
import { gaussianKernel, type Kernel } from "../imaging/gaussian.js";
import { psnr, quantise, sideBySide, type GreyImage } from "../imaging/image.js";
import type { ImageReconstruction, ReconstructOptions } from "../imaging/reconstruct.js";
import type { TuneEvent } from "../tune/tune.js";
import { runInterruptible } from "./interruptible.js";
import type { ReconstructWorkerData } from "./reconstruct-worker.js";
import { encodePng } from "../io/png-format.js";
import { readPng, type PngImage } from "../io/png.js";
import { toJson } from "./report.js";
import { prepareOutputDir, progressPrinter, removeCreated, writeOutputs } from "./tune-command.js";

export type ImageCommand = "denoise" | "deblur" | "inpaint";

const DONE: Record<ImageCommand, string> = { denoise: "denoised", deblur: "deblurred", inpaint: "inpainted" };

interface ImageFlags {
  out: string;
  sigma?: number;
  reference?: string;
  sure?: boolean;
  kernel?: string;
  mask?: string;
  json?: boolean;
}

function noiseLevel(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || !(v > 0)) throw new InvalidArgumentError("expected a finite number > 0 (the noise standard deviation in the PNG's units, 0-255 for 8-bit)");
  return v;
}

/** The white level of a decoded PNG: 255 or 65535. */
const whiteLevel = (png: PngImage) => 2 ** png.bitDepth - 1;

/** `gaussian:W`: W the Gaussian's standard deviation in pixels, its kernel (2⌈3W⌉ + 1 wide) at most 2·min(h, w) − 1. */
export function parseKernelSpec(spec: string, height: number, width: number): Kernel & { spec: string } {
  const match = /^gaussian:(.+)$/.exec(spec);
  const w = match ? Number(match[1]) : NaN;
  if (!match || match[1].trim() === "" || !Number.isFinite(w) || !(w > 0)) {
    throw new InputError("--kernel", `expected gaussian:W with W > 0 the blur's standard deviation in pixels (e.g. gaussian:1.5), got "${spec}"`);
  }
  const size = 2 * Math.ceil(3 * w) + 1, limit = 2 * Math.min(height, width) - 1;
  if (size > limit) {
    throw new InputError("--kernel", `gaussian:${w} is ${size}×${size} pixels (2⌈3W⌉ + 1), larger than a ${height}×${width} image allows (at most ${limit}: W ≤ ${Math.floor((limit - 1) / 2) / 3})`);
  }
  return { ...gaussianKernel(w), spec };
}

/** The mask PNG as 0/1 per pixel: it must have the input's size and only the values 0 and white. */
function readMask(path: string, input: PngImage): { mask: Uint8Array; png: PngImage } {
  const png = readPng(path);
  sameSize(png, input, "--mask", path);
  const white = whiteLevel(png), mask = new Uint8Array(png.data.length);
  for (let p = 0; p < mask.length; p++) {
    const v = png.data[p];
    if (v !== 0 && v !== white) {
      throw new InputError("--mask", `${path} is not binary: pixel (${Math.floor(p / png.width)}, ${p % png.width}) is ${v}; expected only 0 (unknown) and ${white} (known)`);
    }
    mask[p] = v === white ? 1 : 0;
  }
  if (!mask.includes(1)) throw new InputError("--mask", `${path} has no known (white) pixel`);
  return { mask, png };
}

function sameSize(image: PngImage, input: PngImage, flag: string, path: string): void {
  if (image.height !== input.height || image.width !== input.width) {
    throw new InputError(flag, `${path} is ${image.height}×${image.width}, expected the input's size ${input.height}×${input.width}`);
  }
}

/** OUT.png → its three outputs, checked (folder present and writable, names free) before the work. */
function prepareOutputs(out: string) {
  if (!/\.png$/i.test(out) || basename(out).length <= 4) throw new InputError("--out", `expected a .png file name, got "${out}"`);
  const dir = dirname(resolvePath(out));
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isDirectory) throw new InputError("--out", `no such folder ${dirname(out)} (the folder of ${out} must exist)`);
  const stem = basename(out).slice(0, -4);
  const names = { image: basename(out), report: `${stem}.json`, compare: `${stem}-compare.png` };
  // The folder exists, so this only probes it (pseudo file systems, write permission, names in the way).
  return { output: prepareOutputDir(dir, Object.values(names)), names, paths: { image: out, report: join(dirname(out), names.report), compare: join(dirname(out), names.compare) } };
}

function notices(...files: [string, PngImage | undefined][]): string[] {
  return files.flatMap(([path, png]) => (png ? png.notices.map((n) => `${path}: ${n}`) : []));
}

/** A decoded image in another PNG's units (a 16-bit reference next to an 8-bit input). */
function inUnits(png: PngImage, white: number): GreyImage {
  const scale = white / whiteLevel(png);
  return { data: scale === 1 ? png.data : png.data.map((v) => v * scale), height: png.height, width: png.width };
}

/** Returns true when Ctrl-C cancelled the tuning (the outputs are then those of the best tv so far). */
async function runImageCommand(command: ImageCommand, inputPath: string, flags: ImageFlags): Promise<boolean> {
  if (flags.sure && flags.sigma === undefined) throw new InputError("--sure", "needs --sigma S (the noise standard deviation in the PNG's units)");
  const input = readPng(inputPath);
  const white = whiteLevel(input);
  const referencePng = flags.reference !== undefined ? readPng(flags.reference) : undefined;
  if (referencePng) sameSize(referencePng, input, "--reference", flags.reference!);
  const kernel = command === "deblur" ? parseKernelSpec(flags.kernel!, input.height, input.width) : undefined;
  const mask = command === "inpaint" ? readMask(flags.mask!, input) : undefined;
  const { output, names, paths } = prepareOutputs(flags.out);
  // The outputs replace files atomically: one of them must not be an input.
  const inputs = [inputPath, flags.reference, flags.mask].filter((f): f is string => f !== undefined).map((f) => resolvePath(f));
  for (const written of Object.values(paths)) {
    if (inputs.includes(resolvePath(written))) throw new InputError("--out", `expected outputs other than the inputs (${written} is one of them)`);
  }
  const reference = referencePng && inUnits(referencePng, white);
  const options: ReconstructOptions = {
    range: white,
    sigma: flags.sigma,
    reference,
    criterion: reference ? "reference" : flags.sure ? "sure" : undefined,
  };
  const showProgress = !flags.json && process.stderr.isTTY === true;
  let result: ImageReconstruction;
  try {
    // In a worker thread: Ctrl-C stops the tuning after the current solve, at the best tv so far.
    const data: ReconstructWorkerData = { command, image: { data: input.data, height: input.height, width: input.width }, kernel, mask: mask?.mask, options };
    result = await runInterruptible<ImageReconstruction, TuneEvent>(new URL("./reconstruct-worker.js", import.meta.url), data, showProgress ? progressPrinter(true) : undefined);
  } catch (e) {
    removeCreated(output);
    throw e;
  }
  const written = quantise(result.image.data, input.bitDepth);
  const report = {
    command,
    input: inputPath,
    output: paths.image,
    compare: paths.compare,
    height: input.height,
    width: input.width,
    bitDepth: input.bitDepth,
    ...(kernel && { kernel: kernel.spec }),
    ...(mask && { knownPixels: mask.mask.reduce((s, v) => s + v, 0) }),
    ...(flags.sigma !== undefined && { sigma: flags.sigma }),
    tv: result.tv,
    criterion: result.criterion,
    ...(reference && { psnr: psnr(reference.data, written, white), inputPsnr: psnr(reference.data, input.data, white) }),
    seconds: result.seconds,
    solves: result.solves,
    solution: result.solution,
    cancelled: result.cancelled,
    notices: notices([inputPath, input], [flags.reference ?? "", referencePng], [flags.mask ?? "", mask?.png]),
  };
  const compare = sideBySide([input, result.image, ...(reference ? [reference] : [])]);
  writeOutputs(output, {
    [names.image]: encodePng(result.image, input.bitDepth),
    [names.report]: toJson(report) + "\n",
    [names.compare]: encodePng(compare, input.bitDepth),
  });
  if (flags.json) {
    process.stdout.write(toJson(report) + "\n");
    return result.cancelled;
  }
  const quality = report.psnr !== undefined ? `, PSNR ${report.inputPsnr!.toFixed(2)} → ${report.psnr.toFixed(2)} dB` : "";
  // The final solve's certificate is in the report; a human reader is told when it falls short.
  const unconverged = result.solution.converged ? "" : `  warning: the final solve did NOT converge (${result.solution.message ?? "no certificate"})\n`;
  process.stdout.write(
    `${inputPath}: ${DONE[command]} with tv = ${result.tv.toPrecision(4)} (${result.criterion.name} ${result.criterion.value.toPrecision(4)})${quality}, ${result.solves} solves, ${result.seconds.toFixed(2)} s\n` +
      unconverged +
      `  wrote ${paths.image}, ${paths.report}, ${paths.compare}\n`,
  );
  return result.cancelled;
}

function imageCommand(program: Command, command: ImageCommand, description: string): Command {
  return program
    .command(command)
    .argument("<IN.png>", "input image (grey or RGB, 8- or 16-bit; RGB is converted to grey)")
    .description(description)
    .requiredOption("--out <OUT.png>", "output image; OUT.json (report) and OUT-compare.png are written beside it, all or nothing")
    .option("--json", "print the report on stdout");
}

/** Register denoise, deblur and inpaint on the program. */
export function registerImageCommands(program: Command, onCancelled: () => void): void {
  const run = (command: ImageCommand) => async (input: string, flags: ImageFlags) => {
    if (await runImageCommand(command, input, flags)) onCancelled();
  };
  const reference = () => new Option("--reference <CLEAN.png>", "clean image of the same size: tune tv against it and report the PSNR").conflicts("sure");
  const sigma = () => new Option("--sigma <S>", "noise standard deviation in the PNG's units (0-255 for 8-bit); --sure needs it").argParser(noiseLevel);
  const sure = () => new Option("--sure", "tune tv by SURE at the given --sigma (denoise uses SURE by default, at an estimated σ; deblur otherwise held-out pixels)");
  imageCommand(program, "denoise", "TV denoising with tv tuned against --reference, by --sure, or by SURE at the noise level estimated from the image")
    .addOption(sigma()).addOption(reference()).addOption(sure())
    .action(run("denoise"));
  imageCommand(program, "deblur", "TV deblurring of a Gaussian blur with tv tuned against --reference, by --sure (Monte-Carlo), or on held-out pixels")
    .requiredOption("--kernel <gaussian:W>", "the blur: a Gaussian of standard deviation W pixels")
    .addOption(sigma()).addOption(reference()).addOption(sure())
    .action(run("deblur"));
  imageCommand(program, "inpaint", "TV inpainting of the pixels a mask marks unknown, tv tuned against --reference or on held-out known pixels")
    .requiredOption("--mask <MASK.png>", "same size as the input, only black (unknown) and white (known) pixels")
    .addOption(new Option("--reference <CLEAN.png>", "clean image of the same size: tune tv against it and report the PSNR"))
    .action(run("inpaint"));
}
