import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { EigenvalueDecomposition, Matrix, inverse, solve as denseSolve } from "ml-matrix";
import { loadProblemFile } from "../src/io/problem-file.js";
import { ComposedOperator } from "../src/operators/combinators.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { MaskOperator } from "../src/operators/mask.js";
import { sheppLogan } from "../src/problems/shepp-logan.js";
import { Random } from "../src/linalg/random.js";
import { penaltyTerms } from "../src/penalties/index.js";
import { createProblem, type Problem } from "../src/problem.js";
import { runSolver } from "../src/solvers/driver.js";
import { solveCoordinateDescent } from "../src/solvers/coordinate-descent.js";
import { splitBregman, splitBregmanDual, type SplitBregmanOptions } from "../src/solvers/split-bregman.js";
import { CgNormalSolver, type NormalSolver, type NormalStrategy } from "../src/solvers/split-bregman-update.js";
import { FIXTURES, inputError, maxAbsDiff, reference } from "./support.js";

const load = (name: string) => loadProblemFile(join(FIXTURES, `${name}.json`));
const normInf = (v: ArrayLike<number>) => Math.max(1, ...Array.from(v, Math.abs));
const sumSq = (v: ArrayLike<number>) => Array.from(v).reduce((s, a) => s + a * a, 0);

/** Drive setup/step/test by hand (the driver certifies l1/l2 problems only). */
function solveByHand(problem: Problem, options: Omit<SplitBregmanOptions, "tol"> & { tol: number }, maxSteps = 50_000) {
  const { tol, ...rest } = options;
  const { context, state } = splitBregman.setup(problem, penaltyTerms(problem), new Float64Array(problem.A.cols), { ...rest, gapTarget: tol * sumSq(problem.y) });
  while (!splitBregman.test(context, state).done && splitBregman.iterations(state) < maxSteps) splitBregman.step(context, state);
  return { x: Float64Array.from(splitBregman.iterate(state)), context, state, stop: splitBregman.test(context, state) };
}

// ---------------------------------------------------------------------------------------------
// The oracle: min ½xᵀMx − qᵀx + Σ_i w_i |(R x)_i| with M ≻ 0 (M = AᵀA + l2 I, q = Aᵀy), R the grid's
// differences written from the format's definition (edges x[to] − x[from]) and identity rows for
// l1. Independent of the solver: (1) accelerated projected gradient on the dual box QP
// min_{|z| ≤ w} ½(q − Rᵀz)ᵀM⁻¹(q − Rᵀz) locates the jump set J and its signs s; (2) the exact
// solution on that structure (x constant on the pieces the other edges connect, zero on pieces an
// inactive identity row pins): NᵀMN β = Nᵀ(q − R_Jᵀ(w_J s_J)); (3) a certificate: z_F in the box
// with R_Fᵀz_F = q − Mx − R_Jᵀ(w_J s_J), found by projected gradient; the stationarity residual e
// bounds ‖x − x*‖ ≤ ‖e‖/λ_min(M) (strong monotonicity).
// ---------------------------------------------------------------------------------------------

/** One penalty row: an edge x[to] − x[from], or (to = -1) the coordinate x[from]. */
interface Row {
  from: number;
  to: number;
  w: number;
}

/** The format's grid differences ([n] or [h, w], row-major; horizontal rows first), weight tv. */
function gridRows(grid: number[], tv: number): Row[] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const rows: Row[] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) rows.push({ from: r * w + c, to: r * w + c + 1, w: tv });
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) rows.push({ from: r * w + c, to: (r + 1) * w + c, w: tv });
  return rows;
}

const rowValue = (row: Row, x: ArrayLike<number>) => (row.to < 0 ? x[row.from] : x[row.to] - x[row.from]);

/** out ← out + Σ_i z_i R_iᵀ over the rows selected. */
function addRowsT(rows: Row[], z: ArrayLike<number>, out: Float64Array, select: (i: number) => boolean = () => true): void {
  rows.forEach((row, i) => {
    if (!select(i)) return;
    if (row.to >= 0) out[row.to] += z[i];
    out[row.from] -= row.to < 0 ? -z[i] : z[i];
  });
}

function matVec(M: number[][], v: ArrayLike<number>): Float64Array {
  return Float64Array.from(M, (row) => row.reduce((s, a, j) => s + a * v[j], 0));
}

