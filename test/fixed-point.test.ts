import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { fixedPointDerivatives, fixedPointHypergradient } from "../src/diff/fixed-point.js";
import { hypergradient } from "../src/diff/implicit.js";
import { NumericalError } from "../src/errors.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { Random } from "../src/linalg/random.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { CLI, FIXTURES, inputError, randomProblem, reference, relErr } from "./support.js";

type Key = "tv" | "l1" | "l2";
const KEYS: readonly Key[] = ["tv", "l1", "l2"];

/** A piecewise-constant signal or image: random levels on a few blocks (rows × columns of blocks). */
function blocks(rng: Random, h: number, w: number): number[] {
  const levels = Array.from({ length: 9 }, () => Math.round(4 * rng.normal()) / 2);
  const band = (k: number, size: number) => Math.min(2, Math.floor((3 * k) / size));
  return Array.from({ length: h * w }, (_, p) => levels[3 * band(Math.floor(p / w), h) + band(p % w, w)]);
}

/** The n×n Gaussian blur matrix of a 1-D signal, entry by entry, each row normalised to sum 1 (cut at the border). */
function blurMatrix(n: number, sigma: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: n }, (_, j) => Math.exp(-((i - j) ** 2) / (2 * sigma * sigma)));
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
}

/** Denoising (A = I) or deblurring of blocks on the grid; validation = the clean signal. */
function tvProblem(seed: number, grid: [number] | [number, number], kind: "denoise" | "deblur", penalty: Partial<Record<Key, number>>, noise = 0.2): Problem {
  const rng = new Random(seed);
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const truth = blocks(rng, h, w), n = truth.length;
  const B = kind === "deblur" ? blurMatrix(n, 0.8) : null;
  const clean = B ? B.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0)) : truth;
  const y = clean.map((v) => v + noise * rng.normal());
  return createProblem({ A: B ?? { identity: n }, y, grid, penalty, validation: { A: { identity: n }, y: truth } });
}

const CASES: [string, Problem][] = [
  ["1-D denoise", tvProblem(1, [40], "denoise", { tv: 0.4 })],
  ["1-D deblur (explicit blur matrix), l2", tvProblem(2, [30], "deblur", { tv: 0.05, l2: 0.01 })],
  ["2-D denoise 6×7", tvProblem(5, [6, 7], "denoise", { tv: 0.3 })],
  ["1-D denoise, l1 with zero runs (fused lasso)", tvProblem(8, [40], "denoise", { tv: 0.2, l1: 0.9 })],
  ["2-D denoise 6×7, l1 and l2", tvProblem(21, [6, 7], "denoise", { tv: 0.3, l1: 0.3, l2: 0.05 })],
  ["elastic net (l1 split only)", randomProblem(3, 30, 50, { l1Fraction: 0.2, l2: 0.05 })],
  ["weighted lasso (thresholds l1·w_j)", withWeights(randomProblem(4, 30, 50, { l1Fraction: 0.15 }))],
];

/** The problem with l1 weights w_j from 0.5 to 2. */
function withWeights(problem: Problem): Problem {
  return withPenalty(problem, { weights: Float64Array.from({ length: problem.A.cols }, (_, j) => 0.5 + (1.5 * ((j * 7) % 11)) / 10) });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, j) => s + v * b[j], 0);

/** ∇ₓL of the held-out criterion at a tight solve, with the implicit (KKT) hypergradient there. */
function reference_(problem: Problem) {
  const sol = solve(problem, { tol: 1e-14 });
  const criterion = HeldOutMse.of(problem);
  const gradX = criterion.gradient(sol.x, new Float64Array(problem.A.cols));
  return { sol, criterion, gradX, implicit: hypergradient(problem, sol, criterion).gradient as Record<string, number> };
}

/** Central difference of the criterion in one penalty, from fresh tight solves (any solver: the default). */
function centralDifference(problem: Problem, criterion: HeldOutMse, key: Key, h: number): number {
  const at = (delta: number) => criterion.value(solve(withPenalty(problem, { [key]: problem.penalty[key] + delta }), { tol: 1e-14 }).x);
  return (at(h) - at(-h)) / (2 * h);
}

