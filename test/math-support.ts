/**
 * Oracles and hard-case generators for the "tests that catch wrong math" (issue 6, item 9).
 * Everything here is written against the public API (src/index.ts) and ml-matrix, never against
 * the library's internals: the oracles are separate dense routes (ml-matrix inverses and traces,
 * plain loops), not the code under test.
 */
import fc from "fast-check";
import { Matrix, inverse } from "ml-matrix";
import { createProblem, DenseMatrix, type ColumnOperator, type Problem } from "../src/node.js";

/** mulberry32 with Box–Muller: a tiny seeded generator independent of the library's own. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-300), v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  sign(): number {
    return this.uniform() < 0.5 ? -1 : 1;
  }
}

/** A (rows × cols) as an ml-matrix, read through the operator's apply only (A e_j for every j). */
const denseCache = new WeakMap<object, Matrix>();
export function denseOf(A: { rows: number; cols: number; apply(x: Float64Array, out: Float64Array): Float64Array }): Matrix {
  const cached = denseCache.get(A);
  if (cached) return cached;
  const M = new Matrix(A.rows, A.cols);
  denseCache.set(A, M);
  const e = new Float64Array(A.cols), col = new Float64Array(A.rows);
  for (let j = 0; j < A.cols; j++) {
    e[j] = 1;
    A.apply(e, col);
    e[j] = 0;
    for (let i = 0; i < A.rows; i++) M.set(i, j, col[i]);
  }
  return M;
}

export const vec = (M: Matrix): Float64Array => Float64Array.from(M.to1DArray());
export const colVec = (v: ArrayLike<number>): Matrix => Matrix.columnVector(Array.from(v));
export const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));
export const normInf = (v: ArrayLike<number>): number => Array.from(v).reduce((s, a) => Math.max(s, Math.abs(a)), 0);
export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
export const bounds = (p: Problem): number[] => Array.from({ length: p.A.cols }, (_, j) => p.penalty.l1 * (p.penalty.weights ? p.penalty.weights[j] : 1));

/** r = y − A x and c = Aᵀ r by the dense ml-matrix route. */
export function residualOracle(problem: Problem, x: ArrayLike<number>): { r: Float64Array; c: Float64Array } {
  const A = denseOf(problem.A);
  const r = vec(colVec(problem.y).sub(A.mmul(colVec(x))));
  const c = vec(A.transpose().mmul(colVec(r)));
  return { r, c };
}

/** P(x) = ½‖Ax − y‖² + Σ l1 w_j |x_j| + l2/2 ‖x‖², by plain loops on the dense matrix. */
export function primalOracle(problem: Problem, x: ArrayLike<number>): number {
  const { r } = residualOracle(problem, x);
  const b = bounds(problem);
  let p = 0.5 * r.reduce((s, v) => s + v * v, 0);
  for (let j = 0; j < x.length; j++) p += b[j] * Math.abs(x[j]) + 0.5 * problem.penalty.l2 * x[j] * x[j];
  return p;
}

/** max_j dist(−∇_j f(x), ∂g_j(x_j)) with f = ½‖Ax − y‖² + l2/2‖x‖², g_j = l1 w_j |·|: the KKT violation, by hand. */
export function kktOracle(problem: Problem, x: ArrayLike<number>): number {
  const { c } = residualOracle(problem, x);
  const b = bounds(problem), l2 = problem.penalty.l2;
  let v = 0;
  for (let j = 0; j < x.length; j++) {
    const minusGrad = c[j] - l2 * x[j]; // −∇_j f
    // ∂g_j(x_j) = {b sign(x_j)} for x_j ≠ 0, [−b, b] at 0
    const dist = x[j] !== 0 ? Math.abs(minusGrad - b[j] * Math.sign(x[j])) : Math.max(0, Math.abs(minusGrad) - b[j]);
    v = Math.max(v, dist);
  }
  return v;
}

/** The elastic-net degrees of freedom tr(A_S H⁻¹ A_Sᵀ), H = A_SᵀA_S + l2 I, by an explicit ml-matrix inverse. */
export function dfOracle(problem: Problem, active: number[], l2 = problem.penalty.l2): number {
  if (active.length === 0) return 0;
  const AS = denseOf(problem.A).subMatrixColumn(active);
  const H = AS.transpose().mmul(AS).add(Matrix.eye(active.length).mul(l2));
  return AS.mmul(inverse(H)).mmul(AS.transpose()).trace();
}