/** Largest eigenvalue of z ↦ apply(z) (symmetric PSD) by power iteration, with a 5% margin. */
function largestEigenvalue(size: number, apply: (z: Float64Array) => Float64Array): number {
  let v = Float64Array.from({ length: size }, (_, i) => 1 + ((i * 7919) % 13) / 13);
  let lambda = 0;
  for (let k = 0; k < 200; k++) {
    const w = apply(v);
    lambda = Math.sqrt(sumSq(w) / sumSq(v));
    if (lambda === 0) return 1;
    v = w.map((a) => a / Math.sqrt(sumSq(w)));
  }
  return 1.05 * lambda;
}

/** FISTA for min_{|z_i| ≤ bound_i} f(z) given ∇f and a Lipschitz constant, from z0, until `done(z)` (asked every 50 steps). */
function projectedFista(z0: Float64Array, bound: Float64Array, gradient: (z: Float64Array) => Float64Array, L: number, done: (z: Float64Array) => boolean, maxSteps: number): Float64Array {
  let z = Float64Array.from(z0), y = Float64Array.from(z0), t = 1;
  for (let k = 1; k <= maxSteps; k++) {
    const g = gradient(y);
    const next = y.map((v, i) => Math.min(bound[i], Math.max(-bound[i], v - g[i] / L)));
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    y = next.map((v, i) => v + ((t - 1) / tNext) * (v - z[i]));
    z = next;
    t = tNext;
    if (k % 50 === 0 && done(z)) break;
  }
  return z;
}

function generalizedLassoOracle(Mm: Matrix, q: Float64Array, rows: Row[]): { x: Float64Array; errorBound: number } {
  const n = q.length;
  const M = Mm.to2DArray(), Minv = inverse(Mm).to2DArray();
  const lambdaMin = Math.min(...new EigenvalueDecomposition(Mm, { assumeSymmetric: true }).realEigenvalues);
  const bound = Float64Array.from(rows, (r) => r.w);
  const R = (x: Float64Array) => Float64Array.from(rows, (row) => rowValue(row, x));
  const xOf = (z: Float64Array) => {
    const rz = new Float64Array(n);
    addRowsT(rows, z, rz);
    return matVec(Minv, q.map((a, j) => a - rz[j]));
  };
  const L = largestEigenvalue(rows.length, (z) => {
    const v = new Float64Array(n);
    addRowsT(rows, z, v);
    return R(matVec(Minv, v));
  });

  /** (2) and (3): the exact solution on the structure of x(z), and its certified distance to x*. */
  const exactOnStructure = (z: Float64Array) => {
    const xDual = xOf(z);
    const delta = 1e-6 * normInf(xDual);
    const jump = rows.map((row) => Math.abs(rowValue(row, xDual)) > delta);
    const sign = rows.map((row) => Math.sign(rowValue(row, xDual)));
    const parent = Array.from({ length: n }, (_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    rows.forEach((row, i) => {
      if (!jump[i] && row.to >= 0) parent[find(row.from)] = find(row.to);
    });
    const pinned = new Set<number>();
    rows.forEach((row, i) => {
      if (!jump[i] && row.to < 0) pinned.add(find(row.from));
    });
    const pieceOf = new Map<number, number>();
    const piece = Array.from({ length: n }, (_, j) => {
      const root = find(j);
      if (pinned.has(root)) return -1;
      if (!pieceOf.has(root)) pieceOf.set(root, pieceOf.size);
      return pieceOf.get(root)!;
    });
    const k = pieceOf.size;
    const fixed = new Float64Array(n); // R_Jᵀ(w_J s_J)
    addRowsT(rows, rows.map((row, i) => row.w * sign[i]), fixed, (i) => jump[i]);
    const NtMN = new Matrix(k, k), rhs = new Matrix(k, 1);
    for (let a = 0; a < n; a++) {
      if (piece[a] < 0) continue;
      rhs.set(piece[a], 0, rhs.get(piece[a], 0) + q[a] - fixed[a]);
      for (let b = 0; b < n; b++) if (piece[b] >= 0) NtMN.set(piece[a], piece[b], NtMN.get(piece[a], piece[b]) + M[a][b]);
    }
    const beta = k > 0 ? denseSolve(NtMN, rhs).getColumn(0) : [];
    const x = Float64Array.from(piece, (p) => (p < 0 ? 0 : beta[p]));
    if (!rows.every((row, i) => !jump[i] || Math.sign(rowValue(row, x)) === sign[i])) return { x, errorBound: Infinity };
    const mx = matVec(M, x);
    const g = Float64Array.from(q, (a, j) => a - mx[j] - fixed[j]);
    const free = rows.map((_, i) => !jump[i]);
    const residualOf = (zf: Float64Array) => {
      const v = new Float64Array(n);
      addRowsT(rows, zf, v, (i) => free[i]);
      return v.map((a, j) => a - g[j]);
    };
    const freeBound = bound.map((b, i) => (free[i] ? b : 0));
    const LF = largestEigenvalue(rows.length, (zz) => R(residualOf(zz).map((a, j) => a + g[j])));
    const small = (zz: Float64Array) => Math.sqrt(sumSq(residualOf(zz))) <= 1e-14 * normInf(q);
    const zFree = projectedFista(z.map((v, i) => (free[i] ? v : 0)), freeBound, (zz) => R(residualOf(zz)).map((v, i) => (free[i] ? v : 0)), LF, small, 5000);
    return { x, errorBound: Math.sqrt(sumSq(residualOf(zFree))) / lambdaMin };
  };

  // (1) the dual, with an attempt at the exact solution every 500 steps
  let result = { x: new Float64Array(n), errorBound: Infinity }, calls = 0;
  projectedFista(new Float64Array(rows.length), bound, (z) => R(xOf(z)).map((v) => -v), L, (z) => {
    if (++calls % 10 !== 0) return false;
    result = exactOnStructure(z);
    return result.errorBound <= 1e-10 * normInf(result.x);
  }, 100_000);
  return result;
}

/** The oracle of a problem with a dense or identity A, grid differences (weight tv) and l1, l2. */
function oracleOf(problem: Problem): { x: Float64Array; errorBound: number } {
  const n = problem.A.cols;
  const columns = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return Array.from(problem.A.apply(e, new Float64Array(problem.A.rows)));
  });
  const A = new Matrix(columns).transpose();
  const M = A.transpose().mmul(A).add(Matrix.eye(n).mul(problem.penalty.l2));
  const q = Float64Array.from(A.transpose().mmul(Matrix.columnVector(Array.from(problem.y))).getColumn(0));
  const rows = problem.penalty.tv > 0 ? gridRows(problem.grid, problem.penalty.tv) : [];
  if (problem.penalty.l1 > 0) for (let j = 0; j < n; j++) rows.push({ from: j, to: -1, w: problem.penalty.l1 });
  return generalizedLassoOracle(M, q, rows);
}

