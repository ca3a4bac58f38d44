import { activeSetSystem, type KktMethod } from "../kkt/active-set.js";
import { InputError, NumericalError } from "../errors.js";
import type { Penalty, Problem } from "../problem.js";
import type { Solution } from "../solvers/solution.js";
import type { Criterion } from "../criteria/criterion.js";

/** Below this complementarity margin (or relative smallest |x_j|) the active set is close to changing. */
export const BREAKPOINT_MARGIN = 1e-4;

export interface Hypergradient {
  /** dL/dl1 (with per-feature weights: l1 scales every λ_j = l1·w_j) */
  l1: number;
  /** dL/dl2 */
  l2: number;
  /** dL/dλ_j for the per-feature thresholds λ_j = l1·w_j: −v_j s_j on S, 0 off S. */
  perFeature: Float64Array;
  /** How the KKT system was solved. */
  method: KktMethod;
  /** True when the active set is within BREAKPOINT_MARGIN of changing: the derivative is one-sided there. */
  nearBreakpoint: boolean;
  warning?: string;
}

/**
 * Implicit differentiation on the active set (math.md, Lasso / Elastic Net). With
 * H = A_SᵀA_S + l2 I and the adjoint H v = (∇ₓL)_S (one solve for every hyperparameter):
 *   dL/dl1 = −vᵀ(w_S∘s),   dL/dl2 = −vᵀx_S,   dL/dλ_j = −v_j s_j.
 * Reads only (problem, solution): any solver's solution gives the same answer.
 */
export function implicitHypergradient(problem: Problem, solution: Solution, gradX: Float64Array): Hypergradient {
  checkSameProblem(problem, solution);
  const n = problem.A.cols;
  const perFeature = new Float64Array(n);
  const { active, signs, x } = solution;
  const warning = breakpointWarning(solution);
  if (active.length === 0) {
    return { l1: 0, l2: 0, perFeature, method: "cholesky", nearBreakpoint: warning !== undefined, ...(warning && { warning }) };
  }
  const system = activeSetSystem(problem, active);
  const gS = Float64Array.from(active, (j) => gradX[j]);
  const v = system.solve(gS);
  let l1 = 0, l2 = 0;
  const w = problem.penalty.weights;
  for (let a = 0; a < active.length; a++) {
    const j = active[a];
    perFeature[j] = -v[a] * signs[a];
    l1 += perFeature[j] * (w ? w[j] : 1);
    l2 -= v[a] * x[j];
  }
  return { l1, l2, perFeature, method: system.method, nearBreakpoint: warning !== undefined, ...(warning && { warning }) };
}

/**
 * As implicitHypergradient, but a singular KKT system (non-unique Lasso solution) gives NaN
 * derivatives with the diagnostic as `warning` instead of throwing: for loops that can step away.
 */
export function tryImplicitHypergradient(problem: Problem, solution: Solution, gradX: Float64Array): Hypergradient {
  try {
    return implicitHypergradient(problem, solution, gradX);
  } catch (e) {
    if (!(e instanceof NumericalError)) throw e;
    return { l1: NaN, l2: NaN, perFeature: new Float64Array(problem.A.cols).fill(NaN), method: "cholesky", nearBreakpoint: true, warning: e.message };
  }
}

/** Hypergradient of a criterion at a solution: ∇ₓL then one adjoint solve. */
export function hypergradient(problem: Problem, solution: Solution, criterion: Criterion): Hypergradient {
  return implicitHypergradient(problem, solution, criterion.gradient(solution.x, new Float64Array(problem.A.cols), solution.active));
}

/** dx/dl1 = −H⁻¹(w_S∘s) and dx/dl2 = −H⁻¹x_S on S, zero off S. */
export function solutionDerivatives(problem: Problem, solution: Solution): { dxdl1: Float64Array; dxdl2: Float64Array } {
  checkSameProblem(problem, solution);
  const n = problem.A.cols;
  const dxdl1 = new Float64Array(n), dxdl2 = new Float64Array(n);
  const { active, signs, x } = solution;
  if (active.length === 0) return { dxdl1, dxdl2 };
  const system = activeSetSystem(problem, active);
  const w = problem.penalty.weights;
  const d1 = system.solve(Float64Array.from(active, (j, a) => (w ? w[j] : 1) * signs[a]));
  const d2 = system.solve(Float64Array.from(active, (j) => x[j]));
  active.forEach((j, a) => {
    dxdl1[j] = -d1[a];
    dxdl2[j] = -d2[a];
  });
  return { dxdl1, dxdl2 };
}

function breakpointWarning(solution: Solution): string | undefined {
  const notes: string[] = [];
  if (!solution.converged) notes.push("the solve did not converge");
  if (solution.penalty.l1 > 0 && solution.complementarityMargin < BREAKPOINT_MARGIN) {
    notes.push(`an inactive feature is at its threshold (margin ${solution.complementarityMargin.toExponential(2)})`);
  }
  let xmax = 0;
  for (let j = 0; j < solution.x.length; j++) xmax = Math.max(xmax, Math.abs(solution.x[j]));
  if (solution.smallestActive < BREAKPOINT_MARGIN * xmax) {
    notes.push(`an active coefficient is nearly zero (${solution.smallestActive.toExponential(2)})`);
  }
  return notes.length ? `active set close to changing: ${notes.join("; ")}; the hypergradient is one-sided there` : undefined;
}

function checkSameProblem(problem: Problem, solution: Solution): void {
  const a: Penalty = problem.penalty, b = solution.penalty;
  if (solution.x.length !== problem.A.cols || a.l1 !== b.l1 || a.l2 !== b.l2 || a.weights !== b.weights) {
    throw new InputError("solution", "expected a solution of this problem with these penalties");
  }
}
