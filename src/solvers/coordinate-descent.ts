import { certificate, dualObjective, meetsTolerance, type Certificate } from "../kkt/certificate.js";
import { supportIsCertain } from "../kkt/support-certificate.js";
import { dot } from "../linalg/vector.js";
import type { ColumnOperator } from "../operators/operator.js";
import type { PenaltyTerms, SeparablePenalty } from "../penalties/index.js";
import { noteColumnNorms, type Problem } from "../problem.js";
import { andersonExtrapolate, andersonMemory, andersonPush, andersonReady, andersonReset, type AndersonMemory } from "./anderson.js";
import { columnsOf, type Columns } from "./columns.js";
import { runSolver } from "./driver.js";
import type { IterativeSolver, StepOptions, StopTest } from "./protocol.js";
import type { Solution, SolveOptions } from "./solution.js";
import { buildWorkingSet } from "./working-set.js";

/** Progress of one outer iteration (diagnostics and tests; never required). */
export interface CoordinateDescentProgress {
  /** Outer iterations (working-set solves) done so far. */
  iteration: number;
  /** Duality gap of the current x (on the features not screened out; see the solver notes). */
  gap: number;
  /** Features still in play (not screened out, ‖a_j‖ > 0). */
  alive: number;
  /** Size of the working set about to be solved (0 when stopping). */
  workingSetSize: number;
  /** |supp(x)|. */
  support: number;
  /** Inner coordinate-descent epochs so far (all working sets). */
  epochs: number;
  /** screened[j] = 1 when feature j has been discarded for good. Read-only view of solver state. */
  screened: Uint8Array;
}

export interface CoordinateDescentOptions extends SolveOptions {
  /** Gap-safe screening (default true). */
  screening?: boolean;
  /** Anderson extrapolation of the inner epochs (default true). */
  anderson?: boolean;
  /**
   * Size of the first working set (default clamp(n/50, 10, 100); raised to 2·|supp(warm start)|
   * when larger).
   */
  initialWorkingSet?: number;
  /** Called once per outer iteration, after the gap has been computed. */
  onIteration?: (progress: CoordinateDescentProgress) => void;
}

/** Default cap on outer iterations (working-set solves); a solve usually needs fewer than 20. */
export const CD_MAX_OUTER = 1000;
/** Anderson memory K: extrapolate from the last K+1 epochs, every K+1 epochs (skglm's K = 5). */
const ANDERSON_K = 5;
/** The inner solve stops when the working-set gap ≤ INNER_RATIO · the outer gap (celer's 0.3). */
const INNER_RATIO = 0.3;
/**
 * The working-set gap is computed every GAP_EVERY epochs, right after the Anderson step (it
 * costs one sweep of dot products). Measured on the bench problems: checking more often stops
 * the inner solves earlier and costs more outer iterations (each a full Aᵀr), which is worse.
 */
const GAP_EVERY = ANDERSON_K + 1;
/** Cap on epochs of one inner solve; the outer loop then grows the working set and goes on. */
const MAX_EPOCHS = 2000;
/**
 * Stop (not converged) when the outer gap, already below STALL_LEVEL·‖y‖² (rounding level: the
 * gap floor measured here is ~1e-15·‖y‖²), has not decreased for STALL_LIMIT outer iterations.
 */
const STALL_LIMIT = 10;
const STALL_LEVEL = 1e-12;
/**
 * Asked to prove its support (StepOptions.certifySupport), the solver goes on past the gap
 * target down to CERTIFY_DEPTH times it at most: a few more epochs on the support, against a
 * polish that costs ~30 products with A_S when its system is too large to factor (measured on
 * enet-400x1500: the proof needs a gap ~60× below 1e-8‖y‖², one more outer iteration).
 */
const CERTIFY_DEPTH = 1e-4;

/**
 * First working-set size. An outer iteration costs one sweep over A (n column dot products)
 * while an inner solve costs about 8 sweeps over the working set, so a working set of n/50
 * is cheap next to the outer sweeps it saves (measured on the bench problems: p0 = 10 needs
 * two or three more outer iterations on 2000–5000 features).
 */
function defaultInitialWorkingSet(n: number): number {
  return Math.min(100, Math.max(10, Math.ceil(n / 50)));
}

/**
 * Where the last solve on each matrix stopped: x, y, the correlations c = Aᵀ(y − Ax) of every
 * feature and the column norms. A solve warm-started from that same x with the same y (the tuner's
 * next scan point, a fold's next l1, even after a trip through a worker) takes them instead of its
 * first sweep over A; x and y are compared entry by entry (O(n + m) against the sweep's O(mn)). A is
 * taken as unchanged once in a problem, as elsewhere (noteColumnNorms).
 */
