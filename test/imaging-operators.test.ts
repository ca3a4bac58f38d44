/**
 * Imaging: the FFT/DCT plans, the convolution, mask and subsampled-DCT operators, the fast
 * normal-equation solver and the image helpers, each against an oracle written out here entry by
 * entry (the O(N²) DFT and DCT matrices, dense operators, ml-matrix's dense solve) or against
 * values printed by scipy.
 */
import fc from "fast-check";
import { Matrix, SingularValueDecomposition, solve as mlSolve } from "ml-matrix";
import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import { gaussianKernel } from "../src/imaging/gaussian.js";
import { imageFromNdarray, imageToNdarray, psnr, quantise, sideBySide } from "../src/imaging/image.js";
import { Random } from "../src/linalg/random.js";
import { ConvolutionOperator } from "../src/operators/convolution.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { dotTest } from "../src/operators/dot-test.js";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { MaskOperator } from "../src/operators/mask.js";
import { fastNormalSolver } from "../src/operators/normal-equations.js";
import type { LinearOperator } from "../src/operators/operator.js";
import { randomDctIndices, SubsampledDctOperator } from "../src/operators/subsampled-dct.js";
import { Dct2Plan, DctPlan } from "../src/transforms/dct.js";
import { FftPlan } from "../src/transforms/fft.js";
import { inputError, maxAbsDiff } from "./support.js";

/** The one-line InputError (checked by support's inputError) that fn throws, its message matching `pattern`. */
function rejects(fn: () => unknown, pattern: RegExp): void {
  expect(inputError(fn).message).toMatch(pattern);
}

const SIZES = [1, 2, 3, 5, 8, 17, 64, 100];

function vector(n: number, seed: number): Float64Array {
  const rng = new Random(seed);
  return Float64Array.from({ length: n }, () => rng.normal());
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

/** Dense m×n matrix (row-major number[][]) times a vector. */
function times(M: number[][], x: ArrayLike<number>): Float64Array {
  return Float64Array.from(M, (row) => row.reduce((s, v, j) => s + v * x[j], 0));
}
const transpose = (M: number[][]) => M[0].map((_, j) => M.map((row) => row[j]));

/** The dense matrix of an operator, column by column (A e_j), to compare with one written out. */
function denseOf(op: LinearOperator): number[][] {
  const M = Array.from({ length: op.rows }, () => new Array<number>(op.cols).fill(0));
  const e = new Float64Array(op.cols), col = new Float64Array(op.rows);
  for (let j = 0; j < op.cols; j++) {
    e.fill(0);
    e[j] = 1;
    op.apply(e, col);
    for (let i = 0; i < op.rows; i++) M[i][j] = col[i];
  }
  return M;
}

/** The orthonormal DCT-II matrix, C[k][n] = s_k cos(πk(2n+1)/(2N)). */
function dctMatrix(N: number): number[][] {
  return Array.from({ length: N }, (_, k) => Array.from({ length: N }, (_, n) => Math.sqrt((k === 0 ? 1 : 2) / N) * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * N))));
}

/** C_h ⊗ C_w: coefficient (k, l) at row k·w + l, pixel (r, c) at column r·w + c. */
function dct2Matrix(h: number, w: number): number[][] {
  const Ch = dctMatrix(h), Cw = dctMatrix(w);
  return Array.from({ length: h * w }, (_, row) => Array.from({ length: h * w }, (_, col) => Ch[Math.floor(row / w)][Math.floor(col / w)] * Cw[row % w][col % w]));
}

describe("FftPlan", () => {
  for (const n of [...SIZES, 4, 7, 127, 481]) {
    it(`matches the O(N²) DFT for N = ${n}, inverts it, and works in place`, () => {
      const x = vector(2 * n, n);
      const expected = new Float64Array(2 * n);
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < n; j++) {
          const a = (-2 * Math.PI * ((j * k) % n)) / n, c = Math.cos(a), s = Math.sin(a);
          expected[2 * k] += x[2 * j] * c - x[2 * j + 1] * s;
          expected[2 * k + 1] += x[2 * j] * s + x[2 * j + 1] * c;
        }
      }
      const plan = new FftPlan(n);
      const X = plan.forward(x, new Float64Array(2 * n));
      expect(maxAbsDiff(X, expected)).toBeLessThan(1e-15 * Math.sqrt(n) * maxAbs(expected));
      const back = plan.inverse(X, new Float64Array(2 * n));
      expect(maxAbsDiff(back, x)).toBeLessThan(1e-15 * Math.sqrt(n) * maxAbs(x));
      const inPlace = Float64Array.from(x);
      plan.forward(inPlace, inPlace);
      expect(maxAbsDiff(inPlace, X)).toBe(0);
      plan.inverse(inPlace, inPlace);
      expect(maxAbsDiff(inPlace, back)).toBe(0);
    });
  }
  it("rejects lengths that are not positive integers", () => {
    for (const n of [0, -3, 2.5, NaN]) rejects(() => new FftPlan(n), /size/);
  });
});

