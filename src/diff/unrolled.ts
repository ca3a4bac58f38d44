import { InputError, NumericalError } from "../errors.js";
import { allFinite } from "../linalg/vector.js";
import { requireProblem, type Problem } from "../problem.js";
import { requireCriterion, type Criterion } from "../criteria/criterion.js";
import { interleavedReverseSweep, MAX_UNROLLED_ITERATIONS, reverseSweep, type Recurrence } from "./checkpoint.js";
import { unrollCoordinateDescent } from "./unrolled-cd.js";
import { unrollFista } from "./unrolled-fista.js";
import { unrollSplitBregman } from "./unrolled-split-bregman.js";

export { MAX_UNROLLED_ITERATIONS };

/**
 * Unrolled differentiation (math.md, "Unrolled differentiation"): the criterion L(x_K) after K
 * steps of one solver, x_{k+1} = step(x_k, θ), differentiated in θ — the penalties and the
 * solver's own parameters — through the K steps themselves, not at a solution. Forward mode
 * carries one tangent ṡ_k = ds_k/dθ per hyperparameter beside the run; reverse mode pulls the
 * adjoint back from ∇L(x_K) through the steps, with √K checkpoints (diff/checkpoint.ts).
 * Through a prox's kinks the derivative is the one that holds almost everywhere (the soft
 * threshold's 0/1 mask). Each solver's tangent and adjoint step live in diff/unrolled-*.ts.
 */
export type UnrolledSolverName = "fista" | "cd" | "split-bregman";
export const UNROLLED_SOLVERS: readonly UnrolledSolverName[] = ["fista", "cd", "split-bregman"];

export interface UnrolledOptions {
  /** fista, cd or split-bregman (default: split-bregman with tv, fista otherwise). */
  solver?: UnrolledSolverName;
  /** K, the steps unrolled: an integer in [1, MAX_UNROLLED_ITERATIONS]. */
  iterations: number;
  /** FISTA's step size η = 1/L (default 1/L with L ≈ ‖A‖² by power iteration, 5% above). */
  step?: number;
  /** FISTA's extrapolation factor γ on the momentum coefficient (default 1). */
  extrapolation?: number;
  /** Split Bregman's μ for every split (default trace(AᵀA)/n, fixed: no residual balancing). */
  mu?: number;
  /** Reverse mode: steps between checkpoints (default ⌈√K⌉). */
  interval?: number;
}

export interface UnrolledHypergradient {
  mode: "forward" | "reverse";
  solver: UnrolledSolverName;
  iterations: number;
  /** x_K, the solver's iterate after K steps. */
  x: Float64Array;
  /** L(x_K). */
  value: number;
  /** dL(x_K)/dθ for the penalties the unrolled map depends on, by the hypergradient's names (l1, l2, tv). */
  gradient: Record<string, number>;
  /** dL(x_K)/dθ for the solver's own parameters: FISTA step and momentum (the factor γ), Split Bregman mu. */
  algorithm: Record<string, number>;
  /** The values those derivatives were taken at (step, momentum factor, mu). */
  algorithmValues: Record<string, number>;
  /** Solver steps taken (reverse mode: K forward plus the recomputed ones). */
  steps: number;
  /** Reverse mode: plain states held at once (checkpoints, one segment, the running state). */
  storedStates?: number;
  /** Reverse mode: bytes of one plain state (its typed arrays): storedStates·stateBytes is the memory the sweep holds. */
  stateBytes?: number;
}

/**
 * One solver as an unrolled map: its plain steps on its protocol state (IterativeSolver.step,
 * bound to a context), and its tangent and adjoint steps. `parameters` lists the θ it
 * differentiates in; `values` their current values. Tangent and adjoint steps receive the state
 * before and after the plain step (the step's own quantities: masks, signs, β, x⁺). The start is
 * the solver's setup at x = 0, which does not depend on θ.
 */
export interface Unrolling<State, Tangent, Adjoint> {
  readonly parameters: readonly string[];
  readonly values: Record<string, number>;
  readonly initial: State;
  step(state: State): void;
  iterate(state: State): Float64Array;
  createTangent(): Tangent;
  /** ṡ ← (∂step/∂s)ṡ + ∂step/∂θ_p, at the step from `before` to `after`. */
  tangentStep(before: State, after: State, tangent: Tangent, p: number): void;
  /** Optional: two tangents' steps (θ_p and θ_q) sharing their work (Split Bregman: one paired solve); the same values up to rounding. */
  tangentStepPair?(before: State, after: State, tangent: Tangent, p: number, other: Tangent, q: number): void;
  /** dx_k/dθ_p (a view into the tangent). */
  tangentIterate(tangent: Tangent): Float64Array;
  createAdjoint(): Adjoint;
  /** The adjoint of the final state from g = ∇L(x_K). */
  seedAdjoint(final: State, adjoint: Adjoint, g: Float64Array): void;
  /** s̄ ← s̄·∂step/∂s and gradient[p] += s̄·∂step/∂θ_p, at the step from `before` to `after`. */
  adjointStep(before: State, after: State, adjoint: Adjoint, gradient: Float64Array): void;
  /**
   * Optional: adjointStep and `next` ← step(next) (another step, recomputed in reverse mode) sharing
   * their work (Split Bregman: both x-updates in one paired solve); the same values as the two calls
   * up to rounding.
   */
  adjointStepWithStep?(before: State, after: State, adjoint: Adjoint, gradient: Float64Array, next: State): void;
}

