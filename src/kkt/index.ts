import { InputError } from "../errors.js";
import { differencesOf, GridDifferences } from "../operators/finite-differences.js";
import { penaltyFamily } from "../penalties/index.js";
import { requireProblem, type Problem } from "../problem.js";
import type { Solution } from "../solvers/solution.js";
import { activeSetSystem } from "./active-set.js";
import { BorderedSystem, constraintRows, freeSet } from "./bordered.js";
import { boxed } from "../penalties/box.js";
import type { KktSystem } from "./system.js";
import { piecesOf } from "./tv-pieces.js";
import { boundedPieceSystem, PieceSystem, type TvBorderedSystem } from "./tv-system.js";

/**
 * The KKT system of (problem, solution) and the hyperparameter names it differentiates in. One
 * problem class today (a separable penalty on the support); TV pieces and bordered constraint
 * systems are chosen here from the solution's structure.
 */
export function kktSystem(problem: Problem, solution: Solution): { system: KktSystem; names: string[] } {
  requireProblem(problem);
  if (problem.penalty.tv > 0 && (problem.constraints || problem.bounds)) return { system: borderedPieceSystem(problem, solution), names: ["l1", "l2", "tv"] };
  if (problem.penalty.tv > 0) return { system: pieceSystem(problem, solution.x, solution.dualityGap), names: ["l1", "l2", "tv"] };
  if (problem.constraints || problem.bounds) return borderedSystem(problem, solution);
  const penalty = penaltyFamily(problem);
  return { system: activeSetSystem(problem, penalty, solution.x, solution.active), names: penalty.hyperparameters.map((h) => h.name) };
}

/**
 * Constraints or bounds: the bordered system on the free set (kkt/bordered.ts), with the
 * solution's multipliers, for the hyperparameters of the whole family (l1, weights, l2).
 */
function borderedSystem(problem: Problem, solution: Solution): { system: KktSystem; names: string[] } {
  const penalty = boxed(penaltyFamily(problem), problem.bounds);
  const nu = solution.multipliers ?? new Float64Array(problem.constraints?.C.rows ?? 0);
  const system = new BorderedSystem(problem, penalty, solution.x, nu, constraintRows(problem), freeSet(penalty, solution.x));
  return { system, names: penalty.hyperparameters.map((h) => h.name) };
}

export type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";

/** δ = √(2·gap/n) (see pieceSystem). */
function pieceFuse(x: Float64Array, gap: number): number {
  return Number.isFinite(gap) && gap > 0 ? Math.sqrt((2 * gap) / x.length) : 0;
}

/** TV with constraints or bounds: the piece system bordered with C (pieces at a bound held there), fused as pieceSystem. */
function borderedPieceSystem(problem: Problem, solution: Solution): TvBorderedSystem {
  const D = differencesOf(problem);
  if (!(D instanceof GridDifferences)) throw new InputError("D", "implicit differentiation of tv needs the grid's finite differences (a user D has no piece structure)");
  const nu = solution.multipliers ?? new Float64Array(problem.constraints?.C.rows ?? 0);
  return boundedPieceSystem(problem, D, solution.x, pieceFuse(solution.x, solution.dualityGap), nu, constraintRows(problem));
}

/**
 * The TV system on the pieces of x: the edges with |(Dx)_e| ≤ δ fused (zero pieces with l1),
 * δ = √(2·gap/n), the root-mean-square error per feature the duality gap allows
 * (½‖x − x*‖² ≤ gap): 0 for an exact (polished) solution, whose pieces are exact; for a
 * tolerance-accurate 2-D solve, the jumps below what its accuracy resolves are not counted
 * (they would inflate SURE's df and split the pieces of the system).
 */
export function pieceSystem(problem: Problem, x: Float64Array, gap = 0): PieceSystem {
  const D = differencesOf(problem);
  if (!(D instanceof GridDifferences)) throw new InputError("D", "implicit differentiation of tv needs the grid's finite differences (a user D has no piece structure)");
  const fuse = pieceFuse(x, gap);
  const pieces = piecesOf(D, x, fuse, problem.penalty.l1 > 0);
  const values = new Float64Array(pieces.count);
  for (let j = 0; j < x.length; j++) values[pieces.label[j]] += x[j] / pieces.size[pieces.label[j]];
  return new PieceSystem(problem, D, pieces, values);
}