interface StoppedAt {
  x: Float64Array;
  y: Float64Array;
  c: Float64Array;
  norms2: Float64Array;
}
const stoppedAt = new WeakMap<ColumnOperator, StoppedAt>();

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What stays fixed during one solve: the problem, column norms, options and workspaces. */
export interface CdContext {
  problem: Problem;
  penalty: SeparablePenalty;
  cols: Columns;
  yy: number;
  gapTarget: number;
  norms2: Float64Array;
  norms: Float64Array;
  /** 1/‖a_j‖², the coordinate step. */
  step: Float64Array;
  screening: boolean;
  /** Prove the support before stopping (StepOptions.certifySupport). */
  certifySupport: boolean;
  p0: number;
  onIteration?: (progress: CoordinateDescentProgress) => void;
  // workspaces (no meaning between steps)
  scores: Float64Array;
  scratch: Int32Array;
  mark: Uint8Array;
  xAcc: Float64Array;
  rAcc: Float64Array;
}

/** The iterate and everything the next step needs: plain typed arrays and numbers. */
export interface CdState {
  x: Float64Array;
  /** y − Ax. */
  r: Float64Array;
  /** Aᵀr on the features in play (0 for screened ones). */
  c: Float64Array;
  /** Features in play (not screened, non-zero column), increasing, in alive[0..nAlive). */
  alive: Int32Array;
  nAlive: number;
  screened: Uint8Array;
  nScreened: number;
  /** min over screened j of their slack σ_j (see solveCoordinateDescent). */
  minSlack: number;
  /** The working set ws[0..k) and the size asked for. */
  ws: Int32Array;
  k: number;
  wsSize: number;
  /** "outer": the next step starts with a gap, screening and a new working set. */
  phase: "outer" | "inner";
  epochsInSet: number;
  epochs: number;
  iterations: number;
  support: number;
  gap: number;
  bestGap: number;
  stalled: number;
  stop: StopTest;
  anderson: AndersonMemory | null;
  /** At the stop: the certificate of x on every feature (screened ones included). */
  certificate: Certificate | null;
  /** At the stop: the support of x is proven to be the solution's (supportIsCertain). */
  supportCertain: boolean;
}

/**
 * Working-set coordinate descent (celer / skglm) for ½‖Ax − y‖² + g(x), g separable
 * (l1, weighted l1, l2, elastic net: penalties/). Each step is one epoch over the working set;
 * a step that starts an outer iteration first does:
 *  0. r = y − Ax, c = Aᵀr on the features still in play, the duality gap G (kkt/certificate.ts);
 *     stop when G ≤ tol·‖y‖².
 *  1. gap-safe screening: θ = r/s, the dual point of the certificate. The dual D is 1-strongly
 *     concave (D(θ) = yᵀθ − ½‖θ‖² − Σ_j g_j*(a_jᵀθ), g_j* convex), so ½‖θ − θ*‖² ≤ D(θ*) − D(θ)
 *     ≤ G and θ* lies in the ball B(θ, √(2G)). The solution has x*_j = 0 whenever
 *     |a_jᵀθ*| < l1 w_j (the kink height), which is guaranteed when |a_jᵀθ| + √(2G)‖a_j‖ < l1 w_j.
 *     Such features are dropped for good (set to 0 if needed).
 *  2. working set: the support of x plus the features with the smallest
 *     d_j = (l1 w_j − |a_jᵀθ|)/‖a_j‖ (celer's distance to the dual constraint), of size
 *     max(initial, 2·|supp x|) at first, then at least doubling, capped at the features in play;
 *     never smaller than |supp x| + the violators (d_j < 0: features at 0 that the prox would
 *     move), so that a large support (the elastic net's 554 of 1500) is not reached by doubling
 *     from 30 over five outer iterations but in one;
 *  3. then epochs on the working set, x_j ← prox_{g_j/‖a_j‖²}(x_j + a_jᵀr/‖a_j‖²), with
 *     Anderson extrapolation every K+1 = 6 epochs (kept only when it lowers the working-set
 *     objective), until the working-set sub-problem's gap ≤ 0.3·G.
 *
 * Gap with screened features: their c_j is not recomputed (that is the saving) and enters the
 * certificate as 0, which gives the gap of the reduced problem. Screening is safe, so the
 * reduced problem has the same optimum and this gap still bounds objective − optimum. At the
 * stop it is also the gap of the full problem: a feature j screened at (θ_t, ρ_t) with slack
 * σ_j = (l1 w_j − |a_jᵀθ_t|)/‖a_j‖ − ρ_t satisfies |a_jᵀθ| ≤ l1 w_j at the final θ as soon as
 * √(2G) ≤ σ_j (θ and θ_t are within √(2G) resp. ρ_t of θ*); when that check fails the
 * screened correlations are computed once and the full certificate decides.
 */
