import { NumericalError } from "../errors.js";
import { dot } from "../linalg/vector.js";
import { l1Bound, type Problem } from "../problem.js";

/** What proves (or disproves) that x solves ½‖Ax − y‖² + l1 Σ w_j|x_j| + l2/2‖x‖². */
export interface Certificate {
  objective: number;
  /** Primal minus dual objective: an upper bound on objective − optimum. */
  dualityGap: number;
  /** max_j dist(−∇_j f(x), ∂g_j(x_j)): zero exactly at the solution. */
  kktViolation: number;
  /**
   * 1 − max over inactive j of |a_jᵀ(y − Ax)| / (l1 w_j): how strictly the inactive conditions
   * hold. Near 0 the active set is about to grow.
   */
  complementarityMargin: number;
  /** min over active j of |x_j| (Infinity when nothing is active): near 0 a coefficient is about to leave. */
  smallestActive: number;
}

/**
 * Certificate at x given r = y − Ax and c = Aᵀr (the solver usually has both).
 *
 * Dual (Fenchel) of the elastic net, θ ∈ R^m:
 *   l2 > 0:  D(θ) = yᵀθ − ½‖θ‖² − Σ_j (|a_jᵀθ| − l1 w_j)₊² / (2 l2),  θ = r
 *   l2 = 0:  D(θ) = yᵀθ − ½‖θ‖²  with |a_jᵀθ| ≤ l1 w_j,  θ = r / max(1, max_j |c_j| / (l1 w_j))
 */
export function certificate(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array): Certificate {
  const { penalty, y } = problem;
  const { l1, l2 } = penalty;
  if (!(l1 > 0 || l2 > 0)) throw new NumericalError("penalty: l1 or l2 must be positive for the l1/l2 solvers");
  const n = x.length;
  let penaltyValue = 0, kkt = 0, maxInactiveRatio = 0, smallestActive = Infinity;
  let dualTerm = 0;
  for (let j = 0; j < n; j++) {
    const xj = x[j], bound = l1Bound(penalty, j);
    const grad = -c[j] + l2 * xj; // ∇_j of ½‖Ax − y‖² + l2/2‖x‖²
    if (xj !== 0) {
      penaltyValue += bound * Math.abs(xj) + 0.5 * l2 * xj * xj;
      kkt = Math.max(kkt, Math.abs(grad + bound * Math.sign(xj)));
      smallestActive = Math.min(smallestActive, Math.abs(xj));
    } else {
      kkt = Math.max(kkt, Math.abs(grad) - bound);
      if (bound > 0) maxInactiveRatio = Math.max(maxInactiveRatio, Math.abs(c[j]) / bound);
    }
    dualTerm = accumulateDual(dualTerm, Math.abs(c[j]), bound, l2);
  }
  const objective = 0.5 * dot(r, r) + penaltyValue;
  const dual = dualObjective(y, r, l2, dualTerm);
  return {
    objective,
    dualityGap: Math.max(0, objective - dual),
    kktViolation: Math.max(0, kkt),
    complementarityMargin: l1 > 0 ? 1 - maxInactiveRatio : 1,
    smallestActive,
  };
}

/**
 * One feature's share of the dual (formula above), folded into `acc`: with l2 > 0 the sum of
 * (|c_j| − l1 w_j)₊² / (2 l2); with l2 = 0 the max of |c_j| / (l1 w_j), the dual scaling.
 */
export function accumulateDual(acc: number, cAbs: number, bound: number, l2: number): number {
  if (l2 > 0) {
    const excess = cAbs - bound;
    return excess > 0 ? acc + (excess * excess) / (2 * l2) : acc;
  }
  return Math.max(acc, cAbs / bound);
}

/** D(θ) of the elastic-net dual at the point built from r and the accumulated `dualTerm`. */
export function dualObjective(y: Float64Array, r: Float64Array, l2: number, dualTerm: number): number {
  const rr = dot(r, r), yr = dot(y, r);
  if (l2 > 0) return yr - 0.5 * rr - dualTerm;
  const scale = Math.max(1, dualTerm);
  return yr / scale - (0.5 * rr) / (scale * scale);
}

/** r ← y − A x and c ← Aᵀ r: the two products every certificate needs. */
export function residualAndCorrelation(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array): void {
  problem.A.apply(x, r);
  const y = problem.y;
  for (let i = 0; i < r.length; i++) r[i] = y[i] - r[i];
  problem.A.applyT(r, c);
}

/** λ_max = max_j |a_jᵀ y| / w_j: the smallest l1 for which x = 0 (when l2 = 0; with l2 too). */
export function lambdaMax(problem: Problem): number {
  const c = problem.A.applyT(problem.y, new Float64Array(problem.A.cols));
  const w = problem.penalty.weights;
  let m = 0;
  for (let j = 0; j < c.length; j++) m = Math.max(m, Math.abs(c[j]) / (w ? w[j] : 1));
  return m;
}