describe("DctPlan and Dct2Plan (orthonormal DCT-II / DCT-III)", () => {
  for (const n of SIZES) {
    it(`N = ${n}: equals the explicit DCT matrix, is orthonormal and inverted by the DCT-III`, () => {
      const C = dctMatrix(n), plan = new DctPlan(n);
      const x = vector(n, 7 + n);
      const X = plan.forward(x, new Float64Array(n));
      expect(maxAbsDiff(X, times(C, x))).toBeLessThan(3e-15 * Math.sqrt(n) * maxAbs(x));
      expect(maxAbsDiff(plan.inverse(x, new Float64Array(n)), times(transpose(C), x))).toBeLessThan(3e-15 * Math.sqrt(n) * maxAbs(x));
      expect(Math.abs(norm(X) - norm(x))).toBeLessThan(1e-15 * norm(x) * Math.sqrt(n));
      const back = plan.inverse(X, new Float64Array(n));
      expect(maxAbsDiff(back, x)).toBeLessThan(1e-15 * Math.sqrt(n) * maxAbs(x));
      // in place (out = input) gives the same numbers
      const inPlace = Float64Array.from(x);
      expect(maxAbsDiff(plan.forward(inPlace, inPlace), X)).toBe(0);
    });
  }

  it("agrees with scipy.fft.dctn(x, norm='ortho') on a 4×5 image", () => {
    const x = Float64Array.from({ length: 20 }, (_, p) => { const r = Math.floor(p / 5), c = p % 5; return ((3 * r + 5 * c) % 7) - 1.5 * r + 0.25 * c; });
    const scipy = [
      5.366563145999495, -2.1052533425264093, -0.42275890451194104, -1.3011181206106455, 2.8976326386648568,
      8.52874188172525, -1.754813352411814, -0.12208727730058011, -3.3112838995515927, -1.2173047359772338,
      -1.565247584249853, -2.1052533425264097, -1.7908354576059247, -1.3011181206106457, -0.6840382765469917,
      1.307884518948692, 1.264797903228416, 4.384933809538413, -4.594161000526277, -1.1513554457489092,
    ];
    expect(maxAbsDiff(new Dct2Plan(4, 5).forward(x, new Float64Array(20)), scipy)).toBeLessThan(1e-14);
  });

  for (const [h, w] of [[1, 1], [1, 6], [6, 1], [2, 3], [4, 4], [6, 7], [9, 5]]) {
    it(`${h}×${w}: the 2-D plan equals C_h ⊗ C_w, its inverse is the transpose, in place or not`, () => {
      const C2 = dct2Matrix(h, w), plan = new Dct2Plan(h, w);
      const x = vector(h * w, h * 10 + w);
      const X = plan.forward(x, new Float64Array(h * w));
      expect(maxAbsDiff(X, times(C2, x))).toBeLessThan(2e-15 * maxAbs(x) * Math.sqrt(h * w));
      const back = plan.inverse(X, new Float64Array(h * w));
      expect(maxAbsDiff(back, x)).toBeLessThan(2e-15 * maxAbs(x) * Math.sqrt(h * w));
      expect(maxAbsDiff(plan.inverse(x, new Float64Array(h * w)), times(transpose(C2), x))).toBeLessThan(2e-15 * maxAbs(x) * Math.sqrt(h * w));
      const inPlace = Float64Array.from(x);
      plan.forward(inPlace, inPlace);
      expect(maxAbsDiff(inPlace, X)).toBe(0);
      plan.inverse(inPlace, inPlace);
      expect(maxAbsDiff(inPlace, back)).toBe(0);
      // Three images back to back (their rows share FFTs across images): each one's transform.
      const three = Float64Array.from({ length: 3 * h * w }, (_, i) => Math.sin(0.7 * i + h));
      for (const inverse of [false, true]) {
        const together = Float64Array.from(three);
        plan.transformImages(together, 3, inverse);
        for (let i = 0; i < 3; i++) {
          const one = three.subarray(i * h * w, (i + 1) * h * w);
          const alone = inverse ? plan.inverse(one, new Float64Array(h * w)) : plan.forward(one, new Float64Array(h * w));
          expect(maxAbsDiff(together.subarray(i * h * w, (i + 1) * h * w), alone)).toBeLessThan(2e-15 * maxAbs(one) * Math.sqrt(h * w));
        }
      }
    });
  }

  it("keeps ‖x‖ and inverts exactly to rounding on random sizes and scales (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: -200, max: 200 }), fc.integer(), (h, w, e, seed) => {
        const scale = 2 ** e, plan = new Dct2Plan(h, w);
        const x = vector(h * w, seed).map((v) => v * scale);
        const X = plan.forward(x, new Float64Array(h * w));
        expect(Math.abs(norm(X) - norm(x))).toBeLessThanOrEqual(1e-14 * norm(x));
        expect(maxAbsDiff(plan.inverse(X, new Float64Array(h * w)), x)).toBeLessThanOrEqual(1e-14 * maxAbs(x));
      }),
      { numRuns: 60 },
    );
  });
});

