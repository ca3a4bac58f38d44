import { InputError } from "./errors.js";
import { allFinite } from "./linalg/vector.js";
import { DenseMatrix, isMatrixLike, type DenseInput } from "./operators/dense.js";
import { IdentityOperator } from "./operators/identity.js";
import { denseFromNdarray, isNdarray, vectorFromNdarray, type NdArrayLike } from "./operators/from-ndarray.js";
import type { LinearOperator } from "./operators/operator.js";

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
  constraints?: { C: DenseMatrix; d: Float64Array };
  validation?: Measurements;
  /** The clean signal, when known (synthetic problems, training images): the reference criterion. */
  truth?: Float64Array;
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
  constraints?: { C: DenseInput; d: VectorInput };
  validation?: { A: OperatorInput; y: VectorInput };
  truth?: VectorInput;
}

export function toOperator(input: OperatorInput, field: string): LinearOperator {
  if (input instanceof DenseMatrix || input instanceof IdentityOperator) return input;
  if (Array.isArray(input) || isMatrixLike(input)) return DenseMatrix.from(input, field);
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

export function toVector(input: VectorInput, field: string, length?: number): Float64Array {
  if (isNdarray(input)) input = vectorFromNdarray(input, field);
  if (input === null || typeof input !== "object" || typeof input.length !== "number") {
    throw new InputError(field, "expected an array of numbers");
  }
  const v = input instanceof Float64Array ? input : Float64Array.from(input);
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

/** Validate and normalise a problem: shapes, finiteness and signs are checked here, once. */
export function createProblem(input: ProblemInput): Problem {
  const A = toOperator(input.A, "A");
  if (A.rows < 1 || A.cols < 1) throw new InputError("A", "expected a non-empty matrix");
  const y = toVector(input.y, "y");
  if (y.length !== A.rows) throw new InputError("y", `expected length ${A.rows} (the rows of A), got ${y.length}`);
  const p = input.penalty ?? {};
  if (typeof p !== "object" || p === null) throw new InputError("penalty", "expected an object with l1, l2, tv");
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
  if (input.constraints !== undefined) {
    const C = DenseMatrix.from(input.constraints.C, "constraints.C");
    if (C.cols !== A.cols) throw new InputError("constraints.C", `expected ${A.cols} columns (the columns of A), got ${C.cols}`);
    const d = toVector(input.constraints.d, "constraints.d", C.rows);
    problem.constraints = { C, d };
  }
  if (input.validation !== undefined) {
    const VA = toOperator(input.validation.A, "validation.A");
    if (VA.cols !== A.cols) throw new InputError("validation.A", `expected ${A.cols} columns (the columns of A), got ${VA.cols}`);
    const vy = toVector(input.validation.y, "validation.y");
    if (vy.length !== VA.rows) throw new InputError("validation.y", `expected length ${VA.rows} (the rows of validation.A), got ${vy.length}`);
    problem.validation = { A: VA, y: vy };
  }
  if (input.truth !== undefined) problem.truth = toVector(input.truth, "truth", A.cols);
  return problem;
}

/** The same problem with other penalty values (the rest shared, not copied). */
export function withPenalty(problem: Problem, penalty: Partial<Penalty>): Problem {
  return { ...problem, penalty: { ...problem.penalty, ...penalty } };
}
