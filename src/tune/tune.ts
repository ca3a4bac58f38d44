import { CrossValidation, type CvFold, type FoldEvaluator } from "../criteria/cross-validation.js";
import { HeldOutMse } from "../criteria/heldout.js";
import { MonteCarloSure, Sure } from "../criteria/sure.js";
import { InputError } from "../errors.js";
import { declaredHyperparameters, lambdaMax, tuningRanges } from "../penalties/index.js";
import { refuseBasisPursuit, requireCertifiableScales, requireProblem, withPenalty, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { defaultSolverName, ITERATIVE_SOLVERS, solverByName, type SolverName } from "../solvers/index.js";
import { lambdaGrid, requireGridCount } from "../solvers/path.js";
import { PATH_START_TOL } from "../solvers/homotopy.js";
import type { Solver } from "../solvers/index.js";
import { DEFAULT_TOL, type Solution } from "../solvers/solution.js";
import { scalarNames } from "../diff/gradient-map.js";
import { gridSearch, randomSearch, type BaselinePoint, type BaselineResult } from "./baselines.js";
import type { Evaluation, TunableKey, TuningObjective } from "./objective.js";
import { OPTIMIZERS, type OptimizerName, type OuterPoint, type OuterResult } from "./optimizers.js";
import { LogParameters } from "./parameters.js";
import { SingleSolveObjective } from "./single-solve.js";
import { cancellable, Cancelled, checkSignal, solverWithSignal, type BestPoint, type CancelSignal } from "./cancel.js";
import { exactFinishApplies, minimiseOnBracket, walkWholePath, type PathCertificate } from "./exact-finish.js";

export const CRITERIA = ["heldout", "cv", "sure", "sure-mc", "reference"] as const;
export type CriterionName = (typeof CRITERIA)[number];

export interface TuneOptions {
  criterion?: CriterionName;
  /** Folds for `cv` (default 5). */
  folds?: number;
  /** Noise level σ for `sure` / `sure-mc`. */
  sigma?: number;
  optimizer?: OptimizerName;
  /**
   * Hyperparameters to tune, by the names the problem's penalties declare (default l1, plus l2
   * when the problem has l2 > 0); "weights" tunes one l1 threshold per feature.
   */
  keys?: TunableKey[];
  /** Starting values by name (absolute); default the problem's value when usable (l1 in (0, λ_max]), else 0.1·λ_max for l1, 1e-3·λ_max for l2. */
  start?: Record<TunableKey, number>;
  solver?: SolverName;
  /** Final inner tolerance (duality gap / ‖y‖²); early outer steps start at max(1e-5, 10·tol) and tighten ×0.1 per step. */
  tol?: number;
  maxIter?: number;
  /**
   * First scan this many l1 values from λ_max down to 1e-3·λ_max (warm-started, loose inner
   * tolerance) and start local searches from the best two of them and the start (default 16;
   * 0 disables): hypergradient steps find a minimum, the scan picks the basin.
   */
  scan?: number;
  /**
   * The outer loop stops when a step changes log λ by less than this (default 1e-3, λ to 0.1%);
   * 1e-2 is plenty where the criterion is flat at its minimum (images: a PSNR plateau).
   */
  xtol?: number;
  /**
   * Finish on the exact path where it applies (default true): the Lasso or elastic net tuned in l1
   * alone on a held-out, reference or cv criterion. The scan brackets the basin and walks of the
   * path find the exact minimum there (`certificate`); false: hypergradient descent as elsewhere.
   */
  exact?: boolean;
  /** Also run the grid baseline (100 values λ_max → 1e-3 λ_max) for comparison. */
  grid?: boolean | { count?: number; ratio?: number };
  /** Also run random search with this many draws. */
  random?: number;
  /** Progress, as it happens; the library never prints. */
  onEvent?: (event: TuneEvent) => void;
  /**
   * Stop early: checked between solves (and by each inner solve once per iteration). The report
   * is then that of the best point evaluated so far, with `cancelled: true`.
   */
  signal?: AbortSignal | CancelSignal;
  /**
   * Solve the folds of `cv` elsewhere (sparsetune/node's tuneAsync: a pool of worker threads);
   * default one after the other in this thread. Same values and hypergradients either way.
   */
  parallelFolds?: (folds: CvFold[], solver: SolverName) => FoldEvaluator;
}

export interface TrajectoryPoint {
  lambda: Record<string, number>;
  criterion: number;
  /** dC/dλ per tuned key (empty for scan points, which need only the value; NaN, null in JSON, where the KKT system was singular). */
  hypergradient: Record<string, number>;
  /** Inner tolerance used. */
  tol: number;
  /** An accepted iterate (false: a line-search trial or probe). */
  accepted: boolean;
  solves: number;
  innerIterations: number;
  nearBreakpoint: boolean;
  elapsed: number;
}

export type TuneEvent =
  | ({ type: "iteration"; iteration: number } & TrajectoryPoint)
  | { type: "baseline"; baseline: "grid" | "random" | "scan"; index: number; total: number; point: BaselinePoint };

export interface TuningReport {
  criterionName: CriterionName;
  optimizer: OptimizerName;
  /** The tuned penalties (for "weights", the geometric mean of the per-feature thresholds). */
  lambda: Record<string, number>;
  /** The tuned per-feature l1 thresholds λ_j, when "weights" was tuned. */
  weights?: Float64Array;
  criterion: number;
  x: Float64Array;
  /** The final solve's certificate. */
  solution: Solution;
  lambdaMax: number;
  start: Record<string, number>;
  iterations: number;
  solves: number;
  innerIterations: number;
  seconds: number;
  converged: boolean;
  message: string;
  /** The run was stopped by `signal`: the answer is the best point evaluated until then (converged false). */
  cancelled: boolean;
  trajectory: TrajectoryPoint[];
  grid?: BaselineResult;
  random?: BaselineResult;
  /**
   * The Lasso / elastic net tuned in l1 alone on a held-out or reference criterion: the answer is
   * the exact minimiser over this bracket of breakpoints around the descent's best point.
   */
  certificate?: PathCertificate;
}

const INITIAL_TOL = 1e-5;
/**
 * Inner tolerance of the basin scan before a descent. Looser than this, the warm start already
 * meets the gap at small λ and consecutive scan points return the same x (seen on cs-1000x5000 at 1e-4).
 */
const SCAN_TOL = 1e-6;
/**
 * Inner tolerance of the scan before the exact finish, which only needs the basin: the walks' exact
 * values decide and extend past an edge. On cs-1000x5000 (held-out and 5-fold cv) the scan stops at
 * the same points and the bracket holds the same minimiser as at 1e-6, with a quarter fewer inner
 * iterations (25 → 19 held-out, 148 → 132 cv).
 */
const EXACT_SCAN_TOL = 1e-5;
/** The second local search runs only from a scan point within this factor of the first's result. */
const RUNNER_UP_MARGIN = 1.02;
/**
 * The scan stops after `rises` successive rising points above `above`·its best: two at 5% in
 * general; with the exact finish (which covers the basin's neighbourhood exactly), as soon as the
 * basin is bracketed, at the first point 1% above the best past it.
 */
const SCAN_STOP: Record<"general" | "exact", ScanStop> = {
  general: { above: 1.05, rises: 2, start: "counts", vertex: false, tol: SCAN_TOL },
  exact: { above: 1.01, rises: 1, start: "skipped", vertex: true, tol: EXACT_SCAN_TOL },
};

/**
 * When the scan stops: after `rises` successive points above `above`·the path's best; `start`: the
 * start is evaluated first and counts toward the best ("counts"), is evaluated first only
 * ("evaluated": a run that can be cancelled then always has that point to report, not x = 0 at
 * λ_max) or not at all ("skipped": the exact finish does not depend on it); `vertex`: also once the
 * last three points fall more and more slowly, with the vertex of their parabola (log C against
 * log l1) inside the last step; `tol`: the scan's inner tolerance.
 */
interface ScanStop {
  above: number;
  rises: number;
  start: "counts" | "evaluated" | "skipped";
  vertex: boolean;
  tol: number;
}

/**
 * The vertex (in log l1) of the parabola through three points of log C against log l1, or NaN when
 * the parabola is not convex.
 */
function logVertex(points: readonly { l1: number; value: number }[]): number {
  const [u0, u1, u2] = points.map((p) => Math.log(p.l1));
  const [f0, f1, f2] = points.map((p) => Math.log(p.value));
  const d0 = (u1 - u0) * (f1 - f2), d2 = (u1 - u2) * (f1 - f0);
  const denominator = d0 - d2;
  // Convex in u exactly when the divided differences increase: (f2−f1)/(u2−u1) > (f1−f0)/(u1−u0), u decreasing.
  const convex = (f2 - f1) / (u2 - u1) < (f1 - f0) / (u1 - u0);
  return convex && Number.isFinite(denominator) && denominator !== 0 ? u1 - (0.5 * ((u1 - u0) * d0 - (u1 - u2) * d2)) / denominator : NaN;
}
/** Points re-evaluated exactly at the end to choose the answer. */
const FINALISTS = 3;
/** Rounds of the grid-neighbourhood check after the local searches. */
const NEIGHBOUR_ROUNDS = 2;
/** One step of the default 16-point scan in log l1 (3 decades in 15 steps). */
const SCAN_STEP = Math.log(1e3) / 15;
/** Most scan points accepted (each is a solve; the grid baselines take 100). */
const MAX_SCAN = 1000;
/** Local searches started from the best scan points. */
const LOCAL_SEARCHES = 2;

/**
 * Evaluate the start and `count` l1 values along the path (λ_max down to 1e-3·λ_max), until the
 * criterion climbs away from its best (see ScanStop); return every point evaluated, the start
 * first when it is evaluated. The local
 * searches start from the best two (the criterion is not convex in λ, and the runner-up often sits
 * in the better basin); the exact finish brackets the best.
 */
function scanForBasins(
  objective: TuningObjective,
  params: LogParameters,
  start: Float64Array,
  scanKey: TunableKey | undefined,
  lmax: number,
  count: number,
  record: (theta: Float64Array, ev: Evaluation, tol: number) => unknown,
  stop: ScanStop,
  onEvent?: (event: TuneEvent) => void,
): { theta: Float64Array; value: number }[] {
  const candidates = stop.start === "skipped" ? [] : [start];
  const isNew = (theta: Float64Array) => !candidates.some((c) => c.every((v, i) => Math.abs(v - theta[i]) < 1e-9));
  if (scanKey !== undefined) {
    for (const l1 of lambdaGrid(lmax, count, 1e-3)) {
      const theta = params.withValue(start, scanKey, l1);
      if (isNew(theta)) candidates.push(theta);
    }
  }
  const scored: { theta: Float64Array; value: number }[] = [];
  // Along the path: its best value so far (with the start's, `withStart`), the value before this one
  // (+∞ before the first path point: it is never a rise), the successive rises; all above the
  // criterion's floor (SURE can be negative), as the ratios and logarithms below need.
  const floor = objective.floor ?? 0;
  let best = Infinity, previous = Infinity, rising = 0;
  for (const theta of candidates) {
    const ev = objective.evaluate(params.penalty(theta), stop.tol, { gradient: false, polish: false });
    record(theta, ev, stop.tol);
    scored.push({ theta, value: ev.value });
    const above = ev.value - floor;
    onEvent?.({ type: "baseline", baseline: "scan", index: scored.length - 1, total: candidates.length, point: { l1: scanKey ? params.values(theta)[scanKey] : NaN, value: ev.value } });
    if (theta === start) {
      if (stop.start === "counts") best = above;
      continue;
    }
    // Small λ costs the most (large supports): stop once the criterion climbs away from the path's best.
    rising = above > stop.above * best && above >= previous ? rising + 1 : 0;
    if (rising >= stop.rises) break;
    best = Math.min(best, above);
    previous = above;
    if (stop.vertex && scanKey === "l1" && fallingSlower(scored.slice(-3).map((p) => ({ l1: params.values(p.theta).l1, value: p.value - floor })))) break;
  }
  return scored;
}

/** Three points, l1 descending, falling ever more slowly, the vertex of their parabola well inside the last step. */
function fallingSlower(points: { l1: number; value: number }[]): boolean {
  if (points.length < 3 || !(points[0].value > points[1].value && points[1].value > points[2].value && points[2].value > 0)) return false;
  const [u1, u2] = [Math.log(points[1].l1), Math.log(points[2].l1)];
  const vertex = logVertex(points);
  return vertex > u2 + 0.25 * (u1 - u2);
}

function makeObjective(problem: Problem, name: CriterionName, options: TuneOptions, solver: Solver, solverName: SolverName): TuningObjective {
  switch (name) {
    case "heldout":
      return new SingleSolveObjective(problem, HeldOutMse.of(problem), solver);
    case "reference":
      return new SingleSolveObjective(problem, HeldOutMse.reference(problem), solver);
    case "cv":
      return new CrossValidation(problem, options.folds ?? 5, solver, options.parallelFolds && ((folds) => options.parallelFolds!(folds, solverName)));
    case "sure":
    case "sure-mc":
      if (options.sigma === undefined) throw new InputError("sigma", `the ${name} criterion needs the noise level σ (--sigma)`);
      return name === "sure" ? new Sure(problem, options.sigma, solver) : new MonteCarloSure(problem, options.sigma, solver);
  }
}

/** A start this close above λ_max (relative) is λ_max computed by another tool: clamped, not refused. */
const UPPER_SLACK = 1e-12;

function checkOptions(options: TuneOptions, names: readonly string[]): void {
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected an object");
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") throw new InputError("onEvent", `expected a function, got ${typeof options.onEvent}`);
  if (options.keys !== undefined && !Array.isArray(options.keys)) throw new InputError("keys", "expected an array of hyperparameter names");
  if (options.start !== undefined) {
    if (typeof options.start !== "object" || options.start === null) throw new InputError("start", "expected an object of starting values by name { l1?, l2?, ... }");
    for (const [k, v] of Object.entries(options.start)) {
      if (!names.includes(k)) throw new InputError(`start.${k}`, `unknown start, expected one of ${names.join(", ")}`);
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v <= 0)) throw new InputError(`start.${k}`, `expected a positive finite number, got ${String(v)}`);
    }
  }
  if (options.tol !== undefined && !(typeof options.tol === "number" && options.tol >= 1e-16 && options.tol < 1)) {
    throw new InputError("tol", `expected a relative tolerance in [1e-16, 1), got ${String(options.tol)}`);
  }
  if (options.maxIter !== undefined && !(Number.isSafeInteger(options.maxIter) && options.maxIter >= 1)) {
    throw new InputError("maxIter", `expected a positive integer (outer iterations of each local descent), got ${String(options.maxIter)}`);
  }
  if (options.exact !== undefined && typeof options.exact !== "boolean") throw new InputError("exact", `expected true or false, got ${String(options.exact)}`);
  if (options.xtol !== undefined && !(typeof options.xtol === "number" && options.xtol > 0 && options.xtol < 1)) throw new InputError("xtol", `expected a number in (0, 1), got ${String(options.xtol)}`);
  if (options.scan !== undefined && !(Number.isSafeInteger(options.scan) && options.scan >= 0 && options.scan <= MAX_SCAN)) {
    throw new InputError("scan", `expected an integer in [0, ${MAX_SCAN}], got ${String(options.scan)}`);
  }
  if (options.grid !== undefined && typeof options.grid !== "boolean") {
    const g = options.grid;
    if (typeof g !== "object" || g === null) throw new InputError("grid", "expected true, false or { count, ratio }");
    if (g.count !== undefined) requireGridCount(g.count, "grid.count", 2);
    if (g.ratio !== undefined && !(typeof g.ratio === "number" && g.ratio > 0 && g.ratio < 1)) throw new InputError("grid.ratio", `expected a number in (0, 1), got ${String(g.ratio)}`);
  }
  if (options.random !== undefined) requireGridCount(options.random, "random", 0);
}

