import { InputError, NumericalError } from "../errors.js";
import { ActiveSetMatrix } from "../kkt/active-set.js";
import { dot, norm2, normInf } from "../linalg/vector.js";
import { hasColumns, type ColumnOperator } from "../operators/operator.js";
import { L1Penalty } from "../penalties/index.js";
import { requireBasisPursuitPenalty, type Problem } from "../problem.js";
import { coordinateDescent } from "./coordinate-descent.js";
import { runSolver, withIntercept } from "./driver.js";
import { DEFAULT_TOL, type Solution, type SolveOptions } from "./solution.js";

/**
 * Basis pursuit, min l1 Σ_j w_j|x_j| subject to Ax = y, by the Bregman iteration (Yin, Osher,
 * Goldfarb, Darbon 2008, "Bregman iterative algorithms for l1-minimization with applications to
 * compressed sensing"): add the residual back to the data and solve a Lasso,
 *
 *   b¹ = y,   x^k = argmin μ Σ w_j|x_j| + ½‖Ax − b^k‖²,   b^{k+1} = b^k + (y − Ax^k),
 *
 * each Lasso by working-set coordinate descent warm-started from x^{k−1}. For l1 the iterates
 * reach a basis-pursuit solution in finitely many steps; here each step ends with an exact finish
 * that usually stops the iteration at once: on the support S of x^k, x_S solves A_S x_S = y
 * (normal equations A_SᵀA_S x_S = A_Sᵀy, dense Cholesky), and the Lasso's optimality gives a dual
 * point for free, w_B = (l1/μ)(b^k − Ax^k) with |a_jᵀw_B| ≤ l1 w_j and a_jᵀw_B = l1 w_j s_j on S.
 * Projected onto {A_Sᵀw = l1 w_S∘s_S} it certifies x: l1‖x‖₁ = yᵀw when Ax = y, so x is optimal
 * as soon as w is dual feasible (‖Aᵀw‖∞ ≤ l1, weighted |a_jᵀw| ≤ l1 w_j).
 */
/** `tol`: Ax = y within tol·‖y‖ and the gap within tol·objective; `maxIter`: Bregman steps; `polish: false` skips the exact finish. */
export interface BasisPursuitOptions extends SolveOptions {
  /** μ of the first Lasso sub-problem, as a fraction of λ_max = max_j |a_jᵀy|/w_j (default MU_RATIO). */
  muRatio?: number;
}

/**
 * μ: the first Lasso at MU_RATIO·λ_max (cheap: a small support), then MU_FACTOR times smaller
 * each step, down to MU_FLOOR·λ_max (a Bregman iteration with varying μ keeps its dual point:
 * b^{k+1} = y + (μ_{k+1}/μ_k)(b^k − Ax^k)). Measured on Gaussian problems from 30×120 to
 * 1000×5000 with up to m/5 non-zeros: a constant μ of 1e-2·λ_max needs 3.5 times the steps and
 * 5 times the time of 1e-3; below 1e-3 each Lasso nears interpolation (support ≈ m) and coordinate descent
 * crawls (50×200: 0.1 s per step at 1e-3 from a cold start, 0.36 s at 3e-4); starting at 1e-2
 * warm-starts that Lasso from the cheaper one. Most recoveries finish after the first or second step.
 */
export const MU_RATIO = 1e-2;
const MU_FACTOR = 0.1;
const MU_FLOOR = 1e-3;
/**
 * The Lasso sub-problems' tolerance (at most the solve's own): coordinate descent polishes its
 * answer on the support, so 1e-6 and 1e-10 measured the same steps and time.
 */
const SUB_TOL = 1e-10;
/** Default cap on Bregman steps (each one Lasso solve); recovery problems need a handful. */
export const BP_MAX_STEPS = 100;
/**
 * y is declared outside the range of A (no x satisfies Ax = y) when the Bregman residual
 * e = y − Ax^k is numerically orthogonal to range(A): ‖Aᵀe‖∞ ≤ this·‖e‖·max‖a_j‖ while ‖e‖ is
 * not small. Then every x with ‖x − x^k‖₁ < ‖e‖/‖Aᵀ(e/‖e‖)‖∞ misses y by a positive distance.
 */
const ORTHOGONAL = 1e-9;
/**
 * The exact finish first drops coefficients below this fraction of the largest (what a Lasso
 * support holds beyond the basis-pursuit one comes out of the least squares at rounding level),
 * then, when that candidate does not certify, tries again dropping only sign changes.
 */