/**
 * A matrix-free operator: rows, cols, apply and applyT only (a sub-sampled circular convolution),
 * with the column methods that createProblem requires today computed through apply/applyT.
 */
export function convolutionOperator(rng: Rng, m: number, n: number): ColumnOperator {
  const width = Math.min(5, n);
  const kernel = Array.from({ length: width }, () => rng.normal());
  const rowsOf = Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
  const scale = 1 / Math.sqrt(width);
  const apply = (x: Float64Array, out: Float64Array) => {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let t = 0; t < width; t++) s += kernel[t] * x[(rowsOf[i] + t) % n];
      out[i] = s * scale;
    }
    return out;
  };
  const applyT = (v: Float64Array, out: Float64Array) => {
    out.fill(0);
    for (let i = 0; i < m; i++) for (let t = 0; t < width; t++) out[(rowsOf[i] + t) % n] += kernel[t] * v[i] * scale;
    return out;
  };
  const column = (j: number) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return apply(e, new Float64Array(m));
  };
  return {
    rows: m,
    cols: n,
    apply,
    applyT,
    columnDot: (j, v) => applyT(v, new Float64Array(n))[j],
    columnAxpy: (j, alpha, v) => {
      const a = column(j);
      for (let i = 0; i < m; i++) v[i] += alpha * a[i];
    },
    columnInner: (i, j) => {
      const a = column(i), b = column(j);
      return a.reduce((s, v, k) => s + v * b[k], 0);
    },
    columnNormsSquared: () => Float64Array.from({ length: n }, (_, j) => column(j).reduce((s, v) => s + v * v, 0)),
  };
}

export type MatrixKind = "gaussian" | "duplicate" | "zero" | "correlated";

/** The hard cases' parameters: a seed, the size, the structure of A, operator form, weights, l2 and λ/λ_max. */
export interface HardCase {
  seed: number;
  m: number;
  n: number;
  kind: MatrixKind;
  matrixFree: boolean;
  weighted: boolean;
  l2: number;
  frac: number;
}

/** Hard cases within the given ranges (every structure of A, both operator forms, with and without weights). */
export function hardCases(r: { m: [number, number]; n: [number, number]; l2: number[]; frac: [number, number] }): fc.Arbitrary<HardCase> {
  return fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    m: fc.integer({ min: r.m[0], max: r.m[1] }),
    n: fc.integer({ min: r.n[0], max: r.n[1] }),
    kind: fc.constantFrom<MatrixKind>("gaussian", "duplicate", "zero", "correlated"),
    matrixFree: fc.boolean(),
    weighted: fc.boolean(),
    l2: fc.constantFrom(...r.l2),
    frac: fc.double({ min: r.frac[0], max: r.frac[1], noNaN: true }),
  });
}

/** A Gaussian m×n matrix (columns of norm ≈ 1) with one of the hard structures. */
export function hardMatrix(rng: Rng, m: number, n: number, kind: MatrixKind): DenseMatrix {
  const data = Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m));
  const col = (j: number) => data.subarray(j * m, (j + 1) * m);
  if (n >= 2 && kind === "duplicate") col(n - 1).set(col(0)); // an exact copy of column 0
  if (n >= 2 && kind === "zero") col(1).fill(0);
  if (n >= 3 && kind === "correlated") {
    // columns 1 and 2 within 1e-3 of column 0 (correlation ≈ 1 − 5e-7)
    for (const j of [1, 2]) for (let i = 0; i < m; i++) col(j)[i] = col(0)[i] + 1e-3 * rng.normal() / Math.sqrt(m);
  }
  return new DenseMatrix(m, n, data);
}

export interface Constructed {
  problem: Problem;
  /** The exact solution, by construction (KKT conditions hold exactly in exact arithmetic). */
  x: Float64Array;
  active: number[];
  /** The inactive feature whose correlation sits at `level`·(l1 w_j) (level = 1: a kink). */
  edge: number;
  /** max over inactive k ≠ edge of |a_kᵀr|/(l1 w_k): how far the other inactive features stay. */
  otherRatio: number;
}