export const coordinateDescent: IterativeSolver<CdContext, CdState> = {
  name: "cd",
  capabilities: { penalties: ["l1", "l2", "elastic-net"], constraints: false, bounds: true, needsColumns: true },
  defaultMaxIter: CD_MAX_OUTER,
  setup,
  step,
  test: (_context, state) => state.stop,
  iterate: (state) => state.x,
  iterations: (state) => state.iterations,
  certificate: (_context, state) => (state.stop.done ? state.certificate : null),
  supportCertain: (_context, state) => state.stop.done && state.supportCertain,
};

export function solveCoordinateDescent(problem: Problem, options: CoordinateDescentOptions = {}): Solution {
  return runSolver(coordinateDescent, problem, options as CoordinateDescentOptions & Record<string, unknown>);
}

function setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: CdContext; state: CdState } {
  const penalty = terms.separable!; // the driver checked the capabilities: no tv term
  const { y } = problem;
  const A = problem.A as ColumnOperator; // the driver checked the capability
  const m = A.rows, n = A.cols;
  const o = options as StepOptions & CoordinateDescentOptions;
  const context: CdContext = {
    problem, penalty, cols: columnsOf(A), yy: dot(y, y), gapTarget: options.gapTarget,
    norms2: new Float64Array(n), norms: new Float64Array(n), step: new Float64Array(n),
    screening: o.screening ?? true,
    // A support can be proven only where the primal is strongly convex (not the Lasso).
    certifySupport: options.certifySupport === true && problem.bounds === undefined && everywhereCurved(penalty, n),
    p0: Math.max(1, Math.floor(o.initialWorkingSet ?? defaultInitialWorkingSet(n))),
    onIteration: o.onIteration,
    scores: new Float64Array(n), scratch: new Int32Array(n), mark: new Uint8Array(n),
    xAcc: new Float64Array(n), rAcc: new Float64Array(m),
  };
  const state: CdState = {
    x: Float64Array.from(x0), r: new Float64Array(m), c: new Float64Array(n),
    alive: new Int32Array(n), nAlive: 0, screened: new Uint8Array(n), nScreened: 0, minSlack: Infinity,
    ws: new Int32Array(n), k: 0, wsSize: 0, phase: "outer", epochsInSet: 0, epochs: 0, iterations: 0,
    support: 0, gap: Infinity, bestGap: Infinity, stalled: 0,
    stop: { done: false, gap: Infinity },
    anderson: (o.anderson ?? true) ? andersonMemory(ANDERSON_K, n, m) : null,
    certificate: null, supportCertain: false,
  };
  // First sweep: c = Aᵀr and the column norms in one pass over A (none from where the last solve stopped).
  state.support = refreshResidual(context, state);
  const last = stoppedAt.get(A);
  if (last && sameValues(last.x, state.x) && sameValues(last.y, y)) {
    state.c.set(last.c);
    context.norms2.set(last.norms2);
  } else {
    context.cols.correlateAndNorms(state.r, state.c, context.norms2);
  }
  noteColumnNorms(A, context.norms2);
  for (let j = 0; j < n; j++) {
    context.norms[j] = Math.sqrt(context.norms2[j]);
    context.step[j] = 1 / context.norms2[j];
    if (context.norms2[j] > 0) {
      state.alive[state.nAlive++] = j;
    } else {
      // A zero column never helps (x*_j = 0) and would divide by zero below; a_j = 0 so r and
      // c are unchanged.
      state.c[j] = 0;
      if (state.x[j] !== 0) {
        state.x[j] = 0;
        state.support--;
      }
    }
  }
  return { context, state };
}

/** g_j'' > 0 for every j (the elastic net; not the Lasso). */
function everywhereCurved(penalty: SeparablePenalty, n: number): boolean {
  for (let j = 0; j < n; j++) if (!(penalty.supportCurvature(j) > 0)) return false;
  return true;
}

/** r ← y − A x from scratch (the support only): no drift from the incremental updates. Returns |supp x|. */
function refreshResidual(context: CdContext, state: CdState): number {
  const { x } = state, { cols } = context;
  state.r.set(context.problem.y);
  const r = cols.bind(state.r, 0);
  let support = 0;
  for (let j = 0; j < x.length; j++) {
    const xj = x[j];
    if (xj !== 0) {
      cols.axpy(j, -xj, r);
      support++;
    }
  }
  cols.unbind(r, state.r);
  return support;
}

