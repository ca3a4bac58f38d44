import { InputError } from "../errors.js";
import { dot } from "../linalg/vector.js";

/** A linear map R^cols → R^rows given by its action and its adjoint, writing into caller-owned buffers. */
export interface LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** out ← A x (out has length rows) */
  apply(x: Float64Array, out: Float64Array): Float64Array;
  /** out ← Aᵀ y (out has length cols) */
  applyT(y: Float64Array, out: Float64Array): Float64Array;
}

/**
 * The optional column-access capability: what coordinate descent needs, and what makes
 * active-set KKT systems cheap. Matrix-free operators (blur, DCT, compositions) need not have it.
 */
export interface ColumnOperator extends LinearOperator {
  /** a_jᵀ v */
  columnDot(j: number, v: Float64Array): number;
  /** v ← v + alpha·a_j */
  columnAxpy(j: number, alpha: number, v: Float64Array): void;
  /** a_iᵀ a_j */
  columnInner(i: number, j: number): number;
  /** ‖a_j‖² for every column */
  columnNormsSquared(): Float64Array;
  /** Optional fast Gram matrix A_SᵀA_S (k×k, column-major) of the columns in S. */
  gram?(cols: ArrayLike<number>): Float64Array;
}

/** A linear operator with at least `minRows` rows (0 for a difference operator on one sample) and one column. */
export function requireOperator(field: string, A: LinearOperator, minRows = 1): void {
  if (typeof A?.apply !== "function" || typeof A.applyT !== "function" || !(A.rows >= minRows && A.cols >= 1)) {
    throw new InputError(field, `expected a linear operator with at least ${minRows === 1 ? "one row" : `${minRows} rows`} and one column`);
  }
}

export function hasColumns(A: LinearOperator): A is ColumnOperator {
  const op = A as Partial<ColumnOperator> | null | undefined;
  return typeof op?.columnDot === "function" && typeof op.columnAxpy === "function" && typeof op.columnInner === "function" && typeof op.columnNormsSquared === "function";
}

/** ‖a_j‖², the squared norm of column j (one product with A, A e_j, without column access). */
export function columnNormSquared(A: LinearOperator, j: number): number {
  if (hasColumns(A)) return A.columnInner(j, j);
  const e = new Float64Array(A.cols);
  e[j] = 1;
  const a = A.apply(e, new Float64Array(A.rows));
  return dot(a, a);
}

/**
 * out ← scale·Aᵀv, or with `support` only the entries j in support (the others untouched):
 * criterion gradients feed an adjoint that reads the active set alone.
 */
export function scaledAdjoint(A: LinearOperator, v: Float64Array, scale: number, out: Float64Array, support?: ArrayLike<number>): Float64Array {
  if (support && hasColumns(A)) {
    for (let a = 0; a < support.length; a++) out[support[a]] = scale * A.columnDot(support[a], v);
    return out;
  }
  A.applyT(v, out);
  for (let j = 0; j < out.length; j++) out[j] *= scale;
  return out;
}
