import { InputError } from "../errors.js";
import { constraintRows } from "../kkt/bordered.js";
import { certificate, constrainedCertificate, meetsTolerance, relativeInfeasibility, residualAndCorrelation } from "../kkt/certificate.js";
import { axpy, dot, norm2, softThreshold } from "../linalg/vector.js";
import { MaskOperator } from "../operators/mask.js";
import { hasColumns, type LinearOperator } from "../operators/operator.js";
import type { Bounds } from "../penalties/box.js";
import type { PenaltyTerms, SeparablePenalty } from "../penalties/index.js";
import { noteColumnNorms, type Problem } from "../problem.js";
import { runSolver } from "./driver.js";
import type { IterativeSolver, StepOptions, StopTest } from "./protocol.js";
import type { Solution, SolveOptions } from "./solution.js";
import { chooseXUpdate, type ConstraintTerm, type NormalSolver, type NormalStrategy, type XUpdate } from "./split-bregman-update.js";

export type { NormalSolver, NormalStrategy } from "./split-bregman-update.js";

export interface SplitBregmanOptions extends SolveOptions {
  /** A fixed penalty parameter μ for every split (no residual balancing); default: see defaultMu. */
  mu?: number;
  /** The x-update: "fast" (DCT), "direct" (dense Cholesky), "cg" (warm-started CG) or a solver of one's own. */
  normalSolver?: NormalStrategy | NormalSolver;
  /**
   * The duality gap of x for a problem with tv, given the dual estimate z = μ_tv b_tv of the tv
   * rows (a workspace, valid during the call): the driver passes the TV certificate. Without it
   * a problem with tv stops on the residual bound alone.
   */
  tvGap?: StepOptions["tvGap"];
}

/** The duality gap (one product with A and Aᵀ, or options.tvGap) is evaluated every GAP_EVERY steps at most... */
const GAP_EVERY = 10;
/**
 * ... first once the residual bound is within GATE × the gap target (measured near the solution:
 * the bound is 0.5× the Lasso's gap, 0.1–1× TV certificates' gaps), then when the bound,
 * scaled by the ratio gap/bound of the last evaluation, predicts a gap within the target. A TV
 * certificate on a 256×256 grid costs about 50 steps, so evaluating it every GAP_EVERY steps
 * would cost more than the steps.
 */
const GATE = 100;
/**
 * Residual balancing: at most every BALANCE_EVERY steps (every n/6 with the dense factorisation),
 * for the first BALANCE_UNTIL steps; then μ stays fixed, which keeps ADMM's convergence guarantee.
 */
const BALANCE_EVERY = 5;
const BALANCE_UNTIL = 2000;
/**
 * Balance when one relative residual exceeds the other by this factor; μ moves by BALANCE_STEP.
 * Boyd et al. §3.4.1 use 10 and 2. Measured here (18 Lasso, elastic-net, TV denoising and
 * deblurring problems, both x-updates; the 256×256 denoise): a band of 2 takes 25% fewer steps
 * in total than 10 (tv256: 481 steps against 904), 3 and 5 lie between.
 */
const BALANCE_RATIO = 2;
const BALANCE_STEP = 2;
/**
 * A move of μ against the previous one takes the square root of the step (2, √2, 2^¼, ...); below
 * BALANCE_MIN_STEP μ stays. Without the damping μ can flip between two values every BALANCE_EVERY
 * steps and ADMM stalls with both residuals constant (measured: a 128×128 inpainting problem at
 * tv = 1, μ flipping between 44.6 and 89.2, residual bound stuck at 6.6 for 1000 steps).
 */
const BALANCE_MIN_STEP = 1.05;
/**
 * μ stays within MU_SPAN of its start. A residual can stay exactly 0 (d = 0 throughout when tv
 * makes x constant), which would double μ without end; beyond this span AᵀA + μDᵀD is dominated
 * by one term and its factorisation loses the other to rounding.
 */
const MU_SPAN = 1e6;
/** Stop (with a reason, unless the gap then meets the target) after this many steps without a new best residual bound or gap. */
const STALL_STEPS = 1000;
/**
 * The CG x-update stops at CG_RATIO × the last dual residual ‖s‖ (same units: an inexact step
 * that tightens with the outer loop). Measured: 0.1 costs 45% more CG iterations than 0.3 for
 * about the same outer steps; 1 saves a little more on denoising but doubles them on deblurring.
 */
