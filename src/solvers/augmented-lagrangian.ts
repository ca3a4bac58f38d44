import { InputError } from "../errors.js";
import { activeSetNewton, constraintRows } from "../kkt/bordered.js";
import { constrainedCertificate, meetsTolerance, relativeInfeasibility } from "../kkt/certificate.js";
import { dot, norm2Robust } from "../linalg/vector.js";
import { DenseMatrix } from "../operators/dense.js";
import { hasColumns, type LinearOperator } from "../operators/operator.js";
import { augmentedStack } from "../operators/stacked.js";
import { penaltyTerms, type PenaltyTerms, type SeparablePenalty } from "../penalties/index.js";
import type { Problem } from "../problem.js";
import { coordinateDescent } from "./coordinate-descent.js";
import { exact, feasibilityTarget } from "./finish-constrained.js";
import { fista } from "./fista.js";
import type { IterativeSolver, StepOptions, StopTest } from "./protocol.js";
import { DEFAULT_TOL } from "./solution.js";

/** ρ grows tenfold when an outer step shrinks ‖Cx − d‖ by less than this factor. */
const FEASIBILITY_PROGRESS = 0.25;
const RHO_GROWTH = 10;
/** ρ stays within [ρ₀, RHO_MAX_RATIO·ρ₀]: beyond, the inner problems are too ill-conditioned to help. */
const RHO_MAX_RATIO = 1e6;
/**
 * Infeasible (no x in the box with Cx = d): at the largest ρ, STALL_STEPS outer steps in a row
 * without halving a relative residual still above INFEASIBLE_LEVEL.
 */
const STALL_STEPS = 4;
const INFEASIBLE_LEVEL = 1e-6;
/**
 * Relative gap of the first inner solve (ν = 0), which only seeds the free set of the active-set
 * Newton method (measured on cs-1000x5000 with x ≥ 0 and 5 constraints: 1e-3 and 3e-4 as fast,
 * the violators' entry does the rest).
 */
const FIRST_SOLVE_TOL = 1e-4;
/** The polish's x must meet Cx = d to this (relative) for its free set's multipliers to be used. */
const NEWTON_FEASIBLE = 1e-8;
/** Inner iteration cap per outer step (the inner solver's own iterations). */
const INNER_MAX_ITER = 1000;
/**
 * Inner step cap per outer step: coordinate descent counts an iteration per working-set solve
 * (up to 2000 epochs, each a step), so the iteration cap alone allows millions of epochs when
 * the inner gap target sits below the inner problem's rounding (d of 1e20 next to y of 1).
 */
const INNER_MAX_STEPS = 20000;

interface AlmContext {
  problem: Problem;
  /** The boxed penalty (certificates and the polish). */
  penalty: SeparablePenalty;
  inner: IterativeSolver<unknown, unknown>;
  /** The rows R of C in use (redundant ones dropped), their norms ‖c_i‖, and C_R, d_R with every row divided by its norm. */
  rows: Int32Array;
  rowNorms: Float64Array;
  CR: DenseMatrix;
  dR: Float64Array;
  /** [A; √ρ C_R] at stackScale = √ρ (rebuilt, sharing A, when ρ changes). */
  stacked: LinearOperator;
  stackScale: number;
  rho0: number;
  gapTarget: number;
  /** ‖y‖² */
  yy: number;
  feasTarget: number;
  polish: boolean;
  // workspace
  innerY: Float64Array;
  cx: Float64Array;
}

/** The iterate, the multipliers (one per row of C; 0 on redundant rows) and ρ. */
export interface AlmState {
  x: Float64Array;
  nu: Float64Array;
  rho: number;
  iterations: number;
  innerIterations: number;
  /** Relative ‖Cx − d‖ after the last step (relativeInfeasibility). */
  infeasibility: number;
  stalled: number;
  /** Take the multipliers of the bordered polish (a Newton step on the dual) while they help. */
  newton: boolean;
  /** The last multiplier update was the Newton one. */
  newtonLast: boolean;
  stop: StopTest;
}

