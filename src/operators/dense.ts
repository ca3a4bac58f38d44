import { Matrix } from "ml-matrix";
import { InputError, requireInteger } from "../errors.js";
import { allFinite, axpy, dot } from "../linalg/vector.js";
import { ResidentMatrix } from "../linalg/simd/resident.js";
import type { ColumnOperator } from "./operator.js";

/**
 * An ml-matrix `Matrix` (or any of its views) as sparsetune reads it: recognised by shape, not by
 * `instanceof`, so matrices from another copy of ml-matrix are accepted too.
 */
export interface MatrixLike {
  readonly rows: number;
  readonly columns: number;
  get(row: number, column: number): number;
}

/** An ml-matrix-like value: integer `rows` and `columns` and a `get(i, j)` method. */
export function isMatrixLike(value: unknown): value is MatrixLike {
  const v = value as MatrixLike;
  return typeof value === "object" && value !== null && Number.isSafeInteger(v.rows) && Number.isSafeInteger(v.columns) && typeof v.get === "function";
}

/** Anything a user may hand over as a dense matrix. */
export type DenseInput = number[][] | MatrixLike | DenseMatrix;

/**
 * Dense m×n matrix stored column-major in one Float64Array: column j is
 * data[j·m .. (j+1)·m), contiguous for coordinate descent. A matrix of at least
 * RESIDENT_MIN_ENTRIES entries is copied into a WebAssembly memory of its own where the platform
 * runs SIMD (`data` is then a view of that copy, not the array given: later changes to that array
 * do not reach the matrix; the view's buffer is shared and holds work vectors after the entries,
 * so read it through `data`, and do not transfer it). Its products and column operations run
 * there, with the same sums in the same order as the scalar loops (the same bits), except the
 * Gram matrix, whose entries sum as `columnInner` does rather than as the scalar blocked loop.
 */
export class DenseMatrix implements ColumnOperator {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
  /** @internal The SIMD copy (null: the scalar loops on `data`). */
  readonly resident: ResidentMatrix | null;

  /** `simd: false` keeps `data` as given (no copy; the scalar loops run); `resident`: data is that memory's (DenseMatrix.build). */
  constructor(rows: number, cols: number, data: Float64Array, options: { simd?: boolean; resident?: ResidentMatrix | null } = {}) {
    requireInteger("rows", rows, 0);
    requireInteger("cols", cols, 0);
    if (!(data instanceof Float64Array)) throw new InputError("matrix", "expected the entries as a column-major Float64Array");
    if (data.length !== rows * cols) {
      throw new InputError("matrix", `expected ${rows}x${cols} = ${rows * cols} entries, got ${data.length}`);
    }
    this.rows = rows;
    this.cols = cols;
    this.resident = options.resident !== undefined ? options.resident : options.simd === false ? null : ResidentMatrix.create(rows, cols, data);
    this.data = this.resident?.data ?? data;
  }

  /**
   * A rows×cols matrix whose column-major entries `fill` writes in place (into the SIMD memory
   * when the matrix goes there: no second copy).
   */
  static build(rows: number, cols: number, fill: (data: Float64Array) => void): DenseMatrix {
    const resident = ResidentMatrix.allocate(rows, cols);
    const data = resident?.data ?? new Float64Array(rows * cols);
    fill(data);
    return new DenseMatrix(rows, cols, data, { resident });
  }

  /**
   * The rows×cols matrix another thread built in the shared WebAssembly `memory` (its
   * `resident.memory`), used without a copy; at most one other thread at a time (see
   * ResidentMatrix.adopt). Null when the memory is not such a matrix's.
   */
  static adopt(rows: number, cols: number, memory: WebAssembly.Memory): DenseMatrix | null {
    const resident = ResidentMatrix.adopt(rows, cols, memory);
    return resident && new DenseMatrix(rows, cols, resident.data, { resident });
  }