const CG_RATIO = 0.3;
/** μ_tv ≈ MASK_TV_MU · tv/s · trace(AᵀA)/n at the start on masks (see maskTvMu). */
const MASK_TV_MU = 8;

/** What stays fixed during one solve. */
export interface SplitBregmanContext {
  problem: Problem;
  separable: SeparablePenalty | null;
  /** tv's D, or null without a tv term. */
  D: LinearOperator | null;
  tv: number;
  l2: number;
  /** l1·w_j per feature (0 without l1), or null without the split d_1 = x (no l1 term, no bounds). */
  thresholds: Float64Array | null;
  /** The bounds d_1 is clipped to, or null. */
  box: Bounds | null;
  /** The rows of Cx = d the solver uses (constraintRows) with μ_c, and d on them; null without constraints. */
  constraint: ConstraintTerm | null;
  constraintD: Float64Array;
  /** Relative ‖Cx − d‖ the stopping test asks for (options.feasibilityTarget). */
  feasibilityTarget: number;
  aty: Float64Array;
  atyNorm: number;
  xUpdate: XUpdate;
  /** μ follows residual balancing (unless options.mu fixes it), from its start: μ_tv from mu0Tv, μ_1 from mu01. */
  balancing: boolean;
  /** μ_tv stays at its start on masks (maskTvMu). */
  balanceTv: boolean;
  mu0Tv: number;
  mu01: number;
  /** The μ_tv and μ_1 the x-update is currently set up for: a copied state being resumed may need others. */
  weightsMuTv: number;
  weightsMu1: number;
  gapTarget: number;
  tvGap?: StepOptions["tvGap"];
  // workspaces (no meaning between steps)
  rhs: Float64Array;
  dualImage: Float64Array;
  nWork: Float64Array;
  dx: Float64Array;
  pWork: Float64Array;
  r: Float64Array;
  c: Float64Array;
  zHint: Float64Array;
}

/** The iterate, the splits and their scaled duals: plain typed arrays and numbers. */
export interface SplitBregmanState {
  x: Float64Array;
  /** d_tv ≈ Dx and its scaled dual b_tv (length 0 without tv). */
  dTv: Float64Array;
  bTv: Float64Array;
  /** d_1 ≈ x and its scaled dual b_1 (length 0 without l1 and bounds). */
  d1: Float64Array;
  b1: Float64Array;
  /** The scaled dual of Cx = d (length 0 without constraints): ν = μ_c b_c. */
  bC: Float64Array;
  muTv: number;
  mu1: number;
  iterations: number;
  /** CG iterations over all x-updates. */
  innerIterations: number;
  /**
   * Boyd et al.'s bound (3.11) on objective − optimum from the last step's residuals,
   * ‖z‖·‖r‖ + ‖x‖·‖s‖ (z the multipliers, r the primal and s the dual residual).
   */
  suboptimality: number;
  /** ‖s‖ of the last step (the CG x-update's tolerance follows it). */
  dualResidual: number;
  /** Per split, for balancing: primal ‖Bx − d‖/max(‖Bx‖, ‖d‖) (B = D or I) and dual ‖μBᵀ(d − d⁻)‖/‖Aᵀy‖. */
  primalTv: number;
  dualTv: number;
  primal1: number;
  dual1: number;
  /** Per split, for balancing: the factor of the next move of μ and the direction of the last (+1 up, −1 down, 0 none yet). */
  stepTv: number;
  lastMoveTv: number;
  step1: number;
  lastMove1: number;
  lastGapAt: number;
  /** The residual bound when the gap was last evaluated. */
  boundAtGap: number;
  bestBound: number;
  bestGap: number;
  lastProgressAt: number;
  stop: StopTest;
}