/** One epoch on the working set (after the outer work when one is due). */
function step(context: CdContext, state: CdState): void {
  if (state.phase === "outer") {
    outerIteration(context, state);
    if (state.stop.done) return;
  }
  epoch(context, state);
  state.epochsInSet++;
  state.epochs++;
  const anderson = state.anderson;
  if (anderson !== null) {
    andersonPush(anderson, state.x, state.ws, state.r);
    if (andersonReady(anderson)) tryExtrapolation(context, state, anderson);
  }
  const innerDone = state.epochsInSet % GAP_EVERY === 0 && workingSetGap(context, state) <= INNER_RATIO * state.gap;
  if (innerDone || state.epochsInSet >= MAX_EPOCHS) {
    state.iterations++;
    state.support = refreshResidual(context, state);
    state.phase = "outer";
  }
}

/** One cyclic sweep over ws[0..k): x_j ← prox_{g_j/‖a_j‖²}(x_j + a_jᵀr/‖a_j‖²), r kept equal to y − Ax. */
function epoch(context: CdContext, state: CdState): void {
  const { cols, penalty, step: h } = context;
  const { x, ws, k } = state;
  const r = cols.bind(state.r, 0);
  for (let t = 0; t < k; t++) {
    const j = ws[t];
    const old = x[j];
    const z = penalty.proxCoordinate(j, old + cols.dot(j, r) * h[j], h[j]);
    if (z !== old) {
      cols.axpy(j, old - z, r);
      x[j] = z;
    }
  }
  cols.unbind(r, state.r);
}

/**
 * Accept the Anderson point when it lowers the working-set objective ½‖r‖² + Σ_{ws} g_j. The
 * point keeps the zeros of the last epoch: a combination of iterates in which a coefficient
 * only just reached 0 leaves it at a tiny non-zero (2 spurious actives of 556 on
 * enet-400x1500), which the prox of the last epoch had already set exactly to 0.
 */
function tryExtrapolation(context: CdContext, state: CdState, anderson: AndersonMemory): void {
  const { xAcc, rAcc, penalty, cols } = context;
  const { x, r, ws, k } = state;
  if (!andersonExtrapolate(anderson, xAcc, rAcc)) return;
  const bound = cols.bind(rAcc, 1);
  for (let t = 0; t < k; t++) {
    if (x[ws[t]] === 0 && xAcc[t] !== 0) {
      cols.axpy(ws[t], xAcc[t], bound); // r_acc = y − A x_acc stays exact
      xAcc[t] = 0;
    }
  }
  cols.unbind(bound, rAcc);
  let current = 0.5 * dot(r, r), extrapolated = 0.5 * dot(rAcc, rAcc);
  for (let t = 0; t < k; t++) {
    current += penalty.valueAt(ws[t], x[ws[t]]);
    extrapolated += penalty.valueAt(ws[t], xAcc[t]);
  }
  if (extrapolated < current) {
    for (let t = 0; t < k; t++) x[ws[t]] = xAcc[t];
    r.set(rAcc);
  }
}

/** Duality gap of the sub-problem restricted to ws[0..k) (the same dual rules as the full one). */
function workingSetGap(context: CdContext, state: CdState): number {
  const { cols, penalty, problem } = context;
  const { x, r, c, ws, k } = state;
  let primal = 0.5 * dot(r, r);
  const bound = cols.bind(r, 0);
  for (let t = 0; t < k; t++) {
    const j = ws[t];
    primal += penalty.valueAt(j, x[j]);
    c[j] = cols.dot(j, bound);
  }
  return primal - dualObjective(penalty, problem.y, r, c, ws, k);
}

/** c_j = a_jᵀr for the screened features (left at 0 while solving). */
function correlateScreened(context: CdContext, state: CdState): void {
  const { cols } = context;
  const { c, screened } = state;
  const r = cols.bind(state.r, 0);
  for (let j = 0; j < c.length; j++) if (screened[j] === 1) c[j] = cols.dot(j, r);
}

/** The certificate of x with the screened features' correlations computed: the one the driver would make. */
function fullCertificate(context: CdContext, state: CdState): Certificate {
  correlateScreened(context, state);
  return certificate(context.problem, state.x, state.r, state.c, context.penalty);
}

