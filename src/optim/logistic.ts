import { InputError } from "../errors.js";
import { requireOperator, type LinearOperator } from "../operators/operator.js";
import { axpy, dot, requireVector } from "../linalg/vector.js";
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
  private readonly weights: Float64Array;

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
  }

  evaluate(x: Float64Array, gradient: Float64Array): number {
    const z = this.A.apply(x, this.z);
    let f = 0;
    for (let i = 0; i < z.length; i++) {
      const m = this.labels[i] * z[i];
      // log(1 + e^{−m}) without overflow; σ(−m) = 1/(1 + e^{m}).
      f += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
      z[i] = -this.labels[i] / (1 + Math.exp(m));
    }
    this.A.applyT(z, gradient);
    if (this.ridge !== 0) {
      axpy(this.ridge, x, gradient);
      f += 0.5 * this.ridge * dot(x, x);
    }
    return f;
  }

  hessianVector(x: Float64Array, v: Float64Array, out: Float64Array): Float64Array {
    const w = this.A.apply(x, this.weights);
    const av = this.A.apply(v, this.z);
    for (let i = 0; i < w.length; i++) {
      const p = 1 / (1 + Math.exp(-w[i])); // σ(m)σ(−m) = p(1 − p) whatever the label's sign
      av[i] *= p * (1 - p);
    }
    this.A.applyT(av, out);
    if (this.ridge !== 0) axpy(this.ridge, v, out);
    return out;
  }
}
