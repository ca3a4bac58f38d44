import { requireInteger } from "../errors.js";
import { axpy } from "../linalg/vector.js";
import type { RateSchedule } from "./schedule.js";
import type { SmoothObjective } from "./objective.js";

/** Views of `count` consecutive length-n blocks of data, from block `first`. */
function blocks(data: Float64Array, n: number, first: number, count: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let k = first; k < first + count; k++) out.push(data.subarray(k * n, (k + 1) * n));
  return out;
}

/** n ≥ 1 entries per block and auxiliaries ≥ 0 extra blocks. */
function requireLayout(n: number, auxiliaries: number): void {
  requireInteger("n", n, 1);
  requireInteger("auxiliaries", auxiliaries, 0);
}

/** The whole adjoint of step t: adjointUpdate, then x̄ ← x̄ + ∇²f(x_t)·w (hv: a workspace). */
export function adjointStep(optimiser: Optimiser, s: OptimState, a: Perturbation, t: number, hyperAdjoint: Float64Array, hv: Float64Array): void {
  const w = optimiser.adjointUpdate(s, a, t, hyperAdjoint);
  axpy(1, optimiser.objective.hessianVector(s.x, w, hv), a.x);
}

/**
 * An optimiser's state at step t in one buffer (copied with one `set`): the iterate x_t, the
 * method's own vectors (momentum's velocity, Adam's moments), ∇f(x_t) and f(x_t). Keeping the
 * gradient in the state lets the reverse sweep read ∇f(x_t) instead of recomputing it.
 */
export class OptimState {
  readonly data: Float64Array;
  readonly x: Float64Array;
  readonly aux: Float64Array[];
  readonly gradient: Float64Array;

  constructor(n: number, auxiliaries: number) {
    requireLayout(n, auxiliaries);
    this.data = new Float64Array((auxiliaries + 2) * n + 1);
    [this.x, ...this.aux] = blocks(this.data, n, 0, auxiliaries + 1);
    [this.gradient] = blocks(this.data, n, auxiliaries + 1, 1);
  }

  get loss(): number {
    return this.data[this.data.length - 1];
  }

  set loss(value: number) {
    this.data[this.data.length - 1] = value;
  }
}

/** A tangent (forward mode) or an adjoint (reverse mode) of the iterate and the method's own vectors. */
export class Perturbation {
  readonly data: Float64Array;
  readonly x: Float64Array;
  readonly aux: Float64Array[];

  constructor(n: number, auxiliaries: number) {
    requireLayout(n, auxiliaries);
    this.data = new Float64Array((auxiliaries + 1) * n);
    [this.x, ...this.aux] = blocks(this.data, n, 0, auxiliaries + 1);
  }
}

/**
 * A differentiable optimiser on a smooth objective: x_{t+1}, aux_{t+1} = step(x_t, aux_t, ∇f(x_t); h)
 * for hyperparameters h = (the step-size schedule's parameters, then the method's own). The
 * three methods share the state layout and never allocate: the driver (differentiate.ts) runs
 * them plainly, with tangents, or backwards.
 */
export interface Optimiser {
  readonly name: string;
  readonly objective: SmoothObjective;
  readonly schedule: RateSchedule;
  /** The hyperparameters' names: the schedule's, then the method's own. */
  readonly hyperparameters: readonly string[];
  /** How many vectors besides x the method carries (0 for gradient descent). */
  readonly auxiliaries: number;
  /** x, aux ← step t from s (which holds ∇f(x_t)); the driver then refreshes ∇f and f. */
  step(s: OptimState, t: number): void;
  /**
   * Tangent of step t in hyperparameter p, from the state s before the step: d ← ∂step/∂(x, aux)·d
   * + ∂step/∂h_p. `hv`: ∇²f(x_t)·d.x when the driver computed it along with ∇f(x_t) (else the
   * step computes it).
   */
  tangentStep(s: OptimState, d: Perturbation, p: number, t: number, hv?: Float64Array): void;
  /**
   * Adjoint of step t from the state s before it: ā ← ā·∂step/∂(x, aux) and hyperAdjoint[p] +=
   * ā·∂step/∂h_p for every p, all but one term: returns w (the optimiser's buffer) such that the
   * step completes with x̄ ← x̄ + ∇²f(x_t)·w, which the driver adds (adjointStep below, or with the
   * products of a recomputed step in the same passes over the data). w is used before the
   * optimiser's next call (it may be a scratch buffer that step reuses).
   */
  adjointUpdate(s: OptimState, a: Perturbation, t: number, hyperAdjoint: Float64Array): Float64Array;
}
