import { dot, requireVector } from "../linalg/vector.js";
import { requireOperator, type LinearOperator } from "./operator.js";

/**
 * The adjoint (dot) test: |<A x, y> − <x, Aᵀ y>| relative to ‖A x‖‖y‖ + ‖x‖‖Aᵀy‖.
 * A correct pair (apply, applyT) gives rounding-level values (~1e-15).
 */
export function dotTest(op: LinearOperator, x: Float64Array, y: Float64Array): number {
  requireOperator("op", op);
  requireVector("x", x, op.cols);
  requireVector("y", y, op.rows);
  const ax = op.apply(x, new Float64Array(op.rows));
  const aty = op.applyT(y, new Float64Array(op.cols));
  const lhs = dot(ax, y), rhs = dot(x, aty);
  const scale = Math.sqrt(dot(ax, ax) * dot(y, y)) + Math.sqrt(dot(x, x) * dot(aty, aty));
  return scale === 0 ? 0 : Math.abs(lhs - rhs) / scale;
}
