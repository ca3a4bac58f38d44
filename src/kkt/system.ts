import type { OptimalityCondition, ParameterJacobian } from "../diff/optimality.js";

/**
 * The optimality system of a (problem, solution) pair, restricted to the solution's generalized
 * support (jaxopt's optimality function; sparse-ho's support-restricted systems):
 *
 *   F(x_S, θ) = 0  at the solution,   J = ∂F/∂x_S,   ∂F/∂θ for each hyperparameter by name.
 *
 * Implicit differentiation, Newton polishing and SURE's degrees of freedom use only this
 * interface; each problem class (Lasso / elastic net, TV pieces, bordered constraints) is one
 * implementation. An OptimalityCondition (diff/optimality.ts) with direct solves: the generic
 * implicit routine differentiates it.
 */
export interface KktSystem extends OptimalityCondition {
  /**
   * The features the system lives on, increasing: the unknowns themselves (x_S) for a support
   * system; the features of the non-zero pieces for TV, whose unknowns are the pieces' values.
   */
  readonly support: Int32Array;
  /** The number of unknowns (|support|, plus the multipliers of a bordered system). */
  readonly size: number;
  /** Nᵀg: a gradient in x (length n) as a gradient in the unknowns (x = Nβ on the solution's manifold). */
  restrict(gradX: Float64Array): Float64Array;
  /** out ← N u: a change of the unknowns as a change of x (length n; zero off the manifold). */
  expand(u: Float64Array, out: Float64Array): Float64Array;
  /** How J is solved (the last solve). */
  readonly method: KktMethod;
  /** F at the point the system was built from (length |support|). */
  residual(): Float64Array;
  /** J⁻¹ b (a new array). */
  solve(b: Float64Array): Float64Array;
  /** J⁻ᵀ b (a new array). */
  solveAdjoint(b: Float64Array): Float64Array;
  /** ∂F/∂θ for the hyperparameter `name`, or null when F does not depend on it. */
  parameterJacobian(name: string): ParameterJacobian | null;
  /**
   * SURE's degrees of freedom of the fit Ax, df = tr(∂(Ax)/∂y), and its derivative in the
   * hyperparameter `name` (0 when df is locally constant in it).
   */
  degreesOfFreedom(): { df: number; derivative(name: string): number };
}

/**
 * ∂F/∂θ: for a scalar hyperparameter a column of length size; for a per-feature one (θ_j for
 * every feature j) a diagonal: ∂F_a/∂θ_{support[a]} = diagonal[a], zero otherwise.
 */
export type { ParameterJacobian };

/**
 * Linear solvers for J: Cholesky (dense, J symmetric positive definite) and conjugate gradients
 * (matrix-free, SPD); for the bordered (symmetric indefinite) constraint system, block elimination
 * on its Schur complement ("schur-cholesky" / "schur-cg": H by Cholesky or CG, C_F H⁻¹ C_Fᵀ by
 * pivoted Cholesky). A condition without a direct solve goes to CG or GMRES in diff/optimality.ts.
 */
export type KktMethod = "cholesky" | "cg" | "schur-cholesky" | "schur-cg";
