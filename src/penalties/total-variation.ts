import type { LinearOperator } from "../operators/operator.js";
import type { HyperparameterSpec } from "./penalty.js";

/**
 * The analysis penalty tv·‖Dx‖₁ (the generalized lasso), with D the finite differences of the
 * problem's grid or a user operator. Not separable: solvers split it (Split Bregman: d = Dx) or
 * use its prox (grid differences only: exact in 1-D, certified in 2-D).
 */
export class TotalVariation {
  readonly name = "tv";
  readonly hyperparameters: readonly HyperparameterSpec[] = [{ name: "tv", shape: "scalar" }];
  private readonly dx: Float64Array;

  constructor(
    /** The weight tv > 0. */
    readonly weight: number,
    readonly D: LinearOperator,
  ) {
    this.dx = new Float64Array(D.rows);
  }

  /** tv·‖Dx‖₁. */
  value(x: Float64Array): number {
    const dx = this.D.apply(x, this.dx);
    let s = 0;
    for (let i = 0; i < dx.length; i++) s += Math.abs(dx[i]);
    return this.weight * s;
  }
}