/**
 * Split Bregman (Goldstein & Osher 2009; ADMM with scaled duals) for
 * ½‖Ax − y‖² + tv‖Dx‖₁ + l1‖x‖₁ + l2/2‖x‖², splitting d_tv = Dx (when tv > 0) and d_1 = x
 * (when l1 > 0: "D = I", how it solves BPDN and the elastic net):
 *
 *   x    ← (AᵀA + μ_tv DᵀD + (l2 + μ_1) I)⁻¹ (Aᵀy + μ_tv Dᵀ(d_tv − b_tv) + μ_1 (d_1 − b_1))
 *   d_tv ← shrink(Dx + b_tv, tv/μ_tv),   d_1 ← shrink(x + b_1, l1·w_j/μ_1)
 *   b_tv ← b_tv + Dx − d_tv,             b_1 ← b_1 + x − d_1
 *
 * At the fixed point z = μ_tv b_tv and u = μ_1 b_1 are the multipliers:
 * Aᵀ(Ax − y) + l2 x + Dᵀz + u = 0, |z_i| ≤ tv, |u_j| ≤ l1 w_j (splitBregmanDual).
 * The iterate is d_1 when l1 > 0 (exactly sparse), else x.
 *
 * Constraints Cx = d (issue 8): the Bregman iteration on them, μ_c/2‖Cx − d + b_c‖² in the
 * x-update (M gains μ_c CᵀC: by Woodbury on the exact x-updates, in the operator for CG) and
 * b_c ← b_c + Cx − d; ν = μ_c b_c satisfies Aᵀ(Ax − y) + l2 x + Dᵀz + u + Cᵀν = 0 at the fixed
 * point. Bounds: the split d_1 = x exists whenever there are bounds (threshold 0 without l1) and
 * d_1 ← clip(shrink(x + b_1)) (the prox of l1|·| plus the box), so the iterate d_1 lies in the box
 * exactly and u includes the bounds' normal cones. The stopping test also asks for
 * ‖Cx − d‖ within options.feasibilityTarget (relative).
 *
 * The x-update is exact (DCT or dense Cholesky) or warm-started CG (split-bregman-update.ts);
 * μ starts at trace(AᵀA)/n and follows residual balancing (defaultMu, balance), except μ_tv on a
 * pixel mask: fixed, proportional to tv (maskTvMu). Stopping (Boyd
 * et al. 2011 §3.3): the residuals r = (Dx − d_tv, x − d_1), s = μ_tv Dᵀ(d_tv − d_tv⁻) +
 * μ_1(d_1 − d_1⁻) bound objective − optimum by about ‖z‖‖r‖ + ‖x‖‖s‖; once that predicts a
 * gap within tol·‖y‖² the duality gap decides (gapDue): the separable penalty's certificate
 * without tv, options.tvGap with tv. Without a certificate the bound alone decides.
 */
export const splitBregman: IterativeSolver<SplitBregmanContext, SplitBregmanState> = {
  name: "split-bregman",
  capabilities: { penalties: ["l1", "l2", "elastic-net", "tv"], constraints: true, bounds: true, constrainedTv: true, needsColumns: false },
  defaultMaxIter: 20_000,
  setup,
  step,
  test,
  iterate: (state) => (state.d1.length > 0 ? state.d1 : state.x),
  iterations: (state) => state.iterations,
  tvDual: (context, state) => splitBregmanDual(context, state).z,
  multipliers: (context, state) => constraintMultipliers(context, state),
};

/** ν = μ_c b_c, one per row of C (0 on the redundant rows the solver leaves out). */
function constraintMultipliers(context: SplitBregmanContext, state: SplitBregmanState): Float64Array {
  const C = context.problem.constraints;
  const nu = new Float64Array(C ? C.C.rows : 0);
  if (context.constraint) constraintRows(context.problem).forEach((row, i) => (nu[row] = context.constraint!.mu * state.bC[i]));
  return nu;
}

export function solveSplitBregman(problem: Problem, options: SplitBregmanOptions = {}): Solution {
  return runSolver(splitBregman, problem, options as SplitBregmanOptions & Record<string, unknown>);
}

