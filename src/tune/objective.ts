import type { HyperGradient } from "../diff/implicit.js";
import type { Penalty } from "../problem.js";
import type { Solution } from "../solvers/solution.js";

/** A hyperparameter the tuner can move: any name the problem's penalties declare (l1, l2, weights, ...). */
export type TunableKey = string;

/** One evaluation of a tuning criterion at some penalties: its value and exact hypergradient. */
export interface Evaluation {
  value: number;
  /** dC/dθ by hyperparameter name (a number, or per-feature values); null when not requested. */
  gradient: HyperGradient | null;
  /** Solves and inner solver iterations this evaluation spent. */
  solves: number;
  innerIterations: number;
  /** Every inner solve converged. */
  converged: boolean;
  /** Some active set was within its margin of changing: the gradient is one-sided. */
  nearBreakpoint: boolean;
}

export interface EvaluateOptions {
  /** Compute the hypergradient too (default true). */
  gradient?: boolean;
  /**
   * End inner solves with the Newton polish (exact x and support; default true). The tuner
   * turns it off while searching, where tol-accurate solutions suffice, and on at the end.
   */
  polish?: boolean;
  /** Start the inner solve here instead of at the previous solution (single-solve criteria). */
  warmStart?: Float64Array;
}

/**
 * A criterion of the penalties, λ ↦ C(x*(λ)): held-out error, K-fold CV, SURE, reference error.
 * Implementations keep their own warm starts between calls.
 */
export interface TuningObjective {
  readonly name: string;
  /** The criterion at `penalty`, inner solves to `tol`. */
  evaluate(penalty: Penalty, tol: number, options?: EvaluateOptions): Evaluation;
  /** The solve of the whole problem at the last evaluated λ, when the criterion made one (not CV). */
  lastSolution?: Solution;
}
