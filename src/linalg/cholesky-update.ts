import { NumericalError } from "../errors.js";

/**
 * Cholesky factor H = L Lᵀ of a symmetric positive definite matrix that gains and loses rows and
 * columns one at a time (the active set of a homotopy path): appending a column costs O(k²), removing
 * one O(k²) Givens rotations, where refactoring costs k³/6. L is lower triangular, stored column-major
 * with leading dimension `capacity` (grown by doubling).
 */
export class UpdatableCholesky {
  private capacity: number;
  private l: Float64Array;
  private k = 0;
  /** A pivot below relTol·(the new diagonal entry of H) means the new column is dependent on the others. */
  private readonly relTol: number;

  constructor(capacity = 16, relTol = 1e-12) {
    this.capacity = Math.max(1, capacity);
    this.l = new Float64Array(this.capacity * this.capacity);
    this.relTol = relTol;
  }

  get size(): number {
    return this.k;
  }

  private grow(): void {
    const old = this.l, oldCap = this.capacity;
    this.capacity *= 2;
    this.l = new Float64Array(this.capacity * this.capacity);
    for (let j = 0; j < this.k; j++) this.l.set(old.subarray(j * oldCap + j, j * oldCap + this.k), j * this.capacity + j);
  }

  /**
   * Append a row and column: `column` holds H's new off-diagonal entries against the current k rows
   * (length ≥ k; overwritten by the new row of L), `diagonal` its new diagonal entry.
   *   L ← [L 0; lᵀ d],  L l = column,  d = √(diagonal − ‖l‖²).
   * Throws NumericalError (the factor unchanged) when d² ≤ relTol·diagonal.
   */
  append(column: Float64Array, diagonal: number): void {
    const k = this.k;
    this.forward(column, k);
    let ll = 0;
    for (let i = 0; i < k; i++) ll += column[i] * column[i];
    const d2 = diagonal - ll;
    if (!(d2 > this.relTol * diagonal)) {
      throw new NumericalError(`the new column is linearly dependent on the ${k} others (pivot² ${d2.toExponential(2)} of ${diagonal.toExponential(2)})`);
    }
    if (k === this.capacity) this.grow();
    const cap = this.capacity, l = this.l;
    for (let i = 0; i < k; i++) l[i * cap + k] = column[i];
    l[k * cap + k] = Math.sqrt(d2);
    this.k = k + 1;
  }

  /**
   * Remove row and column p. Deleting row p of L leaves rows p+1.. with one entry right of the
   * diagonal; Givens rotations of columns (j, j+1), j = p.., zero it again (H = L Q Qᵀ Lᵀ).
   */
  remove(p: number): void {
    const k = this.k, cap = this.capacity, l = this.l;
    if (!(p >= 0 && p < k)) throw new RangeError(`remove(${p}) outside 0..${k - 1}`);
    // Shift rows p+1..k-1 up by one in every column (column j > p's diagonal lands one above it).
    for (let j = 0; j < k; j++) {
      const cj = j * cap;
      for (let i = Math.max(p, j - 1); i < k - 1; i++) l[cj + i] = l[cj + i + 1];
      l[cj + k - 1] = 0;
    }
    // Row i (i ≥ p) now has an entry at column i+1: rotate columns i and i+1.
    for (let i = p; i < k - 1; i++) {
      const ci = i * cap, cn = (i + 1) * cap;
      const a = l[ci + i], b = l[cn + i];
      const r = Math.hypot(a, b);
      const c = a / r, s = b / r;
      for (let row = i; row < k - 1; row++) {
        const u = l[ci + row], w = l[cn + row];
        l[ci + row] = c * u + s * w;
        l[cn + row] = -s * u + c * w;
      }
      l[cn + i] = 0;
    }
    // The last column is now zero: drop it.
    this.k = k - 1;
    for (let i = 0; i < k; i++) l[(k - 1) * cap + i] = 0;
  }

  /** b ← L⁻¹ b on the first n entries. */
  private forward(b: Float64Array, n: number): void {
    const cap = this.capacity, l = this.l;
    for (let j = 0; j < n; j++) {
      const cj = j * cap;
      const bj = (b[j] /= l[cj + j]);
      if (bj !== 0) for (let i = j + 1; i < n; i++) b[i] -= l[cj + i] * bj;
    }
  }

  /** Solve H x = b in place (b of length ≥ size; the first `size` entries are used). */
  solveInPlace(b: Float64Array): Float64Array {
    const n = this.k, cap = this.capacity, l = this.l;
    this.forward(b, n);
    for (let i = n - 1; i >= 0; i--) {
      const ci = i * cap;
      let s = b[i];
      for (let r = i + 1; r < n; r++) s -= l[ci + r] * b[r];
      b[i] = s / l[ci + i];
    }
    return b;
  }
}