/** The multipliers of the splits at the state: z = μ_tv b_tv (tv rows) and u = μ_1 b_1 (features), null when absent. */
export function splitBregmanDual(_context: SplitBregmanContext, state: SplitBregmanState): { z: Float64Array | null; u: Float64Array | null } {
  const scaled = (b: Float64Array, mu: number) => (b.length > 0 ? b.map((v) => mu * v) : null);
  return { z: scaled(state.bTv, state.muTv), u: scaled(state.b1, state.mu1) };
}

function setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: SplitBregmanContext; state: SplitBregmanState } {
  const o = options as StepOptions & SplitBregmanOptions;
  const { A, y } = problem;
  const { l1, l2 } = problem.penalty;
  const n = A.cols, m = A.rows;
  const D = terms.tv ? terms.tv.D : null;
  const p = D ? D.rows : 0;
  const separable = terms.separable;
  const box = problem.bounds ?? null;
  const thresholds = (l1 > 0 && separable) || box ? Float64Array.from({ length: n }, (_, j) => (l1 > 0 && separable ? separable.threshold(j) : 0)) : null;
  if (o.mu !== undefined && !(typeof o.mu === "number" && o.mu > 0 && Number.isFinite(o.mu))) throw new InputError("options.mu", `expected a positive number, got ${o.mu}`);
  if (o.tvGap !== undefined && typeof o.tvGap !== "function") throw new InputError("options.tvGap", "expected a function (x, zHint) => gap");
  const aty = A.applyT(y, new Float64Array(n));
  const mu = o.mu ?? defaultMu(A);
  const constraint = constraintTerm(problem, mu);
  const xUpdate = chooseXUpdate(problem, D, checkStrategy(o.normalSolver), constraint);
  const onMask = D !== null && A instanceof MaskOperator && o.mu === undefined;
  const muTv = o.mu ?? (onMask ? maskTvMu(mu, terms.tv!.weight, y) : mu);
  const context: SplitBregmanContext = {
    problem, separable, D, tv: terms.tv ? terms.tv.weight : 0, l2, thresholds, box, aty, atyNorm: norm2(aty),
    constraint, constraintD: Float64Array.from(constraintRows(problem), (i) => problem.constraints!.d[i]),
    feasibilityTarget: typeof o.feasibilityTarget === "number" ? o.feasibilityTarget : 1e-9,
    xUpdate, balancing: o.mu === undefined, balanceTv: !onMask, mu0Tv: muTv, mu01: mu, weightsMuTv: NaN, weightsMu1: NaN,
    gapTarget: options.gapTarget, tvGap: o.tvGap,
    rhs: new Float64Array(n), dualImage: new Float64Array(n), nWork: new Float64Array(n), dx: new Float64Array(p), pWork: new Float64Array(p),
    r: new Float64Array(m), c: new Float64Array(n), zHint: new Float64Array(p),
  };
  const state: SplitBregmanState = {
    x: Float64Array.from(x0),
    dTv: D ? D.apply(x0, new Float64Array(p)) : new Float64Array(0), bTv: new Float64Array(p),
    d1: thresholds ? Float64Array.from(x0, (v, j) => (box ? Math.min(box.upper[j], Math.max(box.lower[j], v)) : v)) : new Float64Array(0), b1: new Float64Array(thresholds ? n : 0),
    bC: new Float64Array(constraint ? constraint.rows.length : 0),
    muTv: D ? muTv : 0, mu1: thresholds ? mu : 0,
    iterations: 0, innerIterations: 0,
    suboptimality: Infinity, dualResidual: Infinity, primalTv: 0, dualTv: 0, primal1: 0, dual1: 0,
    stepTv: BALANCE_STEP, lastMoveTv: 0, step1: BALANCE_STEP, lastMove1: 0,
    lastGapAt: -GAP_EVERY, boundAtGap: Infinity, bestBound: Infinity, bestGap: Infinity, lastProgressAt: 0,
    stop: { done: false, gap: Infinity },
  };
  if (!D && !constraint && !box && thresholds && zeroIsOptimal(aty, thresholds)) startAtZero(state, aty);
  return { context, state };
}

/** |a_jᵀy| ≤ l1·w_j for every j: x = 0 solves the problem without tv exactly (whatever l2). */
function zeroIsOptimal(aty: Float64Array, thresholds: Float64Array): boolean {
  for (let j = 0; j < aty.length; j++) if (Math.abs(aty[j]) > thresholds[j]) return false;
  return true;
}