/** The names the hypergradient reports the penalties under; the others are the solver's own. */
const PENALTY_NAMES = new Set(["l1", "l2", "tv"]);

/** Each solver's unrolled map (diff/unrolled-*.ts). */
type Factory = (problem: Problem, options: UnrolledOptions) => Unrolling<unknown, unknown, unknown>;
const factories: Record<UnrolledSolverName, Factory> = {
  fista: unrollFista as Factory,
  cd: unrollCoordinateDescent as Factory,
  "split-bregman": unrollSplitBregman as Factory,
};

/** dL(x_K)/dθ for every θ of the unrolled map, one tangent per θ carried beside the K steps (two at a time where the map pairs them). */
export function unrolledForward(problem: Problem, criterion: Criterion, options: UnrolledOptions): UnrolledHypergradient {
  const { unrolling, K, solver } = prepare(problem, criterion, options);
  const P = unrolling.parameters.length;
  const state = copyOf(unrolling.initial), before = copyOf(unrolling.initial);
  // The start x = 0 does not depend on θ: every tangent starts at 0.
  const tangents = unrolling.parameters.map(() => unrolling.createTangent());
  for (let t = 0; t < K; t++) {
    copyInto(before, state);
    unrolling.step(state);
    checkFinite(state, unrolling, solver, t);
    let p = 0;
    if (unrolling.tangentStepPair) for (; p + 1 < P; p += 2) unrolling.tangentStepPair(before, state, tangents[p], p, tangents[p + 1], p + 1);
    for (; p < P; p++) unrolling.tangentStep(before, state, tangents[p], p);
  }
  const x = Float64Array.from(unrolling.iterate(state));
  const g = criterion.gradient(x, new Float64Array(x.length));
  const derivative = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    const dx = unrolling.tangentIterate(tangents[p]);
    let s = 0;
    for (let j = 0; j < x.length; j++) s += g[j] * dx[j];
    derivative[p] = s;
  }
  return result("forward", solver, K, unrolling, x, criterion.value(x), derivative, { steps: K });
}

/**
 * dL(x_K)/dθ for every θ of the unrolled map by one adjoint sweep back through the K steps,
 * recomputing the plain states from ⌈K/interval⌉ checkpoints (reverseSweep): at most about 2√K
 * states held, no allocation per step. Where the map can do an adjoint step and a plain step
 * together (adjointStepWithStep), each recomputed step rides with an adjoint step
 * (interleavedReverseSweep, about 3√K states).
 */
export function unrolledReverse(problem: Problem, criterion: Criterion, options: UnrolledOptions): UnrolledHypergradient {
  const { unrolling, K, solver } = prepare(problem, criterion, options);
  const recurrence: Recurrence<unknown> = {
    create: () => copyOf(unrolling.initial),
    copy: copyInto,
    step: (state, t) => {
      unrolling.step(state);
      checkFinite(state, unrolling, solver, t);
    },
    replay: (state) => unrolling.step(state),
  };
  const adjoint = unrolling.createAdjoint();
  const derivative = new Float64Array(unrolling.parameters.length);
  let x = new Float64Array(0), value = NaN;
  const seed = (final: unknown) => {
    x = Float64Array.from(unrolling.iterate(final));
    value = criterion.value(x);
    unrolling.seedAdjoint(final, adjoint, criterion.gradient(x, new Float64Array(x.length)));
  };
  const sweep = { interval: options.interval };
  const fused = unrolling.adjointStepWithStep?.bind(unrolling);
  const report = fused
    ? interleavedReverseSweep(recurrence, unrolling.initial, K, seed, (before, after, _t, next) => (next ? fused(before, after, adjoint, derivative, next) : unrolling.adjointStep(before, after, adjoint, derivative)), sweep)
    : reverseSweep(recurrence, unrolling.initial, K, seed, (before, after) => unrolling.adjointStep(before, after, adjoint, derivative), sweep);
  return result("reverse", solver, K, unrolling, x, value, derivative, { ...report, stateBytes: bytesOf(unrolling.initial) });
}

/** L(x_K) alone: the plain K-step run the derivatives are of (the finite-difference oracle, the benchmark's baseline). */
export function unrolledValue(problem: Problem, criterion: Criterion, options: UnrolledOptions): { x: Float64Array; value: number } {
  const { unrolling, K, solver } = prepare(problem, criterion, options);
  const state = copyOf(unrolling.initial);
  for (let t = 0; t < K; t++) {
    unrolling.step(state);
    checkFinite(state, unrolling, solver, t);
  }
  const x = Float64Array.from(unrolling.iterate(state));
  return { x, value: criterion.value(x) };
}

