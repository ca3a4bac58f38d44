import { allFinite, normInf, requireVector } from "../linalg/vector.js";
import { InputError, NumericalError } from "../errors.js";
import { kktSystem } from "../kkt/index.js";
import { declaredHyperparameters, objectiveValue } from "../penalties/index.js";
import type { KktMethod, KktSystem } from "../kkt/system.js";
import { implicitAdjoint, implicitJacobian } from "./optimality.js";
import { refuseBasisPursuit, requireProblem, type Problem } from "../problem.js";
import { wasSolvedFor, type Solution } from "../solvers/solution.js";
import { gradientSupport, type Criterion } from "../criteria/criterion.js";
import { HeldOutMse } from "../criteria/heldout.js";

/** Below this complementarity margin (or relative smallest |x_j|) the active set is close to changing. */
export const BREAKPOINT_MARGIN = 1e-4;

/** dL/dθ by hyperparameter name: a number, or one value per feature (length n, 0 off the support). */
export type HyperGradient = Record<string, number | Float64Array>;

export interface Hypergradient {
  /** dL/dθ for every hyperparameter the problem's penalties declare, by name. */
  gradient: HyperGradient;
  /** dL/dl1 (0 when the problem has no l1). */
  l1: number;
  /** dL/dl2 (the derivative at the current l2, also when l2 = 0). */
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
 * Implicit differentiation through the KKT system F(x_S, θ) = 0 of (problem, solution), for any
 * problem class: the generic adjoint (diff/optimality.ts) on the system, one solve Jᵀv = (∇ₓL)_S,
 * then dL/dθ = −vᵀ ∂F/∂θ for every hyperparameter θ (a per-feature θ: one entry per support
 * feature, zero off the support). Reads only (problem, solution): any solver's solution gives
 * the same answer.
 */
export function implicitGradient(system: KktSystem, gradX: Float64Array, names: readonly string[], n: number): HyperGradient {
  if (typeof system?.restrict !== "function" || typeof system.expand !== "function") throw new InputError("system", "expected a KKT system (kktSystem(problem, solution))");
  requireVector("gradX", gradX, n);
  const { gradient } = implicitAdjoint(system, system.restrict(gradX), names);
  for (const name of names) {
    const g = gradient[name];
    if (!(g instanceof Float64Array)) continue;
    const full = new Float64Array(n); // per feature: entry a is θ_{support[a]}
    system.support.forEach((j, a) => (full[j] = g[a]));
    gradient[name] = full;
  }
  return gradient;
}

/** Hypergradient of L at a solution from ∇ₓL(x): the generic routine on the problem's KKT system. */
export function implicitHypergradient(problem: Problem, solution: Solution, gradX: Float64Array): Hypergradient {
  checkSameProblem(problem, solution);
  if (!(gradX instanceof Float64Array) || gradX.length !== problem.A.cols || !allFinite(gradX)) throw new InputError("gradX", `expected a Float64Array of ${problem.A.cols} finite numbers (∇ₓL at the solution)`);
  const warning = breakpointWarning(solution);
  const { system, names } = kktSystem(problem, solution);
  let gradient: HyperGradient;
  try {
    gradient = implicitGradient(system, gradX, names, problem.A.cols);
  } catch (e) {
    // A singular system at an unconverged point says nothing about the solution's uniqueness.
    if (e instanceof NumericalError && !solution.converged) {
      throw new NumericalError(`the solve did not converge (${solution.message ?? "no certificate"}), so its support is not the solution's: ${e.message.split(";")[0]}; raise the iteration cap or loosen tol`);
    }
    throw e;
  }
  const scalar = (name: string) => (typeof gradient[name] === "number" ? (gradient[name] as number) : 0);
  return {
    gradient,
    l1: scalar("l1"),
    l2: scalar("l2"),
    perFeature: thresholdGradient(problem, gradient),
    method: system.method,
    nearBreakpoint: warning !== undefined,
    ...(warning && { warning }),
  };
}

/**
 * dL/dλ_j for the per-feature thresholds λ_j = l1·w_j: dL/dw_j = l1·dL/dλ_j (penalties/l1.ts),
 * so dL/dλ_j = (dL/dw_j)/l1; zero when the problem has no l1.
 */
function thresholdGradient(problem: Problem, gradient: HyperGradient): Float64Array {
  const dw = gradient.weights, l1 = problem.penalty.l1;
  if (!(dw instanceof Float64Array) || !(l1 > 0)) return new Float64Array(problem.A.cols);
  return dw.map((g) => g / l1);
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
    const gradient: HyperGradient = Object.fromEntries(declaredHyperparameters(problem).map((h) => [h.name, h.shape === "scalar" ? NaN : new Float64Array(problem.A.cols).fill(NaN)]));
    return { gradient, l1: NaN, l2: NaN, perFeature: new Float64Array(problem.A.cols).fill(NaN), method: "cholesky", nearBreakpoint: true, warning: e.message };
  }
}

