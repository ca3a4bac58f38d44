import { InputError } from "../errors.js";
import { checkSolveOptions, requireCertifiableScales, requirePositivePenalty, type Problem } from "../problem.js";
import { solveCoordinateDescent } from "./coordinate-descent.js";
import { solveFista } from "./fista.js";
import type { Solver } from "./path.js";
import type { Solution, SolveOptions } from "./solution.js";

export const SOLVERS = { cd: solveCoordinateDescent, fista: solveFista } satisfies Record<string, Solver>;
export type SolverName = keyof typeof SOLVERS;

export function solverByName(name: string): Solver {
  if (!(name in SOLVERS)) throw new InputError("solver", `expected one of ${Object.keys(SOLVERS).join(", ")}, got "${name}"`);
  return SOLVERS[name as SolverName];
}

/** Solve with the named solver (default: working-set coordinate descent). */
export function solve(problem: Problem, options: SolveOptions & { solver?: SolverName } = {}): Solution {
  const { solver = "cd", ...rest } = options;
  const run = solverByName(solver);
  requirePositivePenalty(problem);
  requireCertifiableScales(problem);
  checkSolveOptions(problem, rest);
  return run(problem, rest);
}
