import { polishBordered } from "../kkt/bordered.js";
import { constrainedCertificate, meetsTolerance, penaltyScale, relativeInfeasibility, type Certificate } from "../kkt/certificate.js";
import { dot } from "../linalg/vector.js";
import { penaltyOf, separablePenalty, type SeparablePenalty } from "../penalties/index.js";
import type { Problem } from "../problem.js";
import { supportOf } from "./driver.js";
import { DEFAULT_TOL, type ActiveBounds, type Solution, type SolveOptions, type StructurePart } from "./solution.js";

/**
 * Relative feasibility ‖Cx − d‖ (relativeInfeasibility) a constrained solve must reach at
 * tolerance tol: tol/10, between 1e-14 (rounding) and 1e-6.
 */
export function feasibilityTarget(tol: number): number {
  return Math.min(1e-6, Math.max(tol / 10, 1e-14));
}

/** What finishConstrainedSolution needs to know about the run. */
export interface ConstrainedReport {
  iterations: number;
  solver: string;
  started: number;
  reason?: string;
}

/** Stationary to rounding, within the gap target and feasible: nothing left to improve. */
export function exact(cert: Certificate, x: Float64Array, penalty: SeparablePenalty, problem: Problem, gapTarget: number, feasTarget: number): boolean {
  return cert.dualityGap <= gapTarget && cert.kktViolation <= 1e-9 * penaltyScale(penalty, x) && relativeInfeasibility(problem, x) <= feasTarget;
}

/**
 * Bundle x and the multipliers ν (one per row of C, null without constraints) of a problem with
 * constraints or bounds into a Solution: certify them (kkt/certificate.ts, constrainedCertificate),
 * try the Newton polish on the free set with the bordered system (kkt/bordered.ts) and keep it
 * when it certifies at least as well. `converged`: the duality gap within tol·‖y‖², the KKT
 * violation small next to the penalty's scale and Cx = d to feasibilityTarget(tol).
 */
export function finishConstrainedSolution(problem: Problem, x: Float64Array, nu: Float64Array | null, report: ConstrainedReport, options: SolveOptions): Solution {
  const tol = options.tol ?? DEFAULT_TOL;
  const target = tol * dot(problem.y, problem.y);
  const feasTarget = feasibilityTarget(tol);
  const penalty = penaltyOf(problem);
  let bestX = x, bestNu = nu ?? new Float64Array(problem.constraints?.C.rows ?? 0);
  let cert = constrainedCertificate(problem, bestX, bestNu);
  if ((options.polish ?? true) && !exact(cert, bestX, penalty, problem, target, feasTarget)) {
    const polished = polishBordered(problem, penalty, bestX, bestNu);
    if (polished) {
      const pc = constrainedCertificate(problem, polished.x, polished.nu, penalty);
      const better =
        exact(pc, polished.x, penalty, problem, target, feasTarget) ||
        (pc.kktViolation <= cert.kktViolation && pc.dualityGap <= cert.dualityGap + 1e-14 * Math.abs(cert.objective) && relativeInfeasibility(problem, polished.x) <= Math.max(relativeInfeasibility(problem, bestX), 1e-15));
      if (better) {
        bestX = polished.x;
        bestNu = polished.nu;
        cert = pc;
      }
    }
  }
  // A coordinate the exact solve leaves a rounding away from its bound or from l1's kink at 0
  // belongs there: snap it, re-solve on the smaller free set, and keep that when it is exact too.
  const snapped = (options.polish ?? true) ? snapToKinks(problem, penalty, bestX) : null;
  if (snapped) {
    const again = polishBordered(problem, penalty, snapped, bestNu) ?? { x: snapped, nu: bestNu };
    const sc = constrainedCertificate(problem, again.x, again.nu, penalty);
    if (exact(sc, again.x, penalty, problem, target, feasTarget)) {
      bestX = again.x;
      bestNu = again.nu;
      cert = sc;
    }
  }
  const infeasibility = relativeInfeasibility(problem, bestX);
  const converged = meetsTolerance(cert, penalty, bestX, target) && infeasibility <= feasTarget;
  const support = supportOf(separablePenalty(problem.penalty), bestX);
  const output = constraintOutput(problem, bestX, bestNu);
  const structure: StructurePart[] = [support, ...output.parts];
  const sol: Solution = {
    x: bestX,
    active: support.active,
    signs: support.signs,
    structure,
    penalty: { ...problem.penalty },
    ...cert,
    iterations: report.iterations,
    converged,
    solver: report.solver,
    seconds: 0,
    ...output.fields,
  };
  if (!converged) sol.message = `${report.reason ?? "stopped"} (${whyNotConverged(cert, target, infeasibility, feasTarget)})`;
  sol.seconds = (performance.now() - report.started) / 1000;
  return sol;
}

