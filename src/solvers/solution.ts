import { InputError } from "../errors.js";
import type { Certificate } from "../kkt/certificate.js";
import type { Penalty, Problem } from "../problem.js";

export interface SolveOptions {
  /** Stop when the duality gap ≤ tol·‖y‖² (default 1e-8, scikit-learn's convention). */
  tol?: number;
  /** Iteration cap (outer iterations for coordinate descent, steps for FISTA). */
  maxIter?: number;
  /** Starting point x⁰ (length n), e.g. the solution at a nearby λ. */
  warmStart?: Float64Array;
  /**
   * After convergence, solve the KKT system on the found support and keep the result when it
   * certifies better: x to machine precision, the active set exact. `true`: always; `false`:
   * never; "auto" (the default): as `true`, except when the solver proved the support and signs
   * exact from its duality gap (kkt/support-certificate.ts: the elastic net, whose primal is
   * l2-strongly convex) and the support's KKT system is too large to factor cheaply; x is then
   * tol-accurate on the exact support. Tolerances ≤ 1e-10 are always polished.
   */
  polish?: boolean | "auto";
  /** Checked once per iteration: when `aborted` turns true the solve stops there (not converged, "cancelled"). */
  signal?: { readonly aborted: boolean };
}

/**
 * What a solution's structure is, one part per penalty or constraint that has one. The Lasso
 * and elastic net have a support with signs; TV adds its jump set and pieces, constraints their
 * multipliers and active bounds, each as one more member of this union.
 */
export type StructurePart =
  | { kind: "support"; active: number[]; signs: number[] }
  /** TV: the jump set {e : (Dx)_e ≠ 0} (rows of D, increasing), its signs, the number of constant pieces. */
  | { kind: "pieces"; jumps: number[]; jumpSigns: number[]; segments: number }
  /** Cx = d: one multiplier per row of C (stationarity Aᵀ(Ax − y) + l1 g + l2 x + Cᵀν = 0; 0 for a redundant row). */
  | { kind: "constraints"; multipliers: number[] }
  /** lower ≤ x ≤ upper: the features at each bound (increasing; a feature with lower = upper is in both). */
  | { kind: "bounds"; lower: number[]; upper: number[] };

/** The features at their bounds. */
export interface ActiveBounds {
  lower: number[];
  upper: number[];
}

/** A solver's answer with its certificate. Everything downstream (KKT, hypergradients) reads only this. */
export interface Solution extends Certificate {
  x: Float64Array;
  /** Sorted indices j with x_j ≠ 0 (the support part of `structure`, kept at top level). */
  active: number[];
  /** sign(x_j) for j in `active`. */
  signs: number[];
  /** The solution's structure, by part. */
  structure: StructurePart[];
  /** The penalty values this solution is for. */
  penalty: Penalty;
  iterations: number;
  /** The certificate meets the requested tolerance (never true when it does not). */
  converged: boolean;
  /** Which solver produced it ("cd", "fista", ...): informative only. */
  solver: string;
  /** Wall time of the solve alone. */
  seconds: number;
  /** Why it stopped when it did not converge (iteration cap, ...). */
  message?: string;
  /** Multipliers ν of Cx = d, one per row of C (problems with constraints; basis pursuit: of Ax = y, one per row of A). */
  multipliers?: Float64Array;
  /** Which bounds are active (problems with constraints or bounds; empty lists without bounds). */
  activeBounds?: ActiveBounds;
  /**
   * Problems with tv, from solvers that keep one (split-bregman, fista, tv-denoise): their estimate
   * z of the tv rows' multipliers at their last iterate (|z_e| ≤ tv, Aᵀ(y − Ax) − Dᵀz ∈ ∂g(x) at
   * convergence). Certificates of nearby points start from it (basis pursuit with tv does).
   */
  tvDual?: Float64Array;
  /** Notes on the input that did not stop the solve (redundant constraints dropped, ...). */
  warnings?: string[];
  /** The unpenalised intercept b = ȳ − μᵀx, for a problem with `intercept` (predictions are Ax + b). */
  intercept?: number;
}

export const DEFAULT_TOL = 1e-8;

/**
 * The problem object each Solution of runSolver was solved for. The hypergradient's check that a
 * solution belongs to its problem (diff/implicit.ts) then needs no pass over the data: the tuner
 * differentiates every solve it makes, and at 512×512 that pass cost as much as a prox iteration.
 */
const solvedFor = new WeakMap<Solution, Problem>();

export function noteSolvedFor(solution: Solution, problem: Problem): Solution {
  solvedFor.set(solution, problem);
  return solution;
}

/** True when `solution` came from runSolver on this very problem object. */
export function wasSolvedFor(solution: Solution, problem: Problem): boolean {
  return solvedFor.get(solution) === problem;
}

/** A solver function (problem, options) => Solution, as solverByName returns. */
export function requireSolver(field: string, solver: (problem: Problem, options?: SolveOptions) => Solution): void {
  if (typeof solver !== "function") throw new InputError(field, `expected a solver function (solverByName("cd"), solve, ...), got ${solver === null ? "null" : typeof solver}`);
}