/** What is tuned unless told: tv for a TV problem (with l1, l2 when they are set), else l1 (with l2 when set). */
function defaultKeys(problem: Problem): TunableKey[] {
  const { l1, l2, tv } = problem.penalty;
  if (tv > 0) return ["tv", ...(l1 > 0 ? ["l1"] : []), ...(l2 > 0 ? ["l2"] : [])];
  return l2 > 0 ? ["l1", "l2"] : ["l1"];
}

/** Everything checkable before any work: names, keys, σ, folds, scales, the starts inside their ranges. */
function resolve(problem: Problem, options: TuneOptions) {
  requireProblem(problem);
  refuseBasisPursuit(problem, "tuning");
  const specs = declaredHyperparameters(problem);
  checkOptions(options, specs.map((s) => s.name));
  const solverName = options.solver ?? defaultSolverName(problem);
  const solver = solverByName(solverName);
  const iterative = ITERATIVE_SOLVERS[solverName as keyof typeof ITERATIVE_SOLVERS];
  if (!iterative) throw new InputError("solver", `expected a solver of penalised problems (${Object.keys(ITERATIVE_SOLVERS).join(", ")}), got "${solverName}"`);
  checkProblemClass(iterative, problem);
  requireCertifiableScales(problem, "tune");
  const criterionName = options.criterion ?? "heldout";
  if (!CRITERIA.includes(criterionName)) throw new InputError("criterion", `expected one of ${CRITERIA.join(", ")}, got "${criterionName}"`);
  const keys = options.keys ?? defaultKeys(problem);
  // One scalar penalty: gradient descent with a line search; several (l1 with l2, per-feature weights): L-BFGS.
  const scalarOnly = Array.isArray(keys) && keys.length === 1 && specs.find((s) => s.name === keys[0])?.shape === "scalar";
  const optimizer = options.optimizer ?? (scalarOnly ? "linesearch" : "lbfgs");
  if (!Object.hasOwn(OPTIMIZERS, optimizer)) throw new InputError("optimizer", `expected one of ${Object.keys(OPTIMIZERS).join(", ")}, got "${optimizer}"`);
  const lmax = lambdaMax(problem);
  if (!(lmax > 0)) throw new InputError("y", "expected measurements correlated with some column of A (λ_max = 0: x = 0 for every l1)");
  const ranges = tuningRanges(problem, lmax);
  const params = new LogParameters(problem.penalty, keys, specs, ranges, problem.A.cols);
  if (keys.includes("weights") && criterionName === "sure-mc") throw new InputError("keys", "per-feature weights are tuned with the heldout, cv, sure or reference criteria");
  const starts: Record<string, number> = {};
  for (const key of keys) {
    const given = options.start?.[key] ?? (key === "weights" ? options.start?.l1 : undefined);
    let v = given ?? ranges[key].start;
    const [lo, hi] = ranges[key].range;
    // A start this close above the top (λ_max computed by another tool) is clamped, not refused.
    if (v > hi && v <= hi * (1 + UPPER_SLACK)) v = hi;
    if (!(v >= lo && v <= hi)) {
      throw new InputError("start", `expected ${key} in ${ranges[key].describe} = [${lo.toPrecision(6)}, ${hi.toPrecision(17)}] (up to ${UPPER_SLACK} relative above), got ${v}`);
    }
    starts[key] = v;
  }
  const objective = makeObjective(problem, criterionName, options, solverWithSignal(solver, checkSignal(options.signal)), solverName);
  return { criterionName, optimizer, solver, lmax, ranges, objective, params, start: params.theta(starts) };
}
/**
 * The criterion still decreases toward smaller l1 where the run stopped, so it has not
 * converged: either the chosen l1 sits on its lower bound with dC/dl1 > 0 (the minimum is below
 * the box: noiseless data, the criterion falls toward 0 as l1 → 0), or the criterion falls at
 * least in proportion to l1 there (d log C / d log l1 ≥ 1; at a noisy minimum C sits on its
 * noise floor and is far flatter) and the
 * search stopped because the inner tolerance no longer resolves it. Returns the message, or null.
 * A criterion that jumps (SURE, TuningObjective.jumps) has its minima on jumps with a slope > 0
 * there: only the lower bound counts.
 */
