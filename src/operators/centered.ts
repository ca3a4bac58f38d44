import { dot, requireVector, sum } from "../linalg/vector.js";
import { DenseMatrix } from "./dense.js";
import { hasColumns, requireOperator, type ColumnOperator, type LinearOperator } from "./operator.js";

/** μ = Aᵀ1/m, the column means of A (one product with Aᵀ). */
export function columnMeans(A: LinearOperator): Float64Array {
  requireOperator("A", A);
  const means = A.applyT(new Float64Array(A.rows).fill(1), new Float64Array(A.cols));
  for (let j = 0; j < means.length; j++) means[j] /= A.rows;
  return means;
}

/**
 * A − 1μᵀ without forming it (matrix-free A): (A − 1μᵀ)x = Ax − (μᵀx)1, (A − 1μᵀ)ᵀr = Aᵀr − (1ᵀr)μ.
 * The intercept's centring; μ is A's own column means or, for validation data, the training ones.
 */
export class CenteredOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;

  constructor(readonly base: LinearOperator, readonly means: Float64Array) {
    requireCentring(base, means);
    this.rows = base.rows;
    this.cols = base.cols;
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    this.base.apply(x, out);
    const s = dot(this.means, x);
    for (let i = 0; i < out.length; i++) out[i] -= s;
    return out;
  }

  applyT(r: Float64Array, out: Float64Array): Float64Array {
    this.base.applyT(r, out);
    const t = sum(r);
    for (let j = 0; j < out.length; j++) out[j] -= t * this.means[j];
    return out;
  }
}

/** The same with column access, for a base that has it: (a_i − μ_i1)ᵀ(a_j − μ_j1) = a_iᵀa_j − m μ_i μ_j. */
export class CenteredColumnOperator extends CenteredOperator implements ColumnOperator {
  constructor(override readonly base: ColumnOperator, means: Float64Array) {
    super(base, means);
  }

  columnDot(j: number, v: Float64Array): number {
    return this.base.columnDot(j, v) - this.means[j] * sum(v);
  }

  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    this.base.columnAxpy(j, alpha, v);
    const shift = alpha * this.means[j];
    for (let i = 0; i < v.length; i++) v[i] -= shift;
  }

  columnInner(i: number, j: number): number {
    return this.base.columnInner(i, j) - this.rows * this.means[i] * this.means[j];
  }

  columnNormsSquared(): Float64Array {
    const norms = Float64Array.from(this.base.columnNormsSquared());
    for (let j = 0; j < norms.length; j++) norms[j] = Math.max(0, norms[j] - this.rows * this.means[j] * this.means[j]);
    return norms;
  }
}

/**
 * A − 1μᵀ: a dense copy with centred columns for a dense A (its column access stays fast), an
 * implicit wrapper otherwise (a matrix-free A is never densified).
 */
export function centered(A: LinearOperator, means: Float64Array): LinearOperator {
  requireCentring(A, means);
  if (A instanceof DenseMatrix) {
    const m = A.rows, data = new Float64Array(m * A.cols);
    for (let j = 0; j < A.cols; j++) {
      const col = A.column(j), mu = means[j], base = j * m;
      for (let i = 0; i < m; i++) data[base + i] = col[i] - mu;
    }
    return new DenseMatrix(m, A.cols, data);
  }
  return hasColumns(A) ? new CenteredColumnOperator(A, means) : new CenteredOperator(A, means);
}

function requireCentring(A: LinearOperator, means: Float64Array): void {
  requireOperator("A", A);
  requireVector("means", means, A.cols);
}
