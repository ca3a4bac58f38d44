import { InputError } from "../errors.js";

/** Measurements d_i of x at grid times: x(t_{index[i]}) ≈ values[i]. */
export interface Observations {
  readonly index: Int32Array;
  readonly values: Float64Array;
}

/** ∂/∂p and ∂/∂q of a function of the observed states. */
export interface ParameterGradient {
  p: number;
  q: number;
}

/**
 * The driven decay x' = −x + p·u(t), x(0) = q on [0, T], integrated by classical RK4 on the
 * uniform grid t_k = k·h, h = T/steps, with its exact discrete tangent and adjoint.
 *
 * On this linear ODE an RK4 step is affine in (x_k, p):
 *   x_{k+1} = R x_k + p c_k,   R = 1 − h + h²/2 − h³/6 + h⁴/24 (RK4's stability polynomial at −h),
 *   c_k = the step from x_k = 0 with p = 1 (the stages read u at t_k, t_k + h/2, t_k + h),
 * so ∂x_{k+1}/∂x_k = R and ∂x_{k+1}/∂p = c_k exactly. The discrete adjoint of a function of the
 * observed states with seeds s_i = ∂ℓ/∂x(t_i) is the backward recursion
 *   λ_N = s at N,   λ_k = R λ_{k+1} + (s_i if t_k = t_i),   ∂ℓ/∂p = Σ_k c_k λ_{k+1},   ∂ℓ/∂q = λ_0,
 * RK4's discretisation of the adjoint ODE a' = a run backwards from a(T) = 0 with a jump of s_i at
 * each observation (math.md, "Bilevel ODE calibration"), and ∂ℓ/∂p that of ∫ a(t) u(t) dt. It is
 * the exact gradient of the discrete solution, so it agrees with finite differences of `solve` to
 * rounding and with the continuous gradient to RK4's O(h⁴).
 */
export class DrivenDecayOde {
  readonly step: number;
  /** ∂x_{k+1}/∂x_k. */
  readonly decay: number;
  /** c_k = ∂x_{k+1}/∂p (length steps). */
  readonly inputGain: Float64Array;
  private readonly adjointWork: Float64Array;

  constructor(input: (t: number) => number, readonly horizon: number, readonly steps: number) {
    if (typeof input !== "function") throw new InputError("input", "expected a function t ↦ u(t)");
    if (typeof horizon !== "number" || !(horizon > 0) || !Number.isFinite(horizon)) throw new InputError("horizon", `expected a positive finite T, got ${horizon}`);
    if (!Number.isInteger(steps) || steps < 1 || steps > 1e7) throw new InputError("steps", `expected an integer in [1, 1e7], got ${steps}`);
    const h = (this.step = horizon / steps);
    this.decay = rk4Step(1, 0, 0, 0, 0, h);
    this.inputGain = new Float64Array(steps);
    for (let k = 0; k < steps; k++) {
      const t = k * h, u0 = input(t), uHalf = input(t + h / 2), u1 = input(t + h);
      if (!Number.isFinite(u0) || !Number.isFinite(uHalf) || !Number.isFinite(u1)) throw new InputError("input", `expected finite values of u(t), got u(${t}) = ${u0}, u(${t + h / 2}) = ${uHalf}, u(${t + h}) = ${u1}`);
      this.inputGain[k] = rk4Step(0, 1, u0, uHalf, u1, h);
    }
    this.adjointWork = new Float64Array(steps + 1);
  }

  /** The grid index of each time; times must be grid points in [0, T] (within 1e-9·h). */
  observations(times: ArrayLike<number>, values: ArrayLike<number>): Observations {
    if (times === null || typeof times !== "object" || typeof times.length !== "number") throw new InputError("times", "expected an array of observation times");
    if (values === null || typeof values !== "object" || values.length !== times.length) throw new InputError("values", `expected ${times?.length} measurements, one per time`);
    const index = new Int32Array(times.length);
    for (let i = 0; i < times.length; i++) {
      const k = Math.round(times[i] / this.step);
      if (!(Math.abs(times[i] - k * this.step) <= 1e-9 * this.step) || k < 0 || k > this.steps) {
        throw new InputError("times", `expected grid times k·${this.step} in [0, ${this.horizon}], got ${times[i]} at position ${i}`);
      }
      if (!Number.isFinite(values[i])) throw new InputError("values", `expected finite measurements, got ${values[i]} at position ${i}`);
      index[i] = k;
    }
    return { index, values: Float64Array.from(values) };
  }

  /** x_k for k = 0..steps (out, length steps + 1). Also the tangent: (p, q) ↦ x is linear, so solve(ṗ, q̇) = ẋ. */
  solve(p: number, q: number, out: Float64Array = new Float64Array(this.steps + 1)): Float64Array {
    checkParameters(p, q);
    if (!(out instanceof Float64Array) || out.length !== this.steps + 1) throw new InputError("out", `expected a Float64Array of length ${this.steps + 1}`);
    out[0] = q;
    for (let k = 0; k < this.steps; k++) out[k + 1] = this.decay * out[k] + p * this.inputGain[k];
    return out;
  }

  /**
   * The discrete adjoint: Σ_i seeds[i]·∂x(t_i)/∂(p, q) by one backward sweep (see the class).
   * It does not depend on (p, q): x is affine in them.
   */
  adjoint(at: Observations, seeds: Float64Array): ParameterGradient {
    this.requireObservations("at", at);
    if (!(seeds instanceof Float64Array) || seeds.length !== at.index.length) throw new InputError("seeds", `expected a Float64Array of ${at.index.length} values, one per observation`);
    const lambda = this.adjointWork;
    lambda.fill(0);
    for (let i = 0; i < seeds.length; i++) lambda[at.index[i]] += seeds[i];
    let dp = 0;
    for (let k = this.steps - 1; k >= 0; k--) {
      dp += this.inputGain[k] * lambda[k + 1];
      lambda[k] += this.decay * lambda[k + 1];
    }
    return { p: dp, q: lambda[0] };
  }

  /** Throws an InputError naming `field` unless `at` are non-empty observations on this model's grid. */
  requireObservations(field: string, at: Observations): void {
    const ok = typeof at === "object" && at !== null && at.index instanceof Int32Array && at.values instanceof Float64Array && at.index.length === at.values.length && at.index.length > 0;
    if (!ok || !at.index.every((k) => k >= 0 && k <= this.steps)) throw new InputError(field, `expected non-empty observations on this model's grid (indices 0..${this.steps}), from model.observations(times, values)`);
  }

  /** r_i = x(t_i) − d_i from a trajectory (out, length of the observations). */
  residuals(trajectory: Float64Array, at: Observations, out: Float64Array = new Float64Array(at.index.length)): Float64Array {
    for (let i = 0; i < out.length; i++) out[i] = trajectory[at.index[i]] - at.values[i];
    return out;
  }
}

/** One classical RK4 step of x' = −x + p·u from x, with u at the step's start, middle and end. */
function rk4Step(x: number, p: number, u0: number, uHalf: number, u1: number, h: number): number {
  const k1 = -x + p * u0;
  const k2 = -(x + (h / 2) * k1) + p * uHalf;
  const k3 = -(x + (h / 2) * k2) + p * uHalf;
  const k4 = -(x + h * k3) + p * u1;
  return x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
}

function checkParameters(p: number, q: number): void {
  if (typeof p !== "number" || !Number.isFinite(p)) throw new InputError("p", `expected a finite number, got ${p}`);
  if (typeof q !== "number" || !Number.isFinite(q)) throw new InputError("q", `expected a finite number, got ${q}`);
}
