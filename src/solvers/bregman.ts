import { InputError } from "../errors.js";
import { norm2, normInf } from "../linalg/vector.js";
import type { Problem } from "../problem.js";
import { DEFAULT_TOL, type Solution, type SolveOptions, type StructurePart } from "./solution.js";

/**
 * The Bregman iteration for min R(x) subject to Ax = y, R a (semi)norm (Yin, Osher, Goldfarb,
 * Darbon 2008, "Bregman iterative algorithms for l1-minimization with applications to compressed
 * sensing"): add the residual back to the data and solve the penalised problem again,
 *
 *   b¹ = y,   x^k = argmin t_k R(x) + ½‖Ax − b^k‖²,   b^{k+1} = y + (t_{k+1}/t_k)(b^k − Ax^k),
 *
 * each sub-problem warm-started from x^{k−1} (a varying t keeps the dual point
 * p^k = Aᵀ(b^k − Ax^k)/t_k). The sub-problem's optimality gives a dual point for free,
 * w_B = (b^k − Ax^k)/t_k with Aᵀw_B ∈ ∂R(x^k); each step ends with an exact finish on the
 * structure of x^k (a support, constant pieces) that usually stops the iteration at once. What
 * R is (its sub-problem solver, finish and certificate) is a BregmanMethod: basis-pursuit.ts
 * (weighted l1) and basis-pursuit-tv.ts (l1 + tv).
 */
/** `tol`: Ax = y within tol·‖y‖ and the gap within tol·objective; `maxIter`: Bregman steps; `polish: false` skips the exact finish. */
export interface BasisPursuitOptions extends SolveOptions {
  /** t of the first sub-problem, as a fraction of the method's t_max (default MU_RATIO). */
  muRatio?: number;
}

/**
 * t: the first sub-problem at MU_RATIO·t_max (cheap: a small support), then MU_FACTOR times
 * smaller each step, down to MU_FLOOR·t_max. Measured for l1 on Gaussian problems from 30×120 to
 * 1000×5000 with up to m/5 non-zeros: a constant t of 1e-2·λ_max needs 3.5 times the steps and
 * 5 times the time of 1e-3; below 1e-3 each Lasso nears interpolation (support ≈ m) and coordinate descent
 * crawls (50×200: 0.1 s per step at 1e-3 from a cold start, 0.36 s at 3e-4); starting at 1e-2
 * warm-starts that Lasso from the cheaper one. Most recoveries finish after the first or second step.
 */
export const MU_RATIO = 1e-2;
const MU_FACTOR = 0.1;
const MU_FLOOR = 1e-3;
/** Default cap on Bregman steps (each one sub-problem solve); recovery problems need a handful. */
export const BP_MAX_STEPS = 100;
/**
 * y is declared outside the range of A (no x satisfies Ax = y) when the Bregman residual
 * e = y − Ax^k is numerically orthogonal to range(A): ‖Aᵀe‖∞ ≤ this·‖e‖·max‖a_j‖ while ‖e‖ is
 * not small. Then every x with ‖x − x^k‖₁ < ‖e‖/‖Aᵀ(e/‖e‖)‖∞ misses y by a positive distance.
 */
const ORTHOGONAL = 1e-9;
/**
 * Stop after STALL_STEPS steps at the smallest t in a row whose best candidate is not better
 * (worst relative residual) than STALL_PROGRESS times the last one (slow but steady progress,
 * as on small degenerate problems, goes on). Measured: the 64×64 phantom
 * from 30% of its DCT at tol 1e-9 stays at ‖Ax − y‖/‖y‖ = 3.9e-9, gap 1.2e-6 for 96 steps (2 minutes).
 */
const STALL_STEPS = 5;
const STALL_PROGRESS = 0.999;
/** Relative rounding of yᵀw: the gap of an x with objective 0 (a constant x under tv alone) is compared with this·‖y‖‖w‖. */
const ROUNDING = 1e-15;

