import type { Penalty } from "../problem.js";
import type { Solution } from "../solvers/solution.js";

/** The penalties a tuner can move: l1, l2, or the per-feature l1 thresholds λ_j = l1·w_j. */
export type TunableKey = "l1" | "l2" | "weights";

/** One evaluation of a tuning criterion at some penalties: its value and exact hypergradient. */
export interface Evaluation {
  value: number;
  /** d value / dλ for each tuned key (not log λ); null when not requested. */
  gradient: Record<"l1" | "l2", number> | null;
  /** dC/dλ_j for the per-feature thresholds (with the gradient). */
  perFeature?: Float64Array;
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
  /** The criterion at `penalty`, inner solves to `tol`; the hypergradient too unless withGradient is false. */
  evaluate(penalty: Penalty, tol: number, withGradient?: boolean): Evaluation;
  /**
   * Whether inner solves end with the Newton polish (exact x and support; default true). The
   * tuner turns it off while searching, where tol-accurate solutions suffice, and on at the end.
   */
  polish: boolean;
  /** The solve of the whole problem at the last evaluated λ, when the criterion made one (not CV). */
  readonly lastSolution?: Solution;
}
