import { dot } from "../linalg/vector.js";
import { penaltyOf, type SeparablePenalty } from "../penalties/index.js";
import type { Problem } from "../problem.js";

/** What proves (or disproves) that x solves ½‖Ax − y‖² + g(x). */
export interface Certificate {
  objective: number;
  /** Primal minus dual objective: an upper bound on objective − optimum. */
  dualityGap: number;
  /** max_j dist(−∇_j f(x), ∂g_j(x_j)): zero exactly at the solution. */
  kktViolation: number;
  /**
   * 1 − max over inactive j of |a_jᵀ(y − Ax)| / (l1 w_j): how strictly the inactive conditions
   * hold. Near 0 the active set is about to grow; negative, x is not optimal.
   */
  complementarityMargin: number;
  /** min over active j of |x_j| (Infinity when nothing is active): near 0 a coefficient is about to leave. */
  smallestActive: number;
}

/**
 * Certificate at x given r = y − Ax and c = Aᵀr (the solver usually has both), for any
 * separable penalty: the primal value, the Fenchel dual at the scaled residual (dualObjective),
 * the subdifferential distance of every coordinate, and the margins of the support.
 */
export function certificate(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array, penalty: SeparablePenalty = penaltyOf(problem)): Certificate {
  let kkt = 0, maxInactiveRatio = 0, smallestActive = Infinity;
  for (let j = 0; j < x.length; j++) {
    const xj = x[j];
    kkt = Math.max(kkt, penalty.subdiffDistance(j, xj, c[j]));
    if (penalty.isActive(j, xj)) {
      smallestActive = Math.min(smallestActive, Math.abs(xj));
    } else {
      const b = penalty.threshold(j);
      if (b > 0) maxInactiveRatio = Math.max(maxInactiveRatio, Math.abs(c[j]) / b);
    }
  }
  const objective = 0.5 * dot(r, r) + penalty.value(x);
  const dual = dualObjective(penalty, problem.y, r, c);
  return {
    objective,
    dualityGap: Math.max(0, objective - dual),
    kktViolation: kkt,
    complementarityMargin: 1 - maxInactiveRatio,
    smallestActive,
  };
}

/**
 * D(θ) = yᵀθ − ½‖θ‖² − Σ_j g_j*(a_jᵀθ) at θ = r/s, s = max(1, max_j dualScale(j, |c_j|)) (the
 * smallest scaling that puts θ in the domain of every g_j*). With `indices`, only the features
 * indices[0..count) enter (a working-set sub-problem); c is indexed by feature either way.
 */
export function dualObjective(penalty: SeparablePenalty, y: Float64Array, r: Float64Array, c: Float64Array, indices?: Int32Array, count = c.length): number {
  let s = 1;
  for (let t = 0; t < count; t++) {
    const j = indices ? indices[t] : t;
    s = Math.max(s, penalty.dualScale(j, Math.abs(c[j])));
  }
  let conjugates = 0;
  for (let t = 0; t < count; t++) {
    const j = indices ? indices[t] : t;
    conjugates += penalty.conjugate(j, Math.abs(c[j]) / s);
  }
  return dot(y, r) / s - (0.5 * dot(r, r)) / (s * s) - conjugates;
}

/** r ← y − A x and c ← Aᵀ r: the two products every certificate needs. */
export function residualAndCorrelation(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array): void {
  problem.A.apply(x, r);
  const y = problem.y;
  for (let i = 0; i < r.length; i++) r[i] = y[i] - r[i];
  problem.A.applyT(r, c);
}

/** The certificate of x from scratch (two products with A). */
export function certify(problem: Problem, x: Float64Array, penalty: SeparablePenalty = penaltyOf(problem)): Certificate {
  const r = new Float64Array(problem.A.rows), c = new Float64Array(problem.A.cols);
  residualAndCorrelation(problem, x, r, c);
  return certificate(problem, x, r, c, penalty);
}

/**
 * A KKT violation above this fraction of the penalty's scale (max_j l1·w_j + l2|x_j|) means x's
 * active set is not the solution's, whatever the gap says: with a very large l2 the gap of
 * x = 0 is tiny while every feature above its threshold should be active. Converged solutions
 * measured on the fixtures and bench problems stay below 3e-3 at tol 1e-8, unpolished.
 */
const KKT_RELATIVE = 1e-2;

/** max_j (l1·w_j + g_j''·|x_j|): the size of the penalty's subgradients at x. */
export function penaltyScale(penalty: SeparablePenalty, x: Float64Array): number {
  let scale = 0;
  for (let j = 0; j < x.length; j++) scale = Math.max(scale, penalty.threshold(j) + penalty.supportCurvature(j) * Math.abs(x[j]));
  return scale;
}

/**
 * The stopping rule every solver and the final verdict share: duality gap ≤ tol·‖y‖² and a KKT
 * violation small next to the penalty's scale (so `converged` never contradicts the certificate).
 */
export function meetsTolerance(cert: Certificate, penalty: SeparablePenalty, x: Float64Array, gapTarget: number): boolean {
  return cert.dualityGap <= gapTarget && cert.kktViolation <= KKT_RELATIVE * penaltyScale(penalty, x);
}
