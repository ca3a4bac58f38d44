import { HeldOutMse } from "../criteria/heldout.js";
import { InputError, NumericalError } from "../errors.js";
import { UpdatableCholesky } from "../linalg/cholesky-update.js";
import { selectInPlace } from "../linalg/select.js";
import { dot, requireVector } from "../linalg/vector.js";
import { DenseMatrix } from "../operators/dense.js";
import { applyOnSupport } from "../operators/products.js";
import { hasColumns, requireOperator, type ColumnOperator, type LinearOperator } from "../operators/operator.js";
import { penaltyFamily } from "../penalties/index.js";
import { L1_MIN_RATIO, requireProblem, withPenalty, type Problem } from "../problem.js";
import { columnsOf, type Columns } from "./columns.js";
import { solveCoordinateDescent } from "./coordinate-descent.js";

/**
 * The exact Lasso / elastic-net path in l1 (l2 and the weights fixed): the homotopy (LARS-Lasso)
 * walk of math.md, "Exact breakpoints along l1". On a piece with support S and signs s,
 *   x_S(λ) = a − λ b,  a = H⁻¹A_Sᵀy,  b = H⁻¹(w_S∘s),  H = A_SᵀA_S + l2 I,
 * and the next breakpoint below λ is where a coefficient reaches 0 or an inactive correlation
 * c_j = a_jᵀ(y − A_S x_S) reaches ±w_j λ. H's Cholesky factor is up- and down-dated as features
 * enter and leave. A held-out criterion ‖A_v x − y_v‖²/m_v is an exact quadratic on each piece.
 */

export interface LassoPathOptions {
  /** Largest l1 (default λ_max, where x = 0). Above λ_max the path starts at λ_max. */
  from?: number;
  /** Smallest l1 (default 1e-3·from). */
  to?: number;
  /** The criterion minimised exactly on each piece (a held-out or reference HeldOutMse); none: breakpoints only. */
  criterion?: HeldOutMse;
  /** Warm start for the certified solve at `from` (below λ_max), e.g. a solution at a nearby l1. */
  warmStart?: Float64Array;
  /** Cap on breakpoints (default 20·min(m, n) + 100): a cycling path stops with a message. */
  maxBreakpoints?: number;
  /**
   * Where an earlier walk of the same problem ended (its `state`): when that is `from`, this walk
   * goes on from there, its support and factor as they are (no start solve, no factorisation).
   */
  resume?: PathState;
  /** Aᵀy and the column norms of this problem's A and y, kept from an earlier walk (PathBasis): not computed again. */
  basis?: PathBasis;
}

/**
 * What a walk's start computes from A and y alone, two full passes over A: Aᵀy (λ_max, the
 * correlations at x = 0) and the column norms. A caller that walks the same A and y again (the
 * tuner's walks, each fold's) keeps it and passes it on (LassoPathOptions.basis).
 */
export class PathBasis {
  readonly aty: Float64Array;
  readonly norms: Float64Array;

  constructor(readonly A: ColumnOperator, readonly y: Float64Array) {
    requireOperator("A", A);
    if (!hasColumns(A)) throw new InputError("A", "expected an operator with column access (columnDot, columnAxpy, columnInner, columnNormsSquared)");
    requireVector("y", y, A.rows);
    this.aty = A.applyT(y, new Float64Array(A.cols));
    this.norms = A.columnNormsSquared().map(Math.sqrt);
  }

  /** The basis of `problem`'s A and y: this one when they are the same arrays, else a new one. */
  static of(problem: Problem, kept?: PathBasis): PathBasis {
    if (!hasColumns(problem.A)) throw new InputError("A", "expected a matrix with column access (the path works on columns of A)");
    return kept && kept.A === problem.A && kept.y === problem.y ? kept : new PathBasis(problem.A, problem.y);
  }

  /** λ_max of a problem with this A and y (its penalty's weights). */
  lambdaMax(problem: Problem): number {
    return penaltyFamily(problem).lambdaMax(this.aty);
  }
}