/**
 * The exact answer x = d_1 = 0 with its multiplier u = Aᵀy (b_1 = u/μ_1), certified with gap 0.
 * Iterating instead would leave coordinates at rounding level where |a_jᵀy| = l1·w_j (a tie).
 */
function startAtZero(state: SplitBregmanState, aty: Float64Array): void {
  state.x.fill(0);
  state.d1.fill(0);
  for (let j = 0; j < aty.length; j++) state.b1[j] = aty[j] / state.mu1;
  state.stop = { done: true, gap: 0 };
}

/**
 * μ_c CᵀC for the rows of C the solver uses: μ_c = μ·p/‖C_R‖_F² puts μ_c CᵀC on the scale of
 * μ (the mean eigenvalue of C_R C_Rᵀ becomes μ), whatever the scale of C. Null without constraints.
 */
function constraintTerm(problem: Problem, mu: number): ConstraintTerm | null {
  const c = problem.constraints;
  if (!c) return null;
  const rows = Array.from(constraintRows(problem), (i) => c.C.row(i));
  let frobenius = 0;
  for (const row of rows) frobenius += dot(row, row);
  return { rows, mu: frobenius > 0 ? (mu * rows.length) / frobenius : mu };
}

function checkStrategy(choice: unknown): NormalStrategy | NormalSolver | undefined {
  if (choice === undefined || choice === "fast" || choice === "direct" || choice === "cg") return choice;
  const s = choice as Partial<NormalSolver>;
  if (typeof choice === "object" && choice !== null && typeof s.setWeights === "function" && typeof s.solve === "function") return choice as NormalSolver;
  throw new InputError("options.normalSolver", `expected "fast", "direct", "cg" or an object with setWeights and solve, got ${String(choice)}`);
}

/**
 * The starting μ of both splits: trace(AᵀA)/n, the mean squared column norm of A (‖A·1‖²/n for a
 * matrix-free A, exact for the identity and any blur with unit row sums).
 *
 * Why the scale of AᵀA and not the penalty weight: the iteration is invariant under
 * (x, y, l1, tv) → c·(x, y, l1, tv) only when μ stays, so μ may depend on l1 and tv only through
 * l1/λ_max, and it must scale like AᵀA (A → cA, l1 → c²l1). For a quadratic plus an l1 term the
 * best fixed μ is about the geometric mean of the extreme eigenvalues of AᵀA on the support
 * (Ghadimi et al. 2015), a number of the order of trace(AᵀA)/n; Goldstein & Osher's λ = 2μ for
 * ROF denoising is μ_tv = 2 here (AᵀA = I). Measured here (iterations to a gap of 1e-10·‖y‖²,
 * fixed μ = c·trace(AᵀA)/n, c ∈ {0.1, 0.3, 1, 3, 10}): the Lasso fixtures at l1 from 0.01 to
 * 0.5·λ_max do best at c = 0.3–3, TV denoising at c = 1 (small tv) to 10 (large tv, long
 * pieces), 1-D deblurring at c ≤ 0.3. No single c fits all, so the x-updates that absorb a new
 * μ cheaply balance the residuals (balance); the dense factorisation does so at most once per
 * n/6 steps (the cost of a refactorisation in solves).
 */
export function defaultMu(A: LinearOperator): number {
  let scale: number;
  if (hasColumns(A)) {
    const norms = A.columnNormsSquared();
    noteColumnNorms(A, norms); // the scale check that follows needs them too
    scale = norms.reduce((s, v) => s + v, 0) / A.cols;
  } else {
    const av = A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows));
    scale = dot(av, av) / A.cols;
  }
  return scale > 0 && Number.isFinite(scale) ? scale : 1;
}

