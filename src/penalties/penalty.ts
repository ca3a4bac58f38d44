/**
 * A separable penalty g(x) = Σ_j g_j(x_j) (skglm's model): everything a solver, a certificate,
 * a polish step, a KKT system and SURE need to know about it, written once per penalty.
 *
 * The data term is f(x) = ½‖Ax − y‖², with c = Aᵀ(y − Ax) = −∇f(x).
 */
import { InputError } from "../errors.js";

export interface SeparablePenalty {
  readonly name: string;
  /** The hyperparameters this penalty reads from `problem.penalty`, by name. */
  readonly hyperparameters: readonly HyperparameterSpec[];

  /** g(x). */
  value(x: Float64Array): number;
  /** g_j(x_j). */
  valueAt(j: number, xj: number): number;
  /** prox_{t·g_j}(v) = argmin_z g_j(z) + (z − v)²/(2t). */
  proxCoordinate(j: number, v: number, t: number): number;
  /** out ← prox_{t·g}(v) (out may be v). */
  prox(v: Float64Array, t: number, out: Float64Array): Float64Array;
  /** dist(c_j, ∂g_j(x_j)): the KKT violation of coordinate j (c_j = −∇_j f). */
  subdiffDistance(j: number, xj: number, cj: number): number;
  /** Generalized support: x_j is where g_j is smooth and the KKT system lives. */
  isActive(j: number, xj: number): boolean;
  /** Whether `after` is on the same smooth piece of g_j as `before` (a Newton step must not cross a kink). */
  samePiece(j: number, before: number, after: number): boolean;
  /**
   * The smallest value of the penalty's scale (l1 for the l1 terms) at which x = 0 is optimal,
   * given c = Aᵀy: max_j |c_j|/w_j for l1; Infinity for a smooth penalty (x = 0 only in the limit).
   */
  lambdaMax(aty: Float64Array): number;
  /** Height of g_j's kink at 0 (l1·w_j; 0 for a smooth g_j): inactive j need |c_j| ≤ it. */
  threshold(j: number): number;
  /**
   * For an inactive coordinate (not isActive), how far c_j lies inside ∂g_j(x_j): the distance
   * to the nearer end of that interval, negative when c_j is outside (KKT violated), −Infinity
   * when x_j is not a point g_j allows. l1 at x_j = 0: l1·w_j − |c_j|. Screening and working
   * sets read it at x_j = 0, the complementarity margin at the solution's x_j.
   */
  slack(j: number, xj: number, cj: number): number;

  /**
   * Dual (Fenchel) pieces. D(θ) = yᵀθ − ½‖θ‖² − Σ_j g_j*(a_jᵀθ), evaluated at θ = r/s with
   * s = max(1, max_j dualScale(j, c_j)) so that θ lies in the domain of every g_j* (c_j signed:
   * a bound makes the domain one-sided).
   */
  dualScale(j: number, c: number): number;
  /** g_j*(z) for z inside its domain (signed z; symmetric penalties read |z|). */
  conjugate(j: number, z: number): number;

  /** On the support: ∇g_j(x_j) (the smooth piece g_j coincides with there). */
  supportGradient(j: number, xj: number): number;
  /** On the support: g_j''(x_j), the diagonal this penalty adds to the KKT matrix. */
  supportCurvature(j: number): number;
  /** ∂(∇g_j(x_j))/∂θ for the hyperparameter `name` (0 when g does not read it). */
  supportGradientDerivative(name: string, j: number, xj: number): number;
  /** ∂g_j''/∂θ for the hyperparameter `name`. */
  supportCurvatureDerivative(name: string, j: number): number;
}

/** A hyperparameter a penalty declares: a number, or one value per feature. */
export interface HyperparameterSpec {
  name: string;
  shape: "scalar" | "perFeature";
}

/** A SeparablePenalty (L1Penalty, ElasticNet, separablePenalty(values), ...): anything else is an InputError. */
export function requireSeparablePenalty(field: string, penalty: SeparablePenalty): void {
  if (typeof penalty?.supportCurvature !== "function" || typeof penalty.prox !== "function") throw new InputError(field, "expected a separable penalty (separablePenalty(problem.penalty), L1Penalty, ElasticNet, ...)");
}