/** Where a walk ended, for one later walk to go on from (LassoPathOptions.resume); opaque. */
export class PathState {
  private homotopy: Homotopy | null;

  /** @internal */
  constructor(homotopy: Homotopy, readonly lambda: number, private readonly problem: Problem) {
    this.homotopy = homotopy;
  }

  /** The walk's state when `problem` has the same A, y, l2 and weights and `from` is where it ended; once only (the next walk changes it). */
  take(problem: Problem, from: number): Homotopy | null {
    const p = this.problem.penalty, q = problem.penalty;
    const same = from === this.lambda && problem.A === this.problem.A && problem.y === this.problem.y && p.l2 === q.l2 && p.weights === q.weights;
    const h = same ? this.homotopy : null;
    if (h) this.homotopy = null;
    return h;
  }
}

/** One piece [lo, hi] of the path: the support and signs there, and the criterion on it. */
export interface PathPiece {
  hi: number;
  lo: number;
  active: number[];
  signs: number[];
  /** criterion(l1) = c0 + c1·τ + c2·τ², τ = hi − l1 (exact on the piece); absent without a criterion. */
  quadratic?: [number, number, number];
  /** The criterion's smallest value on the piece and where. */
  minimum?: { l1: number; criterion: number };
}

export interface PathMinimiser {
  l1: number;
  criterion: number;
  /** The solution at l1 (exact: a − l1·b on its piece). */
  x: Float64Array;
}

export interface LassoPath {
  lambdaMax: number;
  from: number;
  /** Where the walk ended: `to`, or above it when it stopped early (see `message`). */
  end: number;
  /** Every l1 in [end, from] at which the support changes, descending (ties counted once). */
  breakpoints: number[];
  pieces: PathPiece[];
  /** The exact minimiser of the criterion over [end, from] (with a criterion). */
  minimiser?: PathMinimiser;
  /** Why the walk ended above `to`: the path cannot go on (dependent columns, too many breakpoints). */
  message?: string;
  /** Full products Aᵀv made (screening refreshes), for the curious and the benchmarks. */
  refreshes: number;
  /** Solves made to start below λ_max (0 to 2) and their inner iterations. */
  solves: number;
  innerIterations: number;
  /** Where the walk ended when it reached `to`: a later walk down from there can go on (`resume`). */
  state?: PathState;
}

/** Events closer than this (relative to λ) are ties: taken at the same l1. */
const TIE = 1e-13;
/** The solve that finds the support at `from` (polished: the support is then exact). */
export const PATH_START_TOL = 1e-10;
/** Candidate correlations tracked between full products: about SCREEN_FACTOR·√n of the closest. */
const SCREEN_FACTOR = 4;