// ---------------------------------------------------------------------------------------------
// Test problems: piecewise-constant signals, noise, a small explicit blur.
// ---------------------------------------------------------------------------------------------

function piecewiseConstant(rng: Random, n: number, pieces: number): Float64Array {
  const x = new Float64Array(n);
  let level = 0;
  for (let i = 0; i < n; i++) {
    if (i % Math.ceil(n / pieces) === 0) level = 2 * rng.normal();
    x[i] = level;
  }
  return x;
}

/** Gaussian blur rows (σ = 1, truncated at 3σ, unit row sums), entry by entry. */
function blurMatrix(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: n }, (_, j) => (Math.abs(i - j) <= 3 ? Math.exp(-((i - j) ** 2) / 2) : 0));
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
}

function denoise1d(seed: number, n: number, tv: number): Problem {
  const rng = new Random(seed);
  const y = piecewiseConstant(rng, n, 6).map((v) => v + 0.3 * rng.normal());
  return createProblem({ A: { identity: n }, y, penalty: { tv }, grid: [n] });
}

function deblur1d(seed: number, n: number, penalty: { tv: number; l1?: number; l2?: number }): Problem {
  const rng = new Random(seed);
  const A = blurMatrix(n);
  const truth = piecewiseConstant(rng, n, 5);
  const y = A.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0) + 0.05 * rng.normal());
  return createProblem({ A, y, penalty, grid: [n] });
}