/**
 * μ_tv when A is a pixel mask, kept fixed (no balancing): trace(AᵀA)/n · MASK_TV_MU · tv/s, s the
 * standard deviation of y (tv has the units of y, μ none). On masks the best fixed μ_tv follows tv
 * over four decades, and balancing moves it the wrong way at small tv. Measured on a 128×128
 * Shepp–Logan inpainting problem (30% unknown, s = 0.19; steps to a gap of 1e-6·‖y‖²), the best
 * fixed μ: tv = 1e-4 → 0.003, 1e-2 → 1, 0.1 → 10, 1 → 30. With μ = 30·tv (this rule) against
 * balancing from trace(AᵀA)/n = 0.7: 96 / 150 / 390 / 1508 / 460 steps at tv = 1e-4 / 1e-3 /
 * 1e-2 / 0.1 / 1 against 915 / 285 / 304 / 872 / 514.
 */
function maskTvMu(mu: number, tv: number, y: Float64Array): number {
  let mean = 0;
  for (const v of y) mean += v;
  mean /= y.length;
  let s2 = 0;
  for (const v of y) s2 += (v - mean) ** 2;
  const s = Math.sqrt(s2 / y.length);
  const scaled = (mu * MASK_TV_MU * tv) / s;
  return s > 0 && scaled > 0 && Number.isFinite(scaled) ? scaled : mu;
}

/**
 * The x-update's solver of M = AᵀA + μ_tv DᵀD + (l2 + μ_1) I, set up for the state's μ: the
 * linearisation of a step at the fixed point (diff/fixed-point.ts) solves with the same M.
 */
export function splitBregmanNormalSolver(context: SplitBregmanContext, state: SplitBregmanState): NormalSolver {
  ensureWeights(context, state);
  return context.xUpdate.solver;
}

/** Set the x-update's weights for the state's μ (after balancing, or when resuming a copied state). */
function ensureWeights(context: SplitBregmanContext, state: SplitBregmanState): void {
  if (context.weightsMuTv === state.muTv && context.weightsMu1 === state.mu1) return;
  context.xUpdate.solver.setWeights(1, state.muTv, context.l2 + state.mu1);
  context.weightsMuTv = state.muTv;
  context.weightsMu1 = state.mu1;
}

/** One Split Bregman step: the x-update, the shrinkages, the Bregman updates, the residuals. */
function step(context: SplitBregmanContext, state: SplitBregmanState): void {
  const rhs = xUpdateRhs(context, state);
  const solver = context.xUpdate.solver;
  solver.setTolerance?.(CG_RATIO * (Number.isFinite(state.dualResidual) ? state.dualResidual : norm2(rhs)));
  solver.solve(rhs, state.x);
  state.innerIterations += solver.lastIterations ?? 0;
  afterXUpdate(context, state);
}

/** The x-update's right-hand side (in context.rhs), its matrix set for the state's μ. */
export function xUpdateRhs(context: SplitBregmanContext, state: SplitBregmanState): Float64Array {
  const { D, thresholds, rhs, nWork, pWork } = context;
  const { x, dTv, bTv, d1, b1, muTv, mu1 } = state;
  const n = x.length, p = dTv.length;
  ensureWeights(context, state);
  // rhs = Aᵀy + μ_tv Dᵀ(d_tv − b_tv) + μ_1 (d_1 − b_1)
  rhs.set(context.aty);
  if (D) {
    for (let i = 0; i < p; i++) pWork[i] = dTv[i] - bTv[i];
    D.applyT(pWork, nWork);
    for (let j = 0; j < n; j++) rhs[j] += muTv * nWork[j];
  }
  if (thresholds) for (let j = 0; j < n; j++) rhs[j] += mu1 * (d1[j] - b1[j]);
  // + μ_c Cᵀ(d − b_c)
  const constraint = context.constraint;
  if (constraint) for (let i = 0; i < constraint.rows.length; i++) axpy(constraint.mu * (context.constraintD[i] - state.bC[i]), constraint.rows[i], rhs);
  return rhs;
}

