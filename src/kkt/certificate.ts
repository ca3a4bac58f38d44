import { dot } from "../linalg/vector.js";
import { BoxedPenalty } from "../penalties/box.js";
import { penaltyOf, type SeparablePenalty } from "../penalties/index.js";
import { requireProblem, type Problem } from "../problem.js";

/** What proves (or disproves) that x solves ½‖Ax − y‖² + g(x) (subject to Cx = d when constrained). */
export interface Certificate {
  objective: number;
  /**
   * Primal minus dual objective: an upper bound on objective − optimum (with constraints, the
   * Lagrangian dual at the multipliers: the bound holds once x is feasible).
   */
  dualityGap: number;
  /** max_j dist(−∇_j f(x) − (Cᵀν)_j, ∂g_j(x_j)): zero exactly at the solution (ν = 0 without constraints). */
  kktViolation: number;
  /**
   * min over inactive j of slack_j/(l1 w_j) (for the l1 penalty at 0: 1 − |a_jᵀ(y − Ax)|/(l1 w_j)):
   * how strictly the inactive conditions hold. Near 0 the active set is about to grow; negative,
   * x is not optimal.
   */
  complementarityMargin: number;
  /** min over active j of |x_j| (Infinity when nothing is active): near 0 a coefficient is about to leave. */
  smallestActive: number;
  /** ‖Cx − d‖₂, the primal feasibility residual (problems with constraints only). */
  feasibilityResidual?: number;
}

/**
 * Certificate at x given r = y − Ax and c = Aᵀr (the solver usually has both), for any
 * separable penalty: the primal value, the Fenchel dual at the scaled residual (dualObjective),
 * the subdifferential distance of every coordinate, and the margins of the support. With
 * constraints, c = Aᵀr − Cᵀν and `offset` = νᵀd (see constrainedCertificate).
 */
export function certificate(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array, penalty: SeparablePenalty = penaltyOf(problem), offset = 0): Certificate {
  requireProblem(problem);
  let kkt = 0, margin = 1, smallestActive = Infinity;
  for (let j = 0; j < x.length; j++) {
    const xj = x[j];
    kkt = Math.max(kkt, penalty.subdiffDistance(j, xj, c[j]));
    if (penalty.isActive(j, xj)) {
      smallestActive = Math.min(smallestActive, Math.abs(xj));
    } else {
      const b = penalty.threshold(j);
      if (b > 0) margin = Math.min(margin, penalty.slack(j, xj, c[j]) / b);
    }
  }
  const objective = 0.5 * dot(r, r) + penalty.value(x);
  const dual = dualObjective(penalty, problem.y, r, c, undefined, c.length, offset);
  return {
    objective,
    dualityGap: Math.max(0, objective - dual),
    kktViolation: kkt,
    complementarityMargin: margin,
    smallestActive,
  };
}

/**
 * D(θ) = yᵀθ − ½‖θ‖² − Σ_j g_j*(a_jᵀθ) at θ = r/s, s = max(1, max_j dualScale(j, c_j)) (the
 * smallest scaling that puts θ in the domain of every g_j*). With `indices`, only the features
 * indices[0..count) enter (a working-set sub-problem); c is indexed by feature either way.
 * With constraints Cx = d, the Lagrangian dual at (θ, ν)/s: c = Aᵀr − Cᵀν and offset = νᵀd enters
 * as −νᵀd/s (min_x ½‖Ax − y‖² + g(x) + νᵀ(Cx − d) ≥ this, by Fenchel duality).
 * With bounds (g boxed), also at the larger s the unbounded g would need: the box's conjugate at
 * c_j a rounding above l1·w_j is (c_j − l1·w_j)·bound, huge for a far bound (1e15), while that
 * scaling brings c_j back to l1·w_j. Every s gives a lower bound: the larger of the two is kept.
 */
