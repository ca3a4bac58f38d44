import { InputError } from "../errors.js";

/** A centred kernel, kh×kw row-major, as ConvolutionOperator takes it. */
export interface Kernel {
  kernel: Float64Array;
  kh: number;
  kw: number;
}

/** Largest standard deviation: its kernel spans about 6σ, and images are at most 4096 pixels across. */
const MAX_SIGMA = 1000;

/**
 * The sampled Gaussian blur of standard deviation σ = `sigma` pixels (the W of the CLI's
 * `--kernel gaussian:W` is σ, not a full width): g[i, j] ∝ exp(−(i² + j²)/(2σ²)) for
 * |i|, |j| ≤ ⌈3σ⌉, so the kernel is (2⌈3σ⌉ + 1) pixels wide, normalised to sum 1. It is
 * mirror-symmetric, so deblurring with it has the fast DCT normal-equation solver.
 * dimensions 1 gives the 1×(2⌈3σ⌉ + 1) kernel of a 1-D signal.
 */
export function gaussianKernel(sigma: number, dimensions: 1 | 2 = 2): Kernel {
  if (typeof sigma !== "number" || !Number.isFinite(sigma) || !(sigma > 0)) {
    throw new InputError("kernel", `expected gaussian:W with W the standard deviation in pixels, a finite number > 0, got ${sigma}`);
  }
  if (sigma > MAX_SIGMA) throw new InputError("kernel", `expected gaussian:W with W at most ${MAX_SIGMA} pixels (a kernel of at most ${2 * Math.ceil(3 * MAX_SIGMA) + 1} pixels across), got ${sigma}`);
  const radius = Math.ceil(3 * sigma), size = 2 * radius + 1;
  const profile = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) sum += profile[i] = Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) profile[i] /= sum;
  if (dimensions === 1) return { kernel: profile, kh: 1, kw: size };
  // The 2-D Gaussian is separable: the outer product of the normalised profile sums to 1.
  const kernel = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) kernel[i * size + j] = profile[i] * profile[j];
  return { kernel, kh: size, kw: size };
}
