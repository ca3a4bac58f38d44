import { InputError } from "../errors.js";
import { softThreshold } from "../linalg/vector.js";
import type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";

/** Bounds lower ≤ x ≤ upper per feature (±Infinity where a side is open). */
export interface Bounds {
  lower: Float64Array;
  upper: Float64Array;
}

/**
 * g_j(x) + ι_[lo_j, up_j](x): a separable penalty restricted to a box, so that every solver,
 * certificate and polish written for separable penalties handles bounds with no loop of its own.
 * The inner g_j must have the form b_j|x| + κ_j/2·x² (b_j = threshold, κ_j = supportCurvature:
 * l1, weighted l1, l2, elastic net). Then, in 1-D:
 *   prox of g_j + box = clip(prox_{g_j}(v), lo, up)   (a convex 1-D function restricted to an interval),
 *   ∂(g_j + box)(x) = ∂g_j(x) + N(x), N(lo) = (−∞, 0], N(up) = [0, ∞) (the normal cone; both at lo = up):
 *     with c_j = −∇_j f, a coordinate at its lower bound needs c_j ≤ max ∂g_j(lo) only,
 *   (g_j + box)*(z) = z x̂ − g_j(x̂) with x̂ = clip(argmax_x zx − g_j(x)) = clip(soft(z, b)/κ)
 *     (κ = 0: ±∞ beyond ±b, 0 inside), finite for every z unless a side is open and κ = 0:
 *     then z ≤ b (up = ∞) and z ≥ −b (lo = −∞) bound the domain, one-sided.
 * A coordinate is active (free, on the KKT system) when g_j's is and it lies strictly inside.
 */
export class BoxedPenalty implements SeparablePenalty {
  readonly name: string;
  readonly hyperparameters: readonly HyperparameterSpec[];

  constructor(
    readonly inner: SeparablePenalty,
    readonly bounds: Bounds,
  ) {
    if (typeof inner?.name !== "string" || !Array.isArray(inner.hyperparameters)) throw new InputError("inner", "expected a separable penalty (L1Penalty, L2Penalty, ElasticNet)");
    this.name = inner.name;
    this.hyperparameters = inner.hyperparameters;
  }

  private clip(j: number, v: number): number {
    const lo = this.bounds.lower[j], up = this.bounds.upper[j];
    return v < lo ? lo : v > up ? up : v;
  }

  private inside(j: number, xj: number): boolean {
    return xj >= this.bounds.lower[j] && xj <= this.bounds.upper[j];
  }

  /** The ends of ∂g_j(x) = κx + b·sign(x) ([−b, b] at 0). */
  private subgradientRange(j: number, xj: number): [number, number] {
    const b = this.inner.threshold(j), k = this.inner.supportCurvature(j) * xj;
    return xj > 0 ? [k + b, k + b] : xj < 0 ? [k - b, k - b] : [-b, b];
  }

  /** The ends of ∂(g_j + box)(x_j): the normal cone opens the side of an active bound. */
  private range(j: number, xj: number): [number, number] {
    const [lo, hi] = this.subgradientRange(j, xj);
    return [xj === this.bounds.lower[j] ? -Infinity : lo, xj === this.bounds.upper[j] ? Infinity : hi];
  }

  lambdaMax(aty: Float64Array): number {
    return this.inner.lambdaMax(aty);
  }

  threshold(j: number): number {
    return this.inner.threshold(j);
  }

  value(x: Float64Array): number {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += this.valueAt(j, x[j]);
    return s;
  }

  valueAt(j: number, xj: number): number {
    return this.inside(j, xj) ? this.inner.valueAt(j, xj) : Infinity;
  }

  proxCoordinate(j: number, v: number, t: number): number {
    return this.clip(j, this.inner.proxCoordinate(j, v, t));
  }

  prox(v: Float64Array, t: number, out: Float64Array): Float64Array {
    this.inner.prox(v, t, out);
    for (let j = 0; j < out.length; j++) out[j] = this.clip(j, out[j]);
    return out;
  }

  subdiffDistance(j: number, xj: number, cj: number): number {
    if (!this.inside(j, xj)) return Infinity;
    const [lo, hi] = this.range(j, xj);
    return cj < lo ? lo - cj : cj > hi ? cj - hi : 0;
  }

  slack(j: number, xj: number, cj: number): number {
    if (!this.inside(j, xj)) return -Infinity;
    const [lo, hi] = this.range(j, xj);
    return Math.min(cj - lo, hi - cj);
  }

  isActive(j: number, xj: number): boolean {
    return this.inner.isActive(j, xj) && xj > this.bounds.lower[j] && xj < this.bounds.upper[j];
  }

  samePiece(j: number, before: number, after: number): boolean {
    return this.inner.samePiece(j, before, after) && after > this.bounds.lower[j] && after < this.bounds.upper[j];
  }

  dualScale(j: number, c: number): number {
    if (this.inner.supportCurvature(j) > 0) return 0;
    const b = this.inner.threshold(j);
    const up = this.bounds.upper[j] === Infinity && c > 0 ? scaleOnto(c, b) : 0;
    const down = this.bounds.lower[j] === -Infinity && c < 0 ? scaleOnto(-c, b) : 0;
    return Math.max(up, down);
  }

  conjugate(j: number, z: number): number {
    const b = this.inner.threshold(j), kappa = this.inner.supportCurvature(j);
    const free = kappa > 0 ? softThreshold(z, b) / kappa : z > b ? Infinity : z < -b ? -Infinity : 0;
    const x = this.clip(j, free);
    if (!Number.isFinite(x)) return Infinity;
    return x === 0 ? 0 : z * x - b * Math.abs(x) - 0.5 * kappa * x * x;
  }

  supportGradient(j: number, xj: number): number {
    return this.inner.supportGradient(j, xj);
  }

  supportCurvature(j: number): number {
    return this.inner.supportCurvature(j);
  }

  supportGradientDerivative(name: string, j: number, xj: number): number {
    return this.inner.supportGradientDerivative(name, j, xj);
  }

  supportCurvatureDerivative(name: string, j: number): number {
    return this.inner.supportCurvatureDerivative(name, j);
  }
}

/** g restricted to the box (g itself when there are no bounds). */
export function boxed(inner: SeparablePenalty, bounds: Bounds | undefined): SeparablePenalty {
  return bounds ? new BoxedPenalty(inner, bounds) : inner;
}

/**
 * s ≥ c/b with c/s ≤ b in floating point (c, b > 0): c/fl(c/b) may round one ulp above b, where
 * the open side's conjugate is +∞; a scale two ulps larger is still a valid dual point.
 */
function scaleOnto(c: number, b: number): number {
  const s = c / b;
  return c / s <= b ? s : s * (1 + 2 * Number.EPSILON);
}