export function dualObjective(penalty: SeparablePenalty, y: Float64Array, r: Float64Array, c: Float64Array, indices?: Int32Array, count = c.length, offset = 0): number {
  const inner = penalty instanceof BoxedPenalty ? penalty.inner : null;
  let s = 1, open = 1;
  for (let t = 0; t < count; t++) {
    const j = indices ? indices[t] : t;
    s = Math.max(s, penalty.dualScale(j, c[j]));
    if (inner) open = Math.max(open, inner.dualScale(j, c[j]));
  }
  const at = scaledDual(penalty, y, r, c, indices, count, offset, s);
  return open > s ? Math.max(at, scaledDual(penalty, y, r, c, indices, count, offset, open)) : at;
}

/** D at θ = r/s (see dualObjective). */
function scaledDual(penalty: SeparablePenalty, y: Float64Array, r: Float64Array, c: Float64Array, indices: Int32Array | undefined, count: number, offset: number, s: number): number {
  let conjugates = 0;
  for (let t = 0; t < count; t++) {
    const j = indices ? indices[t] : t;
    conjugates += penalty.conjugate(j, c[j] / s);
  }
  return (dot(y, r) - offset) / s - (0.5 * dot(r, r)) / (s * s) - conjugates;
}

/** r ← y − A x and c ← Aᵀ r: the two products every certificate needs. */
export function residualAndCorrelation(problem: Problem, x: Float64Array, r: Float64Array, c: Float64Array): void {
  problem.A.apply(x, r);
  const y = problem.y;
  for (let i = 0; i < r.length; i++) r[i] = y[i] - r[i];
  problem.A.applyT(r, c);
}

/** The certificate of x from scratch (two products with A). */
export function certify(problem: Problem, x: Float64Array, penalty: SeparablePenalty = penaltyOf(problem)): Certificate {
  requireProblem(problem);
  const r = new Float64Array(problem.A.rows), c = new Float64Array(problem.A.cols);
  residualAndCorrelation(problem, x, r, c);
  return certificate(problem, x, r, c, penalty);
}

/**
 * A KKT violation above this fraction of the penalty's scale (max_j l1·w_j + l2|x_j|) means x's
 * active set is not the solution's, whatever the gap says: with a very large l2 the gap of
 * x = 0 is tiny while every feature above its threshold should be active. Converged solutions
 * measured on the fixtures and bench problems stay below 3e-3 at tol 1e-8, unpolished.
 */
const KKT_RELATIVE = 1e-2;

/** max_j (l1·w_j + g_j''·|x_j|): the size of the penalty's subgradients at x. */
export function penaltyScale(penalty: SeparablePenalty, x: Float64Array): number {
  let scale = 0;
  for (let j = 0; j < x.length; j++) scale = Math.max(scale, penalty.threshold(j) + penalty.supportCurvature(j) * Math.abs(x[j]));
  return scale;
}

/**
 * The stopping rule every solver and the final verdict share: duality gap ≤ tol·‖y‖² and a KKT
 * violation small next to the penalty's scale (so `converged` never contradicts the certificate).
 */
export function meetsTolerance(cert: Certificate, penalty: SeparablePenalty, x: Float64Array, gapTarget: number): boolean {
  return cert.dualityGap <= gapTarget && cert.kktViolation <= KKT_RELATIVE * penaltyScale(penalty, x);
}

/**
 * The certificate of x with multipliers ν (one per row of C; empty without constraints) under
 * `penalty`, by default the problem's own (penaltyOf; then remembered, see lastProducts): the
 * Lagrangian dual at (r, ν)/s (dualObjective), the KKT violation of Aᵀ(Ax − y) + ∂g(x) + Cᵀν ∋ 0
 * with the bounds' normal cones (g boxed), and the feasibility residual ‖Cx − d‖₂.
 */
export function constrainedCertificate(problem: Problem, x: Float64Array, nu: Float64Array, penalty?: SeparablePenalty): Certificate {
  requireProblem(problem);
  if (penalty) {
    const { r, c } = lagrangianProducts(problem, x, nu);
    return certificateWith(problem, x, nu, r, c, penalty);
  }
  const last = rememberedProducts(problem, x, nu);
  last.cert ??= certificateWith(problem, x, nu, last.r, last.c, penaltyOf(problem));
  return { ...last.cert };
}