function stillDecreasing(lambda: Record<string, number>, ev: Evaluation, l1Lower: number, tol: number, jumps: boolean): string | null {
  const l1 = lambda.l1;
  const slope = ev.gradient?.l1;
  if (l1 === undefined || typeof slope !== "number" || !(slope > 0) || !(ev.value > 0)) return null;
  const logSlope = (l1 * slope) / ev.value;
  if (l1 <= l1Lower * (1 + 1e-9)) {
    return `stopped at the lower bound of l1 (${l1Lower.toExponential(3)} = 1e-6·λ_max); the criterion still decreases there (d log C/d log l1 = ${logSlope.toPrecision(3)}): the data look noiseless, any smaller l1 fits better`;
  }
  if (logSlope >= 1 && !jumps) {
    return `not converged: the criterion still decreases toward smaller l1 (d log C/d log l1 = ${logSlope.toPrecision(3)}) below what the inner tolerance ${tol.toExponential(0)} resolves (noiseless data?); try a smaller tol (--tol)`;
  }
  return null;
}

/**
 * Tune the penalties by hypergradient steps on log λ against a validation criterion. Inner
 * solves are warm-started and their tolerance tightens as the outer loop goes; λ stays in
 * its box ((0, λ_max] for l1). A singular or flat step never yields NaN: the best λ seen is kept.
 */