/** The basis-pursuit certificate of (x, w): what proves x optimal and feasible. */
export interface BpCandidate {
  x: Float64Array;
  /** The dual point, max yᵀw subject to Aᵀw ∈ ∂R(0) (R's dual-norm ball). */
  w: Float64Array;
  objective: number;
  /** objective − yᵀw/s, w/s dual feasible: bounds objective − optimum for a feasible x. */
  dualityGap: number;
  /** What rounding leaves in the gap: ROUNDING·‖y‖‖w/s‖. */
  gapFloor: number;
  kktViolation: number;
  complementarityMargin: number;
  smallestActive: number;
  /** ‖Ax − y‖₂ (the Solution's field, as ‖Cx − d‖₂ for constraints). */
  feasibilityResidual: number;
  /** ‖Ax − y‖/‖y‖: what `tol` bounds. */
  primalResidual: number;
}

/** The gap's candidate fields from objective, yᵀw and the scale s that makes w dual feasible. */
export function gapFields(problem: Problem, x: Float64Array, w: Float64Array, objective: number, scale: number): Pick<BpCandidate, "dualityGap" | "gapFloor" | "feasibilityResidual" | "primalResidual"> {
  const { A, y } = problem;
  const r = A.apply(x, new Float64Array(A.rows));
  let yw = 0;
  for (let i = 0; i < r.length; i++) {
    r[i] -= y[i];
    yw += y[i] * w[i];
  }
  const yNorm = norm2(y), residual = norm2(r);
  return {
    dualityGap: Math.max(0, objective - yw / scale),
    gapFloor: (ROUNDING * yNorm * norm2(w)) / scale,
    feasibilityResidual: residual,
    primalResidual: yNorm > 0 ? residual / yNorm : residual,
  };
}

/** What a penalty R brings to the Bregman iteration. */
export interface BregmanMethod {
  readonly solver: string;
  /** t_max: a sub-problem weight at which its solution is trivial (x = 0, or a constant for tv alone). */
  readonly scaleMax: number;
  /** The size of R's subgradients (the l1 kinks, tv): the scale of the stationarity violation. */
  readonly kinks: number;
  /** max_j ‖a_j‖, or a lower bound (matrix-free A): the scale of the range test. */
  readonly columnScale: number;
  /** x^k = argmin t·R(x) + ½‖Ax − b‖², warm-started from x. */
  subSolve(b: Float64Array, t: number, x: Float64Array | undefined): Float64Array;
  /** Exact candidates on the structure of x, with dual points from w_B; `done` says when to stop trying. */
  finish(x: Float64Array, wB: Float64Array, done: (list: BpCandidate[]) => boolean): BpCandidate[];
  /** The certificate of x against the dual point w. */
  certify(x: Float64Array, w: Float64Array): BpCandidate;
  /** The solution's structure: the support first (active, signs), then R's own parts. */
  structure(x: Float64Array): StructurePart[];
}

/** Validated options of a basis-pursuit solve. */
export interface BregmanSettings {
  tol: number;
  maxIter: number;
  muRatio: number;
  finish: boolean;
  warmStart?: Float64Array;
}

export function bregmanSettings(options: BasisPursuitOptions): BregmanSettings {
  const tol = options.tol ?? DEFAULT_TOL;
  if (typeof tol !== "number" || !(tol >= 0) || !Number.isFinite(tol)) throw new InputError("options.tol", `expected a non-negative number, got ${tol}`);
  const maxIter = options.maxIter ?? BP_MAX_STEPS;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new InputError("options.maxIter", `expected a positive integer, got ${maxIter}`);
  const muRatio = options.muRatio ?? MU_RATIO;
  if (typeof muRatio !== "number" || !(muRatio > 0 && muRatio < 1)) throw new InputError("options.muRatio", `expected a number in (0, 1), got ${muRatio}`);
  return { tol, maxIter, muRatio, finish: options.polish !== false, ...(options.warmStart && { warmStart: options.warmStart }) };
}

