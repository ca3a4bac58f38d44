import { InputError, NumericalError } from "../errors.js";
import { ActiveSetMatrix } from "../kkt/active-set.js";
import { normInf } from "../linalg/vector.js";
import { hasColumns, type ColumnOperator } from "../operators/operator.js";
import { L1Penalty } from "../penalties/index.js";
import { requireBasisPursuitProblem, requireProblem, type Problem } from "../problem.js";
import { tvMethod } from "./basis-pursuit-tv.js";
import { bregmanIteration, bregmanSettings, gapFields, type BasisPursuitOptions, type BpCandidate, type BregmanMethod } from "./bregman.js";
import { coordinateDescent } from "./coordinate-descent.js";
import { runSolver, supportOf, withIntercept } from "./driver.js";
import type { Solution } from "./solution.js";

export { BP_MAX_STEPS, MU_RATIO, type BasisPursuitOptions } from "./bregman.js";

/**
 * Basis pursuit, min l1 Σ_j w_j|x_j| subject to Ax = y, by the Bregman iteration (bregman.ts)
 * with Lasso sub-problems min t·l1 Σ w_j|x_j| + ½‖Ax − b^k‖², each by working-set coordinate
 * descent warm-started from x^{k−1}. For l1 the iterates reach a basis-pursuit solution in
 * finitely many steps; here each step ends with an exact finish that usually stops the iteration
 * at once: on the support S of x^k, x_S solves A_S x_S = y (normal equations A_SᵀA_S x_S = A_Sᵀy,
 * dense Cholesky), and the Lasso's optimality gives a dual point for free,
 * w_B = (b^k − Ax^k)/t with |a_jᵀw_B| ≤ l1 w_j and a_jᵀw_B = l1 w_j s_j on S.
 * Projected onto {A_Sᵀw = l1 w_S∘s_S} it certifies x: l1‖x‖₁ = yᵀw when Ax = y, so x is optimal
 * as soon as w is dual feasible (‖Aᵀw‖∞ ≤ l1, weighted |a_jᵀw| ≤ l1 w_j).
 */
/**
 * The Lasso sub-problems' tolerance (at most the solve's own): coordinate descent polishes its
 * answer on the support, so 1e-6 and 1e-10 measured the same steps and time.
 */
const SUB_TOL = 1e-10;
/**
 * The exact finish first drops coefficients below this fraction of the largest (what a Lasso
 * support holds beyond the basis-pursuit one comes out of the least squares at rounding level),
 * then, when that candidate does not certify, tries again dropping only sign changes.
 */
const DROP = 1e-12;
/** Rounds of dropping and re-solving in the exact finish. */
const FINISH_ROUNDS = 4;

/**
 * Solve a basis-pursuit problem (`basisPursuit: true`); `maxIter` caps the Bregman steps. With tv
 * the penalty is l1‖x‖₁ + tv‖Dx‖₁ (basis-pursuit-tv.ts), else the weighted l1 norm (below).
 */
export function solveBasisPursuit(problem: Problem, options: BasisPursuitOptions = {}): Solution {
  const started = performance.now();
  requireProblem(problem);
  if (!problem.basisPursuit) throw new InputError("solver", "basis-pursuit solves problems with basisPursuit: true (min R(x) subject to Ax = y)");
  requireBasisPursuitProblem(problem);
  const settings = bregmanSettings(options);
  const method = problem.penalty.tv > 0 ? tvMethod(problem, settings.tol) : l1Method(problem, settings.tol);
  return withIntercept(bregmanIteration(problem, method, settings, started), problem);
}

/** Weighted l1: Lasso sub-problems by coordinate descent, the exact finish on the support. */
function l1Method(problem: Problem, tol: number): BregmanMethod {
  const { A, y, grid } = problem;
  if (!hasColumns(A)) throw new InputError("A", "basis pursuit needs column access (columnDot, columnAxpy, ...): pass A as a matrix");
  const { l1, weights } = problem.penalty;
  const penalty = new L1Penalty(l1, weights);
  const subTol = Math.min(tol, SUB_TOL);
  const certify = (x: Float64Array, w: Float64Array) => certifyCandidate(problem, penalty, x, w);
  return {
    solver: "basis-pursuit",
    // λ_max/l1 = max_j |a_jᵀy|/(l1 w_j): the smallest t with x = 0.
    scaleMax: penalty.lambdaMax(A.applyT(y, new Float64Array(A.cols))) / l1,
    kinks: l1 * (weights ? normInf(weights) : 1),
    columnScale: Math.sqrt(normInf(A.columnNormsSquared())),
    subSolve: (b, t, x) => {
      const sub: Problem = { A, y: b, grid, penalty: { l1: t * l1, l2: 0, tv: 0, ...(weights && { weights }) } };
      return runSolver(coordinateDescent, sub, { tol: subTol, ...(x && { warmStart: x }) }).x;
    },
    finish: (x, wB, done) => {
      const candidates = exactFinish(problem, penalty, x, wB, DROP);
      if (!done(candidates)) candidates.push(...exactFinish(problem, penalty, x, wB, 0));
      return candidates;
    },
    certify,
    structure: (x) => [supportOf(penalty, x)],
  };
}