function checkPathInput(problem: Problem, options: LassoPathOptions): { A: ColumnOperator; basis: PathBasis; lmax: number; from: number; to: number } {
  requireProblem(problem);
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected { from?, to?, criterion?, warmStart?, maxBreakpoints?, resume?, basis? }");
  const { criterion, maxBreakpoints, resume, basis: kept } = options;
  if (criterion !== undefined && !(criterion instanceof HeldOutMse)) throw new InputError("criterion", "expected a held-out or reference criterion (HeldOutMse.of(problem), HeldOutMse.reference(problem))");
  if (maxBreakpoints !== undefined && !(Number.isSafeInteger(maxBreakpoints) && maxBreakpoints >= 1)) throw new InputError("maxBreakpoints", `expected a positive integer, got ${String(maxBreakpoints)}`);
  if (resume !== undefined && !(resume instanceof PathState)) throw new InputError("resume", "expected the state of an earlier walk (LassoPath.state)");
  if (kept !== undefined && !(kept instanceof PathBasis)) throw new InputError("basis", "expected a PathBasis kept from an earlier walk");
  if (problem.basisPursuit) throw new InputError("basisPursuit", "expected a penalised problem: the basis-pursuit solution does not depend on l1, it has no path");
  if (problem.penalty.tv > 0) throw new InputError("penalty.tv", "expected tv = 0: the exact path is for the Lasso and elastic net (l1, l2, weights)");
  if (problem.constraints || problem.bounds) throw new InputError(problem.constraints ? "constraints" : "bounds", "expected no constraints or bounds: the exact path is for the plain Lasso and elastic net");
  for (const key of ["from", "to"] as const) {
    const v = options[key];
    const ok = typeof v === "number" && v > 0 && (Number.isFinite(v) || (key === "from" && v === Infinity));
    if (v !== undefined && !ok) throw new InputError(key, `expected a positive ${key === "from" ? "l1 (Infinity: λ_max)" : "finite l1"}, got ${String(v)}`);
  }
  const basis = PathBasis.of(problem, options.basis); // (refuses a matrix-free A)
  const lmax = basis.lambdaMax(problem);
  if (!(lmax > 0)) throw new InputError("y", "expected measurements correlated with some column of A (λ_max = 0: x = 0 for every l1)");
  const from = Math.min(options.from ?? lmax, lmax);
  if (from < L1_MIN_RATIO * lmax) {
    const e = (v: number) => v.toExponential(1);
    throw new InputError("from", `expected at least ${e(L1_MIN_RATIO)}·λ_max = ${e(L1_MIN_RATIO * lmax)} (the walk starts from a certified solve there), got ${e(from)}`);
  }
  const to = options.to ?? 1e-3 * from;
  if (!(to < from)) throw new InputError("to", `expected to < from (from = ${from.toPrecision(6)}${options.from !== undefined && options.from > lmax ? ", clamped to λ_max" : ""}), got ${to.toPrecision(6)}`);
  return { A: basis.A, basis, lmax, from, to };
}

/** The walk's state: support, factor, correlations of the screened candidates, residual drift. */
/** @internal */
class Homotopy {
  readonly n: number;
  readonly m: number;
  readonly l2: number;
  readonly w: Float64Array;
  readonly norms: Float64Array;
  readonly aty: Float64Array;
  /** Position of feature j in the support, −1 when inactive. */
  readonly where: Int32Array;
  readonly support: number[] = [];
  readonly sign: number[] = [];
  factor: UpdatableCholesky;
  /** Correlations a_jᵀ(y − A x) at the current λ: exact for all j after a refresh, kept for the candidates after. */
  readonly c: Float64Array;
  /** dc_j/dλ = a_jᵀ A_S b on the current piece, for the candidates (all j in a full step). */
  readonly q: Float64Array;
  candidates: Int32Array;
  candidateCount = 0;
  readonly isCandidate: Uint8Array;
  /** Non-candidates are safe while ‖r − r₀‖ + ρ(λ₀ − λ) < μ_out (Cauchy–Schwarz on a_jᵀ(r − r₀)). */
  muOut = Infinity;
  rho = 0;
  lambda0 = 0;
  readonly drift: Float64Array;
  readonly v: Float64Array;
  readonly r: Float64Array;
  a = new Float64Array(16);
  b = new Float64Array(16);
  col = new Float64Array(16);
  refreshes = 0;
  private readonly cols: Columns;
  private readonly pair = new Float64Array(2);
  private readonly margins: Float64Array;
  private readonly keep: number;

  constructor(
    readonly A: ColumnOperator,
    readonly y: Float64Array,
    l2: number,
    weights: Float64Array | undefined,
    basis: PathBasis,
  ) {
    this.n = A.cols;
    this.m = A.rows;
    this.cols = columnsOf(A);
    this.l2 = l2;
    this.w = weights ?? new Float64Array(this.n).fill(1);
    this.norms = basis.norms;
    this.aty = basis.aty;
    this.where = new Int32Array(this.n).fill(-1);
    this.factor = new UpdatableCholesky(Math.min(64, this.n));
    this.c = Float64Array.from(this.aty);
    this.q = new Float64Array(this.n);
    this.keep = Math.min(this.n, Math.ceil(SCREEN_FACTOR * Math.sqrt(this.n)) + 16);
    this.candidates = new Int32Array(this.n);
    this.isCandidate = new Uint8Array(this.n);
    this.margins = new Float64Array(this.n);
    this.drift = new Float64Array(this.m);
    this.v = new Float64Array(this.m);
    this.r = new Float64Array(this.m);
  }

