import { InputError, NumericalError } from "../errors.js";
import { implicitAdjoint, implicitJacobian, type OptimalityCondition, type SolveReport } from "../diff/optimality.js";
import { DrivenDecayOde, type Observations, type ParameterGradient } from "./driven-decay.js";

export interface Misfit {
  /** Σ_i (x(t_i) − d_i)². */
  value: number;
  /** ∂/∂p and ∂/∂q by the discrete adjoint. */
  gradient: ParameterGradient;
}

export interface CalibrationHypergradient {
  /** L(q) = the validation misfit at (p*(q), q). */
  value: number;
  /** p*(q), the inner least-squares fit. */
  p: number;
  /** dL/dq = ∂L/∂q + ∂L/∂p · d(p*)/dq. */
  gradient: number;
  /** d(p*)/dq = −(∂²G/∂p²)⁻¹ ∂²G/∂p∂q (forward mode), or null in reverse mode. */
  dpdq: number | null;
  /** The generic routine's linear solve. */
  solve: SolveReport;
}

export interface CalibrationRun {
  q: number;
  p: number;
  /** L at the final q. */
  value: number;
  /** dL/dq at the final q. */
  gradient: number;
  /** Gradient steps taken. */
  steps: number;
  converged: boolean;
  /** q after each step (the first entry is q0). */
  path: number[];
}

/**
 * Bilevel calibration of the driven decay x' = −x + p·u(t), x(0) = q (math.md, "Bilevel ODE
 * calibration"):
 *   inner  p*(q) = argmin_p G(p, q),  G = Σ_train (x(t_i; p, q) − d_i)²,
 *   outer  min_q L(q) = Σ_validation (x(s_j; p*(q), q) − e_j)².
 * Gradients of G and L by the model's discrete adjoint; d(p*)/dq from the inner optimality
 * condition F(p, q) = ∂G/∂p = 0 through the generic implicit routine (diff/optimality.ts).
 * Workspaces are allocated once.
 */
export class OdeCalibration {
  private readonly trajectory: Float64Array;
  private readonly tangent: Float64Array;
  private readonly trainSeeds: Float64Array;
  private readonly validationSeeds: Float64Array;

  constructor(readonly model: DrivenDecayOde, readonly train: Observations, readonly validation: Observations) {
    if (!(model instanceof DrivenDecayOde)) throw new InputError("model", "expected a DrivenDecayOde");
    model.requireObservations("train", train);
    model.requireObservations("validation", validation);
    this.trajectory = new Float64Array(model.steps + 1);
    this.tangent = new Float64Array(model.steps + 1);
    this.trainSeeds = new Float64Array(train.index.length);
    this.validationSeeds = new Float64Array(validation.index.length);
  }

  /** G(p, q) and its gradient (adjoint seeds 2r_i). */
  trainingMisfit(p: number, q: number): Misfit {
    return this.misfit(p, q, this.train, this.trainSeeds);
  }

  /** L's partial derivatives at a given (p, q) (p not refitted). */
  validationMisfit(p: number, q: number): Misfit {
    return this.misfit(p, q, this.validation, this.validationSeeds);
  }

  /**
   * The inner optimality condition F(p; q) = ∂G/∂p = 0 at (p, q), z = (p), θ = q. Its
   * derivatives are Gauss–Newton products, exact here because x is affine in (p, q):
   *   ∂F/∂p·v = 2 Σ_i ẋ_i ∂x_i/∂p with ẋ the tangent in direction (v, 0),
   *   ∂F/∂q   = 2 Σ_i (∂x_i/∂q) ∂x_i/∂p,
   * each the adjoint's p-component with seeds 2ẋ_i. Symmetric positive definite (a 1 × 1 Gram
   * matrix) when the training data see p.
   */
  condition(): OptimalityCondition {
    const curvature = (dp: number, dq: number) => this.secondDerivative(dp, dq);
    return {
      size: 1,
      symmetric: true,
      apply: (v, out) => {
        out[0] = curvature(v[0], 0);
      },
      parameterJacobian: (name) => (name === "q" ? { shape: "scalar", column: Float64Array.of(curvature(0, 1)) } : null),
    };
  }

