import { penaltyFamily } from "../penalties/index.js";
import type { Problem } from "../problem.js";
import type { Solution } from "../solvers/solution.js";
import { activeSetSystem } from "./active-set.js";
import type { KktSystem } from "./system.js";

/**
 * The KKT system of (problem, solution) and the hyperparameter names it differentiates in. One
 * problem class today (a separable penalty on the support); TV pieces and bordered constraint
 * systems are chosen here from the solution's structure.
 */
export function kktSystem(problem: Problem, solution: Solution): { system: KktSystem; names: string[] } {
  const penalty = penaltyFamily(problem);
  return { system: activeSetSystem(problem, penalty, solution.x, solution.active), names: penalty.hyperparameters.map((h) => h.name) };
}

export type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";
