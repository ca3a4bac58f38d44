import type { LinearOperator } from "../operators/operator.js";
import { axpy, dot } from "../linalg/vector.js";
import { requireNonNegative, requireOperator, requireVector, type SmoothObjective } from "./objective.js";

/** f(x) = ½‖Ax − b‖² + (ridge/2)‖x‖²;  ∇f = Aᵀ(Ax − b) + ridge·x;  ∇²f·v = AᵀAv + ridge·v. */
export class LeastSquares implements SmoothObjective {
  readonly dimension: number;
  private readonly residual: Float64Array;

  constructor(
    readonly A: LinearOperator,
    readonly b: Float64Array,
    readonly ridge = 0,
  ) {
    requireOperator("A", A);
    requireVector("b", b, A.rows);
    requireNonNegative("ridge", ridge);
    this.dimension = A.cols;
    this.residual = new Float64Array(A.rows);
  }

  evaluate(x: Float64Array, gradient: Float64Array): number {
    const r = this.A.apply(x, this.residual);
    for (let i = 0; i < r.length; i++) r[i] -= this.b[i];
    this.A.applyT(r, gradient);
    if (this.ridge !== 0) axpy(this.ridge, x, gradient);
    return 0.5 * dot(r, r) + (this.ridge === 0 ? 0 : 0.5 * this.ridge * dot(x, x));
  }

  hessianVector(_x: Float64Array, v: Float64Array, out: Float64Array): Float64Array {
    this.A.applyT(this.A.apply(v, this.residual), out);
    if (this.ridge !== 0) axpy(this.ridge, v, out);
    return out;
  }
}

/** Ridge regression ½‖Ax − b‖² + (λ/2)‖x‖². */
export function ridge(A: LinearOperator, b: Float64Array, lambda: number): LeastSquares {
  return new LeastSquares(A, b, lambda);
}
