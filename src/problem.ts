import { InputError } from "./errors.js";
import { requireObject } from "./optim/objective.js";
import { allFinite, dot, norm2Robust, norm2Squared, normInf, sum } from "./linalg/vector.js";
import { centered, columnMeans } from "./operators/centered.js";
import { lambdaMax } from "./penalties/index.js";
import type { Bounds } from "./penalties/box.js";
import { checkConstraints, toBounds } from "./constraints.js";
import { DenseMatrix, isMatrixLike, type DenseInput } from "./operators/dense.js";
import { IdentityOperator, identityDense } from "./operators/identity.js";
import { denseFromNdarray, isNdarray, vectorFromNdarray, type NdArrayLike } from "./operators/from-ndarray.js";
import { hasColumns, type LinearOperator } from "./operators/operator.js";

/** Penalty weights of ½‖Ax − y‖² + l1 Σ w_j|x_j| + l2/2‖x‖² + tv‖Dx‖₁. */
export interface Penalty {
  l1: number;
  l2: number;
  tv: number;
  /** Optional per-feature l1 weights w_j > 0 (weighted Lasso): feature j is penalised by l1·w_j. */
  weights?: Float64Array;
}

export interface Measurements {
  /** Any linear operator; column access (ColumnOperator) is an optional capability some solvers need. */
  A: LinearOperator;
  y: Float64Array;
}

/** One reconstruction problem (sparsetune-problem/1 once loaded). Immutable by convention. */
export interface Problem extends Measurements {
  name?: string;
  penalty: Penalty;
  /** Shape of x for tv, row-major: [n] or [h, w]. */
  grid: number[];
  /** A user operator for tv‖Dx‖₁ (default: the finite differences of `grid`). */
  D?: LinearOperator;
  // --- constraints and bounds (issue 8) ---
  /**
   * Cx = d. `redundant`: rows of C that are combinations of the others with a consistent d
   * (found by createProblem); the solvers drop them and report their multipliers as 0.
   */
  constraints?: { C: DenseMatrix; d: Float64Array; redundant?: number[] };
  /** lower ≤ x ≤ upper, ±Infinity where a side is open. */
  bounds?: Bounds;
  // --- end constraints and bounds ---
  validation?: Measurements;
  /** The clean signal, when known (synthetic problems, training images): the reference criterion. */
  truth?: Float64Array;
  /** Basis pursuit: min l1 Σ w_j|x_j| + tv‖Dx‖₁ subject to Ax = y (the data term becomes a constraint). */
  basisPursuit?: boolean;
  /**
   * An unpenalised intercept b: A, y (and validation) are stored centred, A − 1μᵀ and y − ȳ, so
   * that every solver and hypergradient sees the plain problem; b = ȳ − μᵀx (interceptOf).
   */
  intercept?: { means: Float64Array; offset: number };
}

export type OperatorInput = DenseInput | NdArrayLike | LinearOperator | { identity: number };
export type VectorInput = ArrayLike<number> | NdArrayLike;

/** What a user hands to `createProblem`: plain arrays, ml-matrix matrices or operators. */
export interface ProblemInput {
  name?: string;
  A: OperatorInput;
  y: VectorInput;
  penalty?: { l1?: number; l2?: number; tv?: number; weights?: VectorInput };
  grid?: number[];
  /** tv's operator D (rows × n), when not the grid's finite differences. */
  D?: OperatorInput;
  // --- constraints and bounds (issue 8) ---
  constraints?: { C: DenseInput; d: VectorInput };
  /** Each a number (every feature) or a vector of length n; a missing side is open (±Infinity). */
  bounds?: { lower?: number | VectorInput; upper?: number | VectorInput };
  // --- end constraints and bounds ---
  validation?: { A: OperatorInput; y: VectorInput };
  truth?: VectorInput;
  /** Basis pursuit: min l1 Σ w_j|x_j| + tv‖Dx‖₁ subject to Ax = y; needs l1 > 0 or tv > 0 (x depends on tv/l1 only), l2 = 0. */
  basisPursuit?: boolean;
  /** Fit an unpenalised intercept b (scikit-learn's fit_intercept=True): min ½‖Ax + b1 − y‖² + penalties. */
  intercept?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value);
  if (typeof value === "object") return "an object";
  return String(value);
}

