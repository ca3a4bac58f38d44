import { axpy, dot } from "../linalg/vector.js";
import { DenseMatrix } from "./dense.js";
import { hasColumns, type ColumnOperator, type LinearOperator } from "./operator.js";

/**
 * [A; s·B] for a small dense B (p × n, p ≪ m): the measurements of an augmented Lagrangian,
 * ½‖Ax − y‖² + ρ/2‖Bx − e‖² = ½‖[A; √ρB]x − [y; √ρe]‖². A is used by reference (never copied:
 * it may be 40 MB); B is kept column-major so that column j of the stack is a_j then s·b_j.
 * Immutable: `withScale` gives the stack for another s, sharing A and B.
 */
export class StackedOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** B column-major (p × n): b_j = bData[j·p .. (j+1)·p). */
  protected readonly bData: Float64Array;
  protected readonly p: number;
  protected readonly head: Float64Array;

  constructor(
    readonly A: LinearOperator,
    B: DenseMatrix,
    readonly scale: number,
  ) {
    this.p = B.rows;
    this.rows = A.rows + B.rows;
    this.cols = A.cols;
    this.bData = B.data;
    this.head = new Float64Array(A.rows);
  }

  /** The same A and B stacked with another scale. */
  withScale(scale: number): StackedOperator {
    return new StackedOperator(this.A, new DenseMatrix(this.p, this.cols, this.bData), scale);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    const m = this.A.rows, p = this.p, b = this.bData;
    out.set(this.A.apply(x, this.head));
    for (let i = 0; i < p; i++) out[m + i] = 0;
    for (let j = 0; j < this.cols; j++) {
      const xj = x[j] * this.scale;
      if (xj !== 0) for (let i = 0; i < p; i++) out[m + i] += b[j * p + i] * xj;
    }
    return out;
  }

  applyT(v: Float64Array, out: Float64Array): Float64Array {
    const m = this.A.rows, p = this.p, b = this.bData, head = this.head;
    for (let i = 0; i < m; i++) head[i] = v[i];
    this.A.applyT(head, out);
    for (let j = 0; j < this.cols; j++) {
      let s = 0;
      for (let i = 0; i < p; i++) s += b[j * p + i] * v[m + i];
      out[j] += this.scale * s;
    }
    return out;
  }

  /** s·b_jᵀ v_tail */
  protected tailDot(j: number, v: Float64Array): number {
    const m = this.A.rows, p = this.p, b = this.bData;
    let s = 0;
    for (let i = 0; i < p; i++) s += b[j * p + i] * v[m + i];
    return this.scale * s;
  }
}

/**
 * [A; s·B] with column access, for a dense A (coordinate descent): a column is a contiguous view
 * of A's column and p numbers of B, so a column product costs the same as on A plus p.
 */
export class StackedColumnOperator extends StackedOperator implements ColumnOperator {
  private readonly views: Float64Array[];
  private readonly aNorms: Float64Array;

  constructor(A: DenseMatrix, B: DenseMatrix, scale: number, shared?: { views: Float64Array[]; aNorms: Float64Array }) {
    super(A, B, scale);
    this.views = shared?.views ?? Array.from({ length: A.cols }, (_, j) => A.column(j));
    this.aNorms = shared?.aNorms ?? A.columnNormsSquared();
  }

  override withScale(scale: number): StackedColumnOperator {
    const B = new DenseMatrix(this.p, this.cols, this.bData);
    return new StackedColumnOperator(this.A as DenseMatrix, B, scale, { views: this.views, aNorms: this.aNorms });
  }

  columnDot(j: number, v: Float64Array): number {
    return dot(this.views[j], v, this.views[j].length) + this.tailDot(j, v);
  }

  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    axpy(alpha, this.views[j], v);
    const m = this.A.rows, p = this.p, b = this.bData, t = alpha * this.scale;
    for (let i = 0; i < p; i++) v[m + i] += t * b[j * p + i];
  }

  columnInner(i: number, j: number): number {
    const p = this.p, b = this.bData;
    let s = 0;
    for (let k = 0; k < p; k++) s += b[i * p + k] * b[j * p + k];
    return dot(this.views[i], this.views[j]) + this.scale * this.scale * s;
  }

  columnNormsSquared(): Float64Array {
    const out = new Float64Array(this.cols);
    for (let j = 0; j < this.cols; j++) {
      let s = 0;
      for (let i = 0; i < this.p; i++) s += this.bData[j * this.p + i] ** 2;
      out[j] = this.aNorms[j] + this.scale * this.scale * s;
    }
    return out;
  }
}

/** [A; s·B] with column access when A is dense, matrix-free otherwise. */
export function stackedOperator(A: LinearOperator, B: DenseMatrix, scale: number): StackedOperator {
  return A instanceof DenseMatrix && hasColumns(A) ? new StackedColumnOperator(A, B, scale) : new StackedOperator(A, B, scale);
}
