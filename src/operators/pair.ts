import { DenseMatrix } from "./dense.js";
import type { LinearOperator } from "./operator.js";

/** out1 ← Ax1, out2 ← Ax2: one pass over a SIMD-resident DenseMatrix, two products otherwise (the same bits). */
export function applyPair(A: LinearOperator, x1: Float64Array, x2: Float64Array, out1: Float64Array, out2: Float64Array): void {
  if (A instanceof DenseMatrix) {
    A.applyPair(x1, x2, out1, out2);
    return;
  }
  A.apply(x1, out1);
  A.apply(x2, out2);
}

/** out1 ← Aᵀy1, out2 ← Aᵀy2: one pass over a SIMD-resident DenseMatrix, two products otherwise (the same bits). */
export function applyTPair(A: LinearOperator, y1: Float64Array, y2: Float64Array, out1: Float64Array, out2: Float64Array): void {
  if (A instanceof DenseMatrix) {
    A.applyTPair(y1, y2, out1, out2);
    return;
  }
  A.applyT(y1, out1);
  A.applyT(y2, out2);
}