  /** From a Float64Array in row-major ("C") or column-major ("F") order. */
  static fromArray(rows: number, cols: number, values: ArrayLike<number>, order: "C" | "F" = "C"): DenseMatrix {
    if (values.length !== rows * cols) {
      throw new InputError("matrix", `expected ${rows}x${cols} = ${rows * cols} entries, got ${values.length}`);
    }
    if (order === "F") return new DenseMatrix(rows, cols, Float64Array.from(values));
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const ri = i * cols;
      for (let j = 0; j < cols; j++) data[j * rows + i] = values[ri + j];
    }
    return new DenseMatrix(rows, cols, data);
  }

  /** From number[][] (rows of equal length), an ml-matrix Matrix, or a DenseMatrix (returned as is). */
  static from(input: DenseInput, field = "matrix"): DenseMatrix {
    if (input instanceof DenseMatrix) return input;
    if (isMatrixLike(input)) return DenseMatrix.fromMatrixLike(input, field);
    const rowsArr = input;
    if (!Array.isArray(rowsArr) || rowsArr.length === 0 || !Array.isArray(rowsArr[0])) {
      throw new InputError(field, "expected a non-empty array of rows");
    }
    const rows = rowsArr.length, cols = rowsArr[0].length;
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = rowsArr[i];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new InputError(`${field}[${i}]`, `expected a row of ${cols} numbers`);
      }
      for (let j = 0; j < cols; j++) data[j * rows + i] = row[j];
    }
    if (!allFinite(data)) throw new InputError(field, "expected finite numbers");
    return new DenseMatrix(rows, cols, data);
  }

  /** From an ml-matrix Matrix (or view), element by element through get(i, j). */
  static fromMatrixLike(input: MatrixLike, field = "matrix"): DenseMatrix {
    const { rows, columns: cols } = input;
    if (rows < 1 || cols < 1) throw new InputError(field, `expected a non-empty matrix, got ${rows}x${cols}`);
    const data = new Float64Array(rows * cols);
    for (let j = 0; j < cols; j++) {
      for (let i = 0; i < rows; i++) {
        const v = input.get(i, j);
        if (typeof v !== "number") throw new InputError(field, `expected numbers, got ${typeof v} at (${i}, ${j})`);
        data[j * rows + i] = v;
      }
    }
    if (!allFinite(data)) throw new InputError(field, "expected finite numbers");
    return new DenseMatrix(rows, cols, data);
  }

  toMatrix(): Matrix {
    const m = new Matrix(this.rows, this.cols);
    for (let j = 0; j < this.cols; j++) for (let i = 0; i < this.rows; i++) m.set(i, j, this.data[j * this.rows + i]);
    return m;
  }

  get(i: number, j: number): number {
    return this.data[j * this.rows + i];
  }

  /** Row i as a new array (rows are strided: one read per column). */
  row(i: number): Float64Array {
    const out = new Float64Array(this.cols);
    for (let j = 0; j < this.cols; j++) out[j] = this.data[j * this.rows + i];
    return out;
  }

  column(j: number): Float64Array {
    return this.data.subarray(j * this.rows, (j + 1) * this.rows);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    // Vectors of other lengths (bad input) take the scalar loops: the same NaN or error as without SIMD.
    if (this.resident && x.length === this.cols && out.length === this.rows) return this.resident.apply(x, out);
    out.fill(0);
    for (let j = 0; j < this.cols; j++) {
      const xj = x[j];
      if (xj !== 0) axpy(xj, this.column(j), out);
    }
    return out;
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    if (this.resident && y.length === this.rows && out.length === this.cols) return this.resident.applyT(y, out);
    for (let j = 0; j < this.cols; j++) out[j] = dot(this.column(j), y);
    return out;
  }

  columnDot(j: number, v: Float64Array): number {
    return this.resident?.holds(v) ? this.resident.columnDot(j, v) : dot(this.column(j), v);
  }

  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    if (this.resident?.holds(v)) this.resident.columnAxpy(j, alpha, v);
    else axpy(alpha, this.column(j), v);
  }

  /** out (length m) ← A_S v = Σ_a v_a a_{S_a} (columns with v_a = 0 skipped). */
  applyColumns(S: ArrayLike<number>, v: Float64Array, out: Float64Array): Float64Array {
    if (this.resident) return this.resident.applyColumns(S, v, out);
    out.fill(0);
    for (let a = 0; a < S.length; a++) if (v[a] !== 0) axpy(v[a], this.column(S[a]), out);
    return out;
  }

  /** out (length |S|) ← A_Sᵀ w. */
  applyColumnsT(S: ArrayLike<number>, w: Float64Array, out: Float64Array): Float64Array {
    if (this.resident) return this.resident.applyColumnsT(S, w, out);
    for (let a = 0; a < S.length; a++) out[a] = dot(this.column(S[a]), w);
    return out;
  }

  columnInner(i: number, j: number): number {
    return this.resident ? this.resident.columnInner(i, j) : dot(this.column(i), this.column(j));
  }

  /**
   * Gram matrix G = A_SᵀA_S (k×k, column-major) of the columns `cols`, register-blocked: each
   * column a_i is read once per block of four columns b..b+3 (four dot products per pass).
   */
  gram(cols: ArrayLike<number>): Float64Array {
    if (this.resident) return this.resident.gram(cols);
    const k = cols.length, m = this.rows, d = this.data;
    const g = new Float64Array(k * k);
    const off = (c: number) => cols[Math.min(c, k - 1)] * m; // clamped: extra products are dropped
    for (let b = 0; b < k; b += 4) {
      const o0 = off(b), o1 = off(b + 1), o2 = off(b + 2), o3 = off(b + 3);
      for (let a = b; a < k; a++) {
        const oa = off(a);
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < m; i++) {
          const v = d[oa + i];
          s0 += v * d[o0 + i];
          s1 += v * d[o1 + i];
          s2 += v * d[o2 + i];
          s3 += v * d[o3 + i];
        }
        g[b * k + a] = g[a * k + b] = s0;
        if (b + 1 <= a) g[(b + 1) * k + a] = g[a * k + b + 1] = s1;
        if (b + 2 <= a) g[(b + 2) * k + a] = g[a * k + b + 2] = s2;
        if (b + 3 <= a) g[(b + 3) * k + a] = g[a * k + b + 3] = s3;
      }
    }
    return g;
  }

  /** ‖a_j‖² for every column, one view per column (columnInner(j, j) takes two: measured 25% slower on 1000×5000). */
  columnNormsSquared(): Float64Array {
    const out = new Float64Array(this.cols);
    if (this.resident) return this.resident.columnNormsSquared(out);
    for (let j = 0; j < this.cols; j++) {
      const a = this.column(j);
      out[j] = dot(a, a);
    }
    return out;
  }
}
