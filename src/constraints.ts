/**
 * Validation of linear constraints Cx = d and bounds lower ≤ x ≤ upper (createProblem calls it):
 * shapes and values, redundant rows of C (dropped when d is consistent with them, refused when
 * not), and an exact interval test of each row against the box.
 */
import { InputError } from "./errors.js";
import { boxFeasibility } from "./linalg/box-feasibility.js";
import { PivotedCholesky } from "./linalg/pivoted-cholesky.js";
import { dot, norm2Robust } from "./linalg/vector.js";
import type { DenseMatrix } from "./operators/dense.js";
import type { Bounds } from "./penalties/box.js";

/** Rows whose distance from the span of the others is below this (relative to their norm) are redundant. */
const REDUNDANT_DISTANCE = 1e-7;
/** A redundant row's d_i must match the combination of the others to this relative accuracy. */
const CONSISTENT = 1e-7;

function bound(value: unknown, n: number, field: string, open: number): Float64Array {
  if (value === undefined) return new Float64Array(n).fill(open);
  if (typeof value === "number") {
    if (Number.isNaN(value) || value === -open) throw new InputError(field, `expected a number or ${open} (an open side), got ${value}`);
    return new Float64Array(n).fill(value);
  }
  const v = value as ArrayLike<unknown>;
  if (typeof value !== "object" || value === null || typeof v.length !== "number") throw new InputError(field, `expected a number or an array of ${n} numbers`);
  if (v.length !== n) throw new InputError(field, `expected ${n} values (the columns of A), got ${v.length}`);
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const e = v[j];
    if (typeof e !== "number" || Number.isNaN(e) || e === -open) throw new InputError(field, `expected numbers (or ${open} for an open side), got ${typeof e === "string" ? JSON.stringify(e) : String(e)} at index ${j}`);
    out[j] = e;
  }
  return out;
}

/** `bounds: { lower, upper }` of a ProblemInput: each a number or a vector of length n, a missing side open. */
export function toBounds(input: unknown, n: number): Bounds {
  const plain = typeof input === "object" && input !== null && [Object.prototype, null].includes(Object.getPrototypeOf(input));
  if (!plain) throw new InputError("bounds", "expected a plain object { lower, upper }");
  const b = input as { lower?: unknown; upper?: unknown };
  for (const key of Object.keys(b)) if (key !== "lower" && key !== "upper") throw new InputError(`bounds.${key}`, "unknown field, expected lower or upper");
  const lower = bound(b.lower, n, "bounds.lower", -Infinity);
  const upper = bound(b.upper, n, "bounds.upper", Infinity);
  for (let j = 0; j < n; j++) {
    if (lower[j] > upper[j]) throw new InputError("bounds", `expected lower ≤ upper, got lower[${j}] = ${lower[j]} > upper[${j}] = ${upper[j]}`);
  }
  return { lower, upper };
}

/**
 * C and d as the problem keeps them, with the redundant rows named. Refuses what has no
 * solution: a row of C that is a combination of the others with an inconsistent d_i, or a row
 * whose range over the box, [Σ_j min(C_ij lo_j, C_ij up_j), Σ_j max(...)], misses d_i.
 */
export function checkConstraints(C: DenseMatrix, d: Float64Array, bounds?: Bounds): { C: DenseMatrix; d: Float64Array; redundant?: number[] } {
  const redundant = redundantRows(C, d);
  if (bounds) {
    checkRowRanges(C, d, bounds);
    checkJointly(C, d, bounds, redundant);
  }
  return redundant.length > 0 ? { C, d, redundant } : { C, d };
}

/**
 * The rows together over the box (each may be reachable alone and the system still not):
 * boxFeasibility on the independent rows. Undecided (very slow convergence) is left to the
 * solver, whose residual then stalls.
 */
