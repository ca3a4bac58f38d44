import { InputError } from "../errors.js";
import { dot } from "../linalg/vector.js";
import { IdentityOperator } from "../operators/identity.js";
import { requireOperator, scaledAdjoint } from "../operators/operator.js";
import { requireProblem, type Measurements, type Problem } from "../problem.js";
import type { Criterion } from "./criterion.js";

/**
 * Held-out mean squared error on validation measurements (A_v, y_v) of the same x:
 *   L(x) = ‖A_v x − y_v‖² / m_v,   ∇L = 2 A_vᵀ(A_v x − y_v) / m_v
 */
export class HeldOutMse implements Criterion {
  readonly name: string;
  readonly validation: Measurements;
  private readonly residual: Float64Array;

  constructor(validation: Measurements, name = "heldout") {
    requireOperator("validation.A", validation?.A);
    this.name = name;
    this.validation = validation;
    this.residual = new Float64Array(validation.A.rows);
  }

  static of(problem: Problem): HeldOutMse {
    requireProblem(problem);
    if (!problem.validation) throw new InputError("validation", "expected validation measurements { A, y } for the held-out criterion");
    return new HeldOutMse(problem.validation);
  }

  /**
   * Reference error ‖x − x_ref‖²/n against a clean signal: the problem's `truth`, or validation
   * measurements whose operator is the identity.
   */
  static reference(problem: Problem): HeldOutMse {
    const n = problem.A.cols;
    if (problem.truth) return new HeldOutMse({ A: new IdentityOperator(n), y: problem.truth }, "reference");
    if (problem.validation?.A instanceof IdentityOperator) return new HeldOutMse(problem.validation, "reference");
    throw new InputError("truth", "expected a clean reference signal (`truth`, or validation with A = identity) for the reference criterion");
  }

  private fillResidual(x: Float64Array): Float64Array {
    const { A, y } = this.validation, r = this.residual;
    if (!(x instanceof Float64Array && x.length === A.cols)) throw new InputError("x", `expected a Float64Array of length ${A.cols} (the columns of validation.A)`);
    A.apply(x, r);
    for (let i = 0; i < r.length; i++) r[i] -= y[i];
    return r;
  }

  value(x: Float64Array): number {
    const r = this.fillResidual(x);
    return dot(r, r) / r.length;
  }

  gradient(x: Float64Array, out: Float64Array, support?: ArrayLike<number>): Float64Array {
    const r = this.fillResidual(x);
    return scaledAdjoint(this.validation.A, r, 2 / r.length, out, support);
  }
}