function prepare(problem: Problem, criterion: Criterion, options: UnrolledOptions): { unrolling: Unrolling<unknown, unknown, unknown>; K: number; solver: UnrolledSolverName } {
  requireProblem(problem);
  requireCriterion("criterion", criterion);
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected { iterations, solver?, step?, extrapolation?, mu? }");
  const K = options.iterations;
  if (!(typeof K === "number" && Number.isInteger(K) && K >= 1)) throw new InputError("iterations", `expected an integer ≥ 1, got ${K}`);
  if (K > MAX_UNROLLED_ITERATIONS) throw new InputError("iterations", `expected at most ${MAX_UNROLLED_ITERATIONS} unrolled steps (each one is run), got ${K}`);
  const solver = options.solver ?? (problem.penalty.tv > 0 ? "split-bregman" : "fista");
  const factory = Object.hasOwn(factories, solver) ? factories[solver] : undefined;
  if (!factory) throw new InputError("solver", `expected one of ${UNROLLED_SOLVERS.join(", ")} for unrolled differentiation, got ${String(solver)}`);
  for (const [key, owner] of [["step", "fista"], ["extrapolation", "fista"], ["mu", "split-bregman"]] as const) {
    if (options[key] !== undefined && solver !== owner) throw new InputError(key, `applies to the ${owner} solver only (this run unrolls ${solver})`);
  }
  if (problem.constraints || problem.bounds || problem.basisPursuit) {
    throw new InputError(problem.constraints ? "constraints" : problem.bounds ? "bounds" : "basisPursuit", "unrolled differentiation handles unconstrained problems only; use the implicit method");
  }
  return { unrolling: factory(problem, options), K, solver };
}

function result(
  mode: "forward" | "reverse", solver: UnrolledSolverName, K: number, unrolling: Unrolling<unknown, unknown, unknown>,
  x: Float64Array, value: number, derivative: Float64Array, report: { steps: number; storedStates?: number; stateBytes?: number },
): UnrolledHypergradient {
  const gradient: Record<string, number> = {}, algorithm: Record<string, number> = {};
  unrolling.parameters.forEach((name, p) => ((PENALTY_NAMES.has(name) ? gradient : algorithm)[name] = derivative[p]));
  if (!allFinite(derivative) || !Number.isFinite(value)) throw new NumericalError(`the unrolled ${solver} derivatives overflowed after ${K} steps (not finite): ${REMEDY[solver]} or fewer iterations`);
  return { mode, solver, iterations: K, x, value, gradient, algorithm, algorithmValues: { ...unrolling.values }, ...report };
}

/** What to change when a solver's run or its derivatives overflow. */
const REMEDY: Record<UnrolledSolverName, string> = {
  fista: "take a smaller step size",
  cd: "scale the problem's data nearer 1",
  "split-bregman": "take a mu nearer its default (trace(AᵀA)/n)",
};

/**
 * A run that diverges is a NumericalError naming the step (numbered from 1). The whole state is
 * checked, not only the iterate: the prox maps a NaN input to 0, so an overflowed FISTA
 * extrapolation z would otherwise come back as a finite x = 0.
 */
function checkFinite(state: unknown, unrolling: Unrolling<unknown, unknown, unknown>, solver: UnrolledSolverName, t: number): void {
  if (!stateFinite(state)) {
    const what = allFinite(unrolling.iterate(state)) ? "its state" : "the iterate";
    throw new NumericalError(`the unrolled ${solver} run diverged at step ${t + 1} (${what} is not finite): ${REMEDY[solver]}`);
  }
}

/** Every floating-point array of a plain state (nested objects included) is finite. */
function stateFinite(state: unknown): boolean {
  for (const v of Object.values(state as Record<string, unknown>)) {
    if (v instanceof Float64Array || v instanceof Float32Array) {
      if (!allFinite(v)) return false;
    } else if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !stateFinite(v)) return false;
  }
  return true;
}

/**
 * dst ← src for the solvers' plain states (typed arrays, numbers, strings, nested plain objects
 * such as the stop test), in place: the checkpoints copy states without allocating.
 */
export function copyInto(dst: unknown, src: unknown): void {
  const d = dst as Record<string, unknown>, s = src as Record<string, unknown>;
  for (const key in s) {
    const v = s[key];
    if (ArrayBuffer.isView(v)) (d[key] as Float64Array).set(v as Float64Array);
    else if (v !== null && typeof v === "object") {
      if (d[key] !== null && typeof d[key] === "object") copyInto(d[key], v);
      else d[key] = structuredClone(v);
    } else d[key] = v;
  }
  for (const key in d) if (!(key in s)) delete d[key];
}

/** Bytes of the typed arrays in a plain state, nested objects included. */
function bytesOf(state: unknown): number {
  let bytes = 0;
  for (const v of Object.values(state as Record<string, unknown>)) {
    if (ArrayBuffer.isView(v)) bytes += v.byteLength;
    else if (v !== null && typeof v === "object") bytes += bytesOf(v);
  }
  return bytes;
}

function copyOf<S>(state: S): S {
  return structuredClone(state);
}