/** Run the Bregman iteration of `method` on a basis-pursuit problem (settings from bregmanSettings). */
export function bregmanIteration(problem: Problem, method: BregmanMethod, settings: BregmanSettings, started: number): Solution {
  const { A, y } = problem;
  const { tol, maxIter, muRatio, finish } = settings;
  const m = A.rows, n = A.cols;
  const yNorm = norm2(y);
  const kinks = method.kinks;
  const report = (best: BpCandidate, iterations: number, reason?: string) => solutionOf(problem, method, best, meets(best, tol, kinks), iterations, started, reason);
  if (yNorm === 0) return report(method.certify(new Float64Array(n), new Float64Array(m)), 0);

  // Aᵀy = 0 with y ≠ 0: y is orthogonal to range(A).
  if (!(method.scaleMax > 0)) throw new InputError("y", "expected y in the range of A: no x satisfies Ax = y (Aᵀy = 0, y ≠ 0)");
  let t = muRatio * method.scaleMax;
  const tFloor = Math.min(MU_FLOOR, muRatio) * method.scaleMax;
  const b = Float64Array.from(y);
  const ax = new Float64Array(m), e = new Float64Array(m), c = new Float64Array(n);
  let x = settings.warmStart;
  let best: BpCandidate | null = null, stalled = 0;
  const done = (list: BpCandidate[]) => list.some((cand) => meets(cand, tol, kinks));
  for (let k = 1; k <= maxIter; k++) {
    x = method.subSolve(b, t, x);
    A.apply(x, ax);
    // The sub-problem's dual point, rescaled to R: w_B = (b − Ax)/t, dual feasible by optimality.
    const wB = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      wB[i] = (b[i] - ax[i]) / t;
      e[i] = y[i] - ax[i];
    }
    const candidates = finish ? method.finish(x, wB, done) : [];
    if (!done(candidates)) candidates.push(method.certify(x, wB));
    const previous = best;
    best = candidates.reduce((a, cand) => (better(cand, a, tol, kinks) ? cand : a));
    if (meets(best, tol, kinks)) return report(best, k);
    const eNorm = norm2(e);
    if (eNorm > tol * yNorm && normInf(A.applyT(e, c)) <= ORTHOGONAL * eNorm * method.columnScale) {
      throw new InputError("y", `expected y in the range of A: no x satisfies Ax = y (the least-squares residual ‖y − Ax‖/‖y‖ is about ${(eNorm / yNorm).toExponential(2)}; A is rank-deficient)`);
    }
    // At the smallest t each step should make progress; inexact sub-problems can stall it.
    stalled = t <= tFloor && previous && worst(best, kinks) > STALL_PROGRESS * worst(previous, kinks) ? stalled + 1 : 0;
    if (stalled >= STALL_STEPS) return report(best, k, `no progress in ${STALL_STEPS} Bregman steps (the sub-problems' accuracy limits it): use a larger tol`);
    const rho = Math.max(MU_FACTOR, tFloor / t);
    // b^{k+1} = y + (t_{k+1}/t_k)(b^k − Ax^k): the same dual point p^k = Aᵀ(b^k − Ax^k)/t_k.
    for (let i = 0; i < m; i++) b[i] = y[i] + rho * (b[i] - ax[i]);
    t *= rho;
  }
  return report(best!, maxIter, `Bregman step cap ${maxIter} reached`);
}

/**
 * Converged: Ax = y to tol relative, the gap within tol of the objective (or at rounding level),
 * and the stationarity violation small next to the kinks (the rule of kkt/certificate.ts's meetsTolerance).
 */
function meets(cand: BpCandidate, tol: number, kinks: number): boolean {
  return cand.primalResidual <= tol && cand.dualityGap <= Math.max(tol * cand.objective, cand.gapFloor) && cand.kktViolation <= 1e-2 * kinks;
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

/** The Solution of a certified candidate; multipliers ν = −w (stationarity g + Aᵀν = 0, g ∈ ∂R(x)). */
function solutionOf(problem: Problem, method: BregmanMethod, cand: BpCandidate, converged: boolean, iterations: number, started: number, reason?: string): Solution {
  const { x, w, primalResidual: _relative, gapFloor: _floor, ...certificate } = cand;
  const structure = method.structure(x);
  const support = structure[0] as Extract<StructurePart, { kind: "support" }>;
  const sol: Solution = {
    x, active: support.active, signs: support.signs, structure,
    penalty: { ...problem.penalty },
    ...certificate,
    multipliers: w.map((v) => -v),
    iterations,
    converged,
    solver: method.solver,
    seconds: (performance.now() - started) / 1000,
  };
  if (!converged) {
    const e = (v: number) => v.toExponential(3);
    sol.message = `${reason ?? "stopped"} (‖Ax − y‖/‖y‖ ${e(cand.primalResidual)}, duality gap ${e(cand.dualityGap)}, KKT violation ${e(cand.kktViolation)})`;
  }
  return sol;
}
