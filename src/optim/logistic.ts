import { InputError } from "../errors.js";
import { requireOperator, type LinearOperator } from "../operators/operator.js";
import { applyPair, applyTPair } from "../operators/products.js";
import { axpy, dot, requireVector } from "../linalg/vector.js";
import { gramProductsInPairs } from "./paired-products.js";
import { requireNonNegative } from "../errors.js";
import type { SmoothObjective } from "./objective.js";

/**
 * Logistic regression with labels y_i ∈ {−1, +1}: with margins m_i = y_i·(Ax)_i,
 * f(x) = Σ log(1 + e^{−m_i}) + (ridge/2)‖x‖²,
 * ∇f = −Aᵀ(y ⊙ σ(−m)) + ridge·x,   ∇²f·v = Aᵀ(σ(m)σ(−m) ⊙ Av) + ridge·v.
 */
export class LogisticRegression implements SmoothObjective {
  readonly dimension: number;
  private readonly z: Float64Array;
  /** The curvature σ(m)σ(−m) at the last point a Hessian-vector product was taken at. */
  private readonly weights: Float64Array;
  /** A·v workspaces for the fused products. */
  private readonly images: [Float64Array, Float64Array];

  constructor(
    readonly A: LinearOperator,
    readonly labels: Float64Array,
    readonly ridge = 0,
  ) {
    requireOperator("A", A);
    requireVector("labels", labels, A.rows);
    for (let i = 0; i < labels.length; i++) if (labels[i] !== 1 && labels[i] !== -1) throw new InputError("labels", `expected −1 or +1, got ${labels[i]} at ${i}`);
    requireNonNegative("ridge", ridge);
    this.dimension = A.cols;
    this.z = new Float64Array(A.rows);
    this.weights = new Float64Array(A.rows);
    this.images = [new Float64Array(A.rows), new Float64Array(A.rows)];
  }

  evaluate(x: Float64Array, gradient: Float64Array): number {
    const z = this.A.apply(x, this.z);
    let f = this.residualOf(z);
    this.A.applyT(z, gradient);
    if (this.ridge !== 0) {
      axpy(this.ridge, x, gradient);
      f += 0.5 * this.ridge * dot(x, x);
    }
    return f;
  }

  /** z = Ax in, −y ⊙ σ(−m) out (m = y ⊙ z, so that ∇ = Aᵀz); returns Σ log(1 + e^{−m_i}). */
  private residualOf(z: Float64Array): number {
    let f = 0;
    for (let i = 0; i < z.length; i++) {
      const m = this.labels[i] * z[i];
      // log(1 + e^{−m}) without overflow; σ(−m) = 1/(1 + e^{m}).
      f += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
      z[i] = -this.labels[i] / (1 + Math.exp(m));
    }
    return f;
  }

  /** w = Ax in, the curvature σ(m)σ(−m) = p(1 − p), p = σ(w), out (whatever the label's sign). */
  private curvature(w: Float64Array): void {
    for (let i = 0; i < w.length; i++) {
      const p = 1 / (1 + Math.exp(-w[i]));
      w[i] = p * (1 - p);
    }
  }

  /**
   * f(x), ∇f(x) and ∇²f(x)·v_k for every direction: A·[x, v_1] and Aᵀ[r, c ⊙ Av_1] in two passes
   * over A (c = σ(m)σ(−m) from the margins at x), the other directions in pairs.
   */
  evaluateWithHessianVectors(x: Float64Array, gradient: Float64Array, directions: readonly Float64Array[], products: readonly Float64Array[]): number {
    const P = directions.length;
    if (P === 0) return this.evaluate(x, gradient);
    const loss = this.evaluateWithHessianVectorAt(x, gradient, x, directions[0], products[0]);
    gramProductsInPairs(this.A, directions, products, 1, this.weights, this.images);
    if (this.ridge !== 0) for (let k = 1; k < P; k++) axpy(this.ridge, directions[k], products[k]);
    return loss;
  }

  /**
   * f(x), ∇f(x) and hv ← ∇²f(at)·v: A·[x, v] in one pass, A·at in another unless at is x (the
   * curvature at `at` needs its margins), Aᵀ[r, c ⊙ Av] in one. The same values as the separate calls.
   */
  evaluateWithHessianVectorAt(x: Float64Array, gradient: Float64Array, at: Float64Array, v: Float64Array, hv: Float64Array): number {
    const z = this.z, c = this.weights, av = this.images[0];
    applyPair(this.A, x, v, z, av);
    if (at === x) c.set(z);
    else this.A.apply(at, c);
    this.curvature(c);
    for (let i = 0; i < av.length; i++) av[i] *= c[i];
    const f = this.residualOf(z);
    applyTPair(this.A, z, av, gradient, hv);
    if (this.ridge === 0) return f;
    axpy(this.ridge, x, gradient);
    axpy(this.ridge, v, hv);
    return f + 0.5 * this.ridge * dot(x, x);
  }

  hessianVector(x: Float64Array, v: Float64Array, out: Float64Array): Float64Array {
    const c = this.weights, av = this.z;
    applyPair(this.A, x, v, c, av); // the margins at x and A·v in one pass over A
    this.curvature(c);
    for (let i = 0; i < av.length; i++) av[i] *= c[i];
    this.A.applyT(av, out);
    if (this.ridge !== 0) axpy(this.ridge, v, out);
    return out;
  }
}