  get size(): number {
    return this.support.length;
  }

  /** Back to the empty support. */
  reset(): void {
    for (const j of this.support) this.where[j] = -1;
    this.support.length = 0;
    this.sign.length = 0;
    this.factor = new UpdatableCholesky(Math.min(64, this.n));
  }

  /**
   * x_S = a − λb has the signs s and every inactive correlation (exact after a refresh) is within
   * its bound: the optimality conditions at λ, to rounding.
   */
  optimalAt(lambda: number, xs: Float64Array): boolean {
    for (let p = 0; p < this.size; p++) if (!(xs[p] * this.sign[p] > 0)) return false;
    for (let j = 0; j < this.n; j++) {
      if (this.where[j] < 0 && Math.abs(this.c[j]) > this.w[j] * lambda * (1 + 1e-9)) return false;
    }
    return true;
  }

  private ensure(k: number): void {
    if (this.a.length >= k) return;
    const cap = Math.max(2 * this.a.length, k);
    this.a = new Float64Array(cap);
    this.b = new Float64Array(cap);
    this.col = new Float64Array(cap);
  }

  /** a ← H⁻¹A_Sᵀy, b ← H⁻¹(w_S∘s): x_S(λ) = a − λ b. */
  direction(): void {
    const k = this.size, S = this.support;
    this.ensure(k);
    for (let p = 0; p < k; p++) {
      this.a[p] = this.aty[S[p]];
      this.b[p] = this.w[S[p]] * this.sign[p];
    }
    this.factor.solveInPlace(this.a);
    this.factor.solveInPlace(this.b);
  }

  /** out ← A_S u (u by support position; `padded`: all zero, for an operator without columns). */
  applySupport(op: LinearOperator, u: Float64Array, out: Float64Array, padded?: Float64Array): Float64Array {
    return applyOnSupport(op, this.support, u, out, padded);
  }

  /** Add feature j with sign s: H gains the column [A_Sᵀa_j; ‖a_j‖² + l2] (A_Sᵀa_j given as `inner`, or computed). */
  enter(j: number, s: number, inner?: Float64Array): void {
    const k = this.size;
    this.ensure(k + 1);
    if (inner) this.col.set(inner);
    else if (this.A instanceof DenseMatrix) this.A.applyColumnsT(this.support, this.A.column(j), this.col);
    else for (let p = 0; p < k; p++) this.col[p] = this.A.columnInner(this.support[p], j);
    this.factor.append(this.col, this.norms[j] * this.norms[j] + this.l2);
    this.where[j] = k;
    this.support.push(j);
    this.sign.push(s);
    if (this.isCandidate[j]) this.dropCandidate(j);
  }

  /** Remove the feature at support position p; it becomes a candidate (its correlation sits at the bound). */
  leave(p: number, lambda: number): void {
    const j = this.support[p];
    this.factor.remove(p);
    this.support.splice(p, 1);
    const s = this.sign.splice(p, 1)[0];
    this.where[j] = -1;
    for (let t = p; t < this.support.length; t++) this.where[this.support[t]] = t;
    this.c[j] = s * this.w[j] * lambda;
    this.addCandidate(j);
  }

  private addCandidate(j: number): void {
    if (this.isCandidate[j]) return;
    this.isCandidate[j] = 1;
    this.candidates[this.candidateCount++] = j;
  }

  private dropCandidate(j: number): void {
    this.isCandidate[j] = 0;
    for (let t = 0; t < this.candidateCount; t++) {
      if (this.candidates[t] === j) {
        this.candidates[t] = this.candidates[--this.candidateCount];
        return;
      }
    }
  }

  /**
   * Exact correlations of every feature at λ (one product Aᵀr, r = y − A_S x_S), then the
   * candidates: the `keep` inactive features closest to their bound in μ_j = (w_jλ − |c_j|)/‖a_j‖.
   */
  refresh(lambda: number, xs: Float64Array): void {
    this.refreshes++;
    const r = this.applySupport(this.A, xs, this.r);
    for (let i = 0; i < this.m; i++) r[i] = this.y[i] - r[i];
    this.A.applyT(r, this.c);
    this.rescreen(lambda);
  }

