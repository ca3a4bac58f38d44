import { requireNonNegative } from "../errors.js";
import { softThreshold } from "../linalg/vector.js";
import type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";

/**
 * g(x) = Σ_j l1·w_j|x_j| (w = 1 without weights): the Lasso penalty.
 *   prox_{t g_j}(v) = soft(v, t·l1·w_j),  ∂g_j(0) = [−l1 w_j, l1 w_j],  ∂g_j(x) = l1 w_j sign(x)
 *   g_j* = indicator of |z| ≤ l1 w_j: θ is scaled into that box (dualScale = |c_j|/(l1 w_j)).
 * On the support g_j(x) = l1 w_j s_j x: gradient l1 w_j s_j, curvature 0,
 *   ∂/∂l1 = w_j s_j,  ∂/∂w_j = l1 s_j  (w_j = 1 when the problem has no weights).
 */
export class L1Penalty implements SeparablePenalty {
  readonly name = "l1";
  readonly hyperparameters: readonly HyperparameterSpec[];

  constructor(
    readonly l1: number,
    readonly weights?: Float64Array,
  ) {
    requireNonNegative("l1", l1);
    this.hyperparameters = [{ name: "l1", shape: "scalar" }, { name: "weights", shape: "perFeature" }];
  }

  lambdaMax(aty: Float64Array): number {
    let m = 0;
    for (let j = 0; j < aty.length; j++) m = Math.max(m, Math.abs(aty[j]) / (this.weights ? this.weights[j] : 1));
    return m;
  }

  threshold(j: number): number {
    return this.weights ? this.l1 * this.weights[j] : this.l1;
  }

  value(x: Float64Array): number {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += this.valueAt(j, x[j]);
    return s;
  }

  valueAt(j: number, xj: number): number {
    return xj === 0 ? 0 : this.threshold(j) * Math.abs(xj);
  }

  proxCoordinate(j: number, v: number, t: number): number {
    return softThreshold(v, t * this.threshold(j));
  }

  prox(v: Float64Array, t: number, out: Float64Array): Float64Array {
    for (let j = 0; j < v.length; j++) out[j] = softThreshold(v[j], t * this.threshold(j));
    return out;
  }

  subdiffDistance(j: number, xj: number, cj: number): number {
    const b = this.threshold(j);
    return xj === 0 ? Math.max(0, Math.abs(cj) - b) : Math.abs(cj - b * Math.sign(xj));
  }

  slack(j: number, xj: number, cj: number): number {
    return xj === 0 ? this.threshold(j) - Math.abs(cj) : -Math.abs(cj - this.threshold(j) * Math.sign(xj));
  }

  isActive(_j: number, xj: number): boolean {
    return xj !== 0;
  }

  samePiece(_j: number, before: number, after: number): boolean {
    return Math.sign(before) === Math.sign(after);
  }

  dualScale(j: number, c: number): number {
    return Math.abs(c) / this.threshold(j);
  }

  conjugate(): number {
    return 0;
  }

  supportGradient(j: number, xj: number): number {
    return this.threshold(j) * Math.sign(xj);
  }

  supportCurvature(): number {
    return 0;
  }

  supportGradientDerivative(name: string, j: number, xj: number): number {
    if (name === "l1") return (this.weights ? this.weights[j] : 1) * Math.sign(xj);
    if (name === "weights") return this.l1 * Math.sign(xj);
    return 0;
  }

  supportCurvatureDerivative(): number {
    return 0;
  }
}
