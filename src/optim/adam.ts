import { InputError } from "../errors.js";
import { requireMomentum } from "./momentum.js";
import { requireObject, requireObjective, type SmoothObjective } from "./objective.js";
import type { OptimState, Optimiser, Perturbation } from "./optimiser.js";
import { toSchedule, type RateSchedule } from "./schedule.js";

export interface AdamParameters {
  /** The step size α (a number, or a schedule α_t). */
  alpha: RateSchedule | number;
  /** In [0, 1) (default 0.9). */
  beta1?: number;
  /** In (0, 1) (default 0.999). */
  beta2?: number;
  /** > 0 (default 1e-8). */
  epsilon?: number;
}

/**
 * Adam (Kingma & Ba), step t (k = t + 1), g = ∇f(x_t):
 *   m' = β1 m + (1−β1) g,  s' = β2 s + (1−β2) g²,  m̂ = m'/(1−β1^k),  ŝ = s'/(1−β2^k),
 *   x' = x − α_t u  with  u = m̂/(√ŝ + ε).
 * The tangent and the adjoint follow these lines entrywise (∇²f enters through g only); where
 * ŝ_i = 0 the gradient entry has been 0 so far and √ŝ's infinite slope meets a zero tangent:
 * that term is taken as 0.
 */
export class Adam implements Optimiser {
  readonly name = "adam";
  readonly auxiliaries = 2;
  readonly schedule: RateSchedule;
  readonly hyperparameters: readonly string[];
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly hv: Float64Array;
  private readonly gAdjoint: Float64Array;

  constructor(
    readonly objective: SmoothObjective,
    parameters: AdamParameters,
  ) {
    requireObjective("objective", objective);
    requireObject("parameters", parameters, "{ alpha, beta1?, beta2?, epsilon? }");
    this.schedule = toSchedule("alpha", parameters.alpha, "alpha");
    this.beta1 = parameters.beta1 ?? 0.9;
    this.beta2 = parameters.beta2 ?? 0.999;
    this.epsilon = parameters.epsilon ?? 1e-8;
    requireMomentum("beta1", this.beta1);
    if (!(Number.isFinite(this.beta2) && this.beta2 > 0 && this.beta2 < 1)) throw new InputError("beta2", `expected a number in (0, 1), got ${this.beta2}`);
    if (!(Number.isFinite(this.epsilon) && this.epsilon > 0)) throw new InputError("epsilon", `expected a finite number > 0, got ${this.epsilon}`);
    this.hyperparameters = [...this.schedule.names, "beta1", "beta2", "epsilon"];
    this.hv = new Float64Array(objective.dimension);
    this.gAdjoint = new Float64Array(objective.dimension);
  }

  step(s: OptimState, t: number): void {
    const [m, v] = s.aux, g = s.gradient, x = s.x;
    const { beta1, beta2, epsilon } = this;
    const alpha = this.schedule.rate(t), c1 = 1 - beta1 ** (t + 1), c2 = 1 - beta2 ** (t + 1);
    for (let i = 0; i < x.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      x[i] -= (alpha * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon);
    }
  }

  tangentStep(s: OptimState, d: Perturbation, p: number, t: number, given?: Float64Array): void {
    const [m, v] = s.aux, g = s.gradient, [dm, dv] = d.aux, dx = d.x;
    const { beta1, beta2, epsilon } = this;
    const n = this.schedule.names.length, k = t + 1;
    const alpha = this.schedule.rate(t);
    const dAlpha = p < n ? this.schedule.rateDerivative(t, p) : 0;
    const dBeta1 = p === n ? 1 : 0, dBeta2 = p === n + 1 ? 1 : 0, dEpsilon = p === n + 2 ? 1 : 0;
    const c1 = 1 - beta1 ** k, c2 = 1 - beta2 ** k;
    const dc1 = -k * beta1 ** (k - 1) * dBeta1, dc2 = -k * beta2 ** (k - 1) * dBeta2;
    const dg = given ?? this.objective.hessianVector(s.x, dx, this.hv);
    for (let i = 0; i < dx.length; i++) {
      const mNew = beta1 * m[i] + (1 - beta1) * g[i];
      const vNew = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      dm[i] = dBeta1 * (m[i] - g[i]) + beta1 * dm[i] + (1 - beta1) * dg[i];
      dv[i] = dBeta2 * (v[i] - g[i] * g[i]) + beta2 * dv[i] + 2 * (1 - beta2) * g[i] * dg[i];
      const mHat = mNew / c1, vHat = vNew / c2;
      const dmHat = (dm[i] - mHat * dc1) / c1, dvHat = (dv[i] - vHat * dc2) / c2;
      const r = Math.sqrt(vHat), dr = r > 0 ? dvHat / (2 * r) : 0;
      const denominator = r + epsilon, u = mHat / denominator;
      const du = (dmHat - u * (dr + dEpsilon)) / denominator;
      dx[i] -= dAlpha * u + alpha * du;
    }
  }

  adjointUpdate(s: OptimState, a: Perturbation, t: number, hyperAdjoint: Float64Array): Float64Array {
    const [m, v] = s.aux, g = s.gradient, [am, av] = a.aux, ax = a.x, ag = this.gAdjoint;
    const { beta1, beta2, epsilon } = this;
    const n = this.schedule.names.length, k = t + 1;
    const alpha = this.schedule.rate(t);
    const c1 = 1 - beta1 ** k, c2 = 1 - beta2 ** k;
    let alphaAdjoint = 0, beta1Adjoint = 0, beta2Adjoint = 0, epsilonAdjoint = 0, c1Adjoint = 0, c2Adjoint = 0;
    for (let i = 0; i < ax.length; i++) {
      const mNew = beta1 * m[i] + (1 - beta1) * g[i];
      const vNew = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const mHat = mNew / c1, vHat = vNew / c2;
      const r = Math.sqrt(vHat), denominator = r + epsilon, u = mHat / denominator;
      alphaAdjoint -= ax[i] * u;
      const uAdjoint = -alpha * ax[i];
      const mHatAdjoint = uAdjoint / denominator;
      const denominatorAdjoint = (-uAdjoint * u) / denominator;
      epsilonAdjoint += denominatorAdjoint;
      const vHatAdjoint = r > 0 ? denominatorAdjoint / (2 * r) : 0;
      const mNewAdjoint = am[i] + mHatAdjoint / c1;
      const vNewAdjoint = av[i] + vHatAdjoint / c2;
      c1Adjoint -= (mHatAdjoint * mHat) / c1;
      c2Adjoint -= (vHatAdjoint * vHat) / c2;
      beta1Adjoint += mNewAdjoint * (m[i] - g[i]);
      beta2Adjoint += vNewAdjoint * (v[i] - g[i] * g[i]);
      ag[i] = (1 - beta1) * mNewAdjoint + 2 * (1 - beta2) * g[i] * vNewAdjoint;
      am[i] = beta1 * mNewAdjoint;
      av[i] = beta2 * vNewAdjoint;
    }
    // c = 1 − β^k: ∂c/∂β = −k β^{k−1}.
    beta1Adjoint -= c1Adjoint * k * beta1 ** (k - 1);
    beta2Adjoint -= c2Adjoint * k * beta2 ** (k - 1);
    for (let p = 0; p < n; p++) hyperAdjoint[p] += this.schedule.rateDerivative(t, p) * alphaAdjoint;
    hyperAdjoint[n] += beta1Adjoint;
    hyperAdjoint[n + 1] += beta2Adjoint;
    hyperAdjoint[n + 2] += epsilonAdjoint;
    return ag; // x̄ += ∇²f·ḡ
  }
}