describe("fixed-point differentiation of Split Bregman", () => {
  it.each(CASES)("%s: forward and adjoint agree, and both match the implicit KKT route and central differences", (_name, problem) => {
    const { sol, criterion, gradX, implicit } = reference_(problem);
    expect(sol.converged).toBe(true);
    // Away from a breakpoint: the finite differences stay on the piece.
    expect(sol.complementarityMargin).toBeGreaterThan(1e-3);
    const adjoint = fixedPointHypergradient(problem, gradX);
    const forward = fixedPointDerivatives(problem);
    expect(adjoint.converged).toBe(true);
    expect(forward.converged).toBe(true);
    const dx = { tv: forward.dxdtv, l1: forward.dxdl1, l2: forward.dxdl2 };
    const scale = Math.max(...KEYS.map((k) => Math.abs(adjoint.gradient[k])));
    for (const key of KEYS) {
      const g = adjoint.gradient[key];
      // (1) Forward mode (gᵀ dx/dθ) against reverse mode: two iterations, one answer (measured ≤ 3e-12).
      expect(Math.abs(dot(gradX, dx[key]) - g)).toBeLessThan(2e-11 * scale);
      if (key === "tv" && !(problem.penalty.tv > 0)) {
        expect(g).toBe(0);
        continue;
      }
      // (2) The implicit route on the solution's pieces or support (also at l1 = 0, l2 = 0: one-sided
      // derivatives). Measured ≤ 2e-11, and 1.2e-9 in l2 for the elastic net (Split Bregman's x at tol 1e-12).
      expect(Math.abs(g - implicit[key])).toBeLessThan(1e-8 * scale);
      // (3) Central differences of fresh solves. On a piece x is affine in tv and l1, so h = 1e-4
      // relative is exact up to the solves' accuracy; in l2 the error is O(h²). Measured ≤ 1.2e-9.
      if (problem.penalty[key] > 0) {
        const fd = centralDifference(problem, criterion, key, 1e-4 * problem.penalty[key]);
        expect(Math.abs(g - fd)).toBeLessThan(1e-8 * scale);
      }
    }
  });

  it("a matrix-free A (Split Bregman's warm-started CG x-update) gives the implicit hypergradient", () => {
    const dense = CASES[1][1];
    const { A } = dense;
    const bare = { ...dense, A: { rows: A.rows, cols: A.cols, apply: A.apply.bind(A), applyT: A.applyT.bind(A) } };
    const { gradX, implicit } = reference_(dense);
    const fp = fixedPointHypergradient(bare, gradX);
    const scale = Math.max(...KEYS.map((k) => Math.abs(fp.gradient[k])));
    for (const key of KEYS) expect(Math.abs(fp.gradient[key] - implicit[key])).toBeLessThan(1e-8 * scale);
  });

  it("dx/dθ of the forward mode against central differences of the solutions (1-D deblur)", () => {
    const problem = CASES[1][1];
    const forward = fixedPointDerivatives(problem);
    for (const key of ["tv", "l2"] as const) {
      const h = 1e-4 * problem.penalty[key];
      const plus = solve(withPenalty(problem, { [key]: problem.penalty[key] + h }), { tol: 1e-15 }).x;
      const minus = solve(withPenalty(problem, { [key]: problem.penalty[key] - h }), { tol: 1e-15 }).x;
      const dx = key === "tv" ? forward.dxdtv : forward.dxdl2;
      const fd = plus.map((v, j) => (v - minus[j]) / (2 * h));
      const size = Math.max(...Array.from(fd, Math.abs));
      for (let j = 0; j < fd.length; j++) expect(Math.abs(dx[j] - fd[j])).toBeLessThan(1e-6 * size);
    }
  });
});