/**
 * Candidates from the support S of x: x_S from A_S x_S = y (least squares; exact when y is in the
 * range of A_S), after dropping the coefficients whose sign disagrees with x's or that are below
 * `drop`·max|x_S| (rounding-level values of features the basis-pursuit solution does not use) and
 * re-solving. Dual points: the projections of wB and of 0 (the minimum-norm one) onto
 * {w : A_Sᵀw = l1 w_S∘s_S}, w = w₀ + A_S (A_SᵀA_S)⁻¹ (l1 w_S∘s_S − A_Sᵀw₀). Empty when no support
 * settles, S is larger than m or A_S is rank-deficient.
 */
function exactFinish(problem: Problem, penalty: L1Penalty, x: Float64Array, wB: Float64Array, drop: number): BpCandidate[] {
  const A = problem.A as ColumnOperator;
  let support: number[] = [];
  for (let j = 0; j < x.length; j++) if (x[j] !== 0) support.push(j);
  for (let round = 0; round < FINISH_ROUNDS && support.length > 0 && support.length <= A.rows; round++) {
    let system: ActiveSetMatrix;
    try {
      system = new ActiveSetMatrix(A, support, new Float64Array(support.length), "cholesky");
    } catch (err) {
      if (err instanceof NumericalError) return []; // A_S rank-deficient: no unique x_S
      throw err;
    }
    const k = support.length;
    const xs = system.solve(system.applyColumnsT(problem.y, new Float64Array(k)));
    const floor = drop * normInf(xs);
    const kept = support.filter((j, a) => xs[a] * Math.sign(x[j]) > floor);
    if (kept.length < k) {
      support = kept;
      continue;
    }
    const out = new Float64Array(x.length);
    support.forEach((j, a) => (out[j] = xs[a]));
    return [wB, null].map((w0) => {
      const rhs = w0 ? system.applyColumnsT(w0, new Float64Array(k)) : new Float64Array(k);
      support.forEach((j, a) => (rhs[a] = penalty.threshold(j) * Math.sign(xs[a]) - rhs[a]));
      const w = system.applyColumns(system.solve(rhs), new Float64Array(A.rows));
      if (w0) for (let i = 0; i < w.length; i++) w[i] += w0[i];
      return certifyCandidate(problem, penalty, out, w);
    });
  }
  return [];
}

/**
 * The certificate of x against the dual point w of max yᵀw subject to |a_jᵀw| ≤ l1 w_j:
 * objective l1 Σ w_j|x_j|, gap objective − yᵀw/s with s = max(1, max_j |a_jᵀw|/(l1 w_j)) (w/s is
 * dual feasible, so the gap bounds objective − optimum for a feasible x), the stationarity
 * violation max_j dist(a_jᵀw, l1 w_j ∂|x_j|), the margin 1 − max_{x_j = 0} |a_jᵀw|/(l1 w_j),
 * and the primal residual ‖Ax − y‖/‖y‖.
 */
function certifyCandidate(problem: Problem, penalty: L1Penalty, x: Float64Array, w: Float64Array): BpCandidate {
  const { A } = problem;
  const c = A.applyT(w, new Float64Array(A.cols));
  let kkt = 0, scale = 1, inactive = 0, smallestActive = Infinity;
  for (let j = 0; j < x.length; j++) {
    kkt = Math.max(kkt, penalty.subdiffDistance(j, x[j], c[j]));
    const ratio = penalty.dualScale(j, Math.abs(c[j]));
    scale = Math.max(scale, ratio);
    if (x[j] !== 0) smallestActive = Math.min(smallestActive, Math.abs(x[j]));
    else inactive = Math.max(inactive, ratio);
  }
  const objective = penalty.value(x);
  return { x, w, objective, ...gapFields(problem, x, w, objective, scale), kktViolation: kkt, complementarityMargin: 1 - inactive, smallestActive };
}