/**
 * c = Aᵀ(y − Ax) − Cᵀν (−∇ of the Lagrangian's smooth part: inactive j need c_j ∈ ∂g_j(x_j)),
 * a copy of the products constrainedCertificate remembers for (x, ν): a caller that certified a
 * point and then reads its violators pays the two products with A once.
 */
export function lagrangianCorrelation(problem: Problem, x: Float64Array, nu: Float64Array): Float64Array {
  return Float64Array.from(rememberedProducts(problem, x, nu).c);
}

/**
 * The products of the last (x, ν) of each problem, with copies of (x, ν) and, once asked for,
 * its certificate under the problem's own penalty: a solver that certified its answer and the
 * driver that certifies the same answer again share the two products with A (problems are not
 * changed after creation).
 */
const lastProducts = new WeakMap<Problem, { x: Float64Array; nu: Float64Array; r: Float64Array; c: Float64Array; cert?: Certificate }>();

function rememberedProducts(problem: Problem, x: Float64Array, nu: Float64Array): { r: Float64Array; c: Float64Array; cert?: Certificate } {
  const last = lastProducts.get(problem);
  if (last && sameValues(last.x, x) && sameValues(last.nu, nu)) return last;
  const entry = { x: Float64Array.from(x), nu: Float64Array.from(nu), ...lagrangianProducts(problem, x, nu) };
  lastProducts.set(problem, entry);
  return entry;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** r = y − Ax and c = Aᵀr − Cᵀν (c = Aᵀr without constraints). */
function lagrangianProducts(problem: Problem, x: Float64Array, nu: Float64Array): { r: Float64Array; c: Float64Array } {
  const r = new Float64Array(problem.A.rows), c = new Float64Array(problem.A.cols);
  residualAndCorrelation(problem, x, r, c);
  const C = problem.constraints?.C;
  if (C) {
    const ctnu = C.applyT(nu, new Float64Array(C.cols));
    for (let j = 0; j < c.length; j++) c[j] -= ctnu[j];
  }
  return { r, c };
}

function certificateWith(problem: Problem, x: Float64Array, nu: Float64Array, r: Float64Array, c: Float64Array, penalty: SeparablePenalty): Certificate {
  if (!problem.constraints) return certificate(problem, x, r, c, penalty);
  const cert = certificate(problem, x, r, c, penalty, dot(nu, problem.constraints.d));
  return { ...cert, feasibilityResidual: feasibilityResidual(problem, x) };
}

/** ‖Cx − d‖₂ (problems with constraints). */
export function feasibilityResidual(problem: Problem, x: Float64Array): number {
  const { C, d } = problem.constraints!;
  const cx = C.apply(x, new Float64Array(C.rows));
  let rr = 0;
  for (let i = 0; i < cx.length; i++) rr += (cx[i] - d[i]) ** 2;
  return Math.sqrt(rr);
}

/**
 * max_i |(Cx − d)_i| / (|d_i| + Σ_j |C_ij x_j|): each row's residual on the scale of the terms
 * it is made of (rows of very different sizes are each held to their own; rounding alone
 * leaves about 1e-16). A row whose terms all vanish is satisfied exactly. 0 without constraints.
 */
export function relativeInfeasibility(problem: Problem, x: Float64Array): number {
  const constraints = problem.constraints;
  if (!constraints) return 0;
  const { C, d } = constraints;
  let worst = 0;
  for (let i = 0; i < C.rows; i++) {
    let s = -d[i], size = Math.abs(d[i]);
    for (let j = 0; j < C.cols; j++) {
      const t = C.data[j * C.rows + i] * x[j];
      s += t;
      size += Math.abs(t);
    }
    if (size > 0) worst = Math.max(worst, Math.abs(s) / size);
  }
  return worst;
}
