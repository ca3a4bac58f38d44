import { requireOperator, type LinearOperator } from "../operators/operator.js";
import { applyPair, applyTPair } from "../operators/products.js";
import { gramProductsInPairs } from "./paired-products.js";
import { axpy, dot, requireVector } from "../linalg/vector.js";
import { requireNonNegative } from "../errors.js";
import type { SmoothObjective } from "./objective.js";

/** f(x) = ½‖Ax − b‖² + (ridge/2)‖x‖²;  ∇f = Aᵀ(Ax − b) + ridge·x;  ∇²f·v = AᵀAv + ridge·v. */
export class LeastSquares implements SmoothObjective {
  readonly dimension: number;
  private readonly residual: Float64Array;
  /** A·v workspaces for the fused products. */
  private readonly images: [Float64Array, Float64Array];

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
    this.images = [new Float64Array(A.rows), new Float64Array(A.rows)];
  }

  evaluate(x: Float64Array, gradient: Float64Array): number {
    const r = this.A.apply(x, this.residual);
    for (let i = 0; i < r.length; i++) r[i] -= this.b[i];
    this.A.applyT(r, gradient);
    if (this.ridge !== 0) axpy(this.ridge, x, gradient);
    return 0.5 * dot(r, r) + (this.ridge === 0 ? 0 : 0.5 * this.ridge * dot(x, x));
  }

  /**
   * f(x), ∇f(x) and ∇²f·v_k for every direction, A read once per pair of vectors: r = Ax − b with
   * A·v_1, Aᵀr with AᵀA·v_1, the rest in pairs. With one direction, two passes where evaluate and
   * hessianVector take four.
   */
  evaluateWithHessianVectors(x: Float64Array, gradient: Float64Array, directions: readonly Float64Array[], products: readonly Float64Array[]): number {
    const v = directions, P = v.length;
    if (P === 0) return this.evaluate(x, gradient);
    const loss = this.evaluateWithHessianVectorAt(x, gradient, x, v[0], products[0]);
    gramProductsInPairs(this.A, v, products, 1, null, this.images);
    if (this.ridge !== 0) for (let k = 1; k < P; k++) axpy(this.ridge, v[k], products[k]);
    return loss;
  }

  /** f(x), ∇f(x) and hv ← ∇²f·v (AᵀA + ridge·I at every point, so `at` does not matter) in two passes over A. */
  evaluateWithHessianVectorAt(x: Float64Array, gradient: Float64Array, _at: Float64Array, v: Float64Array, hv: Float64Array): number {
    const A = this.A, r = this.residual, Av = this.images[0];
    applyPair(A, x, v, r, Av);
    for (let i = 0; i < r.length; i++) r[i] -= this.b[i];
    applyTPair(A, r, Av, gradient, hv);
    if (this.ridge !== 0) {
      axpy(this.ridge, x, gradient);
      axpy(this.ridge, v, hv);
    }
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
