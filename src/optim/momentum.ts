import { InputError } from "../errors.js";
import { requireObjective, type SmoothObjective } from "./objective.js";
import type { OptimState, Optimiser, Perturbation } from "./optimiser.js";
import { toSchedule, type RateSchedule } from "./schedule.js";

export function requireMomentum(field: string, beta: number): void {
  if (!(Number.isFinite(beta) && beta >= 0 && beta < 1)) throw new InputError(field, `expected a number in [0, 1), got ${beta}`);
}

/**
 * Heavy-ball momentum, velocity form: v_{t+1} = β v_t + ∇f(x_t),  x_{t+1} = x_t − η_t v_{t+1}.
 * Tangent: v̇' = β v̇ + β̇ v + ∇²f ẋ,  ẋ' = ẋ − η_t v̇' − η̇_t v'.
 * Adjoint (x̄, v̄ of step t+1): w = v̄ − η_t x̄ (the whole adjoint of v'), θ̄ += (∂η_t/∂θ)(−x̄ᵀv'),
 * β̄ += wᵀv,  v̄ ← β w,  x̄ ← x̄ + ∇²f w.
 */
export class Momentum implements Optimiser {
  readonly name = "momentum";
  readonly auxiliaries = 1;
  readonly schedule: RateSchedule;
  readonly hyperparameters: readonly string[];
  private readonly hv: Float64Array;
  private readonly w: Float64Array;

  constructor(
    readonly objective: SmoothObjective,
    schedule: RateSchedule | number,
    readonly beta: number,
  ) {
    requireObjective("objective", objective);
    this.schedule = toSchedule("schedule", schedule);
    requireMomentum("beta", beta);
    this.hyperparameters = [...this.schedule.names, "beta"];
    this.hv = new Float64Array(objective.dimension);
    this.w = new Float64Array(objective.dimension);
  }

  step(s: OptimState, t: number): void {
    const [v] = s.aux, g = s.gradient, x = s.x, eta = this.schedule.rate(t), beta = this.beta;
    for (let i = 0; i < x.length; i++) {
      v[i] = beta * v[i] + g[i];
      x[i] -= eta * v[i];
    }
  }

  tangentStep(s: OptimState, d: Perturbation, p: number, t: number, given?: Float64Array): void {
    const [v] = s.aux, g = s.gradient, [dv] = d.aux, dx = d.x;
    const nSchedule = this.schedule.names.length;
    const eta = this.schedule.rate(t), beta = this.beta;
    const dEta = p < nSchedule ? this.schedule.rateDerivative(t, p) : 0;
    const dBeta = p === nSchedule ? 1 : 0;
    const hv = given ?? this.objective.hessianVector(s.x, dx, this.hv);
    for (let i = 0; i < dx.length; i++) {
      dv[i] = beta * dv[i] + dBeta * v[i] + hv[i];
      dx[i] -= eta * dv[i] + dEta * (beta * v[i] + g[i]);
    }
  }

  adjointUpdate(s: OptimState, a: Perturbation, t: number, hyperAdjoint: Float64Array): Float64Array {
    const [v] = s.aux, g = s.gradient, [av] = a.aux, ax = a.x, w = this.w;
    const eta = this.schedule.rate(t), beta = this.beta;
    let rateAdjoint = 0, betaAdjoint = 0;
    for (let i = 0; i < ax.length; i++) {
      w[i] = av[i] - eta * ax[i];
      rateAdjoint -= ax[i] * (beta * v[i] + g[i]);
      betaAdjoint += w[i] * v[i];
      av[i] = beta * w[i];
    }
    const nSchedule = this.schedule.names.length;
    for (let p = 0; p < nSchedule; p++) hyperAdjoint[p] += this.schedule.rateDerivative(t, p) * rateAdjoint;
    hyperAdjoint[nSchedule] += betaAdjoint;
    return w; // x̄ += ∇²f·w
  }
}