  /** Choose the candidates from correlations that are exact for every feature at λ. */
  rescreen(lambda: number): void {
    const n = this.n, mu = this.margins;
    let count = 0, rho = 0;
    for (let j = 0; j < n; j++) {
      this.isCandidate[j] = 0;
      if (this.where[j] >= 0 || this.norms[j] === 0) continue;
      mu[count++] = (this.w[j] * lambda - Math.abs(this.c[j])) / this.norms[j];
      rho = Math.max(rho, this.w[j] / this.norms[j]);
    }
    let threshold = Infinity;
    if (count > this.keep) threshold = selectInPlace(mu.subarray(0, count), this.keep);
    this.candidateCount = 0;
    let outside = Infinity;
    for (let j = 0; j < n; j++) {
      if (this.where[j] >= 0 || this.norms[j] === 0) continue;
      const m = (this.w[j] * lambda - Math.abs(this.c[j])) / this.norms[j];
      if (m < threshold) this.addCandidate(j);
      else outside = Math.min(outside, m);
    }
    this.muOut = outside;
    this.rho = rho;
    this.lambda0 = lambda;
    this.drift.fill(0);
  }

  /**
   * q_j ← a_jᵀv for the candidates, or for every inactive feature (`all`), whose correlations are
   * then brought up to date too: c_j(λ) = c_j(λ₀) + a_jᵀ(r − r₀), in the same pass over the columns.
   */
  slopes(all: boolean): void {
    const cols = this.cols, pair = this.pair;
    const v = cols.bind(this.v, 0);
    if (all) {
      this.refreshes++;
      const drift = cols.bind(this.drift, 1);
      for (let j = 0; j < this.n; j++) {
        if (this.where[j] >= 0) continue;
        if (this.isCandidate[j]) {
          this.q[j] = cols.dot(j, v);
        } else {
          cols.dotPair(j, drift, v, pair);
          this.c[j] += pair[0];
          this.q[j] = pair[1];
        }
      }
      return;
    }
    for (let t = 0; t < this.candidateCount; t++) {
      const j = this.candidates[t];
      this.q[j] = cols.dot(j, v);
    }
  }

  /** Non-candidates stay inside their bounds down to λ − t (the drift then is drift − t·v). */
  safeTo(lambda: number, t: number): boolean {
    if (this.muOut === Infinity) return true;
    let s = 0;
    for (let i = 0; i < this.m; i++) {
      const d = this.drift[i] - t * this.v[i];
      s += d * d;
    }
    return Math.sqrt(s) + this.rho * (this.lambda0 - lambda + t) < this.muOut * (1 - 1e-9);
  }
}

/** The next support change going down from λ: at λ − t, `feature` enters with `sign` (or leaves, sign 0). */
interface PathEvent {
  t: number;
  feature: number;
  sign: number;
}

/**
 * The next event below λ: a candidate (or, with `all`, any inactive feature) whose correlation
 * c_j − t q_j reaches ±w_j(λ − t), or a coefficient x_i + t b_i reaching 0. `skip` (the feature that
 * just changed) is ignored at t ≈ 0, where rounding could make it change back.
 */
function nextEvent(h: Homotopy, lambda: number, xs: Float64Array, all: boolean, skip: number, out: PathEvent): PathEvent {
  let bestT = Infinity, feature = -1, sign = 0;
  const tiny = TIE * lambda;
  const count = all ? h.n : h.candidateCount;
  for (let u = 0; u < count; u++) {
    const j = all ? u : h.candidates[u];
    if (all && (h.where[j] >= 0 || h.norms[j] === 0)) continue;
    const wj = h.w[j], cj = h.c[j], qj = h.q[j];
    const up = wj - qj, down = wj + qj;
    if (up > 0) {
      const t = Math.max(0, wj * lambda - cj) / up;
      if (t < bestT && !(j === skip && t <= tiny)) (bestT = t), (feature = j), (sign = 1);
    }
    if (down > 0) {
      const t = Math.max(0, wj * lambda + cj) / down;
      if (t < bestT && !(j === skip && t <= tiny)) (bestT = t), (feature = j), (sign = -1);
    }
  }
  for (let p = 0; p < h.size; p++) {
    const bp = h.b[p];
    if (bp === 0 || Math.sign(bp) === h.sign[p]) continue;
    const t = Math.max(0, -xs[p] / bp);
    if (t < bestT && !(h.support[p] === skip && t <= tiny)) (bestT = t), (feature = h.support[p]), (sign = 0);
  }
  out.t = bestT;
  out.feature = feature;
  out.sign = sign;
  return out;
}

