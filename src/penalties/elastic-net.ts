import { InputError } from "../errors.js";
import { L1Penalty } from "./l1.js";
import { L2Penalty } from "./l2.js";
import type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";

/**
 * g = l1 Σ w_j|x_j| + l2/2‖x‖², the sum of an L1Penalty and an L2Penalty. Everything but the
 * prox and the conjugate is the sum of the parts:
 *   prox_{t g_j}(v) = prox_{t l2}(prox_{t l1 w_j}(v)) = soft(v, t l1 w_j)/(1 + t l2)
 *     (composition is exact because the second term is a multiple of ‖x‖²),
 *   g_j*(z) = (|z| − l1 w_j)₊² / (2 l2)  (the infimal convolution of the parts' conjugates),
 *   finite everywhere, so θ = r needs no scaling.
 */
export class ElasticNet implements SeparablePenalty {
  readonly name = "elastic-net";
  readonly hyperparameters: readonly HyperparameterSpec[];

  constructor(
    readonly l1Part: L1Penalty,
    readonly l2Part: L2Penalty,
  ) {
    if (!(l1Part instanceof L1Penalty)) throw new InputError("l1Part", "expected an L1Penalty");
    if (!(l2Part instanceof L2Penalty)) throw new InputError("l2Part", "expected an L2Penalty");
    this.hyperparameters = [...l1Part.hyperparameters, ...l2Part.hyperparameters];
  }

  lambdaMax(aty: Float64Array): number {
    return this.l1Part.lambdaMax(aty);
  }

  threshold(j: number): number {
    return this.l1Part.threshold(j);
  }

  value(x: Float64Array): number {
    return this.l1Part.value(x) + this.l2Part.value(x);
  }

  valueAt(j: number, xj: number): number {
    return this.l1Part.valueAt(j, xj) + this.l2Part.valueAt(j, xj);
  }

  proxCoordinate(j: number, v: number, t: number): number {
    return this.l2Part.proxCoordinate(j, this.l1Part.proxCoordinate(j, v, t), t);
  }

  prox(v: Float64Array, t: number, out: Float64Array): Float64Array {
    return this.l2Part.prox(this.l1Part.prox(v, t, out), t, out);
  }

  /** ∂g_j = ∂(l1 w_j|·|)(x_j) + l2 x_j: the l1 part's distance from c_j − l2 x_j. */
  subdiffDistance(j: number, xj: number, cj: number): number {
    return this.l1Part.subdiffDistance(j, xj, cj - this.l2Part.supportGradient(j, xj));
  }

  slack(j: number, xj: number, cj: number): number {
    return this.l1Part.slack(j, xj, cj - this.l2Part.supportGradient(j, xj));
  }

  isActive(j: number, xj: number): boolean {
    return this.l1Part.isActive(j, xj);
  }

  samePiece(j: number, before: number, after: number): boolean {
    return this.l1Part.samePiece(j, before, after);
  }

  dualScale(): number {
    return 0;
  }

  conjugate(j: number, z: number): number {
    const excess = Math.abs(z) - this.l1Part.threshold(j);
    return excess > 0 ? this.l2Part.conjugate(j, excess) : 0;
  }

  supportGradient(j: number, xj: number): number {
    return this.l1Part.supportGradient(j, xj) + this.l2Part.supportGradient(j, xj);
  }

  supportCurvature(): number {
    return this.l2Part.supportCurvature();
  }

  supportGradientDerivative(name: string, j: number, xj: number): number {
    return this.l1Part.supportGradientDerivative(name, j, xj) + this.l2Part.supportGradientDerivative(name, j, xj);
  }

  supportCurvatureDerivative(name: string): number {
    return this.l2Part.supportCurvatureDerivative(name);
  }
}
