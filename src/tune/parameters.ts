import { InputError } from "../errors.js";
import type { HyperparameterSpec, TuningRange } from "../penalties/index.js";
import type { Penalty } from "../problem.js";
import type { Evaluation, TunableKey } from "./objective.js";

/**
 * The tuner works in θ = log λ: steps are relative changes of λ, λ = exp(θ) stays positive,
 * and dC/dθ = λ·dC/dλ. A scalar hyperparameter takes one entry of θ, a per-feature one n
 * entries. Tuning the per-feature weights means tuning the thresholds λ_j = l1·w_j: l1 is held
 * at 1 and w_j = λ_j. Bounds keep every value in its tuning range.
 */
export class LogParameters {
  readonly keys: TunableKey[];
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  private readonly base: Penalty;
  private readonly slots: Map<TunableKey, { start: number; length: number; spec: HyperparameterSpec }>;

  constructor(base: Penalty, keys: TunableKey[], specs: readonly HyperparameterSpec[], ranges: Record<string, TuningRange>, features: number) {
    if (!Array.isArray(keys) || keys.length === 0) throw new InputError("keys", `expected at least one hyperparameter to tune (${specs.map((s) => s.name).join(", ")})`);
    if (keys.includes("weights") && keys.includes("l1")) throw new InputError("keys", "tune either l1 or the per-feature weights, not both");
    this.keys = keys;
    this.base = base;
    this.slots = new Map();
    let size = 0;
    for (const key of keys) {
      const spec = specs.find((s) => s.name === key);
      if (typeof key !== "string" || !spec || !ranges[key]) {
        throw new InputError("keys", `unknown hyperparameter ${JSON.stringify(key)}, expected some of ${specs.map((s) => s.name).join(", ")}`);
      }
      if (this.slots.has(key)) throw new InputError("keys", `${key} is listed twice`);
      const length = spec.shape === "scalar" ? 1 : features;
      this.slots.set(key, { start: size, length, spec });
      size += length;
    }
    this.lower = new Float64Array(size);
    this.upper = new Float64Array(size);
    for (const [key, { start, length }] of this.slots) {
      this.lower.fill(Math.log(ranges[key].range[0]), start, start + length);
      this.upper.fill(Math.log(ranges[key].range[1]), start, start + length);
    }
  }

  get dimension(): number {
    return this.lower.length;
  }

  penalty(theta: Float64Array): Penalty {
    const p: Penalty = { ...this.base };
    const values = p as unknown as Record<string, number | Float64Array>;
    for (const [key, { start, length, spec }] of this.slots) {
      if (spec.shape === "scalar") {
        values[key] = Math.exp(theta[start]);
      } else {
        values[key] = theta.slice(start, start + length).map(Math.exp);
        if (key === "weights") p.l1 = 1;
      }
    }
    return p;
  }

  /** Scalar summary per key: the value, or for a per-feature key the geometric mean. */
  values(theta: Float64Array): Record<string, number> {
    return Object.fromEntries(
      [...this.slots].map(([key, { start, length }]) => {
        let sum = 0;
        for (let i = start; i < start + length; i++) sum += theta[i];
        return [key, Math.exp(sum / length)];
      }),
    );
  }

  /** θ from starting values by name, checked against their ranges by the tuner (a per-feature key starts uniform). */
  theta(starts: Record<string, number>): Float64Array {
    const theta = new Float64Array(this.dimension);
    for (const [key, { start, length }] of this.slots) {
      theta.fill(Math.log(starts[key]), start, start + length);
    }
    return this.project(theta);
  }

  /** The key the basin scan moves along the regularisation path (l1 or the weights), if tuned. */
  scanKey(ranges: Record<string, TuningRange>): TunableKey | undefined {
    return this.keys.find((k) => ranges[k].scannable);
  }

  /** θ with `key` set to the uniform value v. */
  withValue(theta: Float64Array, key: TunableKey, v: number): Float64Array {
    const out = Float64Array.from(theta);
    const slot = this.slots.get(key);
    if (slot) out.fill(Math.log(v), slot.start, slot.start + slot.length);
    return this.project(out);
  }

  /** dC/dθ: λ·dC/dλ per scalar key, λ_j·dC/dλ_j per feature; NaN where no gradient was computed. */
  logGradient(theta: Float64Array, evaluation: Evaluation): Float64Array {
    const out = new Float64Array(this.dimension).fill(NaN);
    const g = evaluation.gradient;
    if (!g) return out;
    for (const [key, { start, length }] of this.slots) {
      const gk = g[key];
      if (typeof gk === "number") {
        out[start] = Math.exp(theta[start]) * gk;
      } else if (gk instanceof Float64Array) {
        for (let j = 0; j < length; j++) out[start + j] = Math.exp(theta[start + j]) * gk[j];
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