/**
 * The held-out criterion on a piece: e(λ − τ) = e + τ z, z = A_v,S b, so
 *   C(λ − τ) = (‖e‖² + 2τ eᵀz + τ²‖z‖²)/m_v.
 */
function quadratic(e: Float64Array, z: Float64Array): [number, number, number] {
  const mv = e.length;
  return [dot(e, e) / mv, (2 * dot(e, z)) / mv, dot(z, z) / mv];
}

/** The support sorted by feature, with its signs. */
function sortedSupport(h: Homotopy): { active: number[]; signs: number[] } {
  const order = h.support.map((_, p) => p).sort((p, q) => h.support[p] - h.support[q]);
  return { active: order.map((p) => h.support[p]), signs: order.map((p) => h.sign[p]) };
}

/**
 * Start at l1 = from below λ_max: a tight solve gives the support and signs (x is then recomputed
 * exactly on them and checked by optimalAt; `polish`: the solve ends with the Newton step on its support).
 */
function startBelowMax(h: Homotopy, problem: Problem, from: number, warmStart: Float64Array | undefined, polish: boolean): { iterations: number; x: Float64Array } {
  const solution = solveCoordinateDescent(withPenalty(problem, { l1: from }), { tol: PATH_START_TOL, warmStart, polish });
  if (!solution.converged) throw new NumericalError(`the solve at from = ${from.toPrecision(6)} did not converge (${solution.message ?? "iteration cap"}); cannot start the path there`);
  const gram = h.A.gram?.(solution.active);
  solution.active.forEach((j, p) => {
    try {
      h.enter(j, solution.signs[p], gram && gram.subarray(p * solution.active.length, p * solution.active.length + p));
    } catch (e) {
      if (e instanceof NumericalError) throw new NumericalError(`the support at from = ${from.toPrecision(6)} has linearly dependent columns (the Lasso solution is not unique there); add l2 > 0 or start higher`);
      throw e;
    }
  });
  return { iterations: solution.iterations, x: solution.x };
}

/** Rounds of fromSupport's corrections before it gives up. */
const SUPPORT_ROUNDS = 8;
/** fromSupport gives up when a round would change more than this fraction of the support (at least 16 features). */
const SUPPORT_CHANGES = 0.25;

/**
 * The solution at λ from the support and signs of a nearby one (`warm`, e.g. a loose solve at
 * another l1), without a solve: x on the support exactly (`exact`: x_S = a − λb, correlations of
 * every feature refreshed), then, until optimalAt holds, the coefficients with the wrong sign
 * leave and the features past their bound enter (the sign of their correlation), SUPPORT_ROUNDS
 * times at most. False when it does not settle, a round would change too much (SUPPORT_CHANGES) or
 * the support turns dependent: the caller solves.
 */