/** The rest of a step once state.x holds the x-update: the shrinkages, the Bregman updates, the residuals. */
export function afterXUpdate(context: SplitBregmanContext, state: SplitBregmanState): void {
  const { D, thresholds, dualImage, dx, pWork } = context;
  const { x, dTv, bTv, d1, b1, muTv, mu1 } = state;
  const n = x.length, p = dTv.length;
  const constraint = context.constraint;

  // The dual residual s = μ_tv Dᵀ(d_tv − d_tv⁻) + μ_1 (d_1 − d_1⁻) accumulates in dualImage.
  dualImage.fill(0);
  let r2 = 0, z2 = 0;
  if (D) {
    D.apply(x, dx);
    const t = context.tv / muTv;
    let rTv = 0, bx2 = 0, d2 = 0, b2 = 0;
    for (let i = 0; i < p; i++) {
      const v = dx[i] + bTv[i];
      const d = softThreshold(v, t);
      pWork[i] = d - dTv[i];
      const ri = dx[i] - d;
      rTv += ri * ri;
      bx2 += dx[i] * dx[i];
      d2 += d * d;
      dTv[i] = d;
      bTv[i] = v - d;
      b2 += bTv[i] * bTv[i];
    }
    D.applyT(pWork, dualImage);
    for (let j = 0; j < n; j++) dualImage[j] *= muTv;
    state.primalTv = relative(Math.sqrt(rTv), Math.sqrt(Math.max(bx2, d2)));
    state.dualTv = relative(norm2(dualImage), context.atyNorm);
    r2 += rTv;
    z2 += muTv * muTv * b2;
  }
  const box = context.box;
  if (thresholds) {
    let r1 = 0, x2 = 0, d2 = 0, s2 = 0, b2 = 0;
    for (let j = 0; j < n; j++) {
      const v = x[j] + b1[j];
      const shrunk = softThreshold(v, thresholds[j] / mu1);
      const d = box ? Math.min(box.upper[j], Math.max(box.lower[j], shrunk)) : shrunk;
      const change = mu1 * (d - d1[j]);
      dualImage[j] += change;
      s2 += change * change;
      const rj = x[j] - d;
      r1 += rj * rj;
      x2 += x[j] * x[j];
      d2 += d * d;
      d1[j] = d;
      b1[j] = v - d;
      b2 += b1[j] * b1[j];
    }
    state.primal1 = relative(Math.sqrt(r1), Math.sqrt(Math.max(x2, d2)));
    state.dual1 = relative(Math.sqrt(s2), context.atyNorm);
    r2 += r1;
    z2 += mu1 * mu1 * b2;
  }
  if (constraint) {
    // b_c ← b_c + Cx − d
    let rc = 0, b2 = 0;
    for (let i = 0; i < constraint.rows.length; i++) {
      const cx = dot(constraint.rows[i], x), di = context.constraintD[i];
      rc += (cx - di) ** 2;
      state.bC[i] += cx - di;
      b2 += state.bC[i] ** 2;
    }
    r2 += rc;
    z2 += constraint.mu * constraint.mu * b2;
  }
  state.dualResidual = norm2(dualImage);
  state.suboptimality = Math.sqrt(z2 * r2) + norm2(x) * state.dualResidual;
  state.iterations++;
  const every = Math.max(BALANCE_EVERY, context.xUpdate.reweightCost);
  if (context.balancing && state.iterations <= BALANCE_UNTIL && state.iterations % every === 0) balance(state, context);
}

/** a/b, 0 when a is 0. */
function relative(a: number, b: number): number {
  return a === 0 ? 0 : a / b;
}

/**
 * Residual balancing (Boyd et al. §3.4.1, on relative residuals as Wohlberg 2017 advises): a
 * primal residual far above the dual one asks for a larger μ, and the reverse for a smaller one,
 * by a step that shrinks to its square root whenever the direction reverses (BALANCE_MIN_STEP).
 * The scaled dual b = z/μ is rescaled so that the multiplier z stays.
 */