/** Distances to a kink below this fraction of max(‖x‖∞, |bound|) are rounding of an exact solve. */
const SNAP_RELATIVE = 1e-12;

/**
 * x with every free coordinate within SNAP_RELATIVE of a bound, or of 0 when g has a kink there
 * (threshold > 0), set onto it; null when there is none.
 */
function snapToKinks(problem: Problem, penalty: SeparablePenalty, x: Float64Array): Float64Array | null {
  let scale = 0;
  for (let j = 0; j < x.length; j++) scale = Math.max(scale, Math.abs(x[j]));
  let out: Float64Array | null = null;
  for (let j = 0; j < x.length; j++) {
    if (!penalty.isActive(j, x[j])) continue;
    const kinks = [problem.bounds?.lower[j] ?? -Infinity, problem.bounds?.upper[j] ?? Infinity];
    if (penalty.threshold(j) > 0) kinks.push(0);
    for (const k of kinks) {
      if (Number.isFinite(k) && Math.abs(x[j] - k) <= SNAP_RELATIVE * Math.max(scale, Math.abs(k))) {
        out ??= Float64Array.from(x);
        out[j] = k;
      }
    }
  }
  return out;
}

/** Why a certificate does not meet the tolerance: the gap, the feasibility residual, or the KKT violation. */
export function whyNotConverged(cert: Certificate, target: number, infeasibility: number, feasTarget: number): string {
  return cert.dualityGap > target ? `duality gap ${cert.dualityGap.toExponential(3)} > tol·‖y‖² = ${target.toExponential(3)}`
    : infeasibility > feasTarget ? `relative feasibility residual ${infeasibility.toExponential(3)} > ${feasTarget.toExponential(1)}`
    : `KKT violation ${cert.kktViolation.toExponential(3)} too large for the penalty's scale`;
}

/**
 * What a solution of a problem with constraints or bounds adds (the l1/l2 and the tv finish
 * share it): the multipliers (with a warning naming dropped redundant rows), the active bounds
 * (empty lists without bounds: constrained output always says which are active), and their
 * structure parts.
 */
export function constraintOutput(problem: Problem, x: Float64Array, nu: Float64Array): { fields: Pick<Solution, "multipliers" | "warnings" | "activeBounds">; parts: StructurePart[] } {
  const fields: Pick<Solution, "multipliers" | "warnings" | "activeBounds"> = {};
  const parts: StructurePart[] = [];
  if (problem.constraints) {
    fields.multipliers = nu;
    parts.push({ kind: "constraints", multipliers: Array.from(nu) });
    const redundant = problem.constraints.redundant;
    if (redundant?.length) {
      const one = redundant.length === 1;
      fields.warnings = [`constraint ${one ? "row" : "rows"} ${redundant.join(", ")} ${one ? "is a combination" : "are combinations"} of the others (with a consistent d): dropped, ${one ? "its multiplier" : "their multipliers"} reported as 0`];
    }
  }
  fields.activeBounds = activeBounds(problem, x);
  if (problem.bounds) parts.push({ kind: "bounds", ...fields.activeBounds });
  return { fields, parts };
}

/** The features at their lower and upper bounds. */
export function activeBounds(problem: Problem, x: Float64Array): ActiveBounds {
  const lower: number[] = [], upper: number[] = [];
  const b = problem.bounds;
  if (b) {
    for (let j = 0; j < x.length; j++) {
      if (x[j] === b.lower[j]) lower.push(j);
      if (x[j] === b.upper[j]) upper.push(j);
    }
  }
  return { lower, upper };
}