/**
 * Augmented Lagrangian (method of multipliers) for min ½‖Ax − y‖² + g(x) s.t. Cx = d, with g
 * boxed by the bounds. Each step minimises, warm-started from the last x,
 *
 *   ½‖Ax − y‖² + g(x) + ρ/2‖C_R x − d_R + ν_R/ρ‖²  =  ½‖[A; √ρC_R]x − [y; √ρ(d_R − ν_R/ρ)]‖² + g(x)
 *
 * with C_R, d_R every row divided by its norm ‖c_i‖ (rows of any scale weigh alike, ν_R in those
 * units is ν_i‖c_i‖), with the existing solver on the stacked measurements (coordinate descent when A is dense,
 * FISTA otherwise; A is never copied: operators/stacked.ts), then ν_R ← ν_R + ρ(C_R x − d_R),
 * and ρ ← 10ρ when ‖Cx − d‖ fell by less than 4× (ρ₀: balancedRho). After every inner solve
 * the bordered Newton step on the free set is tried, with the features whose KKT condition it
 * violates entering the free set for a few rounds (activeSetNewton, kkt/bordered.ts): once the
 * free set is the solution's it gives (x, ν) to rounding and the loop stops (cs-1000x5000 with
 * x ≥ 0 and 5 constraints: after the first inner solve, whose support has 90 features of the
 * solution's 102); otherwise its ν, the exact multipliers of that free set (a Newton step on
 * the dual function), replaces the first-order update for as long as the feasibility residual
 * keeps falling. The loop also stops on the
 * certificate (gap, stationarity with ν) and feasibility. Redundant rows of C are left out
 * (ν = 0 there); a residual that stalls at the largest ρ means infeasible bounds.
 */
export const augmentedLagrangian: IterativeSolver<AlmContext, AlmState> = {
  name: "alm",
  capabilities: { penalties: ["l1", "l2", "elastic-net"], constraints: true, bounds: true, needsColumns: false },
  defaultMaxIter: 100,
  setup,
  step,
  test: (_context, state) => state.stop,
  iterate: (state) => state.x,
  iterations: (state) => state.iterations,
  multipliers: (_context, state) => state.nu,
};

function setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: AlmContext; state: AlmState } {
  const rows = constraintRows(problem);
  const p = rows.length, n = problem.A.cols;
  const C = problem.constraints?.C;
  const cR = new Float64Array(p * n), rowNorms = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    const row = C!.row(rows[a]);
    rowNorms[a] = norm2Robust(row);
    for (let j = 0; j < n; j++) cR[j * p + a] = row[j] / rowNorms[a];
  }
  const CR = new DenseMatrix(p, n, cR);
  // ‖a_j‖² once: ρ₀ and the stacked operator's column norms share this pass over A.
  const aNorms = hasColumns(problem.A) ? problem.A.columnNormsSquared() : null;
  const rho0 = balancedRho(problem.A, aNorms, CR);
  const yy = dot(problem.y, problem.y);
  const tol = typeof options.tol === "number" ? options.tol : yy > 0 ? options.gapTarget / yy : DEFAULT_TOL;
  const context: AlmContext = {
    problem, penalty: terms.separable!, rows, rowNorms, CR, dR: Float64Array.from(rows, (i, a) => problem.constraints!.d[i] / rowNorms[a]),
    inner: (hasColumns(problem.A) && problem.A instanceof DenseMatrix ? coordinateDescent : fista) as IterativeSolver<unknown, unknown>,
    stacked: augmentedStack(problem.A, CR, Math.sqrt(rho0), undefined, aNorms ?? undefined), stackScale: Math.sqrt(rho0),
    rho0, gapTarget: options.gapTarget, yy, feasTarget: feasibilityTarget(tol), polish: options.polish !== false,
    innerY: new Float64Array(problem.A.rows + p), cx: new Float64Array(p),
  };
  const state: AlmState = {
    x: Float64Array.from(x0), nu: new Float64Array(C?.rows ?? 0), rho: rho0, iterations: 0, innerIterations: 0,
    infeasibility: Infinity, stalled: 0, newton: true, newtonLast: false, stop: { done: false, gap: Infinity },
  };
  return { context, state };
}

/**
 * ρ₀ = (‖A‖_F²/m) / (‖C_R‖_F²/p) (= ‖A‖_F²/m on the normalised rows): the mean squared row norms of the two blocks alike, so that
 * the p rows of √ρC weigh like rows of A (a dense row of C has a norm of order √n times a
 * column's: balancing columns instead made the stacked problem 1000× worse conditioned on
 * cs-1000x5000). ‖A‖_F² from the column norms, or n·‖A·1‖²/n for a matrix-free A.
 */
function balancedRho(A: LinearOperator, aNorms: Float64Array | null, CR: DenseMatrix): number {
  if (CR.rows === 0) return 1;
  const aF = aNorms ? sum(aNorms) : (() => {
    const v = A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows));
    return dot(v, v);
  })();
  const cF = sum(CR.columnNormsSquared());
  return aF > 0 && cF > 0 ? aF / A.rows / (cF / CR.rows) : 1;
}

