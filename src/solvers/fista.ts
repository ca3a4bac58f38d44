import { InputError } from "../errors.js";
import { certificate, meetsTolerance } from "../kkt/certificate.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { CompositeTvProx } from "../penalties/tv-prox.js";
import { hasColumns } from "../operators/operator.js";
import type { PenaltyTerms, SeparablePenalty } from "../penalties/index.js";
import { noteColumnNorms, type Problem } from "../problem.js";
import { runSolver } from "./driver.js";
import type { IterativeSolver, StepOptions, StopTest } from "./protocol.js";
import type { Solution, SolveOptions } from "./solution.js";

/** How often (in steps) the duality gap is evaluated: it costs one extra Aᵀ product. */
const GAP_EVERY = 10;
/** The 2-D tv prox inside a step: warm-started, so a few iterations reach this relative gap. */
const PROX_TOL = 1e-10;
const PROX_MAX_ITER = 50;

interface FistaContext {
  problem: Problem;
  /** The separable part (null for tv alone). */
  penalty: SeparablePenalty | null;
  /** With tv: the composite prox of the whole penalty (penalties/tv-prox.ts). */
  tvProx: CompositeTvProx | null;
  tvGap?: StepOptions["tvGap"];
  gapTarget: number;
  /** Backtracking on L (default); with a fixed `lipschitz` option, plain steps of 1/L. */
  backtracking: boolean;
  /** γ, the factor on the momentum coefficient: z⁺ = x⁺ + γβ(x⁺ − x) (options.extrapolation, default 1). */
  extrapolation: number;
  // workspaces (no meaning between steps)
  residual: Float64Array;
  grad: Float64Array;
  proxInput: Float64Array;
}

/** FISTA's iterate and momentum: plain typed arrays and numbers. */
export interface FistaState {
  x: Float64Array;
  xPrev: Float64Array;
  /** The extrapolated point the next step starts from. */
  z: Float64Array;
  ax: Float64Array;
  axPrev: Float64Array;
  az: Float64Array;
  /** Lipschitz estimate of ∇f (only grows while backtracking). */
  lipschitz: number;
  momentum: number;
  /** β = (t − 1)/t⁺ of the last step, before the factor γ (0 after a restart): unrolled differentiation reads it. */
  beta: number;
  iterations: number;
  /** The tv prox's dual (its warm start; length 0 without tv). */
  tvDual: Float64Array;
  stop: StopTest;
}

export interface FistaOptions extends SolveOptions {
  /** A fixed step 1/L (no backtracking): L must be at least ‖A‖² for convergence. */
  lipschitz?: number;
  /**
   * γ > 0 scales the momentum coefficient, z⁺ = x⁺ + γβ(x⁺ − x) (default 1, plain FISTA): an
   * algorithm parameter that unrolled differentiation (diff/unrolled.ts) differentiates in.
   */
  extrapolation?: number;
}

/**
 * FISTA for ½‖Ax − y‖² + g(x), g any separable penalty (its prox):
 *
 *   x⁺ = prox_{g/L}(z − Aᵀ(Az − y)/L),   L found by backtracking:
 *        f(x⁺) ≤ f(z) + ⟨∇f(z), x⁺ − z⟩ + L/2‖x⁺ − z‖²  ⇔  ‖A(x⁺ − z)‖² ≤ L‖x⁺ − z‖²
 *   t⁺ = (1 + √(1 + 4t²))/2,  z⁺ = x⁺ + (t − 1)/t⁺ · (x⁺ − x)
 * Adaptive (gradient) restart: t ← 1 when ⟨z − x⁺, x⁺ − x⟩ > 0 (O'Donoghue & Candès).
 * Products A z are not recomputed: A z = A x⁺ + β(A x⁺ − A x). Needs only apply/applyT, so
 * it runs on matrix-free operators.
 */
export const fista: IterativeSolver<FistaContext, FistaState> = {
  name: "fista",
  capabilities: { penalties: ["l1", "l2", "elastic-net", "tv"], constraints: false, bounds: true, needsColumns: false },
  defaultMaxIter: 100_000,
  setup,
  step,
  test,
  iterate: (state) => state.x,
  iterations: (state) => state.iterations,
  tvDual: (context) => context.tvProx?.dualEstimate() ?? null,
};

export function solveFista(problem: Problem, options: FistaOptions = {}): Solution {
  return runSolver(fista, problem, options as FistaOptions & Record<string, unknown>);
}

function setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: FistaContext; state: FistaState } {
  const penalty = terms.separable;
  const D = terms.tv?.D;
  if (D && !(D instanceof GridDifferences)) throw new InputError("D", "the fista solver's tv prox needs the grid's finite differences; use solver \"split-bregman\" for a user D");
  const tvProx = D ? new CompositeTvProx(D as GridDifferences, problem.penalty) : null;
  const { rows: m, cols: n } = problem.A;
  const fixed = (options as FistaOptions).lipschitz;
  const extrapolation = (options as FistaOptions).extrapolation ?? 1;
  if (!(typeof extrapolation === "number" && extrapolation > 0 && Number.isFinite(extrapolation))) throw new InputError("options.extrapolation", `expected a positive number, got ${extrapolation}`);
  const context: FistaContext = {
    problem, penalty, tvProx, tvGap: options.tvGap, gapTarget: options.gapTarget, backtracking: fixed === undefined, extrapolation, residual: new Float64Array(m), grad: new Float64Array(n),
    proxInput: new Float64Array(tvProx ? n : 0),
  };
  const ax = problem.A.apply(x0, new Float64Array(m));
  const state: FistaState = {
    x: Float64Array.from(x0), xPrev: Float64Array.from(x0), z: Float64Array.from(x0),
    ax, axPrev: Float64Array.from(ax), az: Float64Array.from(ax),
    lipschitz: fixed ?? initialLipschitz(problem), momentum: 1, beta: 0, iterations: 0,
    tvDual: new Float64Array(D ? D.rows : 0),
    stop: { done: false, gap: Infinity },
  };
  return { context, state };
}

