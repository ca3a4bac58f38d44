import { InputError } from "../errors.js";
import { lambdaMax } from "../penalties/index.js";
import { withPenalty, type Problem } from "../problem.js";
import type { Solver } from "./index.js";
import type { Solution, SolveOptions } from "./solution.js";

export type { Solver };

/** The most points of a grid (or of random search): each is a solve, and the list is held whole. */
export const MAX_GRID_POINTS = 100_000;

/** Refuse a point count outside [min, MAX_GRID_POINTS] (InputError naming `field`). */
export function requireGridCount(count: unknown, field: string, min: number): void {
  if (!(Number.isSafeInteger(count) && (count as number) >= min && (count as number) <= MAX_GRID_POINTS)) {
    throw new InputError(field, `expected an integer in [${min}, ${MAX_GRID_POINTS}], got ${String(count)}`);
  }
}

/** `count` values from lmax down to ratio·lmax, evenly spaced in log (scikit-learn's default path). */
export function lambdaGrid(lmax: number, count = 100, ratio = 1e-3): number[] {
  if (!(typeof lmax === "number" && lmax > 0 && Number.isFinite(lmax))) throw new InputError("lmax", `expected a positive finite number, got ${String(lmax)}`);
  requireGridCount(count, "count", 1);
  if (!(typeof ratio === "number" && ratio > 0 && ratio <= 1)) throw new InputError("ratio", `expected a number in (0, 1], got ${String(ratio)}`);
  if (count === 1) return [lmax];
  return Array.from({ length: count }, (_, k) => lmax * Math.pow(ratio, k / (count - 1)));
}

export interface PathOptions extends SolveOptions {
  /** The l1 values, in the order solved (default: lambdaGrid(λ_max, count, ratio)). */
  lambdas?: number[];
  count?: number;
  ratio?: number;
  /** Called after each solve (for progress bars); never required. */
  onSolution?: (solution: Solution, index: number, total: number) => void;
}

/** Warm-started path over l1 (other penalties fixed): each solve starts from the previous solution. */
export function solvePath(problem: Problem, solver: Solver, options: PathOptions = {}): Solution[] {
  const { lambdas: given, count, ratio, onSolution, ...solveOptions } = options;
  const lambdas = given ?? lambdaGrid(lambdaMax(problem), count, ratio);
  const out: Solution[] = [];
  let warm = solveOptions.warmStart;
  lambdas.forEach((l1, k) => {
    const sol = solver(withPenalty(problem, { l1 }), { ...solveOptions, warmStart: warm });
    out.push(sol);
    warm = sol.x;
    onSolution?.(sol, k, lambdas.length);
  });
  return out;
}