/** Gap, stopping test, screening and the next working set (steps 0-2 above). */
function outerIteration(context: CdContext, state: CdState): void {
  const { cols, norms, penalty, problem, gapTarget } = context;
  const { x, r, c, alive, screened } = state;
  const n = x.length;
  if (state.iterations > 0 || state.epochs > 0) {
    const bound = cols.bind(r, 0);
    for (let t = 0; t < state.nAlive; t++) c[alive[t]] = cols.dot(alive[t], bound);
  }
  const cert = certificate(problem, x, r, c, penalty);
  const gap = cert.dualityGap;
  state.gap = gap;
  let converged = false, fullGap = gap;
  if (meetsTolerance(cert, penalty, x, gapTarget)) {
    if (state.nScreened === 0 || Math.sqrt(2 * gap) <= state.minSlack) {
      converged = true; // the screened features are dual feasible at θ: the full gap is this one
    } else {
      // Rare: prove dual feasibility for the screened features directly.
      correlateScreened(context, state);
      const full = certificate(problem, x, r, c, penalty);
      converged = meetsTolerance(full, penalty, x, gapTarget);
      fullGap = Math.max(gap, full.dualityGap);
      for (let j = 0; j < n; j++) if (screened[j] === 1) c[j] = 0;
    }
  }
  if (converged && context.certifySupport) {
    // Screened features are zero at x* (the same gap-safe rule): the alive ones decide.
    state.supportCertain = supportIsCertain(penalty, x, c, fullGap, norms, context.yy, alive, state.nAlive);
    if (!state.supportCertain && gap > CERTIFY_DEPTH * gapTarget) converged = false;
  }
  // No progress for STALL_LIMIT outer iterations while the gap is down at rounding level: it
  // is at its floating-point floor (tol too small for this problem). Above that level the gap
  // of a slow, ill-conditioned problem may well go sideways for a while: not a stall.
  if (gap < state.bestGap || gap > STALL_LEVEL * context.yy) {
    state.bestGap = gap;
    state.stalled = 0;
  } else {
    state.stalled++;
  }
  const progress = () => ({ iteration: state.iterations, gap, alive: state.nAlive, workingSetSize: state.phase === "outer" ? 0 : state.k, support: state.support, epochs: state.epochs, screened });
  if (converged || state.stalled >= STALL_LIMIT) {
    state.certificate = state.nScreened === 0 ? cert : fullCertificate(context, state);
    // c is now Aᵀr for every feature (the screened ones just computed): the next warm start's first sweep.
    stoppedAt.set(problem.A as ColumnOperator, { x: Float64Array.from(x), y: Float64Array.from(problem.y), c: Float64Array.from(c), norms2: context.norms2 });
    state.stop = {
      done: true,
      gap,
      ...(!converged && { reason: `no progress in ${STALL_LIMIT} outer iterations at the floating-point floor (use a larger tol)` }),
    };
    context.onIteration?.(progress());
    return;
  }

  // Dual scaling: θ = r/s, so |a_jᵀθ| = |c_j|/s.
  let s = 1;
  for (let t = 0; t < state.nAlive; t++) s = Math.max(s, penalty.dualScale(alive[t], c[alive[t]]));
  const invS = 1 / s;

  if (context.screening) {
    const rho = Math.sqrt(2 * gap);
    let kept = 0, zeroed = false;
    for (let t = 0; t < state.nAlive; t++) {
      const j = alive[t];
      const slack = penalty.slack(j, 0, c[j] * invS) / norms[j] - rho;
      if (slack > 0) {
        screened[j] = 1;
        state.nScreened++;
        if (slack < state.minSlack) state.minSlack = slack;
        c[j] = 0;
        if (x[j] !== 0) {
          x[j] = 0; // safe: x*_j = 0
          zeroed = true;
        }
      } else {
        alive[kept++] = j;
      }
    }
    state.nAlive = kept;
    if (zeroed) state.support = refreshResidual(context, state);
  }

  // Scores, and the violators: features at 0 that the prox would move (score < 0).
  const scores = context.scores;
  let violators = 0;
  for (let t = 0; t < state.nAlive; t++) {
    const j = alive[t];
    scores[j] = x[j] !== 0 ? -Infinity : penalty.slack(j, 0, c[j] * invS) / norms[j];
    if (x[j] === 0 && scores[j] < 0) violators++;
  }
  state.wsSize = Math.min(state.nAlive, Math.max(context.p0, 2 * state.support, 2 * state.wsSize, state.support + violators));
  context.onIteration?.({ ...progress(), workingSetSize: state.wsSize });
  state.k = buildWorkingSet(alive, state.nAlive, scores, state.wsSize, context.scratch, context.mark, state.ws);
  state.phase = "inner";
  state.epochsInSet = 0;
  if (state.anderson) andersonReset(state.anderson, state.k);
}