function fromSupport(h: Homotopy, warm: Float64Array, lambda: number, exact: () => Float64Array): boolean {
  try {
    const active: number[] = [];
    for (let j = 0; j < warm.length; j++) if (warm[j] !== 0 && h.norms[j] > 0) active.push(j);
    const gram = h.A.gram?.(active);
    active.forEach((j, p) => h.enter(j, Math.sign(warm[j]), gram && gram.subarray(p * active.length, p * active.length + p)));
    for (let round = 0; round < SUPPORT_ROUNDS; round++) {
      const xs = exact();
      if (h.optimalAt(lambda, xs)) return true;
      const leaving: number[] = [];
      for (let p = 0; p < h.size; p++) if (!(xs[p] * h.sign[p] > 0)) leaving.push(p);
      let entering = 0;
      for (let j = 0; j < h.n; j++) if (h.where[j] < 0 && h.norms[j] > 0 && Math.abs(h.c[j]) > h.w[j] * lambda * (1 + 1e-9)) entering++;
      // A support this far off is no guide (the corrections would cost more than a solve).
      if (leaving.length + entering > SUPPORT_CHANGES * Math.max(16, h.size)) return false;
      for (let t = leaving.length - 1; t >= 0; t--) h.leave(leaving[t], lambda);
      for (let j = 0; j < h.n; j++) {
        // (A feature that just left sits on its bound, c_j = ±w_jλ: it does not come back at once.)
        if (h.where[j] < 0 && h.norms[j] > 0 && Math.abs(h.c[j]) > h.w[j] * lambda * (1 + 1e-9)) h.enter(j, Math.sign(h.c[j]));
      }
    }
    return false;
  } catch (e) {
    if (e instanceof NumericalError) return false;
    throw e;
  }
}

/**
 * Walk the exact path from l1 = `from` down to `to` (see the module comment): every breakpoint, the
 * support on each piece, and with a criterion its exact minimiser over [end, from].
 */
