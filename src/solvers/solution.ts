import { certificate, residualAndCorrelation, type Certificate } from "../kkt/certificate.js";
import { InputError } from "../errors.js";
import { polishOnSupport } from "../kkt/polish.js";
import { dot, normInf } from "../linalg/vector.js";
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
   * certifies better (default true): x to machine precision, the active set exact.
   */
  polish?: boolean;
}

/** A solver's answer with its certificate. Everything downstream (KKT, hypergradients) reads only this. */
export interface Solution extends Certificate {
  x: Float64Array;
  /** Sorted indices j with x_j ≠ 0. */
  active: number[];
  /** sign(x_j) for j in `active`. */
  signs: number[];
  /** The penalty this solution is for. */
  penalty: Penalty;
  iterations: number;
  converged: boolean;
  /** Which solver produced it ("cd", "fista", ...): informative only. */
  solver: string;
  /** Wall time of the solve alone. */
  seconds: number;
  /** Why it stopped when it did not converge (iteration cap, ...). */
  message?: string;
}

export function activeSet(x: Float64Array): { active: number[]; signs: number[] } {
  const active: number[] = [], signs: number[] = [];
  for (let j = 0; j < x.length; j++) {
    if (x[j] !== 0) {
      active.push(j);
      signs.push(Math.sign(x[j]));
    }
  }
  return { active, signs };
}

function certify(problem: Problem, x: Float64Array): Certificate {
  const r = new Float64Array(problem.A.rows), c = new Float64Array(problem.A.cols);
  residualAndCorrelation(problem, x, r, c);
  return certificate(problem, x, r, c);
}

export interface SolverReport {
  iterations: number;
  converged: boolean;
  solver: string;
  /** When the solve started (performance.now()). */
  started: number;
  message?: string;
}

/**
 * Bundle x with its certificate. With `polish`, also try the Newton step onto x's support
 * (kkt/polish.ts) and keep it when it certifies at least as well; a polished point within
 * tol counts as converged.
 */
export function finishSolution(problem: Problem, x: Float64Array, report: SolverReport, options: SolveOptions): Solution {
  const target = (options.tol ?? DEFAULT_TOL) * dot(problem.y, problem.y);
  let best = x, converged = report.converged, cert: Certificate | null = null;
  // Tight tolerances (≤ 1e-10) ask for exactness: polish whatever the support's size.
  const polished = options.polish ?? true ? polishOnSupport(problem, x, (options.tol ?? DEFAULT_TOL) <= 1e-10) : null;
  if (polished) {
    const pc = certify(problem, polished);
    // Within tol and stationary to rounding (relative to the penalty's scale): no need to
    // certify x as well to compare.
    const { l1, l2 } = problem.penalty;
    const exact = pc.dualityGap <= target && pc.kktViolation <= 1e-9 * (l1 + l2 * normInf(polished));
    if (!exact) cert = certify(problem, x);
    if (exact || (pc.kktViolation <= cert!.kktViolation && pc.dualityGap <= cert!.dualityGap + 1e-14 * cert!.objective)) {
      best = polished;
      cert = pc;
      converged ||= pc.dualityGap <= target;
    }
  }
  cert ??= certify(problem, x);
  const sol: Solution = {
    x: best,
    ...activeSet(best),
    penalty: { ...problem.penalty },
    ...cert,
    iterations: report.iterations,
    converged,
    solver: report.solver,
    seconds: (performance.now() - report.started) / 1000,
  };
  if (!converged && report.message !== undefined) sol.message = report.message;
  return sol;
}

export const DEFAULT_TOL = 1e-8;

/** The l1/l2 solvers (and what stands on them) refuse TV and constraints with a named field. */
export function requireL1L2Problem(problem: Problem, who: string): void {
  if (problem.penalty.tv > 0) throw new InputError("penalty.tv", `${who} handles l1/l2 penalties only (no total-variation solver yet)`);
  if (problem.constraints) throw new InputError("constraints", `${who} handles unconstrained problems only (no constrained solver yet)`);
}
