import { InputError } from "../errors.js";
import type { Penalty } from "../problem.js";
import type { Evaluation, TunableKey } from "./objective.js";

/**
 * The tuner works in θ = log λ: steps are relative changes of λ, λ = exp(θ) stays positive,
 * and dC/dθ = λ·dC/dλ. Scalar keys (l1, l2) take one entry of θ; "weights" takes n entries,
 * one threshold λ_j = l1·w_j per feature (then l1 = 1 and w_j = λ_j). Bounds keep every
 * l1 threshold in (0, its upper bound].
 */
export class LogParameters {
  readonly keys: TunableKey[];
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  private readonly base: Penalty;
  private readonly slots: Map<TunableKey, [number, number]>;

  constructor(base: Penalty, keys: TunableKey[], bounds: Record<TunableKey, [number, number]>, features: number) {
    if (keys.length === 0) throw new InputError("keys", "expected at least one penalty to tune (l1, l2, weights)");
    if (keys.includes("weights") && keys.includes("l1")) throw new InputError("keys", "tune either l1 or the per-feature weights, not both");
    this.keys = keys;
    this.base = base;
    this.slots = new Map();
    let size = 0;
    for (const k of keys) {
      const length = k === "weights" ? features : 1;
      this.slots.set(k, [size, length]);
      size += length;
    }
    this.lower = new Float64Array(size);
    this.upper = new Float64Array(size);
    for (const [k, [start, length]] of this.slots) {
      this.lower.fill(Math.log(bounds[k][0]), start, start + length);
      this.upper.fill(Math.log(bounds[k][1]), start, start + length);
    }
  }

  get dimension(): number {
    return this.lower.length;
  }

  penalty(theta: Float64Array): Penalty {
    const p: Penalty = { ...this.base };
    for (const [k, [start, length]] of this.slots) {
      if (k === "weights") {
        p.l1 = 1;
        p.weights = theta.slice(start, start + length).map(Math.exp);
      } else {
        p[k] = Math.exp(theta[start]);
      }
    }
    return p;
  }

  /** Scalar summary per key: the value, or for weights the geometric mean of the λ_j. */
  values(theta: Float64Array): Record<string, number> {
    return Object.fromEntries(
      [...this.slots].map(([k, [start, length]]) => {
        let sum = 0;
        for (let i = start; i < start + length; i++) sum += theta[i];
        return [k, Math.exp(sum / length)];
      }),
    );
  }

  theta(values: { l1: number; l2: number }): Float64Array {
    const theta = new Float64Array(this.dimension);
    for (const [k, [start, length]] of this.slots) {
      const v = k === "weights" ? values.l1 : values[k];
      if (!(v > 0)) throw new InputError(`start.${k}`, `expected a positive starting value, got ${v}`);
      theta.fill(Math.log(v), start, start + length);
    }
    return this.project(theta);
  }

  /** θ with the l1 threshold(s) set to l1 (the scan moves a uniform l1). */
  withL1(theta: Float64Array, l1: number): Float64Array {
    const out = Float64Array.from(theta);
    const slot = this.slots.get("l1") ?? this.slots.get("weights");
    if (slot) out.fill(Math.log(l1), slot[0], slot[0] + slot[1]);
    return this.project(out);
  }

  get tunesL1(): boolean {
    return this.slots.has("l1") || this.slots.has("weights");
  }

  /** dC/dθ: λ·dC/dλ per scalar key, λ_j·dC/dλ_j per feature; NaN where no gradient was computed. */
  logGradient(theta: Float64Array, evaluation: Evaluation): Float64Array {
    const out = new Float64Array(this.dimension).fill(NaN);
    const g = evaluation.gradient;
    if (!g) return out;
    for (const [k, [start, length]] of this.slots) {
      if (k !== "weights") {
        out[start] = Math.exp(theta[start]) * g[k];
      } else if (evaluation.perFeature) {
        for (let j = 0; j < length; j++) out[start + j] = Math.exp(theta[start + j]) * evaluation.perFeature[j];
      }
    }
    return out;
  }

  /** Clamp θ into the box, in place. */
  project(theta: Float64Array): Float64Array {
    for (let i = 0; i < theta.length; i++) theta[i] = Math.min(this.upper[i], Math.max(this.lower[i], theta[i]));
    return theta;
  }
}
