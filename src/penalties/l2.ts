import { requireNonNegative } from "../errors.js";
import type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";

/**
 * g(x) = l2/2‖x‖² (ridge), smooth everywhere:
 *   prox_{t g_j}(v) = v/(1 + t·l2),  g_j* (z) = z²/(2 l2),  gradient l2 x_j, curvature l2,
 *   ∂/∂l2: x_j (gradient), 1 (curvature).
 * Its support is every non-zero coordinate (zero columns keep x_j = 0 and drop out).
 */
export class L2Penalty implements SeparablePenalty {
  readonly name = "l2";
  readonly hyperparameters: readonly HyperparameterSpec[] = [{ name: "l2", shape: "scalar" }];

  constructor(readonly l2: number) {
    requireNonNegative("l2", l2);
  }

  lambdaMax(): number {
    return Infinity;
  }

  threshold(): number {
    return 0;
  }

  value(x: Float64Array): number {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += x[j] * x[j];
    return 0.5 * this.l2 * s;
  }

  valueAt(_j: number, xj: number): number {
    return 0.5 * this.l2 * xj * xj;
  }

  proxCoordinate(_j: number, v: number, t: number): number {
    return v / (1 + t * this.l2);
  }

  prox(v: Float64Array, t: number, out: Float64Array): Float64Array {
    const den = 1 + t * this.l2;
    for (let j = 0; j < v.length; j++) out[j] = v[j] / den;
    return out;
  }

  subdiffDistance(_j: number, xj: number, cj: number): number {
    return Math.abs(cj - this.l2 * xj);
  }

  slack(_j: number, xj: number, cj: number): number {
    return -Math.abs(cj - this.l2 * xj);
  }

  isActive(_j: number, xj: number): boolean {
    return xj !== 0;
  }

  samePiece(): boolean {
    return true;
  }

  dualScale(): number {
    return 0;
  }

  conjugate(_j: number, z: number): number {
    return (z * z) / (2 * this.l2);
  }

  supportGradient(_j: number, xj: number): number {
    return this.l2 * xj;
  }

  supportCurvature(): number {
    return this.l2;
  }

  supportGradientDerivative(name: string, _j: number, xj: number): number {
    return name === "l2" ? xj : 0;
  }

  supportCurvatureDerivative(name: string): number {
    return name === "l2" ? 1 : 0;
  }
}