describe("the public TV fixture", () => {
  const file = join(FIXTURES, "tv1d-denoise.json");
  const ref = reference("tv1d-denoise");

  it("forward mode against closed forms (A = I: dx/dl1 = −sign(x)/(1 + l2), dx/dl2 = −x/(1 + l2) on the pieces) and the reference dx/dtv", () => {
    // Every piece is negative here, so dx/dl1 is constant: Dẋ = 0 and the tangent state (ḋ, ḃ) vanishes.
    const problem = loadProblemFile(file);
    const forward = fixedPointDerivatives(problem);
    const refDx = (ref as unknown as { dxdtv: number[] }).dxdtv;
    expect(Math.max(...ref.x)).toBeLessThan(0);
    for (let j = 0; j < ref.x.length; j++) {
      expect(forward.dxdl1[j]).toBeCloseTo(1, 12);
      expect(Math.abs(forward.dxdl2[j] + ref.x[j])).toBeLessThan(1e-9);
      expect(Math.abs(forward.dxdtv[j] - refDx[j])).toBeLessThan(1e-9);
    }
  });

  it("hypergradient in tv against the reference (cvxopt, checked by finite differences)", () => {
    const problem = loadProblemFile(file);
    const criterion = HeldOutMse.of(problem);
    const gradX = criterion.gradient(solve(problem, { tol: 1e-12 }).x, new Float64Array(problem.A.cols));
    const fp = fixedPointHypergradient(problem, gradX);
    expect(relErr(fp.gradient.tv, ref.hypergradient.tv)).toBeLessThan(1e-4);
    expect(fp.iterations).toBeGreaterThan(0);
    expect(fp.residual).toBeLessThanOrEqual(1e-13);
  });

  it("through the built CLI: hypergrad --method fixed-point, the same keys as the implicit method", () => {
    // The built CLI (`npm test` builds first).
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, "hypergrad", ...args], { encoding: "utf8" });
    const run = (method: string) => {
      const r = cli(file, "--tol", "1e-12", "--json", "--method", method);
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout);
    };
    const [fp, implicit] = [run("fixed-point"), run("implicit")];
    expect(Object.keys(fp.hypergradient)).toEqual(Object.keys(implicit.hypergradient));
    expect(relErr(fp.hypergradient.tv, ref.hypergradient.tv)).toBeLessThan(1e-4);
    for (const key of ["l1", "l2"]) expect(Math.abs(fp.hypergradient[key] - implicit.hypergradient[key])).toBeLessThan(1e-6 * Math.abs(implicit.hypergradient[key]));
    expect(fp.method).toBe("fixed-point");
    expect(fp.fixedPointIterations).toBeGreaterThan(0);
    // The default stays implicit.
    const byDefault = cli(file, "--tol", "1e-12", "--json");
    expect(Object.keys(JSON.parse(byDefault.stdout))).toEqual(Object.keys(implicit));
    // The text report names the route.
    expect(cli(file, "--method", "fixed-point").stdout).toMatch(/dMSE\/dtv.*\(fixed-point: \d+ Split Bregman steps, \d+ adjoint iterations\)/s);
    // An unknown method, and a problem with neither tv nor l1: usage errors (exit 2), one line.
    const bad = cli(file, "--method", "unrolled");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--method/);
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-fp-"));
    const doc = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(join(dir, "ridge.json"), JSON.stringify({ ...doc, penalty: { l2: 0.5 } }));
    const ridge = cli(join(dir, "ridge.json"), "--method", "fixed-point");
    expect(ridge.status).toBe(2);
    expect(ridge.stderr.trim().split("\n")).toHaveLength(1);
    expect(ridge.stderr).toMatch(/^sparsetune: penalty: fixed-point differentiation needs tv > 0 or l1 > 0/);
  });
});

describe("fixed-point bad input and non-convergence", () => {
  const problem = CASES[0][1];
  const gradX = Float64Array.from({ length: problem.A.cols }, (_, j) => Math.sin(j));

  it("refuses a problem without tv or l1, a gradX of the wrong length or not finite, bad options", () => {
    inputError(() => fixedPointHypergradient(withPenalty(problem, { tv: 0, l2: 1 }), gradX), /^penalty: fixed-point differentiation needs tv > 0 or l1 > 0/);
    inputError(() => fixedPointDerivatives(withPenalty(problem, { tv: 0, l2: 1 })), /^penalty:/);
    inputError(() => fixedPointHypergradient(problem, gradX.subarray(1)), /^gradX: expected a Float64Array of 40 finite numbers/);
    inputError(() => fixedPointHypergradient(problem, Float64Array.from(gradX, (v, j) => (j === 3 ? NaN : v))), /^gradX:/);
    inputError(() => fixedPointHypergradient(problem, gradX, { maxIter: 0 }), /^options\.maxIter:/);
    inputError(() => fixedPointHypergradient(problem, gradX, { tol: -1 }), /^options\.tol:/);
  });

  it("a linear iteration stopped early is a NumericalError naming its residual, never NaN", () => {
    for (const run of [() => fixedPointHypergradient(problem, gradX, { maxIter: 5 }), () => fixedPointDerivatives(problem, { maxIter: 5 })]) {
      expect(run).toThrow(NumericalError);
      expect(run).toThrow(/did not converge in 5 iterations \(relative change \d\.\d\de-\d+ > 1e-13\): raise options\.maxIter/);
    }
  });

  it("a constant criterion gradient on a denoising problem: q = M⁻¹g is constant, ζ vanishes, dL/dtv = 0", () => {
    // A = I: dx/dtv sums to 0 over the image (the mean of x is the mean of y), so gᵀdx/dtv = 0 for a constant g.
    const image = CASES[2][1];
    const fp = fixedPointHypergradient(image, new Float64Array(image.A.cols).fill(0.3));
    expect(Math.abs(fp.gradient.tv)).toBeLessThan(1e-14);
    expect(fp.residual).toBeLessThanOrEqual(1e-13);
  });

  it("a zero criterion gradient gives exactly zero hypergradients in one iteration", () => {
    const fp = fixedPointHypergradient(problem, new Float64Array(problem.A.cols));
    for (const key of KEYS) expect(fp.gradient[key]).toBe(0);
    expect(fp.iterations).toBe(1);
  });
});