export function tune(problem: Problem, options: TuneOptions = {}): TuningReport {
  const resolved = resolve(problem, options);
  const progress: TuneProgress = { started: performance.now(), trajectory: [], best: null };
  try {
    return tuneResolved(problem, options, resolved, progress);
  } catch (e) {
    if (e instanceof Cancelled) return cancelledReport(problem, options, resolved, progress);
    throw e;
  }
}

/** What a cancelled run reports from: the trajectory so far and its best point. */
interface TuneProgress {
  started: number;
  trajectory: TrajectoryPoint[];
  best: BestPoint | null;
}

/**
 * The report of a cancelled run: the best point evaluated so far, with its own solve when the
 * criterion made one (else one solve of the whole problem there, not cancellable: the report is complete).
 */
function cancelledReport(problem: Problem, options: TuneOptions, resolved: ReturnType<typeof resolve>, progress: TuneProgress): TuningReport {
  const { criterionName, optimizer, solver, lmax, params, start } = resolved;
  const { trajectory, best } = progress;
  const { theta, value } = best!;
  const penalty = params.penalty(theta);
  const solution = best!.solution ?? solver(withPenalty(problem, penalty), { tol: options.tol ?? DEFAULT_TOL });
  const sum = (f: (p: TrajectoryPoint) => number) => trajectory.reduce((s, p) => s + f(p), 0);
  const extra = best!.solution ? 0 : 1;
  return {
    criterionName, optimizer,
    lambda: params.values(theta),
    ...(params.keys.includes("weights") && { weights: penalty.weights }),
    criterion: value,
    x: solution.x,
    solution,
    lambdaMax: lmax,
    start: params.values(start),
    iterations: trajectory.filter((p) => p.accepted).length,
    solves: sum((p) => p.solves) + extra,
    innerIterations: sum((p) => p.innerIterations) + extra * solution.iterations,
    seconds: (performance.now() - progress.started) / 1000,
    converged: false,
    message: `cancelled: the best of ${trajectory.length} evaluations so far`,
    cancelled: true,
    trajectory,
  };
}