/** 1-D half-sample symmetric extension written as numpy pad mode "symmetric" lays it out: reversed, as is, reversed. */
function symmetricSource(n: number): (p: number) => number {
  const tiled = [...Array.from({ length: n }, (_, i) => n - 1 - i), ...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: n }, (_, i) => n - 1 - i)];
  return (p) => tiled[p + n];
}

/** The convolution matrix entry by entry: row (r, c) gets g[i, j] at the pixel x̃[r − (i − ρh), c − (j − ρw)] comes from. */
function convolutionMatrix(h: number, w: number, g: ArrayLike<number>, kh: number, kw: number): number[][] {
  const rowOf = symmetricSource(h), colOf = symmetricSource(w), rh = (kh - 1) / 2, rw = (kw - 1) / 2;
  const M = Array.from({ length: h * w }, () => new Array<number>(h * w).fill(0));
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++)
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) M[r * w + c][rowOf(r - (i - rh)) * w + colOf(c - (j - rw))] += g[i * kw + j];
  return M;
}

const oddUpTo = (max: number) => fc.integer({ min: 0, max: (max - 1) / 2 }).map((r) => 2 * r + 1);
const convolutionCase = fc
  .record({ h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 6 }) })
  .chain(({ h, w }) => fc.record({ h: fc.constant(h), w: fc.constant(w), kh: oddUpTo(2 * h - 1), kw: oddUpTo(2 * w - 1), seed: fc.integer() }));