function denoise2d(seed: number, h: number, w: number, tv: number): Problem {
  const rng = new Random(seed);
  const y = Float64Array.from({ length: h * w }, (_, p) => {
    const r = Math.floor(p / w), c = p % w;
    return ((r - h / 2) ** 2 + (c - w / 2) ** 2 < (h / 3) ** 2 ? 1 : 0) - (c < w / 3 ? 0.7 : 0) + 0.2 * rng.normal();
  });
  return createProblem({ A: { identity: h * w }, y, penalty: { tv }, grid: [h, w] });
}

/**
 * Fenchel dual of denoising (A = I, l1 = l2 = 0): D(z) = ½‖y‖² − ½‖y − Dᵀz‖² for |z| ≤ tv; the
 * gap P(x) − D(z), with D built from the format's definition (not the library's operator).
 */
function denoisingGap(problem: Problem): (x: Float64Array, z: Float64Array | null) => number {
  const rows = gridRows(problem.grid, problem.penalty.tv);
  const y = problem.y;
  return (x, z) => {
    if (z === null || z.some((v) => Math.abs(v) > problem.penalty.tv * (1 + 1e-12))) return Infinity;
    const dtz = new Float64Array(y.length);
    addRowsT(rows, z, dtz);
    const primal = 0.5 * sumSq(x.map((v, i) => v - y[i])) + problem.penalty.tv * rows.reduce((s, row) => s + Math.abs(rowValue(row, x)), 0);
    return primal - (0.5 * sumSq(y) - 0.5 * sumSq(y.map((v, i) => v - dtz[i])));
  };
}

// ---------------------------------------------------------------------------------------------

describe("split Bregman with D = I (Lasso, elastic net) through the driver", () => {
  it.each(["lasso-small", "enet-small", "lasso-cs-200x500"])("%s: the reference x and coordinate descent's active set", (name) => {
    const problem = load(name);
    const ref = reference(name);
    const cd = solveCoordinateDescent(problem, { tol: 1e-10 });
    for (const polish of [true, false]) {
      const sol = runSolver(splitBregman, problem, { tol: 1e-10, polish });
      expect(sol.converged).toBe(true);
      expect(sol.solver).toBe("split-bregman");
      expect(maxAbsDiff(sol.x, ref.x)).toBeLessThanOrEqual(1e-6 * normInf(ref.x));
      expect(sol.active).toEqual(cd.active);
      expect(sol.active).toEqual(ref.active);
    }
  });

  it("weighted l1 (l1·w_j per feature): the same solution as coordinate descent", () => {
    const base = load("lasso-cs-200x500");
    const rng = new Random(17);
    const problem = createProblem({ A: base.A, y: base.y, penalty: { l1: base.penalty.l1, weights: Array.from({ length: base.A.cols }, () => 0.2 + 2 * rng.uniform()) } });
    const cd = solveCoordinateDescent(problem, { tol: 1e-12 });
    const sol = runSolver(splitBregman, problem, { tol: 1e-12, polish: false });
    expect(sol.converged).toBe(true);
    expect(sol.active).toEqual(cd.active);
    expect(maxAbsDiff(sol.x, cd.x)).toBeLessThanOrEqual(1e-7 * normInf(cd.x));
  });

  it("an unreachable tolerance stops on a stall with a reason and the last gap", () => {
    const { stop, state } = solveByHand(load("lasso-small"), { tol: 1e-30 });
    expect(stop.done).toBe(true);
    expect(stop.reason).toMatch(/^no progress in \d+ steps/);
    expect(stop.gap).toBeLessThan(1e-12 * sumSq(load("lasso-small").y));
    expect(state.iterations).toBeLessThan(5000);
  });

  it("l1 ≥ λ_max: x = 0 exactly at once, with the multiplier u = Aᵀy", () => {
    const problem = load("lasso-small");
    const aty = problem.A.applyT(problem.y, new Float64Array(problem.A.cols));
    const lmax = Math.max(...Array.from(aty, Math.abs));
    const atMax = { ...problem, penalty: { ...problem.penalty, l1: lmax } };
    const { x, state, context, stop } = solveByHand(atMax, { tol: 1e-10 });
    expect(stop.done).toBe(true);
    expect(state.iterations).toBe(0);
    expect(Array.from(x)).toEqual(new Array(x.length).fill(0));
    expect(maxAbsDiff(splitBregmanDual(context, state).u!, aty)).toBeLessThanOrEqual(1e-14 * lmax);
  });
});

