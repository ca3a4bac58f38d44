import { InputError } from "../errors.js";

/**
 * A smooth objective f: Rⁿ → R with its exact gradient and Hessian-vector product, the three
 * things the differentiable optimisers need (the step, its tangent and its adjoint). Each
 * objective owns its scratch buffers: the calls allocate nothing, and are not reentrant.
 */
export interface SmoothObjective {
  readonly dimension: number;
  /** Returns f(x) and writes ∇f(x) into `gradient`. */
  evaluate(x: Float64Array, gradient: Float64Array): number;
  /** out ← ∇²f(x)·v */
  hessianVector(x: Float64Array, v: Float64Array, out: Float64Array): Float64Array;
  /**
   * Optional: evaluate(x, gradient) and products[k] ← ∇²f(x)·directions[k] at once, sharing the
   * passes over the data (forward mode carries a tangent per hyperparameter: its Hessian-vector
   * product at x_t then rides along with the gradient at x_t). The same values as the separate calls.
   */
  evaluateWithHessianVectors?(x: Float64Array, gradient: Float64Array, directions: readonly Float64Array[], products: readonly Float64Array[]): number;
  /**
   * Optional: evaluate(x, gradient) and hv ← ∇²f(at)·v at once, sharing the passes over the data
   * where they can (reverse mode: an adjoint step's product with a recomputed step's gradient; the
   * data term's AᵀA part needs no point, logistic regression's curvature needs A·at). The same values
   * as the separate calls.
   */
  evaluateWithHessianVectorAt?(x: Float64Array, gradient: Float64Array, at: Float64Array, v: Float64Array, hv: Float64Array): number;
}

/** f(x) alone (allocates the gradient buffer: for checks and tests, not for loops). */
export function valueOf(objective: SmoothObjective, x: Float64Array): number {
  requireObjective("objective", objective);
  return objective.evaluate(x, new Float64Array(objective.dimension));
}

/** A SmoothObjective: a positive integer dimension, evaluate and hessianVector; the optional methods functions where present. */
export function requireObjective(field: string, objective: SmoothObjective): void {
  const o = objective as Partial<SmoothObjective> | null | undefined;
  if (typeof o?.evaluate !== "function" || typeof o.hessianVector !== "function" || !(Number.isSafeInteger(o.dimension) && o.dimension! >= 1)) {
    throw new InputError(field, "expected a smooth objective { dimension, evaluate, hessianVector } (LeastSquares, LogisticRegression, ...)");
  }
  for (const optional of ["evaluateWithHessianVectors", "evaluateWithHessianVectorAt"] as const) {
    const method: unknown = o[optional];
    if (method !== undefined && typeof method !== "function") throw new InputError(field, `expected ${optional} to be a method or absent, got ${typeof method}`);
  }
}

/** An options object (undefined is taken as {} by the callers' defaults). */
export function requireObject(field: string, v: unknown, expected: string): void {
  if (typeof v !== "object" || v === null) throw new InputError(field, `expected ${expected}, got ${v === null ? "null" : typeof v}`);
}
