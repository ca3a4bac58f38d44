import { interleavedReverseSweep, MAX_UNROLLED_ITERATIONS, reverseSweep, type Recurrence } from "../diff/checkpoint.js";
import { DivergenceError, InputError } from "../errors.js";
import { axpy, dot, requireVector } from "../linalg/vector.js";
import { requireObject, requireObjective } from "./objective.js";
import { adjointStep, OptimState, Perturbation, type Optimiser } from "./optimiser.js";

export interface RunOptions {
  /** A loss above divergence·max(1, |f(x₀)|) counts as divergence, like a non-finite one (default 1e12). */
  divergence?: number;
}

export interface OptimiserRun {
  x: Float64Array;
  /** f(x_K) */
  loss: number;
}

export interface OptimiserDerivatives extends OptimiserRun {
  /** d f(x_K)/dh by hyperparameter name. */
  derivatives: Record<string, number>;
}

export interface ForwardOptions extends RunOptions {
  /** The hyperparameters to carry a tangent for (default: all of them; each costs one Hessian-vector product per step). */
  parameters?: readonly string[];
}

export interface ReverseOptions extends RunOptions {
  /** Steps between checkpoints (default ⌈√K⌉). */
  interval?: number;
}

export interface ReverseDerivatives extends OptimiserDerivatives {
  /** State buffers held at once by the checkpointed sweep (about 2√K; 3√K where the objective fuses products, interleavedReverseSweep). */
  storedStates: number;
  /** Optimiser steps taken, recomputation included (at most 2K). */
  steps: number;
}

export function requireIterations(K: number): void {
  if (!Number.isInteger(K) || K < 1) throw new InputError("iterations", `expected an integer ≥ 1, got ${K}`);
  if (K > MAX_UNROLLED_ITERATIONS) throw new InputError("iterations", `expected at most ${MAX_UNROLLED_ITERATIONS} steps (each one is run), got ${K}`);
}

/** Hessian-vector products computed with each gradient: products[k] ← ∇²f(x_t)·directions[k]. */
interface RidingProducts {
  directions: readonly Float64Array[];
  products: readonly Float64Array[];
}

/**
 * The optimiser's steps as an in-place recurrence, each followed by ∇f, f and the divergence test
 * (with `riding`, and the Hessian-vector products at the new x, where the objective shares the passes).
 */
function recurrenceOf(optimiser: Optimiser, initialLoss: number, options: RunOptions, riding?: RidingProducts): Recurrence<OptimState> {
  const factor = options.divergence ?? 1e12;
  if (!(factor > 1)) throw new InputError("divergence", `expected a number > 1, got ${factor}`);
  const limit = factor * Math.max(1, Math.abs(initialLoss));
  const { objective } = optimiser;
  return {
    create: () => new OptimState(objective.dimension, optimiser.auxiliaries),
    copy: (dst, src) => dst.data.set(src.data),
    step(s, t) {
      optimiser.step(s, t);
      const loss = (s.loss = riding ? objective.evaluateWithHessianVectors!(s.x, s.gradient, riding.directions, riding.products) : objective.evaluate(s.x, s.gradient));
      if (!(Math.abs(loss) <= limit)) throw new DivergenceError(optimiser.name, t + 1, loss);
    },
  };
}

/** An optimiser with step and, for a derivative mode, its method (tangentStep or adjointUpdate); its objective checked too. */
function requireOptimiser(optimiser: Optimiser, mode?: "tangentStep" | "adjointUpdate"): void {
  if (typeof optimiser?.step !== "function") throw new InputError("optimiser", "expected an optimiser (GradientDescent, Momentum, Adam)");
  if (mode && typeof optimiser[mode] !== "function") throw new InputError("optimiser", `expected an optimiser implementing ${mode} (see the Optimiser interface)`);
  if (!Array.isArray(optimiser.hyperparameters) || !(Number.isSafeInteger(optimiser.auxiliaries) && optimiser.auxiliaries >= 0)) throw new InputError("optimiser", "expected an optimiser with hyperparameters (an array of names) and auxiliaries (an integer ≥ 0)");
  requireObjective("objective", optimiser.objective);
}

/** The state at x₀ (method vectors zero, ∇f and f evaluated) and the recurrence of checked steps from it. */
export function startRun(optimiser: Optimiser, x0: Float64Array, K: number, options: RunOptions, riding?: RidingProducts, mode?: "tangentStep" | "adjointUpdate") {
  requireOptimiser(optimiser, mode);
  requireObject("options", options, "an options object");
  requireIterations(K);
  requireVector("x0", x0, optimiser.objective.dimension);
  const state = new OptimState(optimiser.objective.dimension, optimiser.auxiliaries);
  state.x.set(x0);
  state.loss = optimiser.objective.evaluate(state.x, state.gradient);
  if (!Number.isFinite(state.loss)) throw new InputError("x0", `expected a point where the objective is finite, got ${state.loss}`);
  return { state, recurrence: recurrenceOf(optimiser, state.loss, options, riding) };
}

