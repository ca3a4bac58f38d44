import type { HyperGradient } from "../diff/implicit.js";
import type { Penalty } from "../problem.js";
import type { Solution } from "../solvers/solution.js";
import type { CriterionPiece } from "./path-pieces.js";

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

/** The criterion along a walk of the exact path in l1 (the other penalties fixed). */
export interface PathWalk {
  /** Its exact pieces over the l1 walked, descending and contiguous. */
  pieces: CriterionPiece[];
  /** Every l1 inside them at which a support changes (of any fold), descending. */
  breakpoints: number[];
  /** Solves made to start the walks (one per fold) and their inner iterations. */
  solves: number;
  innerIterations: number;
  /** The walk reached `to` (false: the path stopped above it, see LassoPath.message). */
  complete: boolean;
  /** The walk's own minimum with its exact solution, when the criterion is one solution's (not cv). */
  minimiser?: { l1: number; x: Float64Array };
}

/**
 * A criterion of the penalties, λ ↦ C(x*(λ)): held-out error, K-fold CV, SURE, reference error.
 * Implementations keep their own warm starts between calls.
 */
export interface TuningObjective {
  readonly name: string;
  /** The criterion at `penalty`, inner solves to `tol`. */
  evaluate(penalty: Penalty, tol: number, options?: EvaluateOptions): Evaluation;
  /**
   * Walk the exact path from l1 = `from` down to `to` (the other penalties as in `penalty`), each
   * walk starting from the last evaluation's solution; null when the path cannot be walked there
   * (dependent active columns). Only for criteria that are exact quadratics along it.
   */
  walkPath?(penalty: Penalty, from: number, to: number): PathWalk | null;
  /** The solve of the whole problem at the last evaluated λ, when the criterion made one (not CV). */
  lastSolution?: Solution;
  /**
   * A lower bound of the criterion when it is not 0 (SURE ≥ −mσ²): the scan compares, and takes
   * logarithms of, value − floor.
   */
  readonly floor?: number;
  /**
   * The criterion jumps where the support changes (SURE: 2σ² per feature entering), its
   * hypergradient being the slope between the jumps: a minimum may sit on a jump with that slope
   * not 0, and a parabola through scan points does not place it.
   */
  readonly jumps?: boolean;
}

/** Solutions kept for warm starts (the most recent of a long grid or search: memory stays bounded). */
const KEPT_SOLUTIONS = 32;

/** The latest solutions by their l1, for warm starts of walks and final solves. */
export class SolutionsByL1<T> {
  private readonly kept: { l1: number; value: T }[] = [];

  add(l1: number, value: T): void {
    if (this.kept.length === KEPT_SOLUTIONS) this.kept.shift();
    this.kept.push({ l1, value });
  }

  /** The one closest to `l1` in log l1 (undefined before any). */
  closest(l1: number): T | undefined {
    let best: { l1: number; value: T } | undefined;
    for (const k of this.kept) if (!best || Math.abs(Math.log(k.l1 / l1)) < Math.abs(Math.log(best.l1 / l1))) best = k;
    return best?.value;
  }
}
