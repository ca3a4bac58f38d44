/**
 * Split Bregman's x-update (α·AᵀA + β·DᵀD + γ·I) x = b solved exactly with two 2-D DCTs when
 * every term is diagonal in the orthonormal DCT-II basis C:
 *
 * - DᵀD of GridDifferences (no wrap) is the Neumann grid Laplacian L_h ⊗ I + I ⊗ L_w, and the
 *   path Laplacian L_n has the DCT-II vectors as eigenvectors with eigenvalues 2 − 2cos(πk/n);
 * - AᵀA = I for the identity (denoising);
 * - AᵀA = A² = Cᵀ diag(λ²) C for a convolution with a mirror-symmetric kernel under the
 *   half-sample symmetric boundary (ConvolutionOperator.dctEigenvalues gives λ);
 * - AᵀA = Cᵀ diag(selected) C for the subsampled DCT.
 *
 * Then x = Cᵀ (C b ⊘ (α·a + β·d + γ)) with a, d the eigenvalues of AᵀA and DᵀD.
 */
import { InputError } from "../errors.js";
import { Dct2Plan, requireSamples } from "../transforms/dct.js";
import { ConvolutionOperator } from "./convolution.js";
import { GridDifferences } from "./finite-differences.js";
import { IdentityOperator } from "./identity.js";
import { requireOperator, type LinearOperator } from "./operator.js";
import { SubsampledDctOperator } from "./subsampled-dct.js";

export interface FastNormalSolver {
  /** Set α, β, γ ≥ 0 (finite); throws when α·AᵀA + β·DᵀD + γ·I is singular. O(h·w), no allocation. */
  setWeights(alpha: number, beta: number, gamma: number): void;
  /** out ← (α·AᵀA + β·DᵀD + γ·I)⁻¹ b; out may be b. Two DCTs, no allocation. */
  solve(b: Float64Array, out: Float64Array): void;
  /**
   * On a 1-D grid only (where one signal leaves half of each complex FFT unused): both solves at
   * once, the two right-hand sides sharing each FFT (the last bits may differ from solve's; each
   * solution accurate relative to its own size, whatever the other's; a zero one gives exactly 0).
   * Allocates its buffer once.
   */
  solvePair?(b1: Float64Array, out1: Float64Array, b2: Float64Array, out2: Float64Array): void;
}

function checkWeight(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new InputError(name, `expected a finite number ≥ 0, got ${v}`);
}

/** The DCT eigenvalues of AᵀA on an h×w grid, or null when A is not diagonalised by the DCT. */
function gramEigenvalues(A: LinearOperator, h: number, w: number): Float64Array | null {
  const n = h * w;
  if (A instanceof IdentityOperator) return new Float64Array(n).fill(1);
  if (A instanceof ConvolutionOperator) {
    if (A.height !== h || A.width !== w || !A.mirrorSymmetric) return null;
    const lambda = A.dctEigenvalues(new Float64Array(n));
    for (let k = 0; k < n; k++) lambda[k] *= lambda[k];
    return lambda;
  }
  if (A instanceof SubsampledDctOperator) {
    if (A.height !== h || A.width !== w) return null;
    const selected = new Float64Array(n);
    for (const k of A.indices) selected[k] = 1;
    return selected;
  }
  return null;
}

/**
 * The exact DCT solver of (α·AᵀA + β·DᵀD + γ·I) x = b for A ∈ {identity, mirror-symmetric
 * convolution, subsampled DCT} and D = GridDifferences of `grid` ([n] is the 1×n grid); null for
 * any other structure (a general A, a non-symmetric kernel, another D).
 */
