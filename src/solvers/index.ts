import { InputError } from "../errors.js";
import { hasColumns } from "../operators/operator.js";
import { requireProblem, type Problem } from "../problem.js";
import { augmentedLagrangian } from "./augmented-lagrangian.js";
import { coordinateDescent, type CoordinateDescentOptions } from "./coordinate-descent.js";
import { fitsDenoising, runSolver } from "./driver.js";
import { fista, type FistaOptions } from "./fista.js";
import { solveBasisPursuit, type BasisPursuitOptions } from "./basis-pursuit.js";
import { tvDenoise } from "./tv-denoise.js";
import type { IterativeSolver } from "./protocol.js";
import { splitBregman } from "./split-bregman.js";
import type { Solution, SolveOptions } from "./solution.js";

/**
 * The solvers and what each can do (penalties, constraints, column access). `solve` picks the
 * first that fits the problem unless one is named.
 */
// `any`: each solver has its own context and state types; the registry only needs the protocol.
export const ITERATIVE_SOLVERS: Record<"cd" | "tv-denoise" | "fista" | "split-bregman" | "alm", IterativeSolver<any, any>> = { cd: coordinateDescent, "tv-denoise": tvDenoise, fista, "split-bregman": splitBregman, alm: augmentedLagrangian };
/** Solvers that are not one iterative state machine: basis pursuit (Bregman steps of coordinate descent). */
const COMPOSITE_SOLVERS = { "basis-pursuit": solveBasisPursuit as Solver };
export type SolverName = keyof typeof ITERATIVE_SOLVERS | keyof typeof COMPOSITE_SOLVERS;

/** A solve function: what paths, criteria and the tuner call. */
export type Solver = (problem: Problem, options?: SolveOptions) => Solution;

/** The registered solvers as solve functions, by name. */
export const SOLVERS = {
  ...Object.fromEntries(
    Object.entries(ITERATIVE_SOLVERS).map(([name, solver]) => [name, (problem: Problem, options: SolveOptions = {}) => runSolver(solver, problem, options as SolveOptions & Record<string, unknown>)]),
  ),
  ...COMPOSITE_SOLVERS,
} as Record<SolverName, Solver>;

export function solverByName(name: string): Solver {
  if (!Object.hasOwn(SOLVERS, name)) throw new InputError("solver", `expected one of ${Object.keys(SOLVERS).join(", ")}, got "${name}"`);
  return SOLVERS[name as SolverName];
}

/** The first registered solver whose capabilities fit the problem (working-set CD when A has columns). */
export function defaultSolverName(problem: Problem): SolverName {
  requireProblem(problem);
  if (problem.basisPursuit) return "basis-pursuit";
  // With tv (A ≠ identity), Split Bregman before FISTA: FISTA takes a 2-D prox per step and
  // crawls on ill-conditioned blurs and at small tv on masks (measured on 32×32 images: a blur
  // 0.4 s against minutes; a mask at tv = 0.005, 108 s for one FISTA solve). Split Bregman can
  // stall short of a tight gap on masks at large tv (it says so: not converged).
  // l1/l2 problems with constraints go to the augmented Lagrangian before Split Bregman (which
  // handles them too, but is there for tv: the only solver with constrainedTv).
  const last = problem.penalty.tv > 0 ? "fista" : problem.constraints ? "split-bregman" : null;
  const order = Object.entries(ITERATIVE_SOLVERS).filter(([name]) => name !== last);
  if (last) order.push([last, ITERATIVE_SOLVERS[last]]);
  for (const [name, solver] of order) {
    const { capabilities } = solver;
    const fits =
      (!problem.constraints || capabilities.constraints) &&
      (!problem.bounds || capabilities.bounds) &&
      (!capabilities.needsColumns || hasColumns(problem.A)) &&
      (!capabilities.needsIdentity || fitsDenoising(problem)) &&
      (!(problem.penalty.tv > 0) || capabilities.penalties.includes("tv")) &&
      (!(problem.penalty.tv > 0 && (problem.constraints || problem.bounds)) || capabilities.constrainedTv === true);
    if (fits) return name as SolverName;
  }
  throw new InputError("problem", "no solver handles this problem (see the solver capabilities in the README)");
}

/** The solvers that handle general l1/l2 problems (explicit A, no tv): what the sparse-regression tests run. */
export function regressionSolverNames(): SolverName[] {
  return (Object.keys(ITERATIVE_SOLVERS) as (keyof typeof ITERATIVE_SOLVERS)[]).filter((name) => !ITERATIVE_SOLVERS[name].capabilities.needsIdentity);
}

/** Solve with the named solver (default: the first that fits, working-set coordinate descent for explicit A). */
export function solve(problem: Problem, options: SolveOptions & CoordinateDescentOptions & FistaOptions & BasisPursuitOptions & { solver?: SolverName } = {}): Solution {
  requireProblem(problem);
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new InputError("options", `expected an object of solve options, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  const { solver = defaultSolverName(problem), ...rest } = options;
  return solverByName(solver)(problem, rest);
}
