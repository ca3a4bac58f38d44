import { describe, expect, it } from "vitest";
import { holdOutPixels } from "../src/criteria/heldout-pixels.js";
import { ComposedOperator } from "../src/operators/combinators.js";
import { ConvolutionOperator } from "../src/operators/convolution.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { MaskOperator } from "../src/operators/mask.js";
import type { LinearOperator } from "../src/operators/operator.js";
import { Random } from "../src/linalg/random.js";
import { createProblem } from "../src/problem.js";
import { inputError } from "./support.js";

const rng = new Random(5);
const randomVector = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
const apply = (A: LinearOperator, x: Float64Array) => A.apply(x, new Float64Array(A.rows));

describe("holdOutPixels", () => {
  const h = 6, w = 7, n = h * w;
  const y = randomVector(n);
  const denoising = createProblem({ A: new IdentityOperator(n), y, grid: [h, w], penalty: { tv: 0.3 } });

  it("splits the rows into disjoint, covering, sorted sets of the asked size", () => {
    for (const fraction of [0.1, 0.25, 0.5, 0.9]) {
      const split = holdOutPixels(denoising, { fraction, seed: 3 });
      const held = Array.from(split.heldOut), kept = Array.from(split.kept);
      expect(held.length).toBe(Math.round(fraction * n));
      expect(kept.length).toBe(n - held.length);
      expect([...held, ...kept].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(held).toEqual([...held].sort((a, b) => a - b));
      expect(kept).toEqual([...kept].sort((a, b) => a - b));
    }
  });

  it("is reproducible by seed and differs between seeds", () => {
    const a = holdOutPixels(denoising, { seed: 11 }).heldOut, b = holdOutPixels(denoising, { seed: 11 }).heldOut;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(holdOutPixels(denoising, { seed: 12 }).heldOut)).not.toEqual(Array.from(a));
    expect(holdOutPixels(denoising).heldOut.length).toBe(Math.round(0.1 * n)); // default fraction
  });

  it.each([
    ["identity (denoising): a mask", () => new IdentityOperator(n), MaskOperator],
    ["a mask (inpainting): a narrower mask", () => new MaskOperator(Uint8Array.from({ length: n }, (_, p) => (p % 3 === 0 ? 0 : 1)), n), MaskOperator],
    ["a blur: mask ∘ blur", () => new ConvolutionOperator(h, w, [1, 2, 1, 2, 4, 2, 1, 2, 1], 3, 3), ComposedOperator],
    ["a dense matrix: mask ∘ A", () => new DenseMatrix(30, n, randomVector(30 * n)), ComposedOperator],
  ])("the fit keeps the other rows of A, the validation the held-out rows: %s", (_what, makeA, kind) => {
    const A = makeA();
    const problem = createProblem({ A, y: randomVector(A.rows), grid: [h, w], penalty: { tv: 0.2, l2: 0.1 } });
    const split = holdOutPixels(problem, { fraction: 0.3, seed: 2 });
    const x = randomVector(n), ax = apply(A, x);
    // The oracle: the rows of A x picked by index.
    const rowsOf = (v: Float64Array, rows: Int32Array) => Array.from(rows, (i) => v[i]);
    expect(split.fit.A).toBeInstanceOf(kind);
    expect(Array.from(apply(split.fit.A, x))).toEqual(rowsOf(ax, split.kept));
    expect(Array.from(apply(split.fit.validation!.A, x))).toEqual(rowsOf(ax, split.heldOut));
    expect(Array.from(split.fit.y)).toEqual(rowsOf(problem.y, split.kept));
    expect(Array.from(split.fit.validation!.y)).toEqual(rowsOf(problem.y, split.heldOut));
    expect(split.fit.grid).toEqual([h, w]);
    expect(split.fit.penalty).toEqual(problem.penalty);
    // Adjoint of the fit's operator: ⟨A_K x, v⟩ = ⟨x, A_Kᵀ v⟩.
    const v = randomVector(split.fit.A.rows), atv = split.fit.A.applyT(v, new Float64Array(n));
    const lhs = apply(split.fit.A, x).reduce((s, a, i) => s + a * v[i], 0), rhs = x.reduce((s, a, j) => s + a * atv[j], 0);
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(lhs)));
  });

  it("scales the tuned penalties to all the rows by m / m_fit = 1/(1 − fraction)", () => {
    const problem = createProblem({ A: new IdentityOperator(40), y: randomVector(40), penalty: { tv: 1 } });
    const split = holdOutPixels(problem, { fraction: 0.25, seed: 1 }); // 10 held out, 30 kept
    expect(split.kept.length).toBe(30);
    const full = split.fullPenalty({ l1: 0.3, l2: 0.6, tv: 0.9 });
    expect(full.tv).toBeCloseTo(1.2, 14);
    expect(full.l1).toBeCloseTo(0.4, 14);
    expect(full.l2).toBeCloseTo(0.8, 14);
  });

  it("refuses fractions outside (0, 1), splits leaving a side empty, and a bad seed", () => {
    for (const fraction of [0, 1, -0.1, 1.5, NaN, Infinity]) inputError(() => holdOutPixels(denoising, { fraction }), /^fraction: expected a number in \(0, 1\)/);
    inputError(() => holdOutPixels(denoising, { fraction: 0.001 }), /at least 1 and at most 41 of the 42/);
    inputError(() => holdOutPixels(denoising, { fraction: 0.999 }), /at least 1 and at most 41/);
    inputError(() => holdOutPixels(denoising, { seed: 0.5 }), /^seed: expected an integer/);
  });
});