/** K steps from x₀: x_K and f(x_K). */
export function runOptimiser(optimiser: Optimiser, x0: Float64Array, K: number, options: RunOptions = {}): OptimiserRun {
  const { state, recurrence } = startRun(optimiser, x0, K, options);
  for (let t = 0; t < K; t++) recurrence.step(state, t);
  return { x: Float64Array.from(state.x), loss: state.loss };
}

function named(optimiser: Optimiser, indices: readonly number[], values: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  indices.forEach((p, k) => (out[optimiser.hyperparameters[p]] = values[k]));
  return out;
}

/**
 * Forward mode: one tangent per requested hyperparameter carried along the K steps
 * (ẋ_{t+1} = ∂step/∂x·ẋ_t + ∂step/∂h), then d f(x_K)/dh = ∇f(x_K)ᵀẋ_K.
 */
export function forwardDerivatives(optimiser: Optimiser, x0: Float64Array, K: number, options: ForwardOptions = {}): OptimiserDerivatives {
  requireOptimiser(optimiser, "tangentStep");
  requireObject("options", options, "{ parameters?, divergence? }");
  const names = options.parameters ?? optimiser.hyperparameters;
  if (!Array.isArray(names)) throw new InputError("parameters", `expected an array of names among ${optimiser.hyperparameters.join(", ")}, got ${typeof names}`);
  const indices = names.map((name) => {
    const p = optimiser.hyperparameters.indexOf(name);
    if (p < 0) throw new InputError("parameters", `expected names among ${optimiser.hyperparameters.join(", ")}, got ${name}`);
    return p;
  });
  const { objective } = optimiser;
  const tangents = indices.map(() => new Perturbation(objective.dimension, optimiser.auxiliaries));
  // Where the objective shares its passes, each tangent's ∇²f(x_t)·ẋ_t is computed with ∇f(x_t)
  // (at t = 0 the tangents are 0, and so are their products).
  const riding = objective.evaluateWithHessianVectors && tangents.length > 0 ? { directions: tangents.map((d) => d.x), products: tangents.map(() => new Float64Array(objective.dimension)) } : undefined;
  const { state, recurrence } = startRun(optimiser, x0, K, options, riding);
  for (let t = 0; t < K; t++) {
    for (let k = 0; k < indices.length; k++) optimiser.tangentStep(state, tangents[k], indices[k], t, riding?.products[k]);
    recurrence.step(state, t);
  }
  const derivatives = tangents.map((d) => dot(state.gradient, d.x));
  return { x: Float64Array.from(state.x), loss: state.loss, derivatives: named(optimiser, indices, derivatives) };
}

/**
 * Reverse mode with √K checkpoints (diff/checkpoint.ts): x̄_K = ∇f(x_K), then the adjoint is
 * pulled back through each step, recomputed from its checkpoint, accumulating d f(x_K)/dh for
 * every hyperparameter at once. Where the objective can evaluate at one point and multiply by its
 * Hessian at another in shared passes (evaluateWithHessianVectorAt: least squares, logistic
 * regression, smoothed TV), each adjoint step's product rides with a recomputed step's gradient
 * (interleavedReverseSweep): the recomputation shares the adjoint's passes over A, for one segment
 * more of states.
 */
export function reverseDerivatives(optimiser: Optimiser, x0: Float64Array, K: number, options: ReverseOptions = {}): ReverseDerivatives {
  const { state, recurrence } = startRun(optimiser, x0, K, options, undefined, "adjointUpdate");
  const adjoint = new Perturbation(optimiser.objective.dimension, optimiser.auxiliaries);
  const hyperAdjoint = new Float64Array(optimiser.hyperparameters.length);
  const x = new Float64Array(state.x.length);
  let loss = NaN;
  const seed = (final: OptimState) => {
    adjoint.x.set(final.gradient);
    x.set(final.x);
    loss = final.loss;
  };
  const { objective } = optimiser;
  const hv = new Float64Array(objective.dimension);
  const sweepOptions = { interval: options.interval };
  const report = objective.evaluateWithHessianVectorAt
    ? interleavedReverseSweep(recurrence, state, K, seed, (before, _after, t, next, u) => {
        if (!next) return adjointStep(optimiser, before, adjoint, t, hyperAdjoint, hv);
        // Step u replayed (checked in the forward pass) before w is asked for, so that the
        // optimiser's buffer w need not survive a step; then step u's gradient shares the passes
        // over the data with ∇²f·w.
        optimiser.step(next, u);
        const w = optimiser.adjointUpdate(before, adjoint, t, hyperAdjoint);
        next.loss = objective.evaluateWithHessianVectorAt!(next.x, next.gradient, before.x, w, hv);
        axpy(1, hv, adjoint.x);
      }, sweepOptions)
    : reverseSweep(recurrence, state, K, seed, (before, _after, t) => adjointStep(optimiser, before, adjoint, t, hyperAdjoint, hv), sweepOptions);
  const all = optimiser.hyperparameters.map((_, p) => p);
  return { x, loss, derivatives: named(optimiser, all, hyperAdjoint), storedStates: report.storedStates, steps: report.steps };
}