export function fastNormalSolver(A: LinearOperator, D: LinearOperator, grid: readonly number[]): FastNormalSolver | null {
  requireOperator("A", A);
  requireOperator("D", D, 0);
  if (!Array.isArray(grid)) throw new InputError("grid", `expected the grid dimensions as an array of integers, got ${grid === null ? "null" : typeof grid}`);
  if (!(D instanceof GridDifferences)) return null;
  const [h, w] = D.shape;
  if (grid.length !== D.grid.length || grid.some((g, i) => g !== D.grid[i])) {
    throw new InputError("grid", `expected the grid of D, [${D.grid.join(", ")}], got [${grid.join(", ")}]`);
  }
  if (A.cols !== h * w) throw new InputError("operator", `expected A with ${h * w} columns (the grid's cells), got ${A.cols}`);
  const gram = gramEigenvalues(A, h, w);
  if (gram === null) return null;
  const laplacian = new Float64Array(h * w);
  for (let k = 0; k < h; k++) {
    for (let l = 0; l < w; l++) laplacian[k * w + l] = 2 - 2 * Math.cos((Math.PI * k) / h) + (2 - 2 * Math.cos((Math.PI * l) / w));
  }
  const plan = new Dct2Plan(h, w);
  const inverseDiagonal = new Float64Array(h * w);
  let ready = false;
  let pair: Float64Array | undefined;
  const solver: FastNormalSolver = {
    setWeights(alpha: number, beta: number, gamma: number): void {
      ready = false;
      checkWeight("alpha", alpha);
      checkWeight("beta", beta);
      checkWeight("gamma", gamma);
      for (let k = 0; k < inverseDiagonal.length; k++) {
        const d = alpha * gram[k] + beta * laplacian[k] + gamma;
        if (!(d > 0)) throw new InputError("weights", `α·AᵀA + β·DᵀD + γ·I is singular for α = ${alpha}, β = ${beta}, γ = ${gamma} (make γ > 0)`);
        inverseDiagonal[k] = 1 / d;
      }
      ready = true;
    },
    solve(b: Float64Array, out: Float64Array): void {
      if (!ready) throw new InputError("weights", "call setWeights(alpha, beta, gamma) before solve");
      requireSamples("b", b, inverseDiagonal.length);
      requireSamples("out", out, inverseDiagonal.length);
      plan.forward(b, out);
      for (let k = 0; k < inverseDiagonal.length; k++) out[k] *= inverseDiagonal[k];
      plan.inverse(out, out);
    },
  };
  if (h === 1 && w > 1) {
    solver.solvePair = (b1: Float64Array, out1: Float64Array, b2: Float64Array, out2: Float64Array): void => {
      if (!ready) throw new InputError("weights", "call setWeights(alpha, beta, gamma) before solve");
      const n = inverseDiagonal.length;
      requireSamples("b1", b1, n);
      requireSamples("out1", out1, n);
      requireSamples("b2", b2, n);
      requireSamples("out2", out2, n);
      const m1 = maxAbs(b1), m2 = maxAbs(b2);
      // A zero right-hand side's solution is exactly zero (the FFT it would share leaks the other's rounding into it).
      if (m1 === 0) {
        solver.solve(b2, out2);
        out1.fill(0);
        return;
      }
      if (m2 === 0) {
        solver.solve(b1, out1);
        out2.fill(0);
        return;
      }
      // The shared FFT's rounding is relative to both halves: each is brought to unit size by a
      // power of two (exact) before each transform, so a small one keeps its own relative accuracy.
      pair ??= new Float64Array(2 * n);
      const e1 = unitExponent(m1), e2 = unitExponent(m2);
      const s1 = 2 ** -e1, s2 = 2 ** -e2;
      for (let k = 0; k < n; k++) {
        pair[k] = b1[k] * s1;
        pair[n + k] = b2[k] * s2;
      }
      plan.transformImages(pair, 2, false);
      let c1 = 0, c2 = 0;
      for (let k = 0; k < n; k++) {
        const u = (pair[k] *= inverseDiagonal[k]), v = (pair[n + k] *= inverseDiagonal[k]);
        if (Math.abs(u) > c1) c1 = Math.abs(u);
        if (Math.abs(v) > c2) c2 = Math.abs(v);
      }
      const f1 = unitExponent(c1), f2 = unitExponent(c2);
      const t1 = 2 ** -f1, t2 = 2 ** -f2;
      for (let k = 0; k < n; k++) {
        pair[k] *= t1;
        pair[n + k] *= t2;
      }
      plan.transformImages(pair, 2, true);
      // Undone as 2^(e+f) in two equal factors (e + f may pass the exponent range; each partial product stays normal).
      const g1 = e1 + f1, g2 = e2 + f2;
      const a1 = 2 ** Math.trunc(g1 / 2), a2 = 2 ** (g1 - Math.trunc(g1 / 2));
      const d1 = 2 ** Math.trunc(g2 / 2), d2 = 2 ** (g2 - Math.trunc(g2 / 2));
      for (let k = 0; k < n; k++) {
        out1[k] = pair[k] * a1 * a2;
        out2[k] = pair[n + k] * d1 * d2;
      }
    };
  }
  return solver;
}

/** max_i |a_i|, NaN if any entry is NaN (normInf passes over NaN: an all-NaN vector is not zero). */
function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (!(v <= m)) {
      if (v !== v) return v;
      m = v;
    }
  }
  return m;
}

/** e with m·2⁻ᵉ in [1, 2) (0 for a zero or non-finite m: nothing to balance), |e| ≤ 1022 so 2^±e is a normal number. */
function unitExponent(m: number): number {
  if (!(m > 0 && m < Infinity)) return 0;
  return Math.max(-1022, Math.min(1022, Math.floor(Math.log2(m))));
}