function checkJointly(C: DenseMatrix, d: Float64Array, bounds: Bounds, redundant: number[]): void {
  const dropped = new Set(redundant);
  const rows = Array.from({ length: C.rows }, (_, i) => i).filter((i) => !dropped.has(i));
  const p = rows.length, n = C.cols;
  if (p === 0) return;
  const c = new Float64Array(p * n);
  rows.forEach((i, a) => {
    for (let j = 0; j < n; j++) c[j * p + a] = C.get(i, j);
  });
  const norms = Float64Array.from(rows, (i) => norm2Robust(C.row(i)));
  const result = boxFeasibility(c, p, n, Float64Array.from(rows, (i) => d[i]), bounds.lower, bounds.upper, norms);
  if (result.verdict === "infeasible") {
    throw new InputError("constraints", `infeasible: no x within the bounds satisfies Cx = d (min ‖Cx − d‖ over the box = ${result.residual.toPrecision(3)} with each row of C and d divided by its norm)`);
  }
}

/**
 * Rows dependent on the others, by pivoted Cholesky of the Gram matrix of the normalised rows
 * (a pivot is the squared distance of a row from the span of those already chosen). For each
 * one, d_i must equal λᵀd_B where c_i = λᵀC_B on the chosen rows B.
 */
function redundantRows(C: DenseMatrix, d: Float64Array): number[] {
  const p = C.rows, n = C.cols;
  // Each row divided by its norm first (computed without overflow): rows of 1e±170 are fine.
  const rows = Array.from({ length: p }, (_, i) => C.row(i));
  const norms = Float64Array.from(rows, (row) => norm2Robust(row));
  for (let i = 0; i < p; i++) if (norms[i] > 0) for (let j = 0; j < n; j++) rows[i][j] /= norms[i];
  const g = new Float64Array(p * p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      if (norms[a] === 0 || norms[b] === 0) continue;
      g[b * p + a] = g[a * p + b] = dot(rows[a], rows[b]);
    }
  }
  const factor = PivotedCholesky.factor(g, p, REDUNDANT_DISTANCE ** 2);
  const scaledD = Float64Array.from(d, (v, i) => (norms[i] > 0 ? v / norms[i] : 0));
  for (const i of factor.dependent) {
    if (norms[i] === 0) {
      if (d[i] !== 0) throw new InputError("constraints", `row ${i} of C is zero but d[${i}] = ${d[i]}: no x satisfies Cx = d`);
      continue;
    }
    const lambda = factor.solve(g.subarray(i * p, (i + 1) * p));
    let combination = 0, scale = Math.abs(scaledD[i]);
    for (const b of factor.independent) {
      combination += lambda[b] * scaledD[b];
      scale += Math.abs(lambda[b] * scaledD[b]);
    }
    if (Math.abs(scaledD[i] - combination) > CONSISTENT * Math.max(scale, Number.MIN_VALUE)) {
      const rows = Array.from(factor.independent).sort((a, b) => a - b).join(", ");
      throw new InputError("constraints", `row ${i} of C is a combination of rows ${rows} but d[${i}] = ${d[i]} does not match that combination of d: the constraints are inconsistent (no x satisfies Cx = d)`);
    }
  }
  return Array.from(factor.dependent);
}

/** Each row's values over the box must reach d_i (a necessary condition for feasibility). */
function checkRowRanges(C: DenseMatrix, d: Float64Array, bounds: Bounds): void {
  const { lower, upper } = bounds;
  for (let i = 0; i < C.rows; i++) {
    let lo = 0, hi = 0, size = Math.abs(d[i]);
    for (let j = 0; j < C.cols; j++) {
      const c = C.get(i, j);
      if (c === 0) continue;
      const a = c * lower[j], b = c * upper[j];
      lo += Math.min(a, b);
      hi += Math.max(a, b);
      size += Math.abs(Number.isFinite(a) ? a : 0) + Math.abs(Number.isFinite(b) ? b : 0);
    }
    const slack = 1e-12 * size;
    if (d[i] < lo - slack || d[i] > hi + slack) {
      throw new InputError("constraints", `infeasible with the bounds: row ${i} of Cx ranges over [${lo}, ${hi}] within lower ≤ x ≤ upper, but d[${i}] = ${d[i]}`);
    }
  }
}
