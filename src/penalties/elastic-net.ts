import { softThreshold } from "../linalg/vector.js";
import { l1Bound, type Penalty } from "../problem.js";

/**
 * g(x) = Σ_j l1·w_j|x_j| + l2/2‖x‖², separable. Its prox with step t, per coordinate:
 *   prox(v)_j = soft(v_j, t·l1·w_j) / (1 + t·l2)
 */
export class ElasticNetPenalty {
  readonly penalty: Penalty;

  constructor(penalty: Penalty) {
    this.penalty = penalty;
  }

  value(x: Float64Array): number {
    let s = 0;
    const l2 = this.penalty.l2;
    for (let j = 0; j < x.length; j++) s += l1Bound(this.penalty, j) * Math.abs(x[j]) + 0.5 * l2 * x[j] * x[j];
    return s;
  }

  /** out ← prox_{t·g}(v) (out may be v). */
  prox(v: Float64Array, t: number, out: Float64Array): Float64Array {
    const shrink = 1 / (1 + t * this.penalty.l2);
    for (let j = 0; j < v.length; j++) out[j] = softThreshold(v[j], t * l1Bound(this.penalty, j)) * shrink;
    return out;
  }
}
