import { normInf } from "../linalg/vector.js";
import type { Certificate } from "./certificate.js";

/**
 * A denoising certificate and the rounding floor of its gap: x carries an error of a few
 * ε(|y_p| + |y_p − x_p|) per pixel, each pixel is in at most 4 edges and each gap term moves by at
 * most 2·tv·|δ(Dx)_e|, so gaps below 16ε·tv·Σ_p (|y_p| + |y_p − x_p|) are rounding (this matters
 * only for tv ≫ |y|).
 */
export interface DenoisingCertificate {
  certificate: Certificate;
  roundingFloor: number;
}

/**
 * Denoising on a grid without g: θ = Dᵀz (+ Cᵀν with constraints: `ctnu`, and the dual loses
 * `offset` = νᵀd) is dual feasible for any |z| ≤ tv, with the classical dual
 * ½‖y‖² − ½‖y − Dᵀz‖² = yᵀθ − ½‖θ‖²; no correction needed. z is the hint scaled by the smallest
 * s ≥ 1 that gives |z| ≤ tv. The gap is summed in terms that are each ≥ 0 (no cancellation
 * between the objective and the dual, which are far larger at tight tolerances):
 *
 *   P(x) − Dual = Σ_e (tv|(Dx)_e| − z_e(Dx)_e) + ½‖y − x − θ‖² − xᵀCᵀν + νᵀd.
 *
 * One pass over the pixels, no allocation: at pixel p, θ_p = Σ z over the edges into p − Σ z over
 * the edges out of p (D's rows: p − 1 → p, p → p + 1, p − w → p, p → p + w), the data term and
 * the KKT violation |y_p − x_p − θ_p|; the two edges leaving p add the tv terms and the margins.
 * The 2-D prox certifies its iterates with it (penalties/tv-prox-2d.ts) and the denoising solver
 * hands the last certificate to the driver, so a denoising solve is certified once.
 */
export function denoisingCertificate(y: Float64Array, bound: number, shape: readonly [number, number], x: Float64Array, zHint: Float64Array, ctnu: Float64Array | null = null, offset = 0): DenoisingCertificate {
  const [h, w] = shape, horizontal = h * (w - 1);
  const zMax = normInf(zHint), k = zMax > bound ? bound / zMax : 1;
  let data = 0, edgeGap = 0, mismatch = 0, coupling = 0, kkt = 0, total = 0, maxFlat = 0, smallestActive = Infinity, size = 0;
  for (let r = 0, p = 0; r < h; r++) {
    for (let c = 0; c < w; c++, p++) {
      const right = r * (w - 1) + c, down = horizontal + p;
      let theta = 0;
      if (c > 0) theta += k * zHint[right - 1];
      if (r > 0) theta += k * zHint[down - w];
      if (c + 1 < w) {
        const z = k * zHint[right], d = x[p + 1] - x[p], jump = Math.abs(d), flat = +(jump === 0);
        theta -= z;
        total += jump;
        edgeGap += bound * jump - z * d;
        // Branch-free on whether the edge is flat (an unpredictable branch costs 1 ms here).
        const flatZ = flat * Math.abs(z), jumpOrHuge = jump + flat * Number.MAX_VALUE;
        if (flatZ > maxFlat) maxFlat = flatZ;
        if (jumpOrHuge < smallestActive) smallestActive = jumpOrHuge;
      }
      if (r + 1 < h) {
        const z = k * zHint[down], d = x[p + w] - x[p], jump = Math.abs(d), flat = +(jump === 0);
        theta -= z;
        total += jump;
        edgeGap += bound * jump - z * d;
        const flatZ = flat * Math.abs(z), jumpOrHuge = jump + flat * Number.MAX_VALUE;
        if (flatZ > maxFlat) maxFlat = flatZ;
        if (jumpOrHuge < smallestActive) smallestActive = jumpOrHuge;
      }
      if (ctnu !== null) {
        theta += ctnu[p];
        coupling += x[p] * ctnu[p];
      }
      const residual = y[p] - x[p], miss = residual - theta, violation = Math.abs(miss);
      size += Math.abs(y[p]) + Math.abs(residual);
      data += residual * residual;
      mismatch += miss * miss;
      if (violation > kkt) kkt = violation;
    }
  }
  if (smallestActive === Number.MAX_VALUE) smallestActive = Infinity;
  const certificate: Certificate = {
    objective: 0.5 * data + bound * total,
    dualityGap: Math.max(0, edgeGap + 0.5 * mismatch - coupling + offset),
    kktViolation: kkt,
    complementarityMargin: bound > 0 ? 1 - maxFlat / bound : 1,
    smallestActive,
  };
  return { certificate, roundingFloor: 16 * Number.EPSILON * bound * size };
}