describe("ConvolutionOperator", () => {
  it("equals the convolution matrix written entry by entry, Aᵀ its transpose, and passes the dot test (fast-check)", () => {
    fc.assert(
      fc.property(convolutionCase, ({ h, w, kh, kw, seed }) => {
        const g = vector(kh * kw, seed);
        const A = new ConvolutionOperator(h, w, g, kh, kw, { normalise: false });
        const M = convolutionMatrix(h, w, g, kh, kw);
        const dense = denseOf(A);
        expect(maxAbsDiff(dense.flat(), M.flat())).toBeLessThan(1e-14 * (1 + maxAbs(g)) * kh * kw);
        const y = vector(h * w, seed + 1);
        expect(maxAbsDiff(A.applyT(y, new Float64Array(h * w)), times(transpose(M), y))).toBeLessThan(1e-13 * maxAbs(g) * kh * kw * (1 + maxAbs(y)));
        expect(dotTest(A, vector(h * w, seed + 2), y)).toBeLessThan(1e-14);
      }),
      { numRuns: 150 },
    );
  });

  it("applies mirror-symmetric kernels of more than 80 taps through the DCT, still the dense matrix (and other large kernels directly)", () => {
    const rng = new Random(3);
    /** An irregular kh×kw kernel, mirror-symmetric: its entries depend on the distances to the edges. */
    const mirrored = (kh: number, kw: number) => Float64Array.from({ length: kh * kw }, (_, p) => {
      const i = Math.floor(p / kw), j = p % kw;
      return 1 + Math.abs(Math.sin(7 * Math.min(i, kh - 1 - i) + 3 * Math.min(j, kw - 1 - j) + 1));
    });
    const skewed = Float64Array.from({ length: 81 }, () => rng.uniform());
    const cases: [number, number, Float64Array, number, number][] = [
      [6, 7, gaussianKernel(1.2).kernel, 9, 9], [5, 6, mirrored(9, 11), 9, 11], [1, 50, mirrored(1, 81), 1, 81], [6, 7, skewed, 9, 9],
    ];
    for (const [h, w, g, kh, kw] of cases) {
      const A = new ConvolutionOperator(h, w, g, kh, kw);
      const sum = g.reduce((s, v) => s + v, 0), M = convolutionMatrix(h, w, g.map((v) => v / sum), kh, kw);
      expect(maxAbsDiff(denseOf(A).flat(), M.flat())).toBeLessThan(1e-15 * Math.sqrt(h * w));
      const y = Float64Array.from({ length: h * w }, () => rng.normal());
      expect(maxAbsDiff(A.applyT(y, new Float64Array(h * w)), times(transpose(M), y))).toBeLessThan(1e-15 * Math.sqrt(h * w) * maxAbs(y));
      expect(dotTest(A, Float64Array.from({ length: h * w }, () => rng.normal()), y)).toBeLessThan(1e-14);
    }
  });

  it("agrees with scipy.ndimage.convolve(x, k, mode='reflect'), also with a 5×3 kernel on a 3×4 image", () => {
    const x = Float64Array.from({ length: 20 }, (_, p) => { const r = Math.floor(p / 5), c = p % 5; return ((3 * r + 5 * c) % 7) - 1.5 * r + 0.25 * c; });
    const A = new ConvolutionOperator(4, 5, [1, 2, 0, -1, 3, 4, 0.5, 0, -2], 3, 3, { normalise: false });
    const scipy = [0.125, 18.5, 33.375, 16.75, 25.5, 20.625, 4.0, -2.125, 23.25, 25.0, 7.375, 8.25, 9.125, -25.0, -16.25, -27.875, -37.5, -15.625, 2.75, -9.5];
    expect(maxAbsDiff(A.apply(x, new Float64Array(20)), scipy)).toBeLessThan(1e-13);
    const x2 = Float64Array.from({ length: 12 }, (_, p) => x[Math.floor(p / 4) * 5 + (p % 4)]);
    const B = new ConvolutionOperator(3, 4, [1, -2, 3, 0.5, 1, 0, 2, 2, -1, 1, 0, 1, 0, 4, 1], 5, 3, { normalise: false });
    expect(maxAbsDiff(B.apply(x2, new Float64Array(12)), [28.875, 29.75, 41.125, 32.375, 14.125, 39.5, 43.875, 21.125, 11.625, 37.0, 6.375, 18.625])).toBeLessThan(1e-13);
  });

  it("normalises a non-negative kernel to sum 1 by default, so constants are kept", () => {
    const A = new ConvolutionOperator(3, 4, [1, 2, 1, 2, 4, 2, 1, 2, 1], 3, 3);
    expect(Array.from(A.kernel)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));
    expect(maxAbsDiff(A.apply(new Float64Array(12).fill(3), new Float64Array(12)), new Float64Array(12).fill(3))).toBeLessThan(1e-15);
  });

  it("has the DCT eigenvalues Σ g[i,j] cos(πk(i−ρh)/h) cos(πl(j−ρw)/w) for a mirror-symmetric kernel", () => {
    const cases: [number, number, number[], number, number][] = [
      [5, 6, [1, 2, 1, 2, 5, 2, 1, 2, 1], 3, 3],
      [4, 3, [1, 3, 1, 2, 0, 2, 1, 3, 1, 0.5, 7, 0.5, 1, 3, 1, 2, 0, 2, 1, 3, 1], 7, 3], // as tall as 2h − 1
      [1, 7, [1, 4, 6, 4, 1], 1, 5],
      [6, 5, Array.from(gaussianKernel(0.8).kernel), 7, 7],
    ];
    for (const [h, w, g, kh, kw] of cases) {
      const A = new ConvolutionOperator(h, w, g, kh, kw);
      expect(A.mirrorSymmetric).toBe(true);
      const C = dct2Matrix(h, w);
      // C A Cᵀ, entry by entry
      const CA = C.map((row) => A.applyT(Float64Array.from(row), new Float64Array(h * w))); // rows of C A = (Aᵀ c_k)ᵀ
      const lambda = A.dctEigenvalues(new Float64Array(h * w));
      for (let a = 0; a < h * w; a++) {
        for (let b = 0; b < h * w; b++) {
          const v = CA[a].reduce((s, t, p) => s + t * C[b][p], 0);
          expect(Math.abs(v - (a === b ? lambda[a] : 0))).toBeLessThan(1e-14 * h * w);
        }
      }
    }
  });

  it("is not mirror-symmetric for a skewed or only point-symmetric kernel, and then the DCT does not diagonalise it", () => {
    expect(new ConvolutionOperator(4, 4, [1, 2, 3], 1, 3).mirrorSymmetric).toBe(false);
    const diagonal = new ConvolutionOperator(4, 5, [1, 0, 0, 0, 2, 0, 0, 0, 1], 3, 3); // g[i,j] = g[−i,−j] only
    expect(diagonal.mirrorSymmetric).toBe(false);
    expect(new ConvolutionOperator(4, 5, [1, 2, 1, 5, 5, 5, 0, 1, 0], 3, 3).mirrorSymmetric).toBe(false); // rows mirror, columns do not
    expect(new ConvolutionOperator(4, 5, [1, 2, 3, 4, 5, 6, 1, 2, 3], 3, 3).mirrorSymmetric).toBe(false); // columns mirror, rows do not
    const C = dct2Matrix(4, 5), M = denseOf(diagonal);
    const CMCt = C.map((row) => C.map((other) => row.reduce((s, v, p) => s + v * times(M, other)[p], 0)));
    expect(maxAbs(CMCt.flatMap((row, a) => row.filter((_, b) => a !== b)))).toBeGreaterThan(0.1);
  });

  it("rejects bad kernels and sizes with InputErrors", () => {
    rejects(() => new ConvolutionOperator(4, 4, [1, 1], 1, 2), /kernel: expected odd/);
    rejects(() => new ConvolutionOperator(4, 4, [1, 1, 1], 1, 3.5), /kernel: expected odd/);
    rejects(() => new ConvolutionOperator(2, 4, new Array(5).fill(1), 5, 1), /kernel: expected at most 3×7/);
    rejects(() => new ConvolutionOperator(3, 3, [1, 1], 1, 3), /kernel: expected 1×3 = 3 entries, got 2/);
    rejects(() => new ConvolutionOperator(3, 3, [1, NaN, 1], 1, 3), /kernel: expected finite/);
    rejects(() => new ConvolutionOperator(3, 3, [1, -1, 1], 1, 3), /kernel: expected non-negative entries summing to a positive number/);
    rejects(() => new ConvolutionOperator(3, 3, [0, 0, 0], 1, 3), /kernel: expected non-negative entries summing to a positive number/);
    rejects(() => new ConvolutionOperator(0, 3, [1], 1, 1), /image: expected positive integer/);
    expect(Array.from(new ConvolutionOperator(3, 3, [-1, 2, -1], 1, 3, { normalise: false }).kernel)).toEqual([-1, 2, -1]);
  });
});