describe("split Bregman with total variation against the independent oracle", () => {
  const cases: [string, () => Problem][] = [
    ["1-D denoising", () => denoise1d(3, 60, 0.8)],
    ["1-D deblurring (explicit blur)", () => deblur1d(5, 50, { tv: 0.05 })],
    ["2-D denoising 8×9", () => denoise2d(7, 8, 9, 0.25)],
    ["1-D deblurring with tv, l1 and l2 (both splits)", () => deblur1d(9, 40, { tv: 0.03, l1: 0.02, l2: 0.01 })],
  ];

  it.each(cases)("%s: x agrees with the certified oracle", (_name, make) => {
    const problem = make();
    const oracle = oracleOf(problem);
    expect(oracle.errorBound).toBeLessThanOrEqual(1e-9 * normInf(oracle.x));
    const { x, stop } = solveByHand(problem, { tol: 1e-12 });
    expect(stop.done && stop.reason === undefined).toBe(true);
    // measured: 4e-12 to 2e-10
    expect(maxAbsDiff(x, oracle.x)).toBeLessThanOrEqual(1e-8 * normInf(oracle.x));
  });

  it.each(cases)("%s: through the driver (its TV certificate as tvGap, z from tvDual), unpolished", (_name, make) => {
    const problem = make();
    const oracle = oracleOf(problem);
    const sol = runSolver(splitBregman, problem, { tol: 1e-12, polish: false });
    expect(sol.converged).toBe(true);
    expect(sol.dualityGap).toBeLessThanOrEqual(1e-12 * sumSq(problem.y));
    expect(maxAbsDiff(sol.x, oracle.x)).toBeLessThanOrEqual(1e-8 * normInf(oracle.x));
  });

  it("the multipliers z = μ_tv b_tv, u = μ_1 b_1 satisfy stationarity and their boxes at the solution", () => {
    const problem = deblur1d(9, 40, { tv: 0.03, l1: 0.02, l2: 0.01 });
    const { context, state } = solveByHand(problem, { tol: 1e-13 });
    const { z, u } = splitBregmanDual(context, state);
    const x = state.x, n = x.length;
    const { l1, l2, tv } = problem.penalty;
    expect(Math.max(...Array.from(z!, Math.abs))).toBeLessThanOrEqual(tv * (1 + 1e-12));
    expect(Math.max(...Array.from(u!, Math.abs))).toBeLessThanOrEqual(l1 * (1 + 1e-12));
    // Aᵀ(Ax − y) + l2 x + Dᵀz + u = 0, with Dᵀ written from the format's definition
    const ax = problem.A.apply(x, new Float64Array(n));
    const grad = problem.A.applyT(ax.map((v, i) => v - problem.y[i]), new Float64Array(n));
    addRowsT(gridRows(problem.grid, tv), z!, grad);
    const stationarity = grad.map((g, j) => g + l2 * x[j] + u![j]);
    expect(Math.max(...Array.from(stationarity, Math.abs))).toBeLessThanOrEqual(1e-7 * tv);
  });

  it("tv1d-denoise fixture: the reference x, certified through options.tvGap", () => {
    const problem = load("tv1d-denoise");
    const ref = reference("tv1d-denoise");
    const gapOf = denoisingGap(problem);
    const seen: number[] = [];
    const tvGap = (x: Float64Array, z: Float64Array | null) => {
      const gap = gapOf(x, z);
      seen.push(gap);
      return gap;
    };
    const tol = 1e-12;
    const { x, stop } = solveByHand(problem, { tol, tvGap });
    expect(stop.done && stop.reason === undefined).toBe(true);
    // It stopped on the gap the callback gave (finite: z was in the box), at the target.
    expect(seen.length).toBeGreaterThan(0);
    expect(stop.gap).toBe(seen[seen.length - 1]);
    expect(stop.gap).toBeLessThanOrEqual(tol * sumSq(problem.y));
    expect(maxAbsDiff(x, ref.x)).toBeLessThanOrEqual(1e-8 * normInf(ref.x)); // measured 4e-10
    // ... and without a certificate, on the residuals alone
    const byResiduals = solveByHand(problem, { tol });
    expect(maxAbsDiff(byResiduals.x, ref.x)).toBeLessThanOrEqual(1e-8 * normInf(ref.x)); // measured 1e-11
  });

  it("tv above its λ_max: x is the mean of y (closed form), with μ kept within its span", () => {
    const problem = denoise1d(3, 60, 1e4);
    const mean = problem.y.reduce((a, b) => a + b, 0) / 60;
    for (const normalSolver of ["direct", "cg"] as const) {
      const { x, stop } = solveByHand(problem, { tol: 1e-12, normalSolver, tvGap: denoisingGap(problem) });
      expect(stop.done && stop.reason === undefined).toBe(true);
      expect(maxAbsDiff(x, new Float64Array(60).fill(mean))).toBeLessThanOrEqual(1e-9 * Math.abs(mean));
    }
    // d = 0 throughout: the dual residual is 0 and balancing would double μ without end (measured:
    // 9e18 after 1300 steps, the residuals ruined); it stays within 1e6 of its start (1 for A = I).
    const long = denoise1d(3, 400, 1e4);
    const { x, state, stop } = solveByHand(long, { tol: 1e-30, normalSolver: "cg" });
    expect(stop.reason).toMatch(/^no progress/);
    expect(state.muTv).toBeLessThanOrEqual(1e6);
    const longMean = long.y.reduce((a, b) => a + b, 0) / 400;
    expect(maxAbsDiff(x, new Float64Array(400).fill(longMean))).toBeLessThanOrEqual(1e-9 * Math.abs(longMean));
  });

  it("residual balancing damps μ: each reversal takes the square root of the step, and μ settles", () => {
    // 32×32 inpainting (30% of the pixels unknown) at tv = 0.3, run past convergence (gap target
    // 0): with fixed steps of 2, μ flipped between two values every 5 steps (measured: 2025 steps
    // to tol 1e-8 against 341 with the damping). The mask as mask ∘ identity: a MaskOperator
    // keeps μ_tv fixed (maskTvMu), the composition is balanced.
    const N = 32, noise = new Random(22);
    const mask = Uint8Array.from({ length: N * N }, () => (noise.uniform() < 0.3 ? 0 : 1));
    const A = new ComposedOperator(new MaskOperator(mask, N * N), new IdentityOperator(N * N));
    const clean = sheppLogan(N, N).data.map((v) => 0.2 + 0.6 * v);
    const y = A.apply(clean, new Float64Array(A.rows)).map((v) => v + 0.02 * noise.normal());
    const problem = createProblem({ A, y, grid: [N, N], penalty: { tv: 0.3 } });
    const { context, state } = splitBregman.setup(problem, penaltyTerms(problem), new Float64Array(N * N), { gapTarget: 0 });
    const factors: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const before = state.muTv;
      splitBregman.step(context, state);
      if (state.muTv !== before) factors.push(state.muTv / before);
    }
    expect(factors.length).toBeGreaterThan(1);
    let step = 2, reversals = 0;
    for (let k = 0; k < factors.length; k++) {
      if (k > 0 && factors[k] > 1 !== factors[k - 1] > 1) {
        step = Math.sqrt(step);
        reversals++;
      }
      expect(factors[k]).toBeCloseTo(factors[k] > 1 ? step : 1 / step, 12);
    }
    // 2, 2^½, 2^¼, 2^⅛ and then 2^(1/16) < 1.05: at most 3 reversals move μ.
    expect(reversals).toBeLessThanOrEqual(3);
  });

  /** Shepp–Logan on [0.2, 0.8], 30% of its pixels unknown, noise 0.02 on the known ones. */
  function inpainting(N: number, tv: number): Problem {
    const noise = new Random(22);
    const mask = Uint8Array.from({ length: N * N }, () => (noise.uniform() < 0.3 ? 0 : 1));
    const A = new MaskOperator(mask, N * N);
    const y = A.apply(sheppLogan(N, N).data.map((v) => 0.2 + 0.6 * v), new Float64Array(A.rows)).map((v) => v + 0.02 * noise.normal());
    return createProblem({ A, y, grid: [N, N], penalty: { tv } });
  }

  it("on a pixel mask μ_tv is fixed at trace(AᵀA)/n · 8·tv/std(y)", () => {
    for (const tv of [1e-4, 0.05, 2]) {
      const problem = inpainting(12, tv);
      const { y } = problem, n = 144;
      const mean = y.reduce((a, b) => a + b, 0) / y.length;
      const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
      // trace(AᵀA)/n of a mask: the fraction of known pixels.
      const expected = (y.length / n) * 8 * tv / std;
      const { context, state } = splitBregman.setup(problem, penaltyTerms(problem), new Float64Array(n), { gapTarget: 0 });
      expect(state.muTv / expected).toBeCloseTo(1, 12);
      const start = state.muTv;
      for (let k = 0; k < 60; k++) splitBregman.step(context, state); // balancing would have moved it by now
      expect(state.muTv).toBe(start);
    }
  });

  it("masked TV problems certify across the tuner's range of tv (1e-4 … 1)", () => {
    for (const tv of [1e-4, 1e-3, 1e-2, 0.1, 1]) {
      const problem = inpainting(24, tv);
      const solution = runSolver(splitBregman, problem, { tol: 1e-8 });
      expect(solution.converged).toBe(true);
      expect(solution.dualityGap).toBeLessThanOrEqual(1e-8 * sumSq(problem.y));
    }
  });

  // Split Bregman reaches stationarity to rounding here (‖Aᵀ(Ax − y) + Dᵀz‖∞ ≈ 3e-16); the TV
  // certificate's witness correction (CG on a singular flat-edge system, right side rounding noise)
  // once diverged and left the gap at 1e-2: a correction is kept only when it lowers the residual.
  it("a 32×32 mask at tv = 1e-4 certifies (the certificate's witness correction must not diverge)", () => {
    const problem = inpainting(32, 1e-4);
    const solution = runSolver(splitBregman, problem, { tol: 1e-8 });
    expect(solution.converged).toBe(true);
  });

  it("a copied state resumes to the same iterate, μ changes included", () => {
    for (const normalSolver of ["fast", "direct", "cg"] as const) {
      const problem = denoise2d(7, 8, 9, 0.25);
      const terms = penaltyTerms(problem);
      const { context, state } = splitBregman.setup(problem, terms, new Float64Array(72), { gapTarget: 1e-12 * sumSq(problem.y), normalSolver });
      let copy: typeof state | null = null;
      const mus = new Set<number>();
      while (!splitBregman.test(context, state).done) {
        splitBregman.step(context, state);
        mus.add(state.muTv);
        if (state.iterations === 3) copy = structuredClone(state);
      }
      expect(mus.size).toBeGreaterThan(1); // residual balancing moved μ after the copy
      while (copy!.iterations < state.iterations) splitBregman.step(context, copy!);
      expect(maxAbsDiff(copy!.x, state.x)).toBe(0);
      expect(copy!.muTv).toBe(state.muTv);
    }
  });
});

