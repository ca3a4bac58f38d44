import { InputError } from "../errors.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { IdentityOperator } from "../operators/identity.js";
import type { PenaltyTerms } from "../penalties/index.js";
import { CompositeTvProx } from "../penalties/tv-prox.js";
import type { Certificate } from "../kkt/certificate.js";
import type { Problem } from "../problem.js";
import type { IterativeSolver, StepOptions, StopTest } from "./protocol.js";

/** Prox iterations per step (2-D; the 1-D prox is exact in one). */
const CHUNK = 20;

/**
 * The prox (its workspaces and last dual) used for each measurement vector y: a solve at a nearby
 * penalty (the tuner, a path) reuses the workspaces and starts from the last dual, clipped to the
 * new tv, instead of from zero. Only the starting point depends on it; the answer is certified to
 * the same tolerance either way.
 */
const proxFor = new WeakMap<Float64Array, CompositeTvProx>();
/** A warm-started prox checks its gap every other iteration (a cold one every 4). */
const WARM_CHECK_EVERY = 2;

interface DenoiseContext {
  problem: Problem;
  prox: CompositeTvProx;
  /** The prox holds the dual of an earlier solve of the same y (a warm start). */
  warm: boolean;
  /** Absolute duality-gap target, also the prox's own (the problem's gap with pure tv). */
  gapTarget: number;
  tvGap?: StepOptions["tvGap"];
}

export interface DenoiseState {
  x: Float64Array;
  /** The prox's dual (warm start of the next chunk). */
  dual: Float64Array;
  iterations: number;
  stop: StopTest;
  /** Pure tv in 2-D: the prox's certificate of x, which is the problem's. */
  certificate: Certificate | null;
}

/**
 * Denoising (A = I) with l1, l2 and tv on a grid: the solution is one prox,
 *   x = prox_{l1‖·‖₁ + l2/2‖·‖² + tv‖D·‖₁}(y)   (penalties/tv-prox.ts),
 * exact in 1-D (Condat's algorithm, one step), by certified accelerated row/column splitting in
 * 2-D (a step is CHUNK iterations, warm-started from the last dual).
 */
export const tvDenoise: IterativeSolver<DenoiseContext, DenoiseState> = {
  name: "tv-denoise",
  capabilities: { penalties: ["l1", "l2", "elastic-net", "tv"], constraints: false, needsColumns: false, needsIdentity: true },
  defaultMaxIter: 5000,
  setup,
  step,
  test: (_context, state) => state.stop,
  iterate: (state) => state.x,
  iterations: (state) => state.iterations,
  tvDual: (context) => context.prox.dualEstimate(),
  certificate: (_context, state) => state.certificate,
};

function setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: DenoiseContext; state: DenoiseState } {
  const D = terms.tv?.D;
  if (!(problem.A instanceof IdentityOperator) || !(D instanceof GridDifferences)) throw new InputError("A", "the tv-denoise solver needs A = identity and tv on the grid's differences");
  const { y } = problem;
  let prox = proxFor.get(y);
  const warm = prox !== undefined && prox.dual.length === D.rows;
  if (!warm) {
    prox = new CompositeTvProx(D, problem.penalty);
    proxFor.set(y, prox);
  }
  const context: DenoiseContext = {
    problem, prox: prox!.withPenalty(problem.penalty), warm, gapTarget: options.gapTarget, tvGap: options.tvGap,
  };
  const state: DenoiseState = {
    x: Float64Array.from(x0), dual: warm ? Float64Array.from(prox!.dual) : new Float64Array(D.rows), iterations: 0, stop: { done: false, gap: Infinity }, certificate: null,
  };
  return { context, state };
}

function step(context: DenoiseContext, state: DenoiseState): void {
  const { prox } = context;
  // The first step of a cold solve starts from zero (no warm dual worth certifying or reading).
  const warm = context.warm || state.iterations > 0;
  if (warm) prox.dual.set(state.dual);
  const report = prox.apply(context.problem.y, 1, state.x, { gapTarget: context.gapTarget, maxIter: CHUNK, warm, checkEvery: WARM_CHECK_EVERY });
  state.dual.set(prox.dual);
  state.iterations += report.iterations;
  // Pure tv: the prox is the problem and its certified gap is the problem's; with l1/l2 the
  // problem's gap comes from the TV certificate at the prox's dual.
  const pureTv = context.problem.penalty.l1 === 0 && context.problem.penalty.l2 === 0;
  state.certificate = pureTv ? (report.certificate ?? null) : null;
  const gap = !pureTv && context.tvGap ? context.tvGap(state.x, prox.dualEstimate()) : report.gap;
  // Rounding bounds what the gap can certify: stop at the prox's own verdict too.
  state.stop = { done: gap <= context.gapTarget || (report.converged && report.gap <= context.gapTarget), gap };
  if (!state.stop.done && report.converged && report.iterations < CHUNK) state.stop = { done: true, gap, reason: "the prox stalled at the floating-point floor" };
}