  /** p*(q) by Newton's method on ∂G/∂p (G is quadratic in p: one step lands, the next confirms). */
  fit(q: number, start = 0): { p: number; iterations: number } {
    const hessian = this.secondDerivative(1, 0);
    if (!(hessian > 0)) throw new NumericalError("p is not identifiable from the training measurements (∂²G/∂p² = 0: u vanishes before every training time)");
    let p = start;
    for (let iterations = 1; iterations <= 20; iterations++) {
      const delta = this.trainingMisfit(p, q).gradient.p / hessian;
      p -= delta;
      if (Math.abs(delta) <= 1e-14 * (1 + Math.abs(p))) return { p, iterations };
    }
    return { p, iterations: 20 };
  }

  /** L(q) with the inner problem solved. */
  value(q: number): number {
    return this.validationMisfit(this.fit(q).p, q).value;
  }

  /**
   * L(q) and dL/dq = ∂L/∂q − vᵀ ∂F/∂q with (∂F/∂p)ᵀ v = ∂L/∂p (reverse, the default), or
   * ∂L/∂q + ∂L/∂p · d(p*)/dq with d(p*)/dq = −(∂F/∂p)⁻¹ ∂F/∂q (forward).
   */
  hypergradient(q: number, mode: "reverse" | "forward" = "reverse"): CalibrationHypergradient {
    if (mode !== "reverse" && mode !== "forward") throw new InputError("mode", `expected "reverse" or "forward", got ${String(mode)}`);
    const { p } = this.fit(q);
    const { value, gradient: partial } = this.validationMisfit(p, q);
    if (mode === "reverse") {
      const adjoint = implicitAdjoint(this.condition(), Float64Array.of(partial.p), ["q"]);
      return { value, p, gradient: partial.q + (adjoint.gradient.q as number), dpdq: null, solve: adjoint.solve };
    }
    const forward = implicitJacobian(this.condition(), ["q"]);
    const dpdq = forward.derivatives.q[0];
    return { value, p, gradient: partial.q + partial.p * dpdq, dpdq, solve: forward.solves[0] };
  }

  /**
   * min_q L(q) by gradient descent with a backtracking (Armijo) step: η halves until
   * L(q − ηg) ≤ L(q) − ½ηg², then doubles for the next step. Stops when |dL/dq| ≤ gtol·max(1, |dL/dq(q0)|).
   */
  calibrate(q0: number, { maxSteps = 200, gtol = 1e-10 }: { maxSteps?: number; gtol?: number } = {}): CalibrationRun {
    if (typeof q0 !== "number" || !Number.isFinite(q0)) throw new InputError("q0", `expected a finite number, got ${q0}`);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new InputError("maxSteps", `expected a positive integer, got ${maxSteps}`);
    if (typeof gtol !== "number" || !(gtol > 0)) throw new InputError("gtol", `expected a positive number, got ${gtol}`);
    let q = q0, eta = 1, steps = 0;
    let current = this.hypergradient(q);
    const target = gtol * Math.max(1, Math.abs(current.gradient));
    const path = [q];
    while (steps < maxSteps && Math.abs(current.gradient) > target) {
      const g = current.gradient;
      let next = q - eta * g;
      for (let halvings = 0; this.value(next) > current.value - 0.5 * eta * g * g; halvings++) {
        if (halvings === 60) throw new NumericalError(`the outer step at q = ${q} found no decrease of L along −dL/dq (dL/dq = ${g})`);
        eta /= 2;
        next = q - eta * g;
      }
      q = next;
      eta *= 2;
      steps++;
      path.push(q);
      current = this.hypergradient(q);
    }
    return { q, p: current.p, value: current.value, gradient: current.gradient, steps, converged: Math.abs(current.gradient) <= target, path };
  }

  private misfit(p: number, q: number, at: Observations, seeds: Float64Array): Misfit {
    const r = this.model.residuals(this.model.solve(p, q, this.trajectory), at, seeds);
    let value = 0;
    for (let i = 0; i < r.length; i++) {
      value += r[i] * r[i];
      r[i] *= 2; // ∂/∂x_i of (x_i − d_i)²
    }
    return { value, gradient: this.model.adjoint(at, r) };
  }

  /** ∂²G/∂p∂(p, q) in direction (dp, dq): the adjoint's p-part with seeds 2ẋ_i, ẋ the tangent. */
  private secondDerivative(dp: number, dq: number): number {
    const x = this.model.solve(dp, dq, this.tangent); // the tangent: (p, q) ↦ x is linear
    const seeds = this.trainSeeds;
    for (let i = 0; i < seeds.length; i++) seeds[i] = 2 * x[this.train.index[i]];
    return this.model.adjoint(this.train, seeds).p;
  }
}
