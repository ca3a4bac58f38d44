import { medianInPlace } from "../linalg/select.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { requireNonNegative } from "../errors.js";
import { requireOperator, type LinearOperator } from "../operators/operator.js";
import type { HyperparameterSpec } from "./penalty.js";

/**
 * The analysis penalty tv·‖Dx‖₁ (the generalized lasso), with D the finite differences of the
 * problem's grid or a user operator. Not separable: solvers split it (Split Bregman: d = Dx) or
 * use its prox (grid differences only: exact in 1-D, certified in 2-D).
 */
export class TotalVariation {
  readonly name = "tv";
  readonly hyperparameters: readonly HyperparameterSpec[] = [{ name: "tv", shape: "scalar" }];
  /** Scratch for Dx, allocated on the first value() (a solve that never asks needs none). */
  private dx: Float64Array | null = null;

  constructor(
    /** The weight tv > 0. */
    readonly weight: number,
    readonly D: LinearOperator,
  ) {
    requireNonNegative("tv", weight);
    requireOperator("D", D, 0);
  }

  /** tv·‖Dx‖₁. */
  value(x: Float64Array): number {
    const dx = this.D.apply(x, (this.dx ??= new Float64Array(this.D.rows)));
    let s = 0;
    for (let i = 0; i < dx.length; i++) s += Math.abs(dx[i]);
    return this.weight * s;
  }
}

/**
 * An upper bound on tv_max, the smallest tv at which x is constant (pure TV, any A with A1 ≠ 0):
 * at the best constant x = c1 (c = (A1)ᵀy/‖A1‖²), x is optimal iff some z with ‖z‖∞ ≤ tv
 * solves Dᵀz = q, q = Aᵀ(y − cA1). On a grid any spanning tree carries such a flow: along each
 * row by running sums, then the row totals down the first column. Exact in 1-D (D is a path).
 */
export function tvMaxBound(A: LinearOperator, y: Float64Array, D: GridDifferences): number {
  const n = A.cols;
  const a1 = A.apply(new Float64Array(n).fill(1), new Float64Array(A.rows));
  let ay = 0, aa = 0;
  for (let i = 0; i < a1.length; i++) {
    ay += a1[i] * y[i];
    aa += a1[i] * a1[i];
  }
  const c = aa > 0 ? ay / aa : 0;
  const r = new Float64Array(y.length);
  for (let i = 0; i < r.length; i++) r[i] = y[i] - c * a1[i];
  const q = A.applyT(r, new Float64Array(n));
  const [h, w] = D.shape;
  let bound = 0, carried = 0;
  for (let row = 0; row < h; row++) {
    let run = 0;
    for (let col = 0; col < w - 1; col++) {
      run += q[row * w + col];
      if (Math.abs(run) > bound) bound = Math.abs(run);
    }
    run += q[row * w + w - 1];
    carried += run;
    if (row < h - 1 && Math.abs(carried) > bound) bound = Math.abs(carried);
  }
  return bound;
}

/**
 * A robust estimate of the noise level σ of y on a grid: the median absolute difference of
 * neighbours along the grid's rows, over 0.6745·√2 (a difference of two independent N(0, σ²)
 * has standard deviation σ√2; the median of |N(0, 1)| is 0.6745). Jumps of a piecewise-constant
 * signal are rare among neighbours, so the median ignores them.
 */
export function noiseLevel(y: Float64Array, D: GridDifferences): number {
  const rows = D.horizontal > 0 ? D.horizontal : D.rows;
  if (rows === 0) return 0;
  const diff = D.apply(y, new Float64Array(D.rows)).subarray(0, rows);
  for (let e = 0; e < rows; e++) diff[e] = Math.abs(diff[e]);
  return medianInPlace(diff) / (0.6745 * Math.SQRT2);
}
