import { NumericalError } from "../errors.js";

/**
 * Dense Cholesky factor of a symmetric positive definite k×k matrix stored column-major
 * (only the lower triangle is read). The factor L (H = L Lᵀ) overwrites a copy.
 */
export class Cholesky {
  readonly size: number;
  private readonly l: Float64Array;

  private constructor(size: number, l: Float64Array) {
    this.size = size;
    this.l = l;
  }

  /**
   * Factor H. Throws NumericalError when a pivot falls below relTol·max diag(H):
   * the matrix is singular to working precision.
   */
  static factor(h: Float64Array, size: number, relTol = 1e-13): Cholesky {
    const l = Float64Array.from(h);
    let maxDiag = 0;
    for (let j = 0; j < size; j++) maxDiag = Math.max(maxDiag, Math.abs(l[j * size + j]));
    const floor = relTol * Math.max(maxDiag, Number.MIN_VALUE);
    for (let j = 0; j < size; j++) {
      const cj = j * size;
      let d = l[cj + j];
      for (let k = 0; k < j; k++) d -= l[k * size + j] * l[k * size + j];
      if (!(d > floor)) {
        throw new NumericalError(`matrix is singular to working precision (pivot ${j} of ${size} is ${d.toExponential(2)})`);
      }
      const djj = Math.sqrt(d);
      l[cj + j] = djj;
      for (let i = j + 1; i < size; i++) {
        let s = l[cj + i];
        for (let k = 0; k < j; k++) s -= l[k * size + i] * l[k * size + j];
        l[cj + i] = s / djj;
      }
      for (let i = 0; i < j; i++) l[cj + i] = 0;
    }
    return new Cholesky(size, l);
  }

  /** Solve H x = b in place (forward then backward substitution). */
  solveInPlace(b: Float64Array): Float64Array {
    const n = this.size, l = this.l;
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= l[k * n + i] * b[k];
      b[i] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i];
      const ci = i * n;
      for (let k = i + 1; k < n; k++) s -= l[ci + k] * b[k];
      b[i] = s / l[ci + i];
    }
    return b;
  }
}
