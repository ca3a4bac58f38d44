import type { Penalty } from "../problem.js";
import type { Solution } from "../solvers/solution.js";

/** The penalties a tuner can move. */
export type TunableKey = "l1" | "l2";

/** One evaluation of a tuning criterion at some penalties: its value and exact hypergradient. */
export interface Evaluation {
  value: number;
  /** d value / dλ for each tuned key (not log λ). */
  gradient: Record<TunableKey, number>;
  /** Solves and inner solver iterations this evaluation spent. */
  solves: number;
  innerIterations: number;
  /** Every inner solve converged. */
  converged: boolean;
  /** Some active set was within its margin of changing: the gradient is one-sided. */
  nearBreakpoint: boolean;
}

/**
 * A criterion of the penalties, λ ↦ C(x*(λ)): held-out error, K-fold CV, SURE, reference error.
 * Implementations keep their own warm starts between calls.
 */
export interface TuningObjective {
  readonly name: string;
  evaluate(penalty: Penalty, tol: number): Evaluation;
  /** The solve of the whole problem at the last evaluated λ, when the criterion made one (not CV). */
  readonly lastSolution?: Solution;
}