describe("gaussianKernel", () => {
  it("is the normalised sampled Gaussian of standard deviation W, 2⌈3W⌉+1 wide", () => {
    for (const sigma of [0.2, 1, 1.5, 2.7]) {
      const { kernel, kh, kw } = gaussianKernel(sigma);
      const radius = Math.ceil(3 * sigma);
      expect([kh, kw]).toEqual([2 * radius + 1, 2 * radius + 1]);
      expect(Math.abs(kernel.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-15);
      const at = (i: number, j: number) => kernel[(i + radius) * kw + j + radius];
      for (let i = -radius; i <= radius; i++) {
        for (let j = -radius; j <= radius; j++) {
          expect(at(i, j) / at(0, 0)).toBeCloseTo(Math.exp(-(i * i + j * j) / (2 * sigma * sigma)), 14);
        }
      }
    }
    const line = gaussianKernel(1, 1);
    expect([line.kh, line.kw]).toEqual([1, 7]);
    expect(line.kernel[2] / line.kernel[3]).toBeCloseTo(Math.exp(-0.5), 15);
  });

  it("rejects W that is not finite and positive", () => {
    for (const w of [0, -1, NaN, Infinity]) rejects(() => gaussianKernel(w), /kernel: expected gaussian:W/);
  });
});

describe("MaskOperator", () => {
  it("keeps the measured pixels in increasing order and scatters back with zeros", () => {
    const mask = Uint8Array.from([0, 1, 1, 0, 0, 1, 0]);
    const A = new MaskOperator(mask, 7);
    expect(A.rows).toBe(3);
    const expected = [[0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0]];
    expect(denseOf(A)).toEqual(expected);
    expect(Array.from(A.applyT(Float64Array.from([4, 5, 6]), new Float64Array(7).fill(9)))).toEqual([0, 4, 5, 0, 0, 6, 0]);
    expect(dotTest(A, vector(7, 1), vector(3, 2))).toBeLessThan(1e-15);
    expect(Array.from(new MaskOperator([true, false, true], 3).kept)).toEqual([0, 2]);
  });

  it("rejects masks that are not binary, all zero or of the wrong size", () => {
    rejects(() => new MaskOperator(Uint8Array.from([1, 2, 0]), 3), /mask: expected 0\/1/);
    rejects(() => new MaskOperator(Uint8Array.from([0, 0, 0]), 3), /mask: expected at least one measured pixel/);
    rejects(() => new MaskOperator(Uint8Array.from([1, 0]), 3), /mask: expected 3 entries/);
  });
});

describe("SubsampledDctOperator", () => {
  for (const [h, w] of [[1, 1], [1, 8], [5, 1], [4, 6], [7, 5]]) {
    it(`${h}×${w}: its rows are the selected rows of C_h ⊗ C_w, Aᵀ is their transpose, AAᵀ = I`, () => {
      const n = h * w, m = Math.max(1, Math.floor(n / 2));
      const indices = Array.from(randomDctIndices(h, w, m, h + w)).reverse(); // any order
      const A = new SubsampledDctOperator(h, w, indices);
      const C2 = dct2Matrix(h, w), rows = indices.map((k) => C2[k]);
      expect(maxAbsDiff(denseOf(A).flat(), rows.flat())).toBeLessThan(1e-14 * Math.sqrt(n));
      const y = vector(m, 3);
      expect(maxAbsDiff(A.applyT(y, new Float64Array(n)), times(transpose(rows), y))).toBeLessThan(1e-14 * Math.sqrt(n) * maxAbs(y));
      expect(dotTest(A, vector(n, 4), y)).toBeLessThan(1e-14);
      expect(maxAbsDiff(A.apply(A.applyT(y, new Float64Array(n)), new Float64Array(m)), y)).toBeLessThan(1e-14 * Math.sqrt(n) * maxAbs(y));
    });
  }

  it("randomDctIndices draws m distinct increasing indices, the same for the same seed", () => {
    const a = randomDctIndices(10, 12, 50, 42);
    expect(a.length).toBe(50);
    expect(new Set(a).size).toBe(50);
    expect(Array.from(a).every((v, i) => v >= 0 && v < 120 && (i === 0 || v > a[i - 1]))).toBe(true);
    expect(Array.from(randomDctIndices(10, 12, 50, 42))).toEqual(Array.from(a));
    expect(Array.from(randomDctIndices(10, 12, 50, 43))).not.toEqual(Array.from(a));
    expect(Array.from(randomDctIndices(2, 3, 6, 1))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("rejects bad indices and counts", () => {
    rejects(() => new SubsampledDctOperator(2, 3, [0, 6]), /indices: expected integers in \[0, 6\)/);
    rejects(() => new SubsampledDctOperator(2, 3, [1, 1]), /indices: expected distinct/);
    rejects(() => new SubsampledDctOperator(2, 3, []), /indices: expected 1 to 6/);
    rejects(() => new SubsampledDctOperator(2, 3, [0.5]), /indices: expected integers/);
    rejects(() => randomDctIndices(2, 3, 7, 1), /measurements: expected an integer number of coefficients in \[1, 6\]/);
    rejects(() => randomDctIndices(2, 3, 0, 1), /measurements/);
  });
});

/** DᵀD of the grid graph written from its edges: degree on the diagonal, −1 per neighbour. */
function laplacianMatrix(h: number, w: number): number[][] {
  const L = Array.from({ length: h * w }, () => new Array<number>(h * w).fill(0));
  const edge = (a: number, b: number) => { L[a][a]++; L[b][b]++; L[a][b]--; L[b][a]--; };
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) edge(r * w + c, r * w + c + 1);
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) edge(r * w + c, (r + 1) * w + c);
  return L;
}

/** α·AᵀA + β·DᵀD + γ·I, dense, from A and the grid's edges. */
function normalMatrix(A: number[][], h: number, w: number, alpha: number, beta: number, gamma: number): Matrix {
  const n = h * w, L = laplacianMatrix(h, w);
  return new Matrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => alpha * A.reduce((s, row) => s + row[i] * row[j], 0) + beta * L[i][j] + (i === j ? gamma : 0))));
}

