import { axpy, dot } from "../linalg/vector.js";
import { requireObjective, type SmoothObjective } from "./objective.js";
import type { OptimState, Optimiser, Perturbation } from "./optimiser.js";
import { toSchedule, type RateSchedule } from "./schedule.js";

/**
 * Gradient descent x_{t+1} = x_t − η_t ∇f(x_t), η_t from a schedule (a constant η by default).
 * Tangent: ẋ_{t+1} = ẋ_t − η_t ∇²f ẋ_t − η̇_t ∇f(x_t).
 * Adjoint: θ̄ += (∂η_t/∂θ)(−x̄ᵀ∇f(x_t)),  x̄ ← x̄ − η_t ∇²f x̄.
 */
export class GradientDescent implements Optimiser {
  readonly name = "gradient descent";
  readonly auxiliaries = 0;
  readonly schedule: RateSchedule;
  readonly hyperparameters: readonly string[];
  private readonly hv: Float64Array;
  private readonly w: Float64Array;

  constructor(
    readonly objective: SmoothObjective,
    schedule: RateSchedule | number,
  ) {
    requireObjective("objective", objective);
    this.schedule = toSchedule("schedule", schedule);
    this.hyperparameters = this.schedule.names;
    this.hv = new Float64Array(objective.dimension);
    this.w = new Float64Array(objective.dimension);
  }

  step(s: OptimState, t: number): void {
    axpy(-this.schedule.rate(t), s.gradient, s.x);
  }

  tangentStep(s: OptimState, d: Perturbation, p: number, t: number, given?: Float64Array): void {
    const hv = given ?? this.objective.hessianVector(s.x, d.x, this.hv);
    axpy(-this.schedule.rate(t), hv, d.x);
    axpy(-this.schedule.rateDerivative(t, p), s.gradient, d.x);
  }

  /** x̄ ← x̄ − η∇²f x̄ = x̄ + ∇²f·w with w = −η x̄. */
  adjointUpdate(s: OptimState, a: Perturbation, t: number, hyperAdjoint: Float64Array): Float64Array {
    const rateAdjoint = -dot(a.x, s.gradient);
    for (let p = 0; p < hyperAdjoint.length; p++) hyperAdjoint[p] += this.schedule.rateDerivative(t, p) * rateAdjoint;
    const eta = this.schedule.rate(t), w = this.w;
    for (let i = 0; i < w.length; i++) w[i] = -eta * a.x[i];
    return w;
  }
}
