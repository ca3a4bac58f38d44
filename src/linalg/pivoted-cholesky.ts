/**
 * Cholesky with diagonal pivoting of a symmetric positive semi-definite k×k matrix G
 * (column-major, lower triangle read): P G Pᵀ = L Lᵀ on the first `rank` pivots, stopping when
 * the largest remaining pivot (the squared distance of the next row from the span of those
 * chosen, for a Gram matrix) falls to relTol·max diag(G). It names a maximal independent set
 * (`independent`) and solves on it: rank-deficient constraint matrices and Schur complements.
 */
export class PivotedCholesky {
  /** Indices of the chosen pivots, in pivot order (the independent rows/columns). */
  readonly independent: Int32Array;
  /** The rest, increasing (dependent on the chosen ones to the tolerance). */
  readonly dependent: Int32Array;

  private constructor(
    private readonly size: number,
    /** L (rank×rank, column-major) on the pivots in order. */
    private readonly l: Float64Array,
    independent: number[],
  ) {
    this.independent = Int32Array.from(independent);
    const chosen = new Set(independent);
    this.dependent = Int32Array.from({ length: size }, (_, i) => i).filter((i) => !chosen.has(i));
  }

  get rank(): number {
    return this.independent.length;
  }

  static factor(g: Float64Array, size: number, relTol = 1e-13): PivotedCholesky {
    const a = Float64Array.from(g);
    const perm = Int32Array.from({ length: size }, (_, i) => i);
    let maxDiag = 0;
    for (let i = 0; i < size; i++) maxDiag = Math.max(maxDiag, a[i * size + i]);
    const floor = relTol * maxDiag;
    let rank = 0;
    for (let t = 0; t < size; t++) {
      let best = t;
      for (let i = t + 1; i < size; i++) if (a[i * size + i] > a[best * size + best]) best = i;
      if (!(a[best * size + best] > floor)) break;
      if (best !== t) swapSymmetric(a, size, t, best, perm);
      const ltt = Math.sqrt(a[t * size + t]);
      a[t * size + t] = ltt;
      for (let i = t + 1; i < size; i++) a[t * size + i] /= ltt;
      for (let j = t + 1; j < size; j++) {
        const ljt = a[t * size + j];
        for (let i = j; i < size; i++) a[j * size + i] -= a[t * size + i] * ljt;
      }
      rank++;
    }
    const l = new Float64Array(rank * rank);
    for (let j = 0; j < rank; j++) for (let i = j; i < rank; i++) l[j * rank + i] = a[j * size + i];
    return new PivotedCholesky(size, l, Array.from(perm.subarray(0, rank)));
  }

  /**
   * The solution z of G_BB z_B = b_B on the independent set B, as a vector of length k with
   * zeros on the dependent indices (b is indexed like G).
   */
  solve(b: Float64Array): Float64Array {
    const r = this.rank, l = this.l, B = this.independent;
    const z = Float64Array.from(B, (i) => b[i]);
    for (let i = 0; i < r; i++) {
      let s = z[i];
      for (let k = 0; k < i; k++) s -= l[k * r + i] * z[k];
      z[i] = s / l[i * r + i];
    }
    for (let i = r - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < r; k++) s -= l[i * r + k] * z[k];
      z[i] = s / l[i * r + i];
    }
    const out = new Float64Array(this.size);
    B.forEach((i, a) => (out[i] = z[a]));
    return out;
  }
}

/** Swap index s and t (s < t) of the symmetric matrix held in the lower triangle of a, and of perm. */
function swapSymmetric(a: Float64Array, n: number, s: number, t: number, perm: Int32Array): void {
  const at = (i: number, j: number) => (i >= j ? j * n + i : i * n + j);
  for (let k = 0; k < n; k++) {
    if (k === s || k === t) continue;
    const p = at(k, s), q = at(k, t);
    const v = a[p];
    a[p] = a[q];
    a[q] = v;
  }
  const d = a[s * n + s];
  a[s * n + s] = a[t * n + t];
  a[t * n + t] = d;
  const tmp = perm[s];
  perm[s] = perm[t];
  perm[t] = tmp;
}
