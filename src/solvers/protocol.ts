import type { Certificate } from "../kkt/certificate.js";
import type { PenaltyTerms } from "../penalties/index.js";
import type { Problem } from "../problem.js";

/**
 * An iterative solver as an explicit state machine (jaxopt's init/update/run, PyLops'
 * setup/step/run/finalize). `setup` derives what stays fixed during a solve (the context: the
 * problem, column norms, workspaces) and the first state from x⁰; `step` advances the state by
 * one iteration; `test` reads its stopping test. The state holds only plain numbers and typed
 * arrays, never the problem, so `structuredClone(state)` records or checkpoints it cheaply;
 * unrolled differentiation drives the same steps. The driver (driver.ts) validates options,
 * loops, polishes and builds the Solution.
 */
export interface IterativeSolver<Context, State> {
  readonly name: string;
  readonly capabilities: SolverCapabilities;
  /** Default iteration cap, in the solver's own iterations. */
  readonly defaultMaxIter: number;
  setup(problem: Problem, terms: PenaltyTerms, x0: Float64Array, options: StepOptions): { context: Context; state: State };
  step(context: Context, state: State): void;
  test(context: Context, state: State): StopTest;
  /** The current iterate (a view into the state). */
  iterate(state: State): Float64Array;
  iterations(state: State): number;
  /**
   * The solver's estimate of the dual variable of the tv rows (z with |z_e| ≤ tv and
   * Aᵀ(Ax − y) + ∇g(x) + Dᵀz ≈ 0), when it has one: the TV certificate starts from it.
   */
  tvDual?(context: Context, state: State): Float64Array | null;
  /** The multipliers of Cx = d (one per row of C), for solvers that handle constraints. */
  multipliers?(context: Context, state: State): Float64Array;
  /**
   * The certificate of the current iterate, when the solver computed exactly the one the driver
   * would (denoising: the prox certifies x = y − Dᵀz with kkt/denoising-certificate.ts): the
   * driver then does not certify x a second time.
   */
  certificate?(context: Context, state: State): Certificate | null;
  /**
   * True when the solver proved that the support and signs of its iterate are the solution's
   * (kkt/support-certificate.ts, asked for by StepOptions.certifySupport): the driver then
   * need not polish to make the support exact.
   */
  supportCertain?(context: Context, state: State): boolean;
}

export interface StepOptions {
  /** Absolute duality-gap target, tol·‖y‖². */
  gapTarget: number;
  /** For tv problems: the certified duality gap of x given a dual estimate of the tv rows (kkt/tv-certificate.ts). */
  tvGap?: (x: Float64Array, zHint: Float64Array | null, nu?: Float64Array) => number;
  /**
   * The driver skips the polish of a support the solver proves exact (see supportCertain): a
   * solver that can should go on past gapTarget, within reason, until the proof holds.
   */
  certifySupport?: boolean;
  /** Solver-specific switches (screening, Anderson, working-set size, progress callbacks). */
  [option: string]: unknown;
}

export interface StopTest {
  /** Stop now. */
  done: boolean;
  /** The last duality gap computed (Infinity before the first). */
  gap: number;
  /** Why it stopped without meeting the target (a stall at the floating-point floor). */
  reason?: string;
}

/** What a solver can handle: the registry picks a solver from these. */
export interface SolverCapabilities {
  /** Penalty term names it handles (SeparablePenalty.name, "tv"). */
  penalties: readonly string[];
  /** Linear constraints Cx = d. */
  constraints: boolean;
  /** Bounds lower ≤ x ≤ upper (through the boxed penalty's prox: penalties/box.ts). */
  bounds?: boolean;
  /** Constraints and bounds together with tv (Split Bregman only). */
  constrainedTv?: boolean;
  /** Needs column access on A (ColumnOperator). */
  needsColumns: boolean;
  /** Handles A = identity only (denoising), with tv on the grid's differences. */
  needsIdentity?: boolean;
}
