/**
 * The elastic-net prox of one coordinate with step h and its derivatives almost everywhere:
 *
 *   x⁺ = prox_{h(l1·w|·| + l2/2·²)}(u) = S(u, h·l1·w)/(1 + h·l2),   S the soft threshold,
 *   ∂x⁺/∂u = m/(1 + h·l2),  ∂x⁺/∂l1 = −m·s·h·w/(1 + h·l2),  ∂x⁺/∂l2 = −x⁺·h/(1 + h·l2),
 *   ∂x⁺/∂h = −(m·s·l1·w + x⁺·l2)/(1 + h·l2),
 *
 * with m = [x⁺ ≠ 0] the threshold's 0/1 mask and s = sign(x⁺) (= sign(u) where m = 1): the
 * derivative of the prox everywhere off the kinks |u| = h·l1·w. Both unrolled FISTA (a step on
 * every coordinate) and coordinate descent (one coordinate at a time) differentiate through it.
 */

/** ẋ⁺ from u̇ and the tangents of h, l1, l2. */
export function proxTangent(xNew: number, w: number, uDot: number, h: number, hDot: number, l1: number, l1Dot: number, l2: number, l2Dot: number): number {
  if (xNew === 0) return 0;
  const s = xNew > 0 ? 1 : -1;
  return (uDot - s * w * (hDot * l1 + h * l1Dot) - xNew * (hDot * l2 + h * l2Dot)) / (1 + h * l2);
}

/**
 * The adjoint of x⁺ = prox(u): returns ū = x̄·∂x⁺/∂u and adds x̄·∂x⁺/∂(h, l1, l2) into
 * sums[0], sums[1], sums[2].
 */
export function proxAdjoint(xNew: number, w: number, xBar: number, h: number, l1: number, l2: number, sums: Float64Array): number {
  const scale = xBar / (1 + h * l2);
  if (xNew === 0) return 0;
  const s = xNew > 0 ? 1 : -1;
  sums[0] -= scale * (s * l1 * w + xNew * l2);
  sums[1] -= scale * s * h * w;
  sums[2] -= scale * xNew * h;
  return scale;
}
