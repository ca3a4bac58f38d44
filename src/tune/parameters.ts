import { InputError } from "../errors.js";
import type { Penalty } from "../problem.js";
import type { Evaluation, TunableKey } from "./objective.js";

/**
 * The tuner works in θ = log λ for each tuned key: steps are relative changes of λ, and
 * λ = exp(θ) stays positive. dC/dθ = λ·dC/dλ. Bounds keep l1 in (0, λ_max].
 */
export class LogParameters {
  readonly keys: TunableKey[];
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  private readonly base: Penalty;

  constructor(base: Penalty, keys: TunableKey[], bounds: Record<TunableKey, [number, number]>) {
    if (keys.length === 0) throw new InputError("keys", "expected at least one penalty to tune (l1, l2)");
    this.keys = keys;
    this.base = base;
    this.lower = Float64Array.from(keys, (k) => Math.log(bounds[k][0]));
    this.upper = Float64Array.from(keys, (k) => Math.log(bounds[k][1]));
  }

  get dimension(): number {
    return this.keys.length;
  }

  penalty(theta: Float64Array): Penalty {
    const p: Penalty = { ...this.base };
    this.keys.forEach((k, i) => (p[k] = Math.exp(theta[i])));
    return p;
  }

  values(theta: Float64Array): Record<string, number> {
    return Object.fromEntries(this.keys.map((k, i) => [k, Math.exp(theta[i])]));
  }

  theta(values: Partial<Record<TunableKey, number>>): Float64Array {
    return Float64Array.from(this.keys, (k, i) => {
      const v = values[k] ?? this.base[k];
      if (!(v > 0)) throw new InputError(`start.${k}`, `expected a positive starting value, got ${v}`);
      return Math.min(this.upper[i], Math.max(this.lower[i], Math.log(v)));
    });
  }

  /** dC/dθ_i = λ_i · dC/dλ_i */
  logGradient(theta: Float64Array, evaluation: Evaluation): Float64Array {
    const g = evaluation.gradient;
    return Float64Array.from(this.keys, (k, i) => (g ? Math.exp(theta[i]) * g[k] : NaN));
  }

  /** Clamp θ into the box, in place. */
  project(theta: Float64Array): Float64Array {
    for (let i = 0; i < theta.length; i++) theta[i] = Math.min(this.upper[i], Math.max(this.lower[i], theta[i]));
    return theta;
  }
}
