import { DenseMatrix } from "./dense.js";
import { hasColumns, type LinearOperator } from "./operator.js";

/** out1 ← Ax1, out2 ← Ax2: one pass over a SIMD-resident DenseMatrix, two products otherwise (the same bits). */
export function applyPair(A: LinearOperator, x1: Float64Array, x2: Float64Array, out1: Float64Array, out2: Float64Array): void {
  if (A instanceof DenseMatrix && A.resident) {
    A.resident.applyPair(x1, x2, out1, out2);
    return;
  }
  A.apply(x1, out1);
  A.apply(x2, out2);
}

/** out1 ← Aᵀy1, out2 ← Aᵀy2: one pass over a SIMD-resident DenseMatrix, two products otherwise (the same bits). */
export function applyTPair(A: LinearOperator, y1: Float64Array, y2: Float64Array, out1: Float64Array, out2: Float64Array): void {
  if (A instanceof DenseMatrix && A.resident) {
    A.resident.applyTPair(y1, y2, out1, out2);
    return;
  }
  A.applyT(y1, out1);
  A.applyT(y2, out2);
}

/**
 * out (length m) ← A_S u = Σ_a u_a a_{S_a} (u by support position): the SIMD kernel or column
 * axpys where A has columns, else A on u scattered into `padded` (length n, all zero; left so).
 */
export function applyOnSupport(A: LinearOperator, S: ArrayLike<number>, u: Float64Array, out: Float64Array, padded?: Float64Array): Float64Array {
  if (A instanceof DenseMatrix) return A.applyColumns(S, u, out);
  if (hasColumns(A)) {
    out.fill(0);
    for (let a = 0; a < S.length; a++) if (u[a] !== 0) A.columnAxpy(S[a], u[a], out);
    return out;
  }
  for (let a = 0; a < S.length; a++) padded![S[a]] = u[a];
  A.apply(padded!, out);
  for (let a = 0; a < S.length; a++) padded![S[a]] = 0;
  return out;
}

/** out (length |S|) ← A_Sᵀw: the SIMD kernel or column dots where A has columns, else Aᵀw into `full` (length n), gathered. */
export function applyTOnSupport(A: LinearOperator, S: ArrayLike<number>, w: Float64Array, out: Float64Array, full?: Float64Array): Float64Array {
  if (A instanceof DenseMatrix) return A.applyColumnsT(S, w, out);
  if (hasColumns(A)) {
    for (let a = 0; a < S.length; a++) out[a] = A.columnDot(S[a], w);
    return out;
  }
  A.applyT(w, full!);
  for (let a = 0; a < S.length; a++) out[a] = full![S[a]];
  return out;
}
