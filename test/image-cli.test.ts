/**
 * The image front ends end to end through the built CLI (`npm test` builds first): small
 * phantoms made here, the outputs decoded again, and every bad input refused with one line,
 * exit 2 and no file written.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";
import { afterAll, describe, expect, it } from "vitest";
import { parseKernelSpec } from "../src/cli/image-commands.js";
import { psnr, type GreyImage } from "../src/imaging/image.js";
import { encodePng } from "../src/io/png-format.js";
import { readPng } from "../src/io/png.js";
import { Random } from "../src/linalg/random.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { createProblem } from "../src/problem.js";
import { sheppLogan } from "../src/problems/shepp-logan.js";
import { solve } from "../src/solvers/index.js";
import { inputError, runCliAsync as run } from "./support.js";

const root = mkdtempSync(join(tmpdir(), "sparsetune-image-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An N×N phantom in 8-bit grey levels 51..204 (noise rarely clips at 0 or 255) and a copy with noise σ = 15. */
function phantomPair(N: number, seed: number): [GreyImage, GreyImage] {
  const noise = new Random(seed);
  const clean = { ...sheppLogan(N, N), data: sheppLogan(N, N).data.map((v) => Math.round(51 + 153 * v)) };
  return [clean, { ...clean, data: clean.data.map((v) => Math.min(255, Math.max(0, Math.round(v + SIGMA * noise.normal())))) }];
}
const N = 32, SIGMA = 15;
const rng = new Random(7);
const [clean, noisy] = phantomPair(N, 7);