/**
 * Where the scan says the minimum is: its best point's neighbours along l1 as bounds (λ_max and
 * the range's lower end past the scanned ones) and, inside them, the vertex of the parabola of
 * log C against log l1 through the best point and its neighbours; when the best point is the last
 * one scanned, through it and the two above, at most one scan step below it (the best point itself
 * when there is no convex parabola).
 */
function bracketFromScan(points: { l1: number; value: number }[], lower: number, upper: number): { centre: number; bounds: [number, number] } {
  const path = points.filter((p) => Number.isFinite(p.value) && p.value > 0).sort((a, b) => b.l1 - a.l1);
  if (path.length === 0) return { centre: points[0].l1, bounds: [lower, upper] };
  const i = path.reduce((best, p, k) => (p.value < path[best].value ? k : best), 0);
  const above = path[i - 1], here = path[i], below = path[i + 1];
  const bounds: [number, number] = [below?.l1 ?? lower, above?.l1 ?? upper];
  const three = below && above ? [above, here, below] : !below && i >= 2 ? [path[i - 2], above, here] : null;
  const vertex = three ? logVertex(three) : NaN;
  if (!Number.isFinite(vertex)) return { centre: here.l1, bounds };
  const lowest = below ? below.l1 : Math.max(lower, (here.l1 * here.l1) / above.l1);
  return { centre: Math.min(above.l1, Math.max(lowest, Math.exp(vertex))), bounds };
}