/** One FISTA step (with backtracking on L unless L is fixed) and the restart test. */
function step(context: FistaContext, state: FistaState): void {
  const { A, y } = context.problem;
  const { residual, grad } = context;
  const { x, xPrev, z, ax, axPrev, az } = state;
  const m = y.length, n = x.length;
  for (let i = 0; i < m; i++) residual[i] = az[i] - y[i];
  A.applyT(residual, grad);
  xPrev.set(x);
  axPrev.set(ax);
  for (;;) {
    const t = 1 / state.lipschitz;
    for (let j = 0; j < n; j++) x[j] = z[j] - t * grad[j];
    proxStep(context, state, t);
    A.apply(x, ax);
    if (!context.backtracking) break;
    // For f = ½‖A· − y‖², the sufficient-decrease test is exactly ‖A(x − z)‖² ≤ L‖x − z‖²
    // (free of the cancellation in f(x) − f(z)).
    let curvature = 0, dist = 0;
    for (let i = 0; i < m; i++) curvature += (ax[i] - az[i]) ** 2;
    for (let j = 0; j < n; j++) dist += (x[j] - z[j]) ** 2;
    // dist = 0: the prox returned z itself, there is no step to test (and L·0 would never pass).
    if (dist === 0 || curvature <= state.lipschitz * dist * (1 + 1e-10)) break;
    state.lipschitz *= 2;
  }
  let restart = 0;
  for (let j = 0; j < n; j++) restart += (z[j] - x[j]) * (x[j] - xPrev[j]);
  if (restart > 0) state.momentum = 1;
  const next = (1 + Math.sqrt(1 + 4 * state.momentum * state.momentum)) / 2;
  state.beta = (state.momentum - 1) / next;
  const beta = context.extrapolation * state.beta;
  state.momentum = next;
  for (let j = 0; j < n; j++) z[j] = x[j] + beta * (x[j] - xPrev[j]);
  for (let i = 0; i < m; i++) az[i] = ax[i] + beta * (ax[i] - axPrev[i]);
  state.iterations++;
}

/** x ← prox_{t·g}(x): the separable prox, or with tv the composite one warm-started from the last dual. */
function proxStep(context: FistaContext, state: FistaState, t: number): void {
  const { tvProx, penalty } = context;
  if (!tvProx) {
    penalty!.prox(state.x, t, state.x);
    return;
  }
  if (state.iterations > 0) tvProx.dual.set(state.tvDual);
  const v = context.proxInput;
  v.set(state.x);
  tvProx.apply(v, t, state.x, { tol: PROX_TOL, maxIter: PROX_MAX_ITER, warm: state.iterations > 0 });
  state.tvDual.set(tvProx.dual);
}

/** Every GAP_EVERY steps: the duality gap at x (one Aᵀ product; with tv the TV certificate at the prox's dual). */
function test(context: FistaContext, state: FistaState): StopTest {
  if (state.iterations > 0 && state.iterations % GAP_EVERY === 0 && !state.stop.done && context.tvProx) {
    const gap = context.tvGap!(state.x, context.tvProx.dualEstimate());
    state.stop = { done: gap <= context.gapTarget, gap };
  }
  if (state.iterations > 0 && state.iterations % GAP_EVERY === 0 && !state.stop.done && context.penalty && !context.tvProx) {
    const penalty = context.penalty;
    const { y, A } = context.problem;
    for (let i = 0; i < y.length; i++) context.residual[i] = y[i] - state.ax[i];
    A.applyT(context.residual, context.grad);
    const cert = certificate(context.problem, state.x, context.residual, context.grad, penalty);
    state.stop = { done: meetsTolerance(cert, penalty, state.x, context.gapTarget), gap: cert.dualityGap };
  }
  return state.stop;
}

/**
 * A lower estimate of ‖A‖² (backtracking raises it as needed): the largest squared column norm,
 * or for a matrix-free operator ‖AᵀA v‖/‖v‖ at v = 1 (a Rayleigh-type lower bound).
 */
function initialLipschitz(problem: Problem): number {
  const A = problem.A;
  let L = 0;
  if (hasColumns(A)) {
    const norms = A.columnNormsSquared();
    noteColumnNorms(A, norms); // the scale check that follows needs them too
    for (let j = 0; j < norms.length; j++) L = Math.max(L, norms[j]);
  } else {
    const v = new Float64Array(A.cols).fill(1);
    const av = A.apply(v, new Float64Array(A.rows));
    let s = 0;
    for (let i = 0; i < av.length; i++) s += av[i] * av[i];
    L = s / A.cols;
  }
  return L > 0 && Number.isFinite(L) ? L : 1;
}
