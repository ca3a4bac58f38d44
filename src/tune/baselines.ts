import { Random } from "../linalg/random.js";
import type { Penalty } from "../problem.js";
import { lambdaGrid, requireGridCount } from "../solvers/path.js";
import { InputError } from "../errors.js";
import { requireObject } from "../optim/objective.js";
import type { TuningObjective } from "./objective.js";

export interface BaselinePoint {
  l1: number;
  value: number;
}

export interface BaselineResult {
  points: BaselinePoint[];
  best: BaselinePoint;
  solves: number;
  innerIterations: number;
  seconds: number;
}

export interface BaselineOptions {
  tol: number;
  onStep?: (index: number, total: number, point: BaselinePoint) => void;
}

function requireBaseline(objective: TuningObjective, options: BaselineOptions): void {
  if (typeof objective?.evaluate !== "function") throw new InputError("objective", "expected a tuning objective (SingleSolveObjective, CrossValidation)");
  requireObject("options", options, "{ tol, count?, ratio? }");
}

/** Evaluate the objective at each l1 in order; warm starts carry from one to the next. */
function scan(objective: TuningObjective, base: Penalty, lambdas: number[], options: BaselineOptions): BaselineResult {
  const started = performance.now();
  const points: BaselinePoint[] = [];
  let solves = 0, innerIterations = 0;
  lambdas.forEach((l1, k) => {
    // Values only, to the baseline's tolerance (as scikit-learn's path): no polish, no hypergradient.
    const ev = objective.evaluate({ ...base, l1 }, options.tol, { gradient: false, polish: false });
    const point = { l1, value: ev.value };
    points.push(point);
    solves += ev.solves;
    innerIterations += ev.innerIterations;
    options.onStep?.(k, lambdas.length, point);
  });
  const best = points.reduce((a, b) => (b.value < a.value ? b : a));
  return { points, best, solves, innerIterations, seconds: (performance.now() - started) / 1000 };
}

/** Grid search over a warm-started geometric path: `count` values from λ_max down to ratio·λ_max. */
export function gridSearch(objective: TuningObjective, base: Penalty, lmax: number, options: BaselineOptions & { count?: number; ratio?: number }): BaselineResult {
  requireBaseline(objective, options);
  return scan(objective, base, lambdaGrid(lmax, options.count ?? 100, options.ratio ?? 1e-3), options);
}

/** Random search: `count` log-uniform draws in [ratio·λ_max, λ_max], solved from large to small (warm starts). */
export function randomSearch(objective: TuningObjective, base: Penalty, lmax: number, options: BaselineOptions & { count?: number; ratio?: number; seed?: number }): BaselineResult {
  requireBaseline(objective, options);
  requireGridCount(options.count ?? 30, "count", 1);
  const rng = new Random(options.seed ?? 1);
  const logRatio = Math.log(options.ratio ?? 1e-3);
  const lambdas = Array.from({ length: options.count ?? 30 }, () => lmax * Math.exp(logRatio * rng.uniform())).sort((a, b) => b - a);
  return scan(objective, base, lambdas, options);
}
