import { axpy, dot } from "../linalg/vector.js";
import { StackedOperator } from "./combinators.js";
import { DenseMatrix } from "./dense.js";
import type { ColumnOperator, LinearOperator } from "./operator.js";

/**
 * [A; s·B] for a dense A and a small dense B (p × n, p ≪ m) with column access (what coordinate
 * descent needs): the measurements of an augmented Lagrangian, ½‖Ax − y‖² + ρ/2‖Bx − e‖² =
 * ½‖[A; √ρB]x − [y; √ρe]‖². A is read through views of its columns, never copied (it may be
 * 40 MB); column j of the stack is a_j then s·b_j, so a column product costs one on A plus p.
 * Immutable: `withScale` gives the stack for another s, sharing A, B and A's column norms.
 */
export class DenseStackOperator implements ColumnOperator {
  readonly rows: number;
  readonly cols: number;
  private readonly m: number;
  private readonly p: number;
  /** B column-major: b_j = b[j·p .. (j+1)·p). */
  private readonly b: Float64Array;
  private readonly views: Float64Array[];
  private readonly aNorms: Float64Array;

  constructor(
    readonly A: DenseMatrix,
    readonly B: DenseMatrix,
    readonly scale: number,
    shared?: { views: Float64Array[]; aNorms: Float64Array },
  ) {
    this.m = A.rows;
    this.p = B.rows;
    this.rows = A.rows + B.rows;
    this.cols = A.cols;
    this.b = B.data;
    this.views = shared?.views ?? Array.from({ length: A.cols }, (_, j) => A.column(j));
    this.aNorms = shared?.aNorms ?? A.columnNormsSquared();
  }

  withScale(scale: number): DenseStackOperator {
    return new DenseStackOperator(this.A, this.B, scale, { views: this.views, aNorms: this.aNorms });
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    out.fill(0);
    for (let j = 0; j < this.cols; j++) if (x[j] !== 0) this.columnAxpy(j, x[j], out);
    return out;
  }

  applyT(v: Float64Array, out: Float64Array): Float64Array {
    for (let j = 0; j < this.cols; j++) out[j] = this.columnDot(j, v);
    return out;
  }

  columnDot(j: number, v: Float64Array): number {
    const { m, p, b } = this;
    let s = 0;
    for (let i = 0; i < p; i++) s += b[j * p + i] * v[m + i];
    return dot(this.views[j], v, m) + this.scale * s;
  }

  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    const { m, p, b } = this;
    axpy(alpha, this.views[j], v);
    const t = alpha * this.scale;
    for (let i = 0; i < p; i++) v[m + i] += t * b[j * p + i];
  }

  columnInner(i: number, j: number): number {
    const { p, b } = this;
    let s = 0;
    for (let k = 0; k < p; k++) s += b[i * p + k] * b[j * p + k];
    return dot(this.views[i], this.views[j]) + this.scale * this.scale * s;
  }

  columnNormsSquared(): Float64Array {
    const { p, b } = this;
    const out = new Float64Array(this.cols);
    for (let j = 0; j < this.cols; j++) {
      let s = 0;
      for (let i = 0; i < p; i++) s += b[j * p + i] ** 2;
      out[j] = this.aNorms[j] + this.scale * this.scale * s;
    }
    return out;
  }
}

/**
 * [A; s·B]: with column access when A is dense (DenseStackOperator, reusing `previous`'s column
 * views, or A's column norms ‖a_j‖² when given), else the matrix-free StackedOperator of the two blocks.
 */
export function augmentedStack(A: LinearOperator, B: DenseMatrix, scale: number, previous?: LinearOperator, aNorms?: Float64Array): LinearOperator {
  if (A instanceof DenseMatrix) {
    if (previous instanceof DenseStackOperator) return previous.withScale(scale);
    return new DenseStackOperator(A, B, scale, aNorms && { views: Array.from({ length: A.cols }, (_, j) => A.column(j)), aNorms });
  }
  return new StackedOperator([A, new DenseMatrix(B.rows, B.cols, B.data.map((v) => v * scale))]);
}