/**
 * A problem with a known solution, built from its KKT conditions: support S with signs s and
 * values x_S, residual r = t·P⊥w + A_S G⁻¹(l1 w_S∘s + l2 x_S) (so A_Sᵀr − l2 x_S = l1 w_S∘s
 * exactly), and y = A_S x_S + r. t is chosen so that the inactive feature that first reaches its
 * bound sits at `level` of it: level = 1 puts λ exactly at a kink. Returns null when the
 * construction fails (some inactive feature above its bound already at t = 0).
 */
export function constructedProblem(
  rng: Rng,
  A: ColumnOperator,
  opts: { k: number; l1?: number; l2?: number; weights?: Float64Array; level?: number; tiny?: number },
): Constructed | null {
  const { k, l1 = 1, l2 = 0, weights, level = 1, tiny } = opts;
  const m = A.rows, n = A.cols;
  const M = denseOf(A);
  const w = (j: number) => (weights ? weights[j] : 1);
  const active = Array.from({ length: k }, (_, a) => a);
  const s = active.map(() => rng.sign());
  const xS = s.map((sg) => sg * (0.5 + rng.uniform()));
  if (tiny !== undefined && k > 0) xS[k - 1] = s[k - 1] * tiny; // a coefficient about to leave
  const AS = M.subMatrixColumn(active);
  const Ginv = k > 0 ? inverse(AS.transpose().mmul(AS)) : null; // (A_SᵀA_S)⁻¹
  const b = colVec(active.map((j, a) => l1 * w(j) * s[a] + l2 * xS[a]));
  // u = A_S (A_SᵀA_S)⁻¹ b, so that A_Sᵀu = b
  const u = Ginv ? AS.mmul(Ginv.mmul(b)) : Matrix.zeros(m, 1);
  const wv = colVec(Array.from({ length: m }, () => rng.normal()));
  const q = Ginv ? wv.clone().sub(AS.mmul(Ginv.mmul(AS.transpose().mmul(wv)))) : wv; // P⊥w
  const alpha = vec(M.transpose().mmul(q)), beta = vec(M.transpose().mmul(u));
  let tStar = Infinity, edge = -1;
  for (let j = k; j < n; j++) {
    const bj = l1 * w(j);
    if (Math.abs(beta[j]) >= 0.9 * bj) return null;
    if (Math.abs(alpha[j]) < 1e-12) continue;
    const t = (Math.sign(alpha[j]) * bj - beta[j]) / alpha[j];
    if (t < tStar) {
      tStar = t;
      edge = j;
    }
  }
  if (edge < 0) return null;
  const t = level === 1 ? tStar : level * tStar;
  const r = vec(q.clone().mul(t).add(u));
  const x = new Float64Array(n);
  active.forEach((j, a) => (x[j] = xS[a]));
  const ax = vec(M.mmul(colVec(x)));
  const y = Float64Array.from(r, (v, i) => v + ax[i]);
  const c = vec(M.transpose().mmul(colVec(r)));
  let otherRatio = 0;
  for (let j = k; j < n; j++) if (j !== edge) otherRatio = Math.max(otherRatio, Math.abs(c[j]) / (l1 * w(j)));
  const problem = createProblem({ A, y, penalty: { l1, l2, ...(weights && { weights }) } });
  return { problem, x, active, edge, otherRatio };
}

/**
 * The tolerances in the math tests are set 10-100× above what the code achieves. `MEASURE=1
 * npx vitest run test/math-*.test.ts` prints the largest error seen per check (and how many
 * cases reached it), which is how those figures were measured.
 */
const measured = new Map<string, { max: number; count: number }>();
export function measure(name: string, error: number): number {
  const m = measured.get(name) ?? { max: 0, count: 0 };
  m.max = Math.max(m.max, error);
  m.count++;
  measured.set(name, m);
  return error;
}
export function printMeasured(): void {
  if (!process.env.MEASURE) return;
  for (const [name, { max, count }] of measured) console.log(`${name}: max ${max.toExponential(2)} over ${count}`);
}