function tuneResolved(problem: Problem, options: TuneOptions, resolved: ReturnType<typeof resolve>, progress: TuneProgress): TuningReport {
  const { criterionName, optimizer, solver, lmax, ranges, params, start } = resolved;
  const objective = cancellable(resolved.objective, checkSignal(options.signal), () => progress.best !== null);
  const finalTol = options.tol ?? DEFAULT_TOL;
  const { started, trajectory } = progress;
  let accepted = 0, solves = 0, innerIterations = 0;
  let best: BestPoint | null = null;
  /** Every point evaluated; `final`: at the final tolerance and polished, as the finalists are judged. */
  const evaluated: { theta: Float64Array; value: number; final: boolean }[] = [];
  const initialTol = Math.max(INITIAL_TOL, 10 * finalTol);
  const tolNow = () => Math.max(finalTol, initialTol * 0.1 ** accepted);
  /**
   * `solution`: the solve behind `ev` (the objective's last). A walk's point (`solution` null) is no
   * candidate for the descent's best point, but is one for a cancelled run's (its value is exact;
   * the report then solves there).
   */
  const record = (theta: Float64Array, ev: Evaluation, tol: number, polished = false, solution: Solution | undefined | null = objective.lastSolution): TrajectoryPoint => {
    solves += ev.solves;
    innerIterations += ev.innerIterations;
    const point: TrajectoryPoint = {
      lambda: params.values(theta),
      criterion: ev.value,
      hypergradient: ev.gradient ? Object.fromEntries(scalarNames(ev.gradient).filter((k) => params.keys.includes(k)).map((k) => [k, ev.gradient![k] as number])) : {},
      tol, accepted: false, solves: ev.solves, innerIterations: ev.innerIterations,
      nearBreakpoint: ev.nearBreakpoint, elapsed: (performance.now() - started) / 1000,
    };
    trajectory.push(point);
    const finite = Number.isFinite(ev.value);
    if (finite && (!progress.best || ev.value < progress.best.value)) progress.best = { theta: Float64Array.from(theta), value: ev.value, solution: solution ?? undefined };
    if (solution === null) return point;
    if (finite && (!best || ev.value < best.value)) best = { theta: Float64Array.from(theta), value: ev.value, solution };
    evaluated.push({ theta: Float64Array.from(theta), value: ev.value, final: polished && tol <= finalTol });
    return point;
  };
  const base = problem.penalty;
  /** The report, with the baselines when asked for. */
  const complete = (report: TuningReport): TuningReport => {
    if (options.grid) {
      const g = typeof options.grid === "object" ? options.grid : {};
      report.grid = gridSearch(objective, base, lmax, { ...g, tol: finalTol, onStep: (index, total, point) => options.onEvent?.({ type: "baseline", baseline: "grid", index, total, point }) });
    }
    if (options.random) {
      report.random = randomSearch(objective, base, lmax, { count: options.random, tol: finalTol, onStep: (index, total, point) => options.onEvent?.({ type: "baseline", baseline: "random", index, total, point }) });
    }
    return report;
  };
  const scanKey = params.scanKey(ranges);
  // The exact finish (the Lasso / elastic net in l1 alone on a held-out, reference or cv criterion):
  // the scan only brackets the basin, walks of the exact path find the minimum; no descent.
  const exact = options.exact !== false && exactFinishApplies(problem, params.keys, criterionName) && objective.walkPath !== undefined;
  const whole = exact && walkWholePath(problem);
  const stop = exact ? { ...SCAN_STOP.exact, start: options.signal ? "evaluated" as const : "skipped" as const } : SCAN_STOP.general;
  const scan = () => scanForBasins(objective, params, start, scanKey, lmax, options.scan ?? 16, record, stop, options.onEvent);
  // Stopped before anything: the start, evaluated once, is the report (the exact finish does not evaluate it).
  if (exact && checkSignal(options.signal)?.aborted) record(start, objective.evaluate(params.penalty(start), EXACT_SCAN_TOL, { gradient: false, polish: false }), EXACT_SCAN_TOL);
  const scanned = options.scan === 0 || whole ? [] : scan();

  /** The exact finish over a bracket from the scan (the whole range on small problems); null when the path cannot be walked. */
  const onPath = (): TuningReport | null => {
    const lower = ranges.l1.range[0];
    const l1Of = (theta: Float64Array) => params.values(theta).l1;
    const { centre, bounds } = scanned.length > 0
      ? bracketFromScan(scanned.map((p) => ({ l1: l1Of(p.theta), value: p.value - (objective.floor ?? 0) })), lower, lmax)
      : { centre: l1Of(start), bounds: [lower, lmax] as [number, number] };
    const penalty = params.penalty(start);
    // A criterion that jumps at the breakpoints: the walk covers the scan's whole bracket (its best point's neighbours).
    const found = minimiseOnBracket((from, to) => {
      const walk = objective.walkPath!(penalty, from, to);
      if (walk && walk.pieces.length > 0) {
        // A trajectory point at the walk's top, its exact value there.
        const top = walk.pieces[0].quadratic[0];
        record(params.withValue(start, "l1", from), { value: top, gradient: null, solves: walk.solves, innerIterations: walk.innerIterations, converged: true, nearBreakpoint: false }, PATH_START_TOL, false, null);
      } else if (walk) {
        solves += walk.solves;
        innerIterations += walk.innerIterations;
      }
      return walk;
    }, centre, bounds, whole || objective.jumps === true, objective.floor);
    if (!found) return null;
    const { minimum, certificate, walks } = found;
    // Reported at the minimiser's l1 exactly (not through log and exp: it may sit on the bracket's edge).
    const chosen = params.withValue(start, "l1", minimum.l1);
    const lambda = { ...params.values(chosen), l1: minimum.l1 };
    const finalPenalty = { ...params.penalty(chosen), l1: minimum.l1 };
    // The slope there is exact (the piece's quadratic): no hypergradient solve.
    const atMinimum: Evaluation = { value: minimum.criterion, gradient: { l1: minimum.slope }, solves: 0, innerIterations: 0, converged: true, nearBreakpoint: false };
    let ev = atMinimum;
    let solution: Solution | undefined;
    if (criterionName !== "cv") {
      // The walk's exact solution there: the solve only certifies it (no polish: it is exact on its support).
      const x = walks.find((w) => w.minimiser && Math.abs(w.minimiser.l1 - minimum.l1) <= 1e-12 * minimum.l1)?.minimiser?.x;
      const solved = objective.evaluate(finalPenalty, finalTol, { gradient: false, polish: x === undefined, warmStart: x });
      ev = { ...solved, gradient: atMinimum.gradient };
      solution = objective.lastSolution;
    }
    const point = record(chosen, ev, finalTol, true);
    point.lambda = lambda;
    point.accepted = true;
    options.onEvent?.({ type: "iteration", iteration: 0, ...point });
    if (!solution) {
      // Cross-validation solved only the folds: the reconstruction on all the data.
      const warmStart = resolved.objective instanceof CrossValidation ? resolved.objective.meanSolution(minimum.l1) : undefined;
      solution = solver(withPenalty(problem, finalPenalty), { tol: finalTol, warmStart });
      solves++;
      innerIterations += solution.iterations;
    }
    const atBound = stillDecreasing(lambda, ev, lower, finalTol, objective.jumps === true);
    return complete({
      criterionName, optimizer, lambda,
      criterion: ev.value,
      x: solution.x,
      solution,
      lambdaMax: lmax,
      start: params.values(start),
      iterations: walks.length,
      solves, innerIterations,
      seconds: (performance.now() - started) / 1000,
      converged: solution.converged && !atBound,
      message: atBound ?? `converged: the exact minimum over [${certificate.bracket.map((b) => b.toPrecision(6)).join(", ")}] (${certificate.breakpoints.length} breakpoints, ${walks.length} walk${walks.length > 1 ? "s" : ""})`,
      cancelled: false,
      trajectory,
      certificate,
    });
  };
  const done = exact ? onPath() : null;
  if (done) return done;

  const scored = scanned.length > 0 || options.scan === 0 ? scanned : scan();
  const starts = scored.length === 0 ? [{ theta: start, value: Infinity }] : [...scored].sort((a, b) => a.value - b.value).slice(0, LOCAL_SEARCHES);
  const recorded = new WeakMap<OuterPoint, TrajectoryPoint>();
  /** The lowest final evaluation of the descent with its solution: the answer needs no new solve when it is chosen. */
  const descent: { final: { theta: Float64Array; ev: Evaluation; solution: Solution | undefined } | null } = { final: null };
  const outer = {
    evaluate(theta: Float64Array): OuterPoint {
      // At the final tolerance, polished: the value is then final (no re-evaluation among the finalists).
      const tol = tolNow(), polish = tol <= finalTol;
      const ev = objective.evaluate(params.penalty(theta), tol, { polish });
      if (polish && Number.isFinite(ev.value) && (!descent.final || ev.value < descent.final.ev.value)) descent.final = { theta: Float64Array.from(theta), ev, solution: objective.lastSolution };
      const outerPoint = { value: Number.isFinite(ev.value) ? ev.value : Infinity, gradient: params.logGradient(theta, ev) };
      recorded.set(outerPoint, record(theta, ev, tol, polish));
      return outerPoint;
    },
    project: (theta: Float64Array) => params.project(theta),
    accept(_theta: Float64Array, outerPoint: OuterPoint) {
      const point = recorded.get(outerPoint)!;
      point.accepted = true;
      options.onEvent?.({ type: "iteration", iteration: accepted, ...point });
      accepted++;
    },
  };
  const outerOptions = { maxIter: options.maxIter ?? 50, xtol: options.xtol ?? 1e-3, ftol: 1e-10, maxStep: Math.log(10), learningRate: 0.2 };
  const runs: OuterResult[] = [];
  for (const candidate of starts) {
    // A runner-up far above the minimum already found is not worth a second descent.
    if (runs.length > 0 && candidate.value > RUNNER_UP_MARGIN * runs[0].point.value) break;
    runs.push(OPTIMIZERS[optimizer](outer, candidate.theta, outerOptions));
  }
  // Kinks (active-set changes) leave small local minima a few percent apart in l1, finer than the
  // scan. Check the points of the standard 100-point grid within one scan step of the best l1
  // (values only) and descend again from any that is lower: never worse than that grid there.
  const checked = new Set<number>();
  for (let round = 0; round < NEIGHBOUR_ROUNDS && scanKey === "l1"; round++) {
    const centre = best!;
    const l1 = params.values(centre.theta).l1;
    const near = lambdaGrid(lmax, 100, 1e-3).filter((g) => !checked.has(g) && Math.abs(Math.log(g / l1)) <= SCAN_STEP);
    let lower: Float64Array | null = null;
    for (const g of near) {
      checked.add(g);
      const theta = params.withValue(centre.theta, "l1", g);
      const ev = objective.evaluate(params.penalty(theta), finalTol, { gradient: false, polish: false });
      record(theta, ev, finalTol);
      if (ev.value < (lower ? best!.value : centre.value)) lower = theta;
    }
    if (!lower) break;
    runs.push(OPTIMIZERS[optimizer](outer, lower, outerOptions));
  }
  const result = runs.reduce((a, b) => (b.point.value < a.point.value ? b : a));
  const reEvaluate = (theta: Float64Array): number => {
    const ev = objective.evaluate(params.penalty(theta), finalTol, { gradient: false });
    record(theta, ev, finalTol, true);
    return ev.value;
  };
  // Outer steps taken: accepted iterates (secant finish included) less each search's start.
  const iterations = accepted - runs.length;
  // Values found at looser inner tolerances can undercut the exact ones: re-evaluate the best
  // few points exactly (final tol, polished) unless they were, and choose among those.
  const chosen = evaluated
    .filter((e) => Number.isFinite(e.value))
    .sort((a, b) => a.value - b.value)
    .filter((e, i, all) => all.findIndex((f) => f.theta.every((v, k) => v === e.theta[k])) === i)
    .slice(0, FINALISTS)
    .map((e) => (e.final ? e : { theta: e.theta, value: reEvaluate(e.theta) }))
    .reduce((a, b) => (b.value < a.value ? b : a)).theta;
  const finalPenalty = params.penalty(chosen);
  const descentFinal = descent.final;
  const reuse = descentFinal?.solution !== undefined && descentFinal.theta.every((v, i) => v === chosen[i]) ? descentFinal : null;
  const finalEval = reuse ? reuse.ev : objective.evaluate(finalPenalty, finalTol);
  if (!reuse) record(chosen, finalEval, finalTol);
  // The reconstruction at the chosen λ on all the data (CV solved only the folds).
  let solution = reuse ? reuse.solution : objective.lastSolution;
  if (!solution) {
    solution = solver(withPenalty(problem, finalPenalty), { tol: finalTol });
    solves++;
    innerIterations += solution.iterations;
  }
  const atBound = stillDecreasing(params.values(chosen), finalEval, ranges.l1.range[0], finalTol, objective.jumps === true);
  return complete({
    criterionName, optimizer,
    lambda: params.values(chosen),
    ...(params.keys.includes("weights") && { weights: finalPenalty.weights }),
    criterion: finalEval.value,
    x: solution.x,
    solution,
    lambdaMax: lmax,
    start: params.values(start),
    iterations,
    solves, innerIterations,
    seconds: (performance.now() - started) / 1000,
    converged: result.converged && solution.converged && !atBound,
    message: atBound ?? result.message,
    cancelled: false,
    trajectory,
  });
}
