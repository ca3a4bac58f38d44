import { InputError } from "../errors.js";
import type { Problem } from "../problem.js";
import type { Solution } from "../solvers/solution.js";

/** An outer criterion L(x): its value and its gradient ∇ₓL, which the differentiation module turns into dL/dλ. */
export interface Criterion {
  readonly name: string;
  value(x: Float64Array): number;
  /**
   * out ← ∇ₓL(x) (length n). With `support`, only the entries j in support are computed (the
   * adjoint on the active set needs no more); the others are left as they are.
   */
  gradient(x: Float64Array, out: Float64Array, support?: ArrayLike<number>): Float64Array;
}

/**
 * The features ∇ₓL is needed on for a solution's hypergradient: its support for the Lasso and
 * elastic net (the adjoint reads no more); every feature with tv (undefined), whose pieces cover
 * the non-zero features anyway and whose support list is an O(n) array not worth building.
 */
export function gradientSupport(problem: Problem, solution: Solution): ArrayLike<number> | undefined {
  return problem.penalty.tv > 0 ? undefined : solution.active;
}

/** A Criterion: an object with value and gradient (HeldOutMse.of(problem), Sure, ...). */
export function requireCriterion(field: string, criterion: Criterion): void {
  if (typeof criterion?.value !== "function" || typeof criterion.gradient !== "function") throw new InputError(field, "expected a criterion (HeldOutMse.of(problem), ...) with value and gradient");
}