/** A test-side exact x-update: (α·AᵀA + β·DᵀD + γI)⁻¹ b from dense matrices written entry by entry. */
function denseReferenceSolver(problem: Problem): NormalSolver {
  const n = problem.A.cols;
  const columns = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return Array.from(problem.A.apply(e, new Float64Array(problem.A.rows)));
  });
  const A = new Matrix(columns).transpose();
  const rows = gridRows(problem.grid, 1);
  const D = new Matrix(rows.length, n);
  rows.forEach((row, i) => {
    D.set(i, row.to, 1);
    D.set(i, row.from, -1);
  });
  const AtA = A.transpose().mmul(A), DtD = D.transpose().mmul(D);
  let inv: Matrix | null = null;
  return {
    setWeights(alpha, beta, gamma) {
      inv = inverse(AtA.clone().mul(alpha).add(DtD.clone().mul(beta)).add(Matrix.eye(n).mul(gamma)));
    },
    solve(b, out) {
      out.set(inv!.mmul(Matrix.columnVector(Array.from(b))).getColumn(0));
    },
  };
}

describe("the x-update strategies give the same answer", () => {
  const cases: [string, () => Problem, string[]][] = [
    ["lasso-small (D = I)", () => load("lasso-small"), ["direct", "cg", "custom"]],
    ["1-D deblurring with tv and l1", () => deblur1d(5, 50, { tv: 0.05, l1: 0.01 }), ["direct", "cg", "custom"]],
    ["2-D denoising", () => denoise2d(7, 8, 9, 0.25), ["fast", "direct", "cg", "custom"]],
  ];

  it.each(cases)("%s: %s give the same x", (_name, make, strategies) => {
    const problem = make();
    const results = strategies.map((strategy) => {
      const normalSolver = strategy === "custom" ? denseReferenceSolver(problem) : (strategy as NormalStrategy);
      const r = solveByHand(problem, { tol: 1e-12, normalSolver });
      expect(r.stop.done && r.stop.reason === undefined).toBe(true);
      expect(r.context.xUpdate.strategy).toBe(strategy);
      expect(r.state.innerIterations > 0).toBe(strategy === "cg");
      return r.x;
    });
    const scale = normInf(results[0]);
    for (const x of results.slice(1)) expect(maxAbsDiff(x, results[0])).toBeLessThanOrEqual(1e-8 * scale);
  });

  it("the default picks the transform for A = I, the factorisation for a small explicit A and CG for a matrix-free one; direct forms AᵀA of a matrix-free A", () => {
    expect(solveByHand(denoise2d(7, 8, 9, 0.25), { tol: 1e-6 }, 1).context.xUpdate.strategy).toBe("fast");
    const problem = deblur1d(5, 50, { tv: 0.05, l1: 0.01 });
    const free = { ...problem, A: { rows: 50, cols: 50, apply: problem.A.apply.bind(problem.A), applyT: problem.A.applyT.bind(problem.A) } };
    const dense = solveByHand(problem, { tol: 1e-12 });
    expect(dense.context.xUpdate.strategy).toBe("direct");
    expect(solveByHand(free, { tol: 1e-6 }, 1).context.xUpdate.strategy).toBe("cg");
    const freeDirect = solveByHand(free, { tol: 1e-12, normalSolver: "direct" });
    expect(freeDirect.context.xUpdate.strategy).toBe("direct");
    expect(maxAbsDiff(freeDirect.x, dense.x)).toBeLessThanOrEqual(1e-8 * normInf(dense.x));
  });

  it("CG starts from the warm start it is given: none needed at the solution", () => {
    const problem = deblur1d(5, 30, { tv: 0.05 });
    const D = penaltyTerms(problem).tv!.D;
    const cg = new CgNormalSolver(problem.A, D);
    cg.setWeights(1, 2, 0.5);
    cg.setTolerance(1e-10);
    const b = Float64Array.from({ length: 30 }, (_, j) => Math.sin(j));
    const x = new Float64Array(30);
    cg.solve(b, x);
    expect(cg.lastIterations).toBeGreaterThan(0);
    const exact = denseReferenceSolver(problem);
    exact.setWeights(1, 2, 0.5);
    const xExact = new Float64Array(30);
    exact.solve(b, xExact);
    expect(maxAbsDiff(x, xExact)).toBeLessThanOrEqual(1e-9);
    cg.solve(b, xExact);
    expect(cg.lastIterations).toBe(0);
  });
});

