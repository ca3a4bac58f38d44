import { InputError } from "../errors.js";
import { requireOperator, type LinearOperator } from "../operators/operator.js";
import { dot, requireVector } from "../linalg/vector.js";
import { applyPair, applyTPair } from "../operators/products.js";
import { gramProductsInPairs } from "./paired-products.js";
import { requireNonNegative } from "../errors.js";
import type { SmoothObjective } from "./objective.js";

/**
 * Smoothed total variation with a least-squares data term: with u = Dx and ρ_i = √(u_i² + δ²),
 * f(x) = ½‖Ax − b‖² + τ Σ ρ_i,
 * ∇f = Aᵀ(Ax − b) + τ Dᵀ(u/ρ),   ∇²f·v = AᵀAv + τ Dᵀ((δ²/ρ³) ⊙ Dv)   (d(u/ρ)/du = δ²/ρ³).
 */
export class SmoothedTotalVariation implements SmoothObjective {
  readonly dimension: number;
  private readonly residual: Float64Array;
  private readonly u: Float64Array;
  private readonly du: Float64Array;
  private readonly back: Float64Array;
  /** A·v workspaces for the fused products. */
  private readonly images: [Float64Array, Float64Array];

  constructor(
    readonly A: LinearOperator,
    readonly b: Float64Array,
    readonly D: LinearOperator,
    readonly tau: number,
    readonly delta: number,
  ) {
    requireOperator("A", A);
    requireOperator("D", D, 0);
    requireVector("b", b, A.rows);
    if (D.cols !== A.cols) throw new InputError("D", `expected ${A.cols} columns (as A), got ${D.cols}`);
    requireNonNegative("tau", tau);
    if (!Number.isFinite(delta) || delta <= 0) throw new InputError("delta", `expected a finite number > 0, got ${delta}`);
    this.dimension = A.cols;
    this.residual = new Float64Array(A.rows);
    this.u = new Float64Array(D.rows);
    this.du = new Float64Array(D.rows);
    this.back = new Float64Array(A.cols);
    this.images = [new Float64Array(A.rows), new Float64Array(A.rows)];
  }

  evaluate(x: Float64Array, gradient: Float64Array): number {
    const r = this.A.apply(x, this.residual);
    for (let i = 0; i < r.length; i++) r[i] -= this.b[i];
    this.A.applyT(r, gradient);
    return 0.5 * dot(r, r) + this.addTvGradient(x, gradient);
  }

  /**
   * f(x), ∇f(x) and ∇²f(x)·v_k for every direction: A·[x, v_1] and Aᵀ[r, Av_1] in two passes over
   * A, the other directions' AᵀAv_k in pairs; the TV terms (D is cheap) as in the separate calls.
   */
  evaluateWithHessianVectors(x: Float64Array, gradient: Float64Array, directions: readonly Float64Array[], products: readonly Float64Array[]): number {
    const P = directions.length;
    if (P === 0) return this.evaluate(x, gradient);
    const loss = this.evaluateWithHessianVectorAt(x, gradient, x, directions[0], products[0]);
    gramProductsInPairs(this.A, directions, products, 1, null, this.images);
    for (let k = 1; k < P; k++) this.addTvHessianVector(x, directions[k], products[k]);
    return loss;
  }

  /** f(x), ∇f(x) and hv ← ∇²f(at)·v with A read twice (its part of the Hessian, AᵀA, is the same at every point). */
  evaluateWithHessianVectorAt(x: Float64Array, gradient: Float64Array, at: Float64Array, v: Float64Array, hv: Float64Array): number {
    const r = this.residual;
    applyPair(this.A, x, v, r, this.images[0]);
    for (let i = 0; i < r.length; i++) r[i] -= this.b[i];
    applyTPair(this.A, r, this.images[0], gradient, hv);
    this.addTvHessianVector(at, v, hv);
    return 0.5 * dot(r, r) + this.addTvGradient(x, gradient);
  }

  hessianVector(x: Float64Array, v: Float64Array, out: Float64Array): Float64Array {
    this.A.applyT(this.A.apply(v, this.residual), out);
    this.addTvHessianVector(x, v, out);
    return out;
  }

  /** gradient += τDᵀ(u/ρ), u = Dx, ρ = √(u² + δ²); returns Σρ_i. */
  private addTvGradient(x: Float64Array, gradient: Float64Array): number {
    const u = this.D.apply(x, this.u);
    const d2 = this.delta * this.delta;
    let tv = 0;
    for (let i = 0; i < u.length; i++) {
      const rho = Math.sqrt(u[i] * u[i] + d2);
      tv += rho;
      u[i] /= rho;
    }
    this.D.applyT(u, this.back);
    for (let j = 0; j < gradient.length; j++) gradient[j] += this.tau * this.back[j];
    return this.tau * tv;
  }

  /** out += τDᵀ((δ²/ρ³) ⊙ Dv), ρ at x. */
  private addTvHessianVector(x: Float64Array, v: Float64Array, out: Float64Array): void {
    const u = this.D.apply(x, this.u);
    const dv = this.D.apply(v, this.du);
    const d2 = this.delta * this.delta;
    for (let i = 0; i < u.length; i++) {
      const rho2 = u[i] * u[i] + d2;
      dv[i] *= d2 / (rho2 * Math.sqrt(rho2));
    }
    this.D.applyT(dv, this.back);
    for (let j = 0; j < out.length; j++) out[j] += this.tau * this.back[j];
  }
}