function sum(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** One outer step: the inner solve, the multiplier update, ρ, the polish and the stopping test. */
function step(context: AlmContext, state: AlmState): void {
  const { problem, rows, rowNorms, CR, dR, innerY, cx } = context;
  const m = problem.A.rows, p = rows.length;
  const scale = Math.sqrt(state.rho);
  if (context.stackScale !== scale) {
    context.stacked = augmentedStack(problem.A, CR, scale, context.stacked);
    context.stackScale = scale;
  }
  innerY.set(problem.y);
  // On the normalised rows the multipliers are ν_i‖c_i‖.
  for (let a = 0; a < p; a++) innerY[m + a] = scale * (dR[a] - (state.nu[rows[a]] * rowNorms[a]) / state.rho);
  innerSolve(context, state);
  const before = state.infeasibility;
  state.infeasibility = relativeInfeasibility(problem, state.x);
  state.iterations++;
  // Newton multipliers that did not cut ‖Cx − d‖ by a real factor: first-order updates from now on.
  if (state.newtonLast && state.infeasibility > FEASIBILITY_PROGRESS * before) state.newton = false;
  const polished = context.polish ? activeSetNewton(problem, context.penalty, state.x, state.nu, (x, nu) => exactAt(context, x, nu)) : null;
  if (polished?.accepted) return finishWith(context, state, polished);
  // A free set whose exact solve misses Cx = d (C restricted to it cannot reach d) says nothing
  // about the multipliers: its ν would be 0 on the rows it cannot touch.
  state.newtonLast = polished !== null && state.newton && relativeInfeasibility(problem, polished.x) <= NEWTON_FEASIBLE;
  if (state.newtonLast) {
    state.nu.set(polished!.nu);
  } else {
    // ν_R ← ν_R + ρ(C_R x − d_R) on the normalised rows: ν_i ← ν_i + ρ(ĉ_iᵀx − d̂_i)/‖c_i‖
    CR.apply(state.x, cx);
    for (let a = 0; a < p; a++) state.nu[rows[a]] += (state.rho * (cx[a] - dR[a])) / rowNorms[a];
    if (state.infeasibility > FEASIBILITY_PROGRESS * before && state.infeasibility > context.feasTarget) {
      if (state.rho < RHO_MAX_RATIO * context.rho0) state.rho *= RHO_GROWTH;
    }
  }
  checkFeasible(context, state, before);
  // The certificate costs two products with A: only worth it once x is feasible.
  if (state.infeasibility > context.feasTarget) return;
  const cert = constrainedCertificate(problem, state.x, state.nu);
  const done = meetsTolerance(cert, context.penalty, state.x, context.gapTarget);
  state.stop = { done, gap: cert.dualityGap };
}

/** The inner solver, driven step by step on the stacked problem from the current x. */
function innerSolve(context: AlmContext, state: AlmState): void {
  const { problem, stacked, innerY, inner } = context;
  const sub: Problem = { A: stacked, y: innerY, penalty: problem.penalty, grid: problem.grid, ...(problem.bounds && { bounds: problem.bounds }) };
  const terms = penaltyTerms(sub);
  // The first solve (ν = 0) only seeds the multipliers: a rough gap does for it.
  const target = state.iterations === 0 ? Math.max(0.1 * context.gapTarget, FIRST_SOLVE_TOL * context.yy) : 0.1 * context.gapTarget;
  const { context: c, state: s } = inner.setup(sub, terms, state.x, { gapTarget: target });
  let test = inner.test(c, s);
  for (let steps = 0; !test.done && inner.iterations(s) < INNER_MAX_ITER && steps < INNER_MAX_STEPS; steps++) {
    inner.step(c, s);
    test = inner.test(c, s);
  }
  state.x.set(inner.iterate(s));
  state.innerIterations += inner.iterations(s);
}

/** (x, ν) certify (constrainedCertificate) as stationary to rounding, within the gap target and feasible. */
function exactAt(context: AlmContext, x: Float64Array, nu: Float64Array): boolean {
  return exact(constrainedCertificate(context.problem, x, nu), x, context.penalty, context.problem, context.gapTarget, context.feasTarget);
}

/** End the solve at the bordered Newton polish, which exactAt accepted. */
function finishWith(context: AlmContext, state: AlmState, polished: { x: Float64Array; nu: Float64Array }): void {
  const { problem } = context;
  state.x.set(polished.x);
  state.nu.set(polished.nu);
  state.infeasibility = relativeInfeasibility(problem, state.x);
  state.stop = { done: true, gap: constrainedCertificate(problem, state.x, state.nu).dualityGap };
}

/** At the largest ρ, a residual that no longer halves while well above rounding: no feasible x. */
function checkFeasible(context: AlmContext, state: AlmState, before: number): void {
  const atMax = state.rho >= RHO_MAX_RATIO * context.rho0;
  state.stalled = atMax && state.infeasibility > INFEASIBLE_LEVEL && state.infeasibility > 0.5 * before ? state.stalled + 1 : 0;
  if (state.stalled >= STALL_STEPS) {
    throw new InputError("constraints", `infeasible: no x within the bounds satisfies Cx = d (the relative residual ‖Cx − d‖ stalls at ${state.infeasibility.toExponential(2)} as the penalty ρ grows)`);
  }
}