export function lassoPath(problem: Problem, options: LassoPathOptions = {}): LassoPath {
  const { A, basis, lmax, from, to } = checkPathInput(problem, options);
  const { l2, weights } = problem.penalty;
  const resumed = options.resume?.take(problem, from) ?? null;
  const h = resumed ?? new Homotopy(A, problem.y, l2, weights, basis);
  const refreshesBefore = h.refreshes;
  const criterion = options.criterion;
  const val = criterion?.validation;
  const e = val ? new Float64Array(val.y.length) : null;
  const z = val ? new Float64Array(val.y.length) : null;
  const scratch = val && !hasColumns(val.A) ? new Float64Array(h.n) : undefined;
  const maxBreakpoints = options.maxBreakpoints ?? 20 * Math.min(h.m, h.n) + 100;
  let xs = new Float64Array(16);
  const exactX = (lambda: number) => {
    h.direction();
    if (xs.length < h.size) xs = new Float64Array(h.a.length);
    for (let p = 0; p < h.size; p++) xs[p] = h.a[p] - lambda * h.b[p];
  };
  let lambda = from, solves = 0, startIterations = 0;
  const start = (warmStart: Float64Array | undefined, polish: boolean) => {
    const { iterations, x } = startBelowMax(h, problem, from, warmStart, polish);
    solves++;
    startIterations += iterations;
    exactX(lambda);
    h.refresh(lambda, xs);
    return x;
  };
  if (resumed) {
    // Its correlations and screening are those of where it stopped: the loop goes on as it was.
  } else if (from < lmax) {
    // The warm start's support, corrected by the optimality conditions, is usually the solution's
    // at a nearby l1 (no solve at all); else the unpolished solve's support (the factor below is
    // then the only one built); when x on it is not optimal either, the polished solve decides.
    if (!(options.warmStart && fromSupport(h, options.warmStart, lambda, () => (exactX(lambda), h.refresh(lambda, xs), xs)))) {
      h.reset();
      const x = start(options.warmStart, false);
      if (!h.optimalAt(lambda, xs)) {
        h.reset();
        start(x, true);
      }
    }
  } else {
    exactX(lambda);
    h.refresh(lambda, xs);
  }
  const result: LassoPath = { lambdaMax: lmax, from, end: to, breakpoints: [], pieces: [], refreshes: 0, solves, innerIterations: startIterations };
  if (from === lmax) result.breakpoints.push(lmax);
  let best: PathMinimiser | undefined;
  let skip = -1, stalls = 0;
  const ev: PathEvent = { t: Infinity, feature: -1, sign: 0 };
  const tieTo = (l: number) => (result.breakpoints.length > 0 && Math.abs(result.breakpoints[result.breakpoints.length - 1] - l) <= TIE * l);
  for (;;) {
    exactX(lambda);
    h.applySupport(A, h.b, h.v);
    // The candidates' slopes suffice while the others provably stay inside their bounds.
    let full = false;
    h.slopes(false);
    nextEvent(h, lambda, xs, false, skip, ev);
    let t = Math.min(ev.t, lambda - to);
    if (!h.safeTo(lambda, t)) {
      // Every slope (one product Aᵀv): the step is exact for all features, and the correlations
      // stepped with them are exact at its end, where the candidates are chosen again.
      full = true;
      h.slopes(true);
      nextEvent(h, lambda, xs, true, skip, ev);
      t = Math.min(ev.t, lambda - to);
    }
    const lo = t === lambda - to ? to : lambda - t; // the end exactly (a later walk goes on from `to`)
    if (e && z && val) {
      // The criterion's residual at λ (exact from x_S), its slope z, the quadratic on [lo, λ].
      h.applySupport(val.A, xs, e, scratch);
      for (let i = 0; i < e.length; i++) e[i] -= val.y[i];
      h.applySupport(val.A, h.b, z, scratch);
    }
    if (t > 0) {
      const piece: PathPiece = { hi: lambda, lo, ...sortedSupport(h) };
      if (e && z) {
        const quad = quadratic(e, z);
        const tauStar = quad[2] > 0 ? Math.min(t, Math.max(0, -quad[1] / (2 * quad[2]))) : quad[1] < 0 ? t : 0;
        const value = quad[0] + tauStar * (quad[1] + tauStar * quad[2]);
        piece.quadratic = quad;
        piece.minimum = { l1: lambda - tauStar, criterion: Math.max(0, value) };
        if (!best || value < best.criterion) {
          const x = new Float64Array(h.n);
          for (let p = 0; p < h.size; p++) x[h.support[p]] = xs[p] + tauStar * h.b[p];
          best = { l1: lambda - tauStar, criterion: Math.max(0, value), x };
        }
      }
      result.pieces.push(piece);
      stalls = 0;
    } else if (++stalls > h.size + 2) {
      throw new NumericalError(`degenerate path at l1 = ${lambda.toPrecision(8)}: ${stalls} support changes without moving (ties among the correlations); perturb y or add l2 > 0`);
    }
    // Step to lo: correlations of the tracked features, the residual drift.
    if (full) {
      for (let j = 0; j < h.n; j++) if (h.where[j] < 0) h.c[j] -= t * h.q[j];
    } else {
      for (let s = 0; s < h.candidateCount; s++) h.c[h.candidates[s]] -= t * h.q[h.candidates[s]];
      for (let i = 0; i < h.m; i++) h.drift[i] -= t * h.v[i];
    }
    lambda = lo;
    if (full) h.rescreen(lambda);
    const ended = ev.t >= t + TIE * lambda || lambda <= to;
    // The event at lo: a breakpoint (ties at the same l1 counted once).
    if (!ended && !tieTo(lambda)) result.breakpoints.push(lambda);
    if (ended) break;
    if (result.breakpoints.length > maxBreakpoints) {
      result.end = lambda;
      result.message = `stopped at l1 = ${lambda.toPrecision(6)} after ${maxBreakpoints} breakpoints`;
      break;
    }
    if (ev.sign !== 0) {
      try {
        h.enter(ev.feature, ev.sign);
      } catch (err) {
        if (!(err instanceof NumericalError)) throw err;
        result.end = lambda;
        result.message = `stopped at l1 = ${lambda.toPrecision(6)}: feature ${ev.feature} would enter with a column dependent on the ${h.size} active ones${h.l2 === 0 ? " (the Lasso solution is not unique below; add l2 > 0)" : ""}`;
        break;
      }
    } else {
      h.leave(h.where[ev.feature], lambda);
    }
    skip = ev.feature;
  }
  result.refreshes = h.refreshes - refreshesBefore;
  if (best) result.minimiser = best;
  if (result.message === undefined) result.state = new PathState(h, lambda, problem);
  return result;
}