describe("split Bregman options", () => {
  const problem = denoise1d(3, 20, 0.5);
  const setup = (options: Record<string, unknown>) => () => splitBregman.setup(problem, penaltyTerms(problem), new Float64Array(20), { gapTarget: 1e-8, ...options });

  it("bad options are InputErrors naming the option", () => {
    expect(inputError(setup({ mu: 0 })).field).toBe("options.mu");
    expect(inputError(setup({ mu: Number.NaN })).field).toBe("options.mu");
    expect(inputError(setup({ normalSolver: "cholesky" })).field).toBe("options.normalSolver");
    const blurred = deblur1d(5, 20, { tv: 0.05 }); // a dense A: no DCT diagonalisation
    expect(inputError(() => splitBregman.setup(blurred, penaltyTerms(blurred), new Float64Array(20), { gapTarget: 1e-8, normalSolver: "fast" })).field).toBe("options.normalSolver");
    expect(inputError(setup({ tvGap: 1 })).field).toBe("options.tvGap");
  });

  it("options.mu fixes μ (no balancing) and still reaches the solution", () => {
    const oracle = oracleOf(problem);
    for (const mu of [0.3, 3]) {
      const { x, state } = solveByHand(problem, { tol: 1e-12, mu });
      expect(state.muTv).toBe(mu);
      expect(maxAbsDiff(x, oracle.x)).toBeLessThanOrEqual(1e-6 * normInf(oracle.x));
    }
  });
});
