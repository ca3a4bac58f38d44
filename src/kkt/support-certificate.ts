import type { SeparablePenalty } from "../penalties/index.js";

/**
 * Rounding of a duality gap relative to ‖y‖², the scale of its terms (its floor is measured near
 * 1e-16‖y‖²; generous, and its square root, 1.4e-7‖y‖, is what it costs a proof).
 */
const GAP_ROUNDING = 1e-14;

/**
 * Whether the support of x and its signs are provably those of the solution x*, from the
 * duality gap G of x alone (no solve), for ½‖Ax − y‖² + g(x) with g separable and
 * μ = min_j g_j'' > 0 (the elastic net: μ = l2):
 *  - the primal is μ-strongly convex, so μ/2·‖x − x*‖² ≤ P(x) − P* ≤ G: an active x_j with a
 *    kink at 0 (l1 w_j > 0) and |x_j| > √(2G/μ) has x*_j ≠ 0 with the same sign;
 *  - the dual is 1-strongly concave, so ‖θ − θ*‖ ≤ √(2G) at the certificate's θ = r/s (the
 *    gap-safe ball): an inactive j with slack_j(a_jᵀθ) > √(2G)·‖a_j‖ has |a_jᵀθ*| < l1 w_j,
 *    so x*_j = 0.
 * θ = r/s with s = max(1, max_j dualScale(j, c_j)) as in dualObjective, c_j = a_jᵀr and
 * norms_j = ‖a_j‖. G is the reported gap plus GAP_ROUNDING·‖y‖²: the gap is a difference of
 * O(‖y‖²) terms, and a coefficient below the square root of that rounding (a 1e-12 that should
 * be 0) would otherwise pass as proven. Only the features indices[0..count) are checked (by
 * default all); the caller vouches for the others (features screened out earlier by the same
 * gap-safe rule are zero at x*, and their c_j may be left at 0). Without curvature (the Lasso)
 * nothing is certain.
 */
export function supportIsCertain(
  penalty: SeparablePenalty,
  x: Float64Array,
  c: Float64Array,
  gap: number,
  norms: Float64Array,
  yy: number,
  indices?: Int32Array,
  count = x.length,
): boolean {
  let mu = Infinity, s = 1;
  for (let j = 0; j < x.length; j++) {
    mu = Math.min(mu, penalty.supportCurvature(j));
    s = Math.max(s, penalty.dualScale(j, c[j]));
  }
  if (!(mu > 0) || !(gap >= 0)) return false;
  const bound = gap + GAP_ROUNDING * yy;
  const primalRadius = Math.sqrt((2 * bound) / mu), dualRadius = Math.sqrt(2 * bound);
  for (let t = 0; t < count; t++) {
    const j = indices ? indices[t] : t;
    if (penalty.isActive(j, x[j])) {
      if (penalty.threshold(j) > 0 && !(Math.abs(x[j]) > primalRadius)) return false;
    } else if (!(penalty.slack(j, x[j], c[j] / s) > dualRadius * norms[j])) {
      return false;
    }
  }
  return true;
}
