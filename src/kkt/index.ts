import { InputError } from "../errors.js";
import { differencesOf, GridDifferences } from "../operators/finite-differences.js";
import { penaltyFamily } from "../penalties/index.js";
import type { Problem } from "../problem.js";
import type { Solution } from "../solvers/solution.js";
import { activeSetSystem } from "./active-set.js";
import type { KktSystem } from "./system.js";
import { piecesOf } from "./tv-pieces.js";
import { PieceSystem } from "./tv-system.js";

/**
 * The KKT system of (problem, solution) and the hyperparameter names it differentiates in. One
 * problem class today (a separable penalty on the support); TV pieces and bordered constraint
 * systems are chosen here from the solution's structure.
 */
export function kktSystem(problem: Problem, solution: Solution): { system: KktSystem; names: string[] } {
  if (problem.penalty.tv > 0) return { system: pieceSystem(problem, solution.x), names: ["l1", "l2", "tv"] };
  const penalty = penaltyFamily(problem);
  return { system: activeSetSystem(problem, penalty, solution.x, solution.active), names: penalty.hyperparameters.map((h) => h.name) };
}

export type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";

/** The TV system on the exact pieces of x (edges with (Dx)_e = 0 fused; zero pieces with l1). */
export function pieceSystem(problem: Problem, x: Float64Array): PieceSystem {
  const D = differencesOf(problem);
  if (!(D instanceof GridDifferences)) throw new InputError("D", "implicit differentiation of tv needs the grid's finite differences (a user D has no piece structure)");
  const pieces = piecesOf(D, x, 0, problem.penalty.l1 > 0);
  const values = new Float64Array(pieces.count);
  for (let j = 0; j < x.length; j++) values[pieces.label[j]] = x[j];
  return new PieceSystem(problem, D, pieces, values);
}