const DROP = 1e-12;
/** Rounds of dropping and re-solving in the exact finish. */
const FINISH_ROUNDS = 4;

/** The basis-pursuit certificate of (x, w): what proves x optimal and feasible. */
interface BpCandidate {
  x: Float64Array;
  w: Float64Array;
  objective: number;
  dualityGap: number;
  kktViolation: number;
  complementarityMargin: number;
  smallestActive: number;
  /** ‖Ax − y‖₂ (the Solution's field, as ‖Cx − d‖₂ for constraints). */
  feasibilityResidual: number;
  /** ‖Ax − y‖/‖y‖: what `tol` bounds. */
  primalResidual: number;
}

/** Solve a basis-pursuit problem (`basisPursuit: true`); `maxIter` caps the Bregman steps. */
export function solveBasisPursuit(problem: Problem, options: BasisPursuitOptions = {}): Solution {
  const started = performance.now();
  if (!problem.basisPursuit) throw new InputError("solver", "basis-pursuit solves problems with basisPursuit: true (min l1‖x‖₁ subject to Ax = y)");
  requireBasisPursuitPenalty(problem.penalty);
  const { A, y } = problem;
  if (!hasColumns(A)) throw new InputError("A", "basis pursuit needs column access (columnDot, columnAxpy, ...): pass A as a matrix");
  const tol = options.tol ?? DEFAULT_TOL;
  if (typeof tol !== "number" || !(tol >= 0) || !Number.isFinite(tol)) throw new InputError("options.tol", `expected a non-negative number, got ${tol}`);
  const maxIter = options.maxIter ?? BP_MAX_STEPS;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new InputError("options.maxIter", `expected a positive integer, got ${maxIter}`);
  const muRatio = options.muRatio ?? MU_RATIO;
  if (typeof muRatio !== "number" || !(muRatio > 0 && muRatio < 1)) throw new InputError("options.muRatio", `expected a number in (0, 1), got ${muRatio}`);

  const finish = options.polish ?? true;
  const m = A.rows, n = A.cols;
  const { l1, weights } = problem.penalty;
  const penalty = new L1Penalty(l1, weights);
  const yNorm = norm2(y);
  // The kink heights l1 w_j: the scale of the stationarity violation.
  const kinks = l1 * (weights ? normInf(weights) : 1);
  const report = (best: BpCandidate, iterations: number, reason?: string) => solutionOf(problem, best, meets(best, tol, kinks), iterations, started, reason);
  if (yNorm === 0) return report(certifyCandidate(problem, penalty, new Float64Array(n), new Float64Array(m)), 0);

  const lmax = penalty.lambdaMax(A.applyT(y, new Float64Array(n)));
  let mu = muRatio * lmax;
  const muFloor = Math.min(MU_FLOOR, muRatio) * lmax;
  const b = Float64Array.from(y);
  const ax = new Float64Array(m), e = new Float64Array(m), c = new Float64Array(n);
  const maxColumn = Math.sqrt(normInf(A.columnNormsSquared()));
  const subTol = Math.min(tol, SUB_TOL);
  let x = options.warmStart;
  let best: BpCandidate | null = null;
  for (let k = 1; k <= maxIter; k++) {
    const sub: Problem = { A, y: b, grid: problem.grid, penalty: { l1: mu, l2: 0, tv: 0, ...(weights && { weights }) } };
    x = runSolver(coordinateDescent, sub, { tol: subTol, ...(x && { warmStart: x }) }).x;
    A.apply(x, ax);
    // The Lasso's dual point, rescaled to l1: w_B = (l1/μ)(b − Ax), dual feasible by optimality.
    const wB = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      wB[i] = (l1 / mu) * (b[i] - ax[i]);
      e[i] = y[i] - ax[i];
    }
    const done = (list: BpCandidate[]) => list.some((cand) => meets(cand, tol, kinks));
    const candidates = finish ? exactFinish(problem, penalty, x, wB, DROP) : [];
    if (finish && !done(candidates)) candidates.push(...exactFinish(problem, penalty, x, wB, 0));
    if (!done(candidates)) candidates.push(certifyCandidate(problem, penalty, x, wB));
    best = candidates.reduce((a, cand) => (better(cand, a, tol, kinks) ? cand : a));
    if (meets(best, tol, kinks)) return report(best, k);
    const eNorm = norm2(e);
    if (eNorm > tol * yNorm && normInf(A.applyT(e, c)) <= ORTHOGONAL * eNorm * maxColumn) {
      throw new InputError("y", `expected y in the range of A: no x satisfies Ax = y (the least-squares residual ‖y − Ax‖/‖y‖ is about ${(eNorm / yNorm).toExponential(2)}; A is rank-deficient)`);
    }
    const rho = Math.max(MU_FACTOR, muFloor / mu);
    // b^{k+1} = y + (μ_{k+1}/μ_k)(b^k − Ax^k): the same dual point p^k = Aᵀ(b^k − Ax^k)/μ_k.
    for (let i = 0; i < m; i++) b[i] = y[i] + rho * (b[i] - ax[i]);
    mu *= rho;
  }
  return report(best!, maxIter, `Bregman step cap ${maxIter} reached`);
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
  const { A, y } = problem;
  const c = A.applyT(w, new Float64Array(A.cols));
  let kkt = 0, scale = 1, inactive = 0, smallestActive = Infinity;
  for (let j = 0; j < x.length; j++) {
    kkt = Math.max(kkt, penalty.subdiffDistance(j, x[j], c[j]));
    const ratio = penalty.dualScale(j, Math.abs(c[j]));
    scale = Math.max(scale, ratio);
    if (x[j] !== 0) smallestActive = Math.min(smallestActive, Math.abs(x[j]));
    else inactive = Math.max(inactive, ratio);
  }
  const r = A.apply(x, new Float64Array(A.rows));
  for (let i = 0; i < r.length; i++) r[i] -= y[i];
  const yNorm = norm2(y);
  const objective = penalty.value(x);
  return {
    x, w, objective,
    dualityGap: Math.max(0, objective - dot(y, w) / scale),
    kktViolation: kkt,
    complementarityMargin: 1 - inactive,
    smallestActive,
    feasibilityResidual: norm2(r),
    primalResidual: yNorm > 0 ? norm2(r) / yNorm : norm2(r),
  };
}