let folders = 0;
/** A fresh folder holding the given PNGs (name → image or raw bytes). */
function folder(files: Record<string, GreyImage | Uint8Array | string>): string {
  const dir = join(root, `case-${folders++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === "string" || content instanceof Uint8Array ? content : encodePng(content));
  }
  return dir;
}

/** The report JSON and the three outputs of a successful run, decoded. */
function outputs(dir: string, stem: string) {
  return {
    image: readPng(join(dir, `${stem}.png`)),
    compare: readPng(join(dir, `${stem}-compare.png`)),
    report: JSON.parse(readFileSync(join(dir, `${stem}.json`), "utf8")),
  };
}

describe("parseKernelSpec", () => {
  it("reads gaussian:W and allows kernels up to 2·min(h, w) − 1 pixels", () => {
    expect(parseKernelSpec("gaussian:1.5", 32, 32)).toMatchObject({ kh: 11, kw: 11, spec: "gaussian:1.5" });
    // 2⌈3W⌉ + 1 ≤ 2·8 − 1 = 15: W = 7/3 gives 15, just above gives 17.
    expect(parseKernelSpec("gaussian:2.3333", 8, 40).kh).toBe(15);
    inputError(() => parseKernelSpec("gaussian:2.34", 8, 40), /^--kernel: gaussian:2.34 is 17×17 pixels .* 8×40 image allows \(at most 15/);
    inputError(() => parseKernelSpec("gaussian:2.34", 40, 8), /at most 15/);
  });
});

// Independent runs side by side: each mostly waits on Node's start-up.
describe.concurrent("sparsetune denoise | deblur | inpaint: bad input", () => {
  const translucent = encode({ width: 2, height: 2, data: Uint8Array.from([10, 255, 20, 255, 30, 128, 40, 255]), channels: 2, depth: 8 });
  const small: GreyImage = { data: new Float64Array(16 * 32).fill(100), height: 16, width: 32 };
  const grey = (v: number): GreyImage => ({ data: new Float64Array(N * N).fill(v), height: N, width: N });
  const halfMask: GreyImage = { data: Float64Array.from({ length: N * N }, (_, p) => (p % 2 ? 255 : 0)), height: N, width: N };
  // A 33-byte file whose header declares 20000×20000 pixels (a decompression bomb).
  const bomb = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
  const inputs = { "in.png": noisy, "clean.png": clean, "small.png": small, "alpha.png": translucent, "text.png": "not a png\n", "mask.png": halfMask, "grey-mask.png": { ...halfMask, data: halfMask.data.map((v, p) => (p === 5 ? 128 : v)) }, "black.png": grey(0), "bomb.png": bomb };
  type Case = [string, (dir: string) => string[], RegExp];
  const cases: Case[] = [
    ["a missing input", (d) => ["denoise", join(d, "nope.png"), "--out", join(d, "o.png")], /nope\.png: cannot read/],
    ["an input that is not a PNG", (d) => ["denoise", join(d, "text.png"), "--out", join(d, "o.png")], /text\.png: is not a PNG image/],
    ["an unreadable input (a folder)", (d) => ["denoise", d, "--out", join(d, "o.png")], /cannot read/],
    ["alpha with translucent pixels", (d) => ["denoise", join(d, "alpha.png"), "--out", join(d, "o.png")], /alpha\.png: has an alpha channel with 1 transparent or translucent pixel/],
    ["a reference of another size", (d) => ["denoise", join(d, "in.png"), "--reference", join(d, "small.png"), "--out", join(d, "o.png")], /^sparsetune: --reference: .*small\.png is 16×32, expected the input's size 32×32/],
    ["a mask of another size", (d) => ["inpaint", join(d, "in.png"), "--mask", join(d, "small.png"), "--out", join(d, "o.png")], /^sparsetune: --mask: .*small\.png is 16×32, expected the input's size 32×32/],
    ["a mask that is not binary", (d) => ["inpaint", join(d, "in.png"), "--mask", join(d, "grey-mask.png"), "--out", join(d, "o.png")], /^sparsetune: --mask: .*grey-mask\.png is not binary: pixel \(0, 5\) is 128; expected only 0 \(unknown\) and 255/],
    ["a mask with no known pixel", (d) => ["inpaint", join(d, "in.png"), "--mask", join(d, "black.png"), "--out", join(d, "o.png")], /^sparsetune: --mask: .*black\.png has no known \(white\) pixel/],
    ["a missing mask", (d) => ["inpaint", join(d, "in.png"), "--out", join(d, "o.png")], /required option '--mask <MASK\.png>' not specified/],
    ["a missing kernel", (d) => ["deblur", join(d, "in.png"), "--out", join(d, "o.png")], /required option '--kernel <gaussian:W>' not specified/],
    ...["gaussian", "gaussian:", "gaussian: ", "gaussian:abc", "box:1", "gaussian:0", "gaussian:-1", "gaussian:Infinity", "gaussian:NaN", "Gaussian:1"].map(
      (spec): Case => [`kernel ${spec}`, (d) => ["deblur", join(d, "in.png"), "--kernel", spec, "--out", join(d, "o.png")], /^sparsetune: --kernel: expected gaussian:W with W > 0/],
    ),
    ["a kernel larger than the image", (d) => ["deblur", join(d, "in.png"), "--kernel", "gaussian:10.4", "--out", join(d, "o.png")], /^sparsetune: --kernel: gaussian:10\.4 is 65×65 pixels/],
    ...["0", "-1", "abc", "Infinity", "NaN", ""].map(
      (s): Case => [`--sigma "${s}"`, (d) => ["denoise", join(d, "in.png"), "--sigma", s, "--out", join(d, "o.png")], /option '--sigma <S>' argument .* is invalid\. expected a finite number > 0/],
    ),
    ["--sure without --sigma", (d) => ["denoise", join(d, "in.png"), "--sure", "--out", join(d, "o.png")], /^sparsetune: --sure: needs --sigma/],
    ["--sure with --reference", (d) => ["denoise", join(d, "in.png"), "--sure", "--sigma", "15", "--reference", join(d, "clean.png"), "--out", join(d, "o.png")], /cannot be used with/],
    ["an output in a missing folder", (d) => ["denoise", join(d, "in.png"), "--out", join(d, "no", "such", "o.png")], /^sparsetune: --out: no such folder/],
    ["an output under a file", (d) => ["denoise", join(d, "in.png"), "--out", join(d, "in.png", "o.png")], /^sparsetune: --out: no such folder/],
    ["an output on a pseudo file system", (d) => ["denoise", join(d, "in.png"), "--out", "/proc/o.png"], /^sparsetune: --out: expected a folder on a regular file system/],
    ["an output folder in the way of OUT.json", (d) => (mkdirSync(join(d, "o.json")), ["denoise", join(d, "in.png"), "--out", join(d, "o.png")]), /^sparsetune: --out: cannot write .*o\.json: something other than a file is in the way/],
    ["an output not named .png", (d) => ["denoise", join(d, "in.png"), "--out", join(d, "o.jpg")], /^sparsetune: --out: expected a \.png file name/],
    ["no --out", (d) => ["denoise", join(d, "in.png")], /required option '--out <OUT\.png>' not specified/],
    ["an image too large to reconstruct", (d) => ["denoise", join(d, "bomb.png"), "--out", join(d, "o.png")], /bomb\.png: expected an image of at most 16777216 pixels \(4096×4096\), its header says 20000×20000/],
    ["σ beyond the white level", (d) => ["denoise", join(d, "in.png"), "--sigma", "1e155", "--out", join(d, "o.png")], /^sparsetune: sigma: expected .* a number in \(0, 255\]/],
    ["--out the input", (d) => ["denoise", join(d, "in.png"), "--out", join(d, "in.png")], /^sparsetune: --out: expected outputs other than the inputs/],
    ["--out the mask", (d) => ["inpaint", join(d, "in.png"), "--mask", join(d, "mask.png"), "--out", join(d, "mask.png")], /^sparsetune: --out: expected outputs other than the inputs/],
  ];

  it.each(cases)("%s: one line on stderr, exit 2, nothing written", async (_what, args, pattern) => {
    const dir = folder(inputs);
    const argv = args(dir);
    const before = readdirSync(dir).sort();
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sparsetune: [^\n]+\n$/);
    expect(r.stderr).toMatch(pattern);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

/** PSNR (8-bit) of the library's own solves over a tv grid, quantised like the CLI's output: an independent route to the best tv. */
function gridBestPsnr(input: GreyImage, tvs: number[]): number {
  const y = input.data.map((v) => v / 255);
  let best = -Infinity;
  for (const tv of tvs) {
    const x = solve(createProblem({ A: new IdentityOperator(y.length), y, penalty: { tv }, grid: [input.height, input.width] }), { tol: 1e-10 }).x;
    const written = x.map((v) => Math.min(255, Math.max(0, Math.round(v * 255))));
    best = Math.max(best, psnr(clean.data, written, 255));
  }
  return best;
}

describe("sparsetune denoise | deblur | inpaint end to end", () => {
  it("denoise --reference: the three outputs, the report, and a PSNR no grid of the library's solves beats", async () => {
    const dir = folder({ "in.png": noisy, "clean.png": clean });
    const r = await run("denoise", join(dir, "in.png"), "--reference", join(dir, "clean.png"), "--sigma", String(SIGMA), "--out", join(dir, "out.png"), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { image, compare, report } = outputs(dir, "out");
    expect(JSON.parse(r.stdout)).toEqual(report);
    expect(readdirSync(dir).sort()).toEqual(["clean.png", "in.png", "out-compare.png", "out.json", "out.png"]);
    expect(image).toMatchObject({ height: N, width: N, bitDepth: 8 });
    // input | result | reference, 4 columns of black between them.
    expect(compare).toMatchObject({ height: N, width: 3 * N + 8, bitDepth: 8 });
    for (let r = 0; r < N; r++) {
      expect(Array.from(compare.data.subarray(r * compare.width, r * compare.width + N))).toEqual(Array.from(noisy.data.subarray(r * N, (r + 1) * N)));
      expect(Array.from(compare.data.subarray(r * compare.width + N + 4, r * compare.width + 2 * N + 4))).toEqual(Array.from(image.data.subarray(r * N, (r + 1) * N)));
      expect(Array.from(compare.data.subarray(r * compare.width + 2 * N + 8, (r + 1) * compare.width))).toEqual(Array.from(clean.data.subarray(r * N, (r + 1) * N)));
    }
    expect(report).toMatchObject({ command: "denoise", height: N, width: N, bitDepth: 8, sigma: SIGMA, criterion: { name: "reference" }, notices: [] });
    expect(report.psnr).toBeCloseTo(psnr(clean.data, image.data, 255), 10);
    expect(report.inputPsnr).toBeCloseTo(psnr(clean.data, noisy.data, 255), 10);
    expect(report.psnr).toBeGreaterThan(report.inputPsnr + 3);
    // The criterion is the reference MSE of the unquantised result, in 8-bit units²: close to the written image's.
    expect(report.criterion.value / (255 ** 2 / 10 ** (report.psnr / 10))).toBeCloseTo(1, 1);
    expect(report.tv).toBeGreaterThan(0);
    expect(report.seconds).toBeGreaterThan(0);
    expect(report.solves).toBeGreaterThan(1);
    expect(report.solution.converged).toBe(true);
    const tvs = Array.from({ length: 9 }, (_, k) => report.tv * 2 ** ((k - 4) / 2));
    // Tuned at tol 3e-4 (denoising against a reference): within 0.03 dB of exact solves.
    expect(report.psnr).toBeGreaterThanOrEqual(gridBestPsnr(noisy, tvs) - 0.03);
  });

  const quality = (dir: string, stem: string, reference = clean) => psnr(reference.data, readPng(join(dir, `${stem}.png`)).data, 255);

  it("denoise by SURE at the estimated noise level (the default): a better image; the human summary", async () => {
    // 48×48: at 32×32 the one-pixel skull makes held-out pixels a poor guide (measured +1.4 dB only).
    const [sharp, grainy] = phantomPair(48, 8);
    const dir = folder({ "in.png": grainy });
    const r = await run("denoise", join(dir, "in.png"), "--out", join(dir, "heldout.png"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/in\.png: denoised with tv = \S+ \(sure \S+\), \d+ solves, [\d.]+ s\n {2}wrote .*heldout\.png, .*heldout\.json, .*heldout-compare\.png\n$/);
    expect(outputs(dir, "heldout").report).toMatchObject({ criterion: { name: "sure" } });
    expect(outputs(dir, "heldout").report).not.toHaveProperty("psnr");
    expect(quality(dir, "heldout", sharp)).toBeGreaterThan(psnr(sharp.data, grainy.data, 255) + 4);
  });

  it("denoise --sure: the SURE criterion, no PSNR without a reference", async () => {
    const dir = folder({ "in.png": noisy });
    const r = await run("denoise", join(dir, "in.png"), "--sure", "--sigma", String(SIGMA), "--out", join(dir, "sure.png"), "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ criterion: { name: "sure" }, sigma: SIGMA });
    expect(JSON.parse(r.stdout)).not.toHaveProperty("psnr");
    expect(quality(dir, "sure")).toBeGreaterThan(psnr(clean.data, noisy.data, 255));
  });

  // SURE's df = the pieces the certificate resolves (kkt/index.ts pieceSystem).
  it("denoise --sure ends within 1 dB of the reference-tuned PSNR", async () => {
    const dir = folder({ "in.png": noisy, "clean.png": clean });
    const [byReference, bySure] = await Promise.all([
      run("denoise", join(dir, "in.png"), "--reference", join(dir, "clean.png"), "--out", join(dir, "ref.png"), "--json"),
      run("denoise", join(dir, "in.png"), "--sure", "--sigma", String(SIGMA), "--out", join(dir, "sure.png"), "--json"),
    ]);
    expect(quality(dir, "sure")).toBeGreaterThan(JSON.parse(byReference.stdout).psnr - 1);
    expect(bySure.code).toBe(0);
  });

  it("deblur --kernel gaussian:0.7 --reference improves on the blurred input", async () => {
    const { ConvolutionOperator } = await import("../src/operators/convolution.js");
    const { gaussianKernel } = await import("../src/imaging/gaussian.js");
    // 24×24: small enough for the generic solvers.
    const M = 24, sharp = { ...sheppLogan(M, M), data: sheppLogan(M, M).data.map((v) => 51 + 153 * v) };
    const { kernel, kh, kw } = gaussianKernel(0.7);
    const blurred = new ConvolutionOperator(M, M, kernel, kh, kw).apply(sharp.data, new Float64Array(M * M)).map((v) => Math.round(v + 2 * rng.normal()));
    const dir = folder({ "in.png": { ...sharp, data: blurred }, "clean.png": sharp });
    const r = await run("deblur", join(dir, "in.png"), "--kernel", "gaussian:0.7", "--reference", join(dir, "clean.png"), "--out", join(dir, "ref.png"), "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ command: "deblur", kernel: "gaussian:0.7", criterion: { name: "reference" } });
    expect(report.psnr).toBeGreaterThan(report.inputPsnr + 8);
  });

  it("inpaint --mask fills the unknown pixels, against the reference and on held-out known pixels", async () => {
    const known = Float64Array.from({ length: N * N }, () => (rng.uniform() < 0.3 ? 0 : 255));
    const holes = { ...clean, data: clean.data.map((v, p) => (known[p] ? v : 0)) };
    const dir = folder({ "in.png": holes, "clean.png": clean, "mask.png": { ...clean, data: known } });
    const [byReference, byHeldOut] = await Promise.all([
      run("inpaint", join(dir, "in.png"), "--mask", join(dir, "mask.png"), "--reference", join(dir, "clean.png"), "--out", join(dir, "ref.png"), "--json"),
      run("inpaint", join(dir, "in.png"), "--mask", join(dir, "mask.png"), "--out", join(dir, "heldout.png"), "--json"),
    ]);
    expect(byReference.code).toBe(0);
    expect(byHeldOut.code).toBe(0);
    const report = JSON.parse(byReference.stdout);
    expect(report).toMatchObject({ command: "inpaint", knownPixels: known.filter((v) => v > 0).length, criterion: { name: "reference" } });
    expect(report.psnr).toBeGreaterThan(report.inputPsnr + 5);
    expect(JSON.parse(byHeldOut.stdout).criterion.name).toBe("heldout-pixels");
    expect(quality(dir, "heldout")).toBeGreaterThan(report.inputPsnr + 5);
  });

  it("reads a 16-bit reference next to an 8-bit input in the input's units", async () => {
    const deepClean = encode({ width: N, height: N, data: Uint16Array.from(clean.data, (v) => v * 257), channels: 1, depth: 16 });
    const dir = folder({ "in.png": noisy, "clean8.png": clean, "clean16.png": deepClean });
    const [r8, r16] = await Promise.all([
      run("denoise", join(dir, "in.png"), "--reference", join(dir, "clean8.png"), "--out", join(dir, "a.png"), "--json"),
      run("denoise", join(dir, "in.png"), "--reference", join(dir, "clean16.png"), "--out", join(dir, "b.png"), "--json"),
    ]);
    const [a, b] = [JSON.parse(r8.stdout), JSON.parse(r16.stdout)];
    expect(b.psnr).toBeCloseTo(a.psnr, 10);
    expect(b.tv).toBeCloseTo(a.tv, 10);
    expect(outputs(dir, "b").compare.data).toEqual(outputs(dir, "a").compare.data);
  });

  it("keeps 16-bit input 16-bit, converts RGB with a notice, and replaces an existing output", async () => {
    const deep = encode({ width: N, height: N, data: Uint16Array.from(noisy.data, (v) => v * 257), channels: 1, depth: 16 });
    const rgb = encode({ width: N, height: N, data: Uint8Array.from({ length: 3 * N * N }, (_, i) => noisy.data[Math.floor(i / 3)]), channels: 3, depth: 8 });
    const dir = folder({ "deep.png": deep, "rgb.png": rgb, "old.png": "stale" });
    const [r16, rRgb] = await Promise.all([
      // --sure: the quickest criterion (σ in each PNG's own units).
      run("denoise", join(dir, "deep.png"), "--sure", "--sigma", String(SIGMA * 257), "--out", join(dir, "deep-out.png"), "--json"),
      run("denoise", join(dir, "rgb.png"), "--sure", "--sigma", String(SIGMA), "--out", join(dir, "old.png"), "--json"),
    ]);
    expect(r16.code).toBe(0);
    expect(rRgb.code).toBe(0);
    expect(outputs(dir, "deep-out").image.bitDepth).toBe(16);
    expect(outputs(dir, "deep-out").compare.bitDepth).toBe(16);
    expect(JSON.parse(r16.stdout)).toMatchObject({ bitDepth: 16, sigma: SIGMA * 257 });
    // The same image in 16-bit units: the same tv (intensities scaled to [0, 1] either way).
    expect(JSON.parse(r16.stdout).tv).toBeCloseTo(JSON.parse(rRgb.stdout).tv, 6);
    expect(JSON.parse(rRgb.stdout).notices).toEqual([`${join(dir, "rgb.png")}: converted RGB to grey (ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B)`]);
    expect(outputs(dir, "old").image).toMatchObject({ height: N, width: N, bitDepth: 8 });
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });
});