describe("fastNormalSolver", () => {
  const grids: [number[], number, number][] = [[[6, 7], 6, 7], [[9], 1, 9], [[5, 1], 5, 1], [[4, 4], 4, 4]];
  /** A kernel that fits the grid: 3×5 on 2-D grids, a column or a row on 1-wide grids. */
  const kernelFor = (h: number, w: number, gaussian: boolean): [number[], number, number] => {
    if (gaussian) {
      const g = gaussianKernel(0.6, h === 1 || w === 1 ? 1 : 2);
      return [Array.from(g.kernel), w === 1 ? g.kw : g.kh, w === 1 ? 1 : g.kw];
    }
    if (h === 1) return [[1, 3, 5, 3, 1], 1, 5];
    if (w === 1) return [[1, 3, 1], 3, 1];
    return [[1, 2, 4, 2, 1, 2, 3, 9, 3, 2, 1, 2, 4, 2, 1], 3, 5];
  };
  const convolution = (gaussian: boolean) => (h: number, w: number) => new ConvolutionOperator(h, w, ...kernelFor(h, w, gaussian));
  const convolutionDense = (gaussian: boolean) => (h: number, w: number) => {
    const [g, kh, kw] = kernelFor(h, w, gaussian), sum = g.reduce((s, v) => s + v, 0);
    return convolutionMatrix(h, w, g.map((v) => v / sum), kh, kw);
  };
  const measured = (h: number, w: number) => randomDctIndices(h, w, Math.ceil((h * w) / 3), 5);
  const operators: [string, (h: number, w: number) => LinearOperator, (h: number, w: number) => number[][]][] = [
    ["identity", (h, w) => new IdentityOperator(h * w), (h, w) => Array.from({ length: h * w }, (_, i) => Array.from({ length: h * w }, (_, j) => (i === j ? 1 : 0)))],
    ["a symmetric convolution", convolution(false), convolutionDense(false)],
    ["a Gaussian blur", convolution(true), convolutionDense(true)],
    ["a subsampled DCT", (h, w) => new SubsampledDctOperator(h, w, measured(h, w)), (h, w) => { const C = dct2Matrix(h, w); return Array.from(measured(h, w), (k) => C[k]); }],
  ];
  for (const [name, make, dense] of operators) {
    for (const [grid, h, w] of grids) {
      it(`solves exactly for ${name} on the grid ${JSON.stringify(grid)}, in place too`, () => {
        const A = make(h, w), M = dense(h, w);
        expect(maxAbsDiff(denseOf(A).flat(), M.flat())).toBeLessThan(1e-14); // the dense oracle is A
        const solver = fastNormalSolver(A, new GridDifferences(grid), grid);
        expect(solver).not.toBeNull();
        const b = vector(h * w, 11);
        for (const [alpha, beta, gamma] of [[1, 0.5, 0.1], [3, 20, 1e-3], [0.01, 1, 2], [1e4, 1e-4, 1e-6]]) {
          solver!.setWeights(alpha, beta, gamma);
          const N = normalMatrix(M, h, w, alpha, beta, gamma);
          const expected = mlSolve(N, Matrix.columnVector(Array.from(b))).to1DArray();
          const x = new Float64Array(h * w);
          solver!.solve(b, x);
          // Backward error at rounding level; forward error within what the conditioning allows the dense oracle.
          const residual = maxAbsDiff(N.mmul(Matrix.columnVector(Array.from(x))).to1DArray(), b);
          expect(residual).toBeLessThan(1e-15 * h * w * (N.norm("max") * maxAbs(x) + maxAbs(b)));
          const condition = new SingularValueDecomposition(N).condition;
          expect(maxAbsDiff(x, expected)).toBeLessThan(1e-15 * h * w * condition * maxAbs(expected));
          const inPlace = Float64Array.from(b);
          solver!.solve(inPlace, inPlace);
          expect(maxAbsDiff(inPlace, x)).toBe(0);
          // On a 1-D grid, two right-hand sides sharing each FFT: each within the same bounds against
          // the dense oracle. Elsewhere each image's rows already pair among themselves: no solvePair.
          expect(solver!.solvePair !== undefined).toBe(grid.length === 1);
          if (!solver!.solvePair) continue;
          const b2 = vector(h * w, 29), expected2 = mlSolve(N, Matrix.columnVector(Array.from(b2))).to1DArray();
          const [p1, p2] = [new Float64Array(h * w), new Float64Array(h * w)];
          solver!.solvePair(b, p1, b2, p2);
          for (const [got, rhs, want] of [[p1, b, expected], [p2, b2, expected2]] as const) {
            expect(maxAbsDiff(N.mmul(Matrix.columnVector(Array.from(got))).to1DArray(), rhs)).toBeLessThan(1e-15 * h * w * (N.norm("max") * maxAbs(got) + maxAbs(rhs)));
            expect(maxAbsDiff(got, want)).toBeLessThan(1e-15 * h * w * condition * maxAbs(want));
          }
        }
      });
    }
  }

  it("solvePair on 1-D grids: each solution accurate to its own size, whatever the two right-hand sides' scales (zero gives exactly zero, NaN stays NaN)", () => {
    // The two right-hand sides share each complex FFT, whose rounding is relative to both: a tiny
    // one (an adjoint next to a state) must not inherit the other's absolute error.
    for (const n of [2, 9, 64]) {
      const A = new IdentityOperator(n), M = normalMatrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))), 1, n, 1, 1.3, 0.2);
      const solver = fastNormalSolver(A, new GridDifferences([n]), [n])!;
      solver.setWeights(1, 1.3, 0.2);
      const condition = new SingularValueDecomposition(M).condition;
      const u = vector(n, 31), v = vector(n, 37), zero = new Float64Array(n);
      const scaled = (a: Float64Array, s: number) => a.map((x) => x * s);
      for (const [b1, b2] of [[u, scaled(v, 1e-12)], [scaled(u, 1e-9), scaled(v, 1e6)], [scaled(u, 1e150), scaled(v, 1e-150)], [scaled(u, 1e-300), scaled(v, 1e300)], [u, zero], [zero, v], [zero, zero]]) {
        const [p1, p2] = [new Float64Array(n), new Float64Array(n)];
        solver.solvePair!(b1, p1, b2, p2);
        for (const [got, rhs] of [[p1, b1], [p2, b2]]) {
          const want = mlSolve(M, Matrix.columnVector(Array.from(rhs))).to1DArray();
          if (maxAbs(rhs) === 0) expect(maxAbs(got)).toBe(0);
          else expect(maxAbsDiff(got, want)).toBeLessThan(1e-15 * n * condition * maxAbs(want));
        }
      }
      // A non-finite right-hand side is not mistaken for zero: its solution is not finite either.
      for (const bad of [NaN, Infinity]) {
        const [p1, p2] = [new Float64Array(n), new Float64Array(n)];
        solver.solvePair!(u, p1, new Float64Array(n).fill(bad), p2);
        expect(p2.some((x) => !Number.isFinite(x))).toBe(true);
      }
    }
  });

  it("returns null when the DCT does not diagonalise the system", () => {
    const grid = [4, 5], D = new GridDifferences(grid);
    expect(fastNormalSolver(new ConvolutionOperator(4, 5, [1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 3), D, grid)).toBeNull();
    expect(fastNormalSolver(new ConvolutionOperator(4, 5, [1, 0, 0, 0, 1, 0, 0, 0, 1], 3, 3), D, grid)).toBeNull();
    expect(fastNormalSolver(new ConvolutionOperator(4, 5, [1, 2, 1, 5, 5, 5, 0, 1, 0], 3, 3), D, grid)).toBeNull();
    expect(fastNormalSolver(new ConvolutionOperator(5, 4, [1, 1, 1], 1, 3), D, grid)).toBeNull(); // another grid
    expect(fastNormalSolver(new MaskOperator(new Uint8Array(20).fill(1), 20), D, grid)).toBeNull();
    expect(fastNormalSolver(new DenseMatrix(20, 20, new Float64Array(400)), D, grid)).toBeNull();
    expect(fastNormalSolver(new IdentityOperator(20), new IdentityOperator(20), grid)).toBeNull();
  });

  it("rejects mismatched grids, bad weights and singular systems", () => {
    const D = new GridDifferences([4, 5]);
    rejects(() => fastNormalSolver(new IdentityOperator(20), D, [5, 4]), /grid: expected the grid of D/);
    rejects(() => fastNormalSolver(new IdentityOperator(12), D, [4, 5]), /operator: expected A with 20 columns/);
    const solver = fastNormalSolver(new IdentityOperator(20), D, [4, 5])!;
    rejects(() => solver.solve(new Float64Array(20), new Float64Array(20)), /weights: call setWeights/);
    rejects(() => solver.setWeights(-1, 1, 1), /alpha: expected a finite number ≥ 0/);
    rejects(() => solver.setWeights(1, NaN, 1), /beta/);
    rejects(() => solver.setWeights(0, 1, 0), /weights: .* is singular/); // DᵀD alone: constants are its null space
    const cs = fastNormalSolver(new SubsampledDctOperator(4, 5, [3, 7]), D, [4, 5])!;
    rejects(() => cs.setWeights(1, 1, 0), /singular/); // the DC coefficient is not measured
    cs.setWeights(1, 1, 1);
    rejects(() => cs.setWeights(1, 1, 0), /singular/);
    rejects(() => cs.solve(new Float64Array(20), new Float64Array(20)), /weights: call setWeights/); // a failed setWeights leaves no stale weights
    // solvePair (1-D grids): every vector of the grid's length, not read or written past its end.
    const line = fastNormalSolver(new IdentityOperator(6), new GridDifferences([6]), [6])!;
    line.setWeights(1, 1, 1);
    const [ok, short, long] = [new Float64Array(6).fill(1), new Float64Array(5).fill(1), new Float64Array(7).fill(1)];
    rejects(() => line.solvePair!(short, new Float64Array(6), ok, new Float64Array(6)), /^b1: expected a Float64Array of length 6/);
    rejects(() => line.solvePair!(ok, new Float64Array(6), long, new Float64Array(6)), /^b2: expected a Float64Array of length 6/);
    rejects(() => line.solvePair!(ok, new Float64Array(5), ok, new Float64Array(6)), /^out1: expected a Float64Array of length 6/);
    rejects(() => line.solvePair!(ok, new Float64Array(6), ok, [0, 0, 0, 0, 0, 0] as unknown as Float64Array), /^out2: expected a Float64Array of length 6/);
  });
});