/**
 * Converged: Ax = y to tol relative, the gap within tol of the objective, and the stationarity
 * violation small next to the kinks l1 w_j (the rule of kkt/certificate.ts's meetsTolerance).
 */
function meets(cand: BpCandidate, tol: number, kinks: number): boolean {
  return cand.primalResidual <= tol && cand.dualityGap <= tol * cand.objective && cand.kktViolation <= 1e-2 * kinks;
}

/**
 * Which candidate to keep: one that meets the tolerance, then the larger complementarity margin
 * (the dual point that proves the most); among failing ones the smaller worst relative residual.
 */
function better(a: BpCandidate, b: BpCandidate, tol: number, kinks: number): boolean {
  const ma = meets(a, tol, kinks), mb = meets(b, tol, kinks);
  if (ma !== mb) return ma;
  if (ma) return a.complementarityMargin > b.complementarityMargin;
  return worst(a, kinks) < worst(b, kinks);
}

function worst(cand: BpCandidate, kinks: number): number {
  return Math.max(cand.primalResidual, cand.dualityGap / Math.max(cand.objective, Number.MIN_VALUE), cand.kktViolation / kinks);
}

/** The Solution of a certified candidate; multipliers ν = −w (stationarity l1 g + Aᵀν = 0). */
function solutionOf(problem: Problem, cand: BpCandidate, converged: boolean, iterations: number, started: number, reason?: string): Solution {
  const { x, w, primalResidual: _relative, ...certificate } = cand;
  const active: number[] = [], signs: number[] = [];
  for (let j = 0; j < x.length; j++) {
    if (x[j] !== 0) {
      active.push(j);
      signs.push(Math.sign(x[j]));
    }
  }
  const sol: Solution = {
    x, active, signs,
    structure: [{ kind: "support", active, signs }],
    penalty: { ...problem.penalty },
    ...certificate,
    multipliers: w.map((v) => -v),
    iterations,
    converged,
    solver: "basis-pursuit",
    seconds: (performance.now() - started) / 1000,
  };
  if (!converged) {
    const e = (v: number) => v.toExponential(3);
    sol.message = `${reason ?? "stopped"} (‖Ax − y‖/‖y‖ ${e(cand.primalResidual)}, duality gap ${e(cand.dualityGap)}, KKT violation ${e(cand.kktViolation)})`;
  }
  return withIntercept(sol, problem);
}
