// The image demos, end to end through the CLI: node problems/image-demo.mjs denoise|deblur|inpaint
// (npm run demo:denoise, ...). Builds a degraded 128×128 Shepp–Logan phantom, writes it as 8-bit
// PNGs into out/images/NAME/, runs `sparsetune NAME` tuned against the clean image and without
// it (held-out pixels, and SURE where σ is known), and prints the PSNR before and after.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConvolutionOperator, gaussianKernel, psnr, Random, readPng, sheppLogan, writePng } from "../dist/node.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");
const SIZE = 128;
const name = process.argv[2];
const DEMOS = {
  // Gaussian noise σ = 20 grey levels on a phantom spanning 64..192 (little clipping at 0 and 255).
  denoise: { sigma: 20, args: [], runs: ["reference", "sure", "heldout"] },
  // Gaussian blur of σ = 1.5 pixels, then noise σ = 2.
  deblur: { sigma: 2, blur: 1.5, args: ["--kernel", "gaussian:1.5"], runs: ["reference", "sure", "heldout"] },
  // 40% of the pixels lost at random, noise σ = 2 on the rest.
  inpaint: { sigma: 2, missing: 0.4, args: ["--mask"], runs: ["reference", "heldout"] },
};
const demo = DEMOS[name];
if (!demo) {
  console.error(`usage: node problems/image-demo.mjs ${Object.keys(DEMOS).join("|")}`);
  process.exit(2);
}

const dir = join("out", "images", name);
mkdirSync(dir, { recursive: true });
const rng = new Random(2024);
const phantom = sheppLogan(SIZE, SIZE);
const clean = { ...phantom, data: phantom.data.map((v) => 64 + 128 * v) };
let degraded = Float64Array.from(clean.data);
if (demo.blur) {
  const { kernel, kh, kw } = gaussianKernel(demo.blur);
  degraded = new ConvolutionOperator(SIZE, SIZE, kernel, kh, kw).apply(clean.data, new Float64Array(SIZE * SIZE));
}
degraded = degraded.map((v) => v + demo.sigma * rng.normal());
const files = { clean: join(dir, "clean.png"), input: join(dir, "input.png") };
writePng(files.clean, clean);
const args = [...demo.args];
if (demo.missing) {
  const known = Float64Array.from(degraded, () => (rng.uniform() < demo.missing ? 0 : 255));
  degraded = degraded.map((v, p) => (known[p] ? v : 0));
  files.mask = join(dir, "mask.png");
  writePng(files.mask, { data: known, height: SIZE, width: SIZE });
  args.push(files.mask);
}
writePng(files.input, { data: degraded, height: SIZE, width: SIZE });
const before = psnr(clean.data, readPng(files.input).data, 255);
console.log(`${name}: ${SIZE}×${SIZE} phantom, input PSNR ${before.toFixed(2)} dB (${files.input})`);

for (const run of demo.runs) {
  const out = join(dir, `${run}.png`);
  const extra = run === "reference" ? ["--reference", files.clean] : run === "sure" ? ["--sure", "--sigma", String(demo.sigma)] : [];
  const r = spawnSync(process.execPath, [CLI, name, files.input, ...args, ...extra, "--out", out, "--json"], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(r.stderr.trim());
    process.exit(r.status ?? 1);
  }
  const report = JSON.parse(r.stdout);
  const after = psnr(clean.data, readPng(out).data, 255);
  console.log(`  ${report.criterion.name.padEnd(15)} tv = ${report.tv.toPrecision(3).padEnd(7)} PSNR ${before.toFixed(2)} → ${after.toFixed(2)} dB  ${report.solves} solves, ${report.seconds.toFixed(2)} s  (${out})`);
}