/** Every entry of an array or array-like is a number (no null, boolean or numeric string coerced silently). */
function checkNumbers(values: ArrayLike<unknown>, field: string): void {
  if (ArrayBuffer.isView(values)) return; // typed arrays hold numbers by construction
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== "number") throw new InputError(field, `expected an array of numbers, got ${describe(values[i])} at index ${i}`);
  }
}

/**
 * Operator objects (DenseMatrix, IdentityOperator, a user's LinearOperator) are used by
 * reference: they are explicit operators, and copying a matrix-free one is impossible. Arrays,
 * ml-matrix matrices and ndarrays are copied into a DenseMatrix of the problem's own.
 */
export function toOperator(input: OperatorInput, field: string): LinearOperator {
  if (input instanceof DenseMatrix || input instanceof IdentityOperator) return input;
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i++) {
      const row: unknown = input[i];
      if (!Array.isArray(row)) throw new InputError(`${field}[${i}]`, `expected a row of numbers, got ${describe(row)}`);
      checkNumbers(row, `${field}[${i}]`);
    }
    return DenseMatrix.from(input as DenseInput, field);
  }
  if (isMatrixLike(input)) return DenseMatrix.from(input, field);
  if (isNdarray(input)) return denseFromNdarray(input, field);
  if (typeof input === "object" && input !== null && "identity" in input) {
    const n = input.identity;
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${field}.identity`, "expected a positive integer size");
    return new IdentityOperator(n);
  }
  const op = input as LinearOperator;
  if (typeof op?.apply === "function" && typeof op.applyT === "function" && Number.isInteger(op.rows) && Number.isInteger(op.cols)) return op;
  throw new InputError(field, "expected a matrix (number[][], ml-matrix Matrix, DenseMatrix), { identity: n } or a linear operator { rows, cols, apply, applyT }");
}

/** A finite vector of the problem's own: the caller's array is copied, never kept. */
export function toVector(input: VectorInput, field: string, length?: number): Float64Array {
  if (isNdarray(input)) input = vectorFromNdarray(input, field);
  if (input === null || typeof input !== "object" || typeof input.length !== "number") {
    throw new InputError(field, "expected an array of numbers");
  }
  if (input instanceof DataView || input instanceof BigInt64Array || input instanceof BigUint64Array) {
    throw new InputError(field, "expected an array of numbers (a Float64Array or number[])");
  }
  checkNumbers(input, field);
  const v = Float64Array.from(input);
  if (length !== undefined && v.length !== length) {
    throw new InputError(field, `expected length ${length}, got ${v.length}`);
  }
  if (!allFinite(v)) throw new InputError(field, "expected finite numbers (found NaN or Infinity)");
  return v;
}

function penaltyValue(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new InputError(field, "expected a finite number");
  if (value < 0) throw new InputError(field, `expected a non-negative number, got ${value}`);
  return value;
}

function checkGrid(grid: number[] | undefined, n: number): number[] {
  if (grid === undefined) return [n];
  const ok = Array.isArray(grid) && (grid.length === 1 || grid.length === 2) && grid.every((g) => Number.isInteger(g) && g > 0);
  if (!ok) throw new InputError("grid", "expected [n] or [h, w] with positive integers");
  const size = grid.reduce((a, b) => a * b, 1);
  if (size !== n) throw new InputError("grid", `expected a shape with ${n} cells (the columns of A), got [${grid.join(", ")}]`);
  return [...grid];
}

const PENALTY_KEYS = ["l1", "l2", "tv", "weights"];

/**
 * What double precision can certify. Squared norms (‖y‖², the largest ‖a_j‖², the same for the
 * validation data, ‖truth‖²) and the square of the scale of x (‖y‖/max‖a_j‖) must lie in
 * [SCALE_MIN, SCALE_MAX] when they are not zero: the duality gap is compared with tol·‖y‖²
 * (tol down to 1e-16) and sums of m·n products must neither overflow nor underflow to
 * subnormals. The solvers are exact between about 1e-280 and 1e280 on these; the window keeps
 * 80 decades for the problem's size and the tolerance.
 */
export const SCALE_MIN = 1e-200;
export const SCALE_MAX = 1e200;
/** Below l1 = L1_MIN_RATIO·λ_max the active set is decided by rounding (|a_jᵀr| ≤ l1 cannot be checked). */
export const L1_MIN_RATIO = 1e-12;
/**
 * Above l2 = L2_MAX_RATIO·max‖a_j‖², x ≈ Aᵀy/l2 is below rounding next to the data's scale.
 * (Up to there the solvers certify x by its KKT violation as well as the gap: a huge l2 makes
 * the gap of x = 0 tiny, not zero.)
 */
export const L2_MAX_RATIO = 1e16;
/** Per-feature weights must lie within this factor of each other (and of 1). */
export const WEIGHT_MAX_SPREAD = 1e12;

const e = (v: number) => v.toExponential(1);

/** A nonzero squared scale inside [SCALE_MIN, SCALE_MAX]; `what` names it in the message. */
function checkScale(value: number, nonzero: boolean, underflow: () => boolean, field: string, what: string, advice: string): void {
  if (!nonzero || (value >= SCALE_MIN && value <= SCALE_MAX)) return;
  if (value < SCALE_MIN && !underflow()) return;
  const shown = !Number.isFinite(value) ? "it overflows to Infinity" : value === 0 ? "it underflows to 0" : `it is ${e(value)}`;
  throw new InputError(field, `expected ${what} in [${e(SCALE_MIN)}, ${e(SCALE_MAX)}] (what double precision can certify), but ${shown}; ${advice}`);
}

/** max_i |d_i|/‖c_i‖ (rows of C nonzero unless d_i = 0): a lower bound on ‖x‖ when Cx = d. */
function forcedScale(C: DenseMatrix, d: Float64Array): number {
  let scale = 0;
  for (let i = 0; i < C.rows; i++) {
    if (d[i] === 0) continue;
    scale = Math.max(scale, Math.abs(d[i]) / norm2Robust(C.row(i)));
  }
  return scale;
}

function meanColumnScale(A: LinearOperator): number {
  return norm2Squared(A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows))) / A.cols;
}

function anyNonzero(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return true;
  return false;
}

/**
 * max_j ‖a_j‖² (for a matrix-free operator ‖A·1‖²/n, the mean column scale), memoised per
 * operator (operators are immutable by convention): solve() checks it on every call.
 */
const maxColumnNorm2 = new WeakMap<object, { value: number; nonzero: boolean }>();
/**
 * Record max_j ‖a_j‖² from column norms a solver has just computed in its own first sweep over A,
 * so that the scale check that follows costs no second pass (coordinate descent's setup).
 */
export function noteColumnNorms(A: LinearOperator, norms2: Float64Array): void {
  if (!maxColumnNorm2.has(A)) maxColumnNorm2.set(A, scaleOf(A, normInf(norms2)));
}

function columnScale(A: LinearOperator): { value: number; nonzero: boolean } {
  let s = maxColumnNorm2.get(A);
  if (!s) {
    s = scaleOf(A, hasColumns(A) ? normInf(A.columnNormsSquared()) : meanColumnScale(A));
    maxColumnNorm2.set(A, s);
  }
  return s;
}

/** A zero norm² may be an underflow of non-zero entries: a dense matrix says which. */
function scaleOf(A: LinearOperator, value: number): { value: number; nonzero: boolean } {
  return { value, nonzero: value > 0 || (A instanceof DenseMatrix && anyNonzero(A.data)) };
}

/**
 * When to refuse scales below SCALE_MIN: "create" only once a penalty is set and x = 0 is not
 * already the exact answer (l1 ≥ λ_max: a tiny y below the threshold is fine); "solve" the same
 * whatever the penalty; "tune" always (the tuner explores l1 below λ_max). Overflow is refused always.
 */
type ScaleMode = "create" | "solve" | "tune";

/** Scales of the data and the penalties: refuse what the solvers cannot certify (see SCALE_MIN). */
function checkScales(problem: Problem, mode: ScaleMode): void {
  const { A, y, penalty } = problem;
  const { l1, l2, weights } = penalty;
  if (mode === "create" && weights) {
    let lo = Infinity, hi = 0;
    for (const w of weights) {
      lo = Math.min(lo, w);
      hi = Math.max(hi, w);
    }
    if (hi / lo > WEIGHT_MAX_SPREAD || lo < 1 / WEIGHT_MAX_SPREAD || hi > WEIGHT_MAX_SPREAD) {
      throw new InputError("penalty.weights", `expected weights in [${e(1 / WEIGHT_MAX_SPREAD)}, ${e(WEIGHT_MAX_SPREAD)}] within a factor ${e(WEIGHT_MAX_SPREAD)} of each other, got ${e(lo)} to ${e(hi)}; scale l1 instead`);
    }
  }
  const yy = norm2Squared(y);
  const a = columnScale(A);
  const aa = a.value;
  const penalised = l1 > 0 || l2 > 0 || penalty.tv > 0;
  let lmax: number | undefined;
  const zeroIsExact = () => l1 > 0 && l1 >= (lmax ??= lambdaMax(problem));
  // Lazy: λ_max costs a product with Aᵀ, needed only when something is below SCALE_MIN.
  const underflow = () => mode === "tune" || ((mode === "solve" || penalised) && !zeroIsExact());
  checkScale(yy, anyNonzero(y), underflow, "y", "‖y‖²", "rescale y (x scales with it)");
  checkScale(aa, a.nonzero, underflow, "A", "the largest column norm² max‖a_j‖²", "rescale A (x scales inversely)");
  if (aa > 0 && yy > 0) checkScale(yy / aa, true, underflow, "y", "the squared scale of x, (‖y‖/max‖a_j‖)²,", "rescale y or A so that x is of moderate size");
  if (problem.validation) {
    const v = problem.validation;
    checkScale(norm2Squared(v.y), anyNonzero(v.y), underflow, "validation.y", "‖validation.y‖²", "rescale it with y");
    const va = columnScale(v.A);
    checkScale(va.value, va.nonzero, underflow, "validation.A", "the largest column norm²", "rescale it with A");
    if (va.value > 0 && aa > 0 && yy > 0) checkScale((va.value * yy) / aa, true, underflow, "validation.A", "the squared scale of the predictions validation.A·x", "rescale validation.A with A");
  }
  if (problem.truth) checkScale(norm2Squared(problem.truth), anyNonzero(problem.truth), underflow, "truth", "‖truth‖²", "rescale truth with x");
  if (problem.constraints && aa > 0) {
    // Every feasible x has ‖x‖ ≥ |d_i|/‖c_i‖ for each row: only too large a scale can be forced.
    checkScale(aa * forcedScale(problem.constraints.C, problem.constraints.d) ** 2, true, () => false, "constraints.d", "the squared scale of the predictions A·x that Cx = d forces, max‖a_j‖²·max_i (d_i/‖c_i‖)²,", "rescale d (x scales with it) or C");
  }
  if (mode === "tune") return;
  if (l1 > 0 && yy > 0) {
    // λ_max ≤ ‖y‖·max‖a_j‖/min w_j: compute it only when l1 might be below the certifiable ratio.
    const minW = weights ? weights.reduce((m, w) => Math.min(m, w), Infinity) : 1;
    if (l1 < L1_MIN_RATIO * Math.sqrt(yy * aa) / minW) {
      lmax ??= lambdaMax(problem);
      if (l1 < L1_MIN_RATIO * lmax) {
        throw new InputError("penalty.l1", `expected 0 or at least ${e(L1_MIN_RATIO)}·λ_max = ${e(L1_MIN_RATIO * lmax)} (λ_max = ‖Aᵀy‖∞ = ${e(lmax)}), got ${e(l1)}: below that rounding decides the active set`);
      }
    }
  }
  if (l2 > 0 && aa > 0 && l2 > L2_MAX_RATIO * aa) {
    throw new InputError("penalty.l2", `expected at most ${e(L2_MAX_RATIO)}·max‖a_j‖² = ${e(L2_MAX_RATIO * aa)}, got ${e(l2)}: beyond that x ≈ Aᵀy/l2 is too small for the duality gap to certify`);
  }
}

/**
 * Refuse data and penalties at scales double precision cannot certify (InputError naming the
 * field and the usable range). `createProblem` runs it; `solve` runs it again for problems
 * whose penalties were set afterwards (withPenalty), and the tuner with mode "tune".
 */
export function requireCertifiableScales(problem: Problem, mode: "solve" | "tune" = "solve"): void {
  requireProblem(problem);
  checkScales(problem, mode);
}

/** Validate and normalise a problem: shapes, types, finiteness, signs and scales are checked here, once; arrays are copied. */
export function createProblem(input: ProblemInput): Problem {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new InputError("problem", "expected an object with A and y");
  const A = toOperator(input.A, "A");
  if (A.rows < 1 || A.cols < 1) throw new InputError("A", "expected a non-empty matrix");
  const y = toVector(input.y, "y");
  if (y.length !== A.rows) throw new InputError("y", `expected length ${A.rows} (the rows of A), got ${y.length}`);
  const p = input.penalty ?? {};
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new InputError("penalty", "expected an object with l1, l2, tv");
  for (const key of Object.keys(p)) {
    if (!PENALTY_KEYS.includes(key)) throw new InputError(`penalty.${key}`, "unknown penalty, expected l1, l2, tv or weights");
  }
  const penalty: Penalty = {
    l1: penaltyValue(p.l1, "penalty.l1"),
    l2: penaltyValue(p.l2, "penalty.l2"),
    tv: penaltyValue(p.tv, "penalty.tv"),
  };
  if (p.weights !== undefined) {
    const w = toVector(p.weights, "penalty.weights", A.cols);
    for (let j = 0; j < w.length; j++) {
      if (!(w[j] > 0)) throw new InputError("penalty.weights", `expected positive weights, got ${w[j]} at index ${j}`);
    }
    penalty.weights = w;
  }
  const problem: Problem = { A, y, penalty, grid: checkGrid(input.grid, A.cols) };
  if (input.name !== undefined) problem.name = String(input.name);
  if (input.D !== undefined) {
    const D = toOperator(input.D, "D");
    if (D.cols !== A.cols) throw new InputError("D", `expected ${A.cols} columns (the columns of A), got ${D.cols}`);
    problem.D = D;
  }
  if (penalty.weights && penalty.tv > 0) throw new InputError("penalty.weights", "expected no per-feature weights together with tv (weighted l1 with total variation is not supported)");
  // --- constraints and bounds (issue 8) ---
  if (input.bounds !== undefined) problem.bounds = toBounds(input.bounds, A.cols);
  if (input.constraints !== undefined) {
    if (typeof input.constraints !== "object" || input.constraints === null) throw new InputError("constraints", "expected an object { C, d }");
    const operator = toOperator(input.constraints.C, "constraints.C");
    const C = operator instanceof IdentityOperator ? identityDense(operator.rows) : operator;
    if (!(C instanceof DenseMatrix)) throw new InputError("constraints.C", "expected a matrix (number[][], ml-matrix Matrix, DenseMatrix or { identity: n }), not a matrix-free operator");
    if (C.cols !== A.cols) throw new InputError("constraints.C", `expected ${A.cols} columns (the columns of A), got ${C.cols}`);
    const d = toVector(input.constraints.d, "constraints.d", C.rows);
    problem.constraints = checkConstraints(C, d, problem.bounds);
  }
  // --- end constraints and bounds ---
  if (input.validation !== undefined) {
    if (typeof input.validation !== "object" || input.validation === null) throw new InputError("validation", "expected an object { A, y }");
    const VA = toOperator(input.validation.A, "validation.A");
    if (VA.cols !== A.cols) throw new InputError("validation.A", `expected ${A.cols} columns (the columns of A), got ${VA.cols}`);
    const vy = toVector(input.validation.y, "validation.y");
    if (vy.length !== VA.rows) throw new InputError("validation.y", `expected length ${VA.rows} (the rows of validation.A), got ${vy.length}`);
    problem.validation = { A: VA, y: vy };
  }
  if (input.truth !== undefined) problem.truth = toVector(input.truth, "truth", A.cols);
  if (input.basisPursuit !== undefined) checkBasisPursuit(problem, input.basisPursuit);
  if (input.intercept !== undefined) centreForIntercept(problem, input.intercept);
  checkScales(problem, "create");
  return problem;
}

// ── The intercept: min over x, b of ½‖Ax + b1 − y‖² + penalties ─────────────────────────────
/**
 * Minimising over b first gives b = ȳ − μᵀx (μ = Aᵀ1/m the column means) and leaves
 * ½‖(A − 1μᵀ)x − (y − ȳ)‖²: the problem is stored centred. Validation data are centred with the
 * training μ and ȳ, so that their residual (A_v − 1μᵀ)x − (y_v − ȳ) = A_v x + b − y_v is that of
 * the predictions with the intercept (and its derivative in x includes b's).
 */
function centreForIntercept(problem: Problem, flag: unknown): void {
  if (typeof flag !== "boolean") throw new InputError("intercept", `expected true or false, got ${describe(flag)}`);
  if (!flag) return;
  const means = columnMeans(problem.A), offset = sum(problem.y) / problem.y.length;
  problem.A = centered(problem.A, means);
  problem.y = problem.y.map((v) => v - offset);
  if (problem.validation) problem.validation = { A: centered(problem.validation.A, means), y: problem.validation.y.map((v) => v - offset) };
  problem.intercept = { means, offset };
}

/** The intercept b = ȳ − μᵀx of a solution x of a problem with `intercept` (undefined without). */
export function interceptOf(problem: Problem, x: Float64Array): number | undefined {
  requireProblem(problem);
  return problem.intercept && problem.intercept.offset - dot(problem.intercept.means, x);
}

// ── Basis pursuit: min l1 Σ w_j|x_j| + tv‖Dx‖₁ subject to Ax = y ────────────────────────────────
/**
 * The flag `basisPursuit: true` turns the data term into the constraint Ax = y. The penalty R is
 * a (semi)norm, so its minimiser does not depend on the scale of (l1, tv): only on the ratio
 * tv/l1 (any l1 > 0 alone gives the same x; l1 scales the objective and the multipliers). Accepted:
 * l1 > 0 (weighted allowed) with tv = 0; tv > 0 on the grid's differences with l1 ≥ 0 (l1 = 0 is
 * TV compressed sensing, min ‖Dx‖₁); l2 = 0. Linear constraints and bounds are not combined with it (yet).
 */
function checkBasisPursuit(problem: Problem, flag: unknown): void {
  if (typeof flag !== "boolean") throw new InputError("basisPursuit", `expected true or false, got ${describe(flag)}`);
  if (!flag) return;
  if (problem.constraints) throw new InputError("constraints", "expected no constraints with basisPursuit (Ax = y is the constraint)");
  if (problem.bounds) throw new InputError("bounds", "expected no bounds with basisPursuit (not supported yet)");
  requireBasisPursuitProblem(problem);
  problem.basisPursuit = true;
}

/**
 * Basis pursuit's penalty and operators (createProblem and solveBasisPursuit check them: a penalty
 * set later by withPenalty is checked at solve time): l2 = 0; l1 > 0, or tv > 0 with l1 ≥ 0; with
 * tv, D the grid's finite differences (the exact finish works on the grid's constant pieces) and,
 * without l1, A·1 ≠ 0 (else x + c·1 is as good as x for every c: no unique minimiser).
 */
export function requireBasisPursuitProblem(problem: Problem): void {
  const penalty = problem?.penalty;
  if (typeof penalty !== "object" || penalty === null) throw new InputError("penalty", "expected an object with l1, l2, tv (build the problem with createProblem)");
  for (const key of ["l1", "l2", "tv"] as const) penaltyValue(penalty[key] ?? 0, `penalty.${key}`);
  const { l1, l2, tv } = penalty;
  if (l2 > 0) throw new InputError("penalty.l2", "expected no l2 with basisPursuit (basis pursuit is min l1‖x‖₁ + tv‖Dx‖₁ subject to Ax = y)");
  if (!(l1 > 0 || tv > 0)) throw new InputError("penalty.l1", `expected a positive l1 with basisPursuit, or tv > 0 (any value: the minimiser depends only on tv/l1; l1 = 1 is natural), got l1 = ${l1}, tv = ${tv}`);
  if (!(tv > 0)) return;
  if (problem.D) throw new InputError("D", "expected no D with basisPursuit and tv (basis pursuit with tv uses the grid's finite differences)");
  if (problem.constraints || problem.bounds) throw new InputError(problem.constraints ? "constraints" : "bounds", "expected no constraints or bounds with basisPursuit");
  if (l1 === 0) {
    const { A, y } = problem;
    const a1 = A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows));
    // Against a lower bound on max‖a_j‖ (|a_jᵀy| ≤ ‖a_j‖‖y‖) times ‖1‖.
    const scale = (normInf(A.applyT(y, new Float64Array(A.cols))) / norm2Robust(y)) * Math.sqrt(A.cols);
    if (!(norm2Robust(a1) > CONSTANT_BLIND * scale) && anyNonzero(y)) {
      throw new InputError("A", "expected A·1 ≠ 0 with basisPursuit and tv alone (l1 = 0): A does not see constant images, so x + c·1 solves it for every c; measure the mean (the DC coefficient) or set l1 > 0");
    }
  }
}

/** ‖A·1‖ below this fraction of √n·max‖a_j‖: A is blind to constants (rounding of a sum that cancels). */
const CONSTANT_BLIND = 1e-12;

/** Hypergradients and tuning move l1, which does not move a basis-pursuit solution: refuse them. */
export function refuseBasisPursuit(problem: Problem, what: string): void {
  if (problem.basisPursuit) throw new InputError("basisPursuit", `expected a penalised problem for ${what}: the basis-pursuit solution does not depend on l1 (with tv, only on tv/l1), so there is nothing to differentiate or tune`);
}

/**
 * The l1/l2 solvers need l1 > 0 or l2 > 0 (otherwise the problem is plain least squares, with
 * no unique answer in general): bad input, checked before any work. `createProblem` cannot
 * require it (the tuner sets the penalties later); `solve` and the CLI call this.
 */
export function requirePositivePenalty(problem: Problem): void {
  const penalty = problem?.penalty;
  if (typeof penalty !== "object" || penalty === null) throw new InputError("penalty", "expected an object with l1, l2, tv (build the problem with createProblem)");
  // withPenalty bypasses createProblem: check the values it may have brought in.
  for (const key of ["l1", "l2", "tv"] as const) penaltyValue(penalty[key] ?? 0, `penalty.${key}`);
  const { l1, l2, tv } = penalty;
  if (!(l1 > 0 || l2 > 0 || tv > 0)) {
    throw new InputError("penalty", `expected a positive l1 or l2, or tv with a grid (got l1 = ${l1}, l2 = ${l2}, tv = ${tv}); set "penalty": {"l1": ...} or {"tv": ...}, or tune it`);
  }
}

/** The same problem with other penalty values (the rest shared, not copied). */
export function withPenalty(problem: Problem, penalty: Partial<Penalty>): Problem {
  requireProblem(problem);
  requireObject("penalty", penalty, "penalty values { l1?, l2?, tv?, weights? }");
  return { ...problem, penalty: { ...problem.penalty, ...penalty } };
}

/** A problem made by createProblem (an object with A, y and penalty); anything else is an InputError, never a TypeError. */
export function requireProblem(problem: unknown, field = "problem"): asserts problem is Problem {
  const p = problem as Partial<Problem> | null;
  if (typeof p !== "object" || p === null || typeof p.A !== "object" || p.A === null || !(p.y instanceof Float64Array) || typeof p.penalty !== "object" || p.penalty === null) {
    throw new InputError(field, `expected a problem made by createProblem (with A, y and penalty), got ${p === null ? "null" : Array.isArray(p) ? "an array" : typeof p}`);
  }
}