function balance(state: SplitBregmanState, { mu0Tv, mu01, balanceTv }: SplitBregmanContext): void {
  const rebalance = (primal: number, dual: number, mu: number, b: Float64Array, step: number, lastMove: number, mu0: number): { mu: number; step: number; lastMove: number } => {
    const move = primal > BALANCE_RATIO * dual ? 1 : dual > BALANCE_RATIO * primal ? -1 : 0;
    if (move === 0) return { mu, step, lastMove };
    const nextStep = lastMove === -move ? Math.sqrt(step) : step;
    if (nextStep < BALANCE_MIN_STEP) return { mu, step: nextStep, lastMove };
    const next = Math.min(mu0 * MU_SPAN, Math.max(mu0 / MU_SPAN, mu * nextStep ** move));
    if (next !== mu) for (let i = 0; i < b.length; i++) b[i] *= mu / next;
    return { mu: next, step: nextStep, lastMove: move };
  };
  if (state.bTv.length > 0 && balanceTv) ({ mu: state.muTv, step: state.stepTv, lastMove: state.lastMoveTv } = rebalance(state.primalTv, state.dualTv, state.muTv, state.bTv, state.stepTv, state.lastMoveTv, mu0Tv));
  if (state.b1.length > 0) ({ mu: state.mu1, step: state.step1, lastMove: state.lastMove1 } = rebalance(state.primal1, state.dual1, state.mu1, state.b1, state.step1, state.lastMove1, mu01));
}

/**
 * Without a certificate (tv and no options.tvGap): done when the residuals' bound on
 * objective − optimum meets the gap target. With one: the duality gap decides, evaluated when
 * the bound predicts it within the target (GATE). Stalled when neither
 * the bound nor the gap has reached a new best for STALL_STEPS steps.
 */
function test(context: SplitBregmanContext, state: SplitBregmanState): StopTest {
  const stop = state.stop;
  if (stop.done || state.iterations === 0) return stop;
  if (state.suboptimality < state.bestBound) {
    state.bestBound = state.suboptimality;
    state.lastProgressAt = state.iterations;
  }
  if (!canCertify(context)) {
    stop.done = state.suboptimality <= context.gapTarget;
  } else if (gapDue(context, state)) {
    state.lastGapAt = state.iterations;
    state.boundAtGap = state.suboptimality;
    const { gap, met } = certifyState(context, state);
    stop.gap = gap;
    if (gap < state.bestGap) {
      state.bestGap = gap;
      state.lastProgressAt = state.iterations;
    }
    stop.done = met;
  }
  if (!stop.done && state.iterations - state.lastProgressAt >= STALL_STEPS) {
    const final = canCertify(context) ? certifyState(context, state) : { gap: stop.gap, met: false };
    stop.gap = final.gap;
    stop.done = true;
    if (!final.met) stop.reason = `no progress in ${STALL_STEPS} steps (residual bound ${state.suboptimality.toExponential(2)}, gap ${stop.gap.toExponential(2)}): use a larger tol`;
  }
  return stop;
}

/** Time to evaluate the gap: GAP_EVERY steps since the last, and a predicted gap within the target (GATE × the target at first). */
function gapDue(context: SplitBregmanContext, state: SplitBregmanState): boolean {
  if (state.iterations - state.lastGapAt < GAP_EVERY) return false;
  const bound = state.suboptimality, target = context.gapTarget;
  if (!Number.isFinite(state.boundAtGap)) return bound <= GATE * target;
  return state.stop.gap * (bound / state.boundAtGap) <= target;
}

function canCertify(context: SplitBregmanContext): boolean {
  return context.D === null || context.tvGap !== undefined;
}

/** The duality gap at the iterate and whether it meets the target. */
function certifyState(context: SplitBregmanContext, state: SplitBregmanState): { gap: number; met: boolean } {
  const x = splitBregman.iterate(state);
  const feasible = !context.constraint || relativeInfeasibility(context.problem, x) <= context.feasibilityTarget;
  if (context.D) {
    const z = context.zHint;
    for (let i = 0; i < z.length; i++) z[i] = state.muTv * state.bTv[i];
    const gap = context.tvGap!(x, z, context.constraint ? constraintMultipliers(context, state) : undefined);
    return { gap, met: gap <= context.gapTarget && feasible };
  }
  const { problem, r, c } = context;
  const penalty = context.separable!;
  if (context.constraint || context.box) {
    const cert = constrainedCertificate(problem, x, constraintMultipliers(context, state), penalty);
    return { gap: cert.dualityGap, met: meetsTolerance(cert, penalty, x, context.gapTarget) && feasible };
  }
  residualAndCorrelation(problem, x, r, c);
  const cert = certificate(problem, x, r, c, penalty);
  return { gap: cert.dualityGap, met: meetsTolerance(cert, penalty, x, context.gapTarget) };
}