describe("images at the API edge", () => {
  it("reads any 2-D ndarray view row-major and hands out a view of its own", () => {
    const base = ndarray(Float64Array.from({ length: 12 }, (_, i) => i), [3, 4]);
    const view = base.transpose(1, 0).step(-1, 1); // 4×3, rows reversed
    const image = imageFromNdarray(view);
    expect([image.height, image.width]).toEqual([4, 3]);
    expect(Array.from(image.data)).toEqual([3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8]);
    const nd = imageToNdarray(image);
    expect(nd).toEqual({ data: image.data, shape: [4, 3], stride: [3, 1], offset: 0 });
    expect(ndarray(nd.data as Float64Array, nd.shape).get(1, 2)).toBe(10);
    rejects(() => imageFromNdarray(ndarray(new Float64Array(8), [2, 2, 2])), /image: expected a 2-D ndarray/);
    rejects(() => imageFromNdarray(ndarray(new Float64Array(0), [0, 3])), /image: expected positive integer/);
  });

  it("psnr is 10·log10(R²/MSE), +∞ for equal images", () => {
    const ref = Float64Array.from([10, 20, 30, 40]);
    expect(psnr(ref, ref.map((v) => v + 5), 255)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 12);
    expect(psnr(ref, Float64Array.from([10, 20, 30, 44]), 1)).toBeCloseTo(10 * Math.log10(1 / 4), 12);
    expect(psnr(ref, ref, 255)).toBe(Infinity);
    rejects(() => psnr(ref, new Float64Array(3), 255), /image: expected two non-empty images of the same size/);
    rejects(() => psnr(ref, ref, 0), /dataRange/);
    rejects(() => psnr(ref, Float64Array.from([NaN, 0, 0, 0]), 255), /image: expected finite/);
  });

  it("quantise clamps and rounds to 8 or 16 bits", () => {
    const q8 = quantise([-3, 0.49, 0.5, 1.5, 254.5, 300], 8);
    expect(q8).toBeInstanceOf(Uint8Array);
    expect(Array.from(q8)).toEqual([0, 0, 1, 2, 255, 255]);
    const q16 = quantise([-1, 255.5, 65534.6, 70000], 16);
    expect(q16).toBeInstanceOf(Uint16Array);
    expect(Array.from(q16)).toEqual([0, 256, 65535, 65535]);
    rejects(() => quantise([1, NaN], 8), /image: expected finite pixel values, got NaN at pixel 1/);
    rejects(() => quantise([1], 12 as 8), /bitDepth: expected 8 or 16/);
  });

  it("sideBySide lays the images out left to right, top-aligned, with a gap of background", () => {
    const a = { data: Float64Array.from([1, 2, 3, 4]), height: 2, width: 2 };
    const b = { data: Float64Array.from([5, 6, 7]), height: 1, width: 3 };
    const out = sideBySide([a, b], 1, -1);
    expect([out.height, out.width]).toEqual([2, 6]);
    expect(Array.from(out.data)).toEqual([1, 2, -1, 5, 6, 7, 3, 4, -1, -1, -1, -1]);
    expect(sideBySide([a], 0)).toEqual(a);
    rejects(() => sideBySide([]), /images: expected at least one image/);
    rejects(() => sideBySide([a, { data: new Float64Array(2), height: 1, width: 3 }]), /images\[1\]: expected a Float64Array of 1×3 = 3 pixels/);
    rejects(() => sideBySide([a], -1), /gap/);
  });
});