/** Hypergradient of a criterion at a solution: ∇ₓL on the support, then one adjoint solve. */
export function hypergradient(problem: Problem, solution: Solution, criterion: Criterion): Hypergradient {
  checkSameProblem(problem, solution);
  if (typeof criterion !== "object" || criterion === null || typeof criterion.gradient !== "function") throw new InputError("criterion", "expected a criterion (HeldOutMse.of(problem), Sure, ...) with value and gradient");
  const foreign = `expected a criterion of this problem (its gradient at the solution is not finite: built for another A with ${problem.A.cols} columns?)`;
  if (criterion instanceof HeldOutMse && criterion.validation.A.cols !== problem.A.cols) throw new InputError("criterion", foreign);
  const gradX = criterion.gradient(solution.x, new Float64Array(problem.A.cols), gradientSupport(problem, solution));
  if (!allFinite(gradX)) throw new InputError("criterion", foreign);
  return implicitHypergradient(problem, solution, gradX);
}

/** dx/dθ = −J⁻¹ ∂F/∂θ on the support, zero off it, for every scalar hyperparameter (dx/dl1, dx/dl2, ...): the generic forward mode. */
export function solutionDerivatives(problem: Problem, solution: Solution): Record<string, Float64Array> & { dxdl1: Float64Array; dxdl2: Float64Array } {
  checkSameProblem(problem, solution);
  const n = problem.A.cols;
  const { system, names } = kktSystem(problem, solution);
  const scalars = names.filter((name) => system.parameterJacobian(name)?.shape === "scalar");
  const { derivatives } = implicitJacobian(system, scalars);
  const out: Record<string, Float64Array> = {};
  for (const name of scalars) out[`dxd${name}`] = system.expand(derivatives[name], new Float64Array(n));
  return out as Record<string, Float64Array> & { dxdl1: Float64Array; dxdl2: Float64Array };
}

function breakpointWarning(solution: Solution): string | undefined {
  const notes: string[] = [];
  if (!solution.converged) notes.push("the solve did not converge");
  if ((solution.penalty.l1 > 0 || solution.penalty.tv > 0) && solution.complementarityMargin < BREAKPOINT_MARGIN) {
    notes.push(`an inactive ${solution.penalty.tv > 0 ? "edge or feature" : "feature"} is at its threshold (margin ${solution.complementarityMargin.toExponential(2)})`);
  }
  if (solution.smallestActive < BREAKPOINT_MARGIN * normInf(solution.x)) {
    notes.push(`an active ${solution.penalty.tv > 0 ? "jump or coefficient" : "coefficient"} is nearly zero (${solution.smallestActive.toExponential(2)})`);
  }
  return notes.length ? `active set close to changing: ${notes.join("; ")}; the hypergradient is one-sided there` : undefined;
}

/**
 * The solution must be of this problem: same size, same penalty values, and (checked cheaply)
 * its certificate must still hold for this problem's data, so a solution of another problem of
 * the same size is refused. A solution runSolver made for this very problem object passes.
 */
function checkSameProblem(problem: Problem, solution: Solution): void {
  requireProblem(problem);
  if (typeof solution !== "object" || solution === null || !(solution.x instanceof Float64Array) || typeof solution.penalty !== "object" || solution.penalty === null) {
    throw new InputError("solution", "expected a Solution from solve()");
  }
  refuseBasisPursuit(problem, "hypergradients");
  const a = problem.penalty, b = solution.penalty;
  if (solution.x.length !== problem.A.cols || a.l1 !== b.l1 || a.l2 !== b.l2 || a.tv !== b.tv || !sameWeights(a.weights, b.weights)) {
    throw new InputError("solution", "expected a solution of this problem with these penalties");
  }
  if (wasSolvedFor(solution, problem)) return;
  const objective = objectiveValue(problem, solution.x);
  if (!(Math.abs(objective - solution.objective) <= 1e-8 * Math.max(1, Math.abs(solution.objective)))) {
    throw new InputError("solution", `expected a solution of this problem (its objective ${solution.objective.toPrecision(6)} is ${objective.toPrecision(6)} on this problem's data)`);
  }
}

function sameWeights(a: Float64Array | undefined, b: Float64Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}
