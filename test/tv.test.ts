import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { solve, type SolverName } from "../src/solvers/index.js";
import { hypergradient, solutionDerivatives } from "../src/diff/implicit.js";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { tvCertificate } from "../src/kkt/tv-certificate.js";
import { pieceSystem } from "../src/kkt/index.js";
import { penaltyTerms, tuningRanges } from "../src/penalties/index.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { Random } from "../src/linalg/random.js";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { CompositeTvProx } from "../src/penalties/tv-prox.js";
import { MaskOperator } from "../src/operators/mask.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { sheppLogan } from "../src/problems/shepp-logan.js";
import { gridEdges, tvObjective, tvOracle } from "./tv-oracle.js";
import { CLI, FIXTURES, inputError, maxAbsDiff, reference } from "./support.js";

interface Case {
  name: string;
  A: number[][];
  y: number[];
  truth: number[];
  grid: number[];
  penalty: { tv: number; l1?: number; l2?: number };
  /** Inpainting: the kept pixels (A is their rows of I; the problem gets a MaskOperator). */
  mask?: Uint8Array;
}

/** A piecewise-constant signal or image: a few random levels on random blocks. */
function blocks(rng: Random, grid: number[]): number[] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const cutsR = [0, Math.floor(h / 3), Math.floor((2 * h) / 3), h], cutsC = [0, Math.floor(w / 4), Math.floor(w / 2) + 1, w];
  const x: number[] = [];
  const levels = Array.from({ length: 9 }, () => Math.round(4 * rng.normal()) / 2);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) x.push(levels[3 * cutsR.findIndex((v, i) => r < cutsR[i + 1]) + cutsC.findIndex((v, i) => c < cutsC[i + 1])]);
  return x;
}

/** A normalised Gaussian blur matrix on the grid (reflecting nothing: rows cut at the border). */
function blurMatrix(grid: number[], sigma: number): number[][] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const n = h * w;
  return Array.from({ length: n }, (_, p) => {
    const pr = Math.floor(p / w), pc = p % w;
    const row = Array.from({ length: n }, (_, q) => Math.exp(-(((Math.floor(q / w) - pr) ** 2 + ((q % w) - pc) ** 2) / (2 * sigma * sigma))));
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
}

function makeCase(name: string, seed: number, grid: number[], kind: "denoise" | "deblur" | "inpaint", penalty: Case["penalty"], noise = 0.2): Case {
  const rng = new Random(seed);
  const truth = blocks(rng, grid);
  const n = truth.length;
  const identity = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const mask = kind === "inpaint" ? Uint8Array.from({ length: n }, () => (rng.uniform() < 0.75 ? 1 : 0)) : undefined;
  const A = kind === "denoise" ? identity : kind === "inpaint" ? identity.filter((_, i) => mask![i]) : blurMatrix(grid, 0.8);
  const y = A.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0) + noise * rng.normal());
  return { name, A, y, truth, grid, penalty, mask };
}

function problemOf(c: Case): Problem {
  const isIdentity = c.A.every((row, i) => row.every((v, j) => v === (i === j ? 1 : 0)));
  return createProblem({ A: c.mask ? new MaskOperator(c.mask, c.truth.length) : isIdentity ? { identity: c.y.length } : c.A, y: c.y, grid: c.grid, penalty: c.penalty, truth: c.truth, validation: { A: { identity: c.truth.length }, y: c.truth } });
}

const CASES: Case[] = [
  makeCase("1-D denoise", 1, [30], "denoise", { tv: 0.4 }),
  makeCase("1-D deblur", 2, [24], "deblur", { tv: 0.05 }),
  makeCase("1-D deblur, l2", 3, [24], "deblur", { tv: 0.05, l2: 0.01 }),
  makeCase("1-D denoise, l1 (fused lasso)", 4, [30], "denoise", { tv: 0.3, l1: 0.2 }),
  makeCase("1-D denoise, l1 with zero runs", 8, [30], "denoise", { tv: 0.2, l1: 0.9 }),
  makeCase("2-D denoise", 5, [5, 6], "denoise", { tv: 0.3 }),
  makeCase("2-D denoise, l1 and l2", 6, [5, 6], "denoise", { tv: 0.25, l1: 0.1, l2: 0.05 }),
  makeCase("2-D deblur", 7, [5, 5], "deblur", { tv: 0.02 }),
  makeCase("2-D inpaint (a pixel mask), l2", 12, [5, 6], "inpaint", { tv: 0.1, l2: 0.02 }),
];

const ORACLE = new Map(CASES.map((c) => [c.name, tvOracle(c.A, c.y, gridEdges(c.grid), c.penalty)]));

/** The solvers that handle every case: the default (first that fits), FISTA and Split Bregman. */
const solversFor = (_c: Case): (SolverName | undefined)[] => [undefined, "fista", "split-bregman"];

describe("TV solutions against an independent dense oracle", () => {
  for (const c of CASES) {
    for (const solver of solversFor(c)) {
      it(`${c.name} (${solver ?? "default solver"})`, () => {
        const problem = problemOf(c);
        const sol = solve(problem, { solver, tol: 1e-13 });
        const oracle = ORACLE.get(c.name)!;
        const scale = Math.max(1, ...Array.from(oracle, Math.abs));
        expect(sol.converged).toBe(true);
        expect(maxAbsDiff(sol.x, oracle)).toBeLessThan(1e-6 * scale);
        const edges = gridEdges(c.grid);
        // Never worse than the oracle (it is the approximate one), and the objective is the written-out one.
        expect(tvObjective(c.A, c.y, edges, c.penalty, sol.x)).toBeLessThanOrEqual(tvObjective(c.A, c.y, edges, c.penalty, oracle) + 1e-12 * scale);
        expect(sol.objective).toBeCloseTo(tvObjective(c.A, c.y, edges, c.penalty, sol.x), 10);
        // The jump set is exactly the edges where x differs.
        const pieces = sol.structure.find((p) => p.kind === "pieces")!;
        expect(pieces.jumps).toEqual(edges.flatMap(([a, b], e) => (sol.x[b] !== sol.x[a] ? [e] : [])));
        expect(pieces.jumpSigns).toEqual(pieces.jumps.map((e) => Math.sign(sol.x[edges[e][1]] - sol.x[edges[e][0]])));
      });
    }
  }
});

describe("the TV certificate", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: the gap bounds P(x) − P* at perturbed points, and vanishes at the solution", (_name, c) => {
    const problem = problemOf(c);
    const edges = gridEdges(c.grid);
    const oracle = ORACLE.get(c.name)!;
    const best = tvObjective(c.A, c.y, edges, c.penalty, oracle);
    const rng = new Random(11);
    const sol = solve(problem, { tol: 1e-13 });
    for (const size of [1e-1, 1e-3, 1e-6]) {
      const x = sol.x.map((v) => v + size * rng.normal());
      const cert = tvCertificate(problem, penaltyTerms(problem), x);
      expect(cert.dualityGap).toBeGreaterThanOrEqual(tvObjective(c.A, c.y, edges, c.penalty, x) - best - 1e-10 * Math.max(1, best));
      // With a solver's dual hint, infeasible ones included (|z| up to a few tv; denoising takes its fast path).
      const hint = Float64Array.from(edges, () => 2 * c.penalty.tv * rng.normal());
      const hinted = tvCertificate(problem, penaltyTerms(problem), x, hint);
      expect(hinted.objective).toBeCloseTo(tvObjective(c.A, c.y, edges, c.penalty, x), 10);
      expect(hinted.dualityGap).toBeGreaterThanOrEqual(hinted.objective - best - 1e-10 * Math.max(1, best));
    }
    // On a mask, Split Bregman stops with a KKT violation near 5e-12 (the witness correction's floor).
    const floor = c.mask ? 1e-11 : 1e-12;
    expect(sol.dualityGap).toBeLessThanOrEqual(floor * Math.max(1, best));
    expect(sol.kktViolation).toBeLessThanOrEqual(floor * Math.max(1, c.penalty.tv + (c.penalty.l1 ?? 0)));
    if (c.name.includes("zero runs")) expect(sol.x.filter((v) => v === 0).length).toBeGreaterThan(3);
  });
});

describe("the denoising certificate (A = I on a 2-D grid, pure tv: the classical dual θ = Dᵀz)", () => {
  it("scales an infeasible dual hint back into the box, so its gap still bounds P(x) − P*", () => {
    const c = CASES.find((k) => k.name === "2-D denoise")!;
    const problem = problemOf(c), edges = gridEdges(c.grid);
    const best = tvObjective(c.A, c.y, edges, c.penalty, ORACLE.get(c.name)!);
    const prox = new CompositeTvProx(new GridDifferences(c.grid), problem.penalty);
    const xStar = new Float64Array(problem.y.length);
    prox.apply(problem.y, 1, xStar, { tol: 1e-15 });
    const zStar = prox.dualEstimate();
    const rng = new Random(5);
    for (const stretch of [1, 1.5, 3]) {
      // Beyond the box (stretch > 1) the dual value of z itself can exceed P*: only the scaled z is a bound.
      const x = xStar.map((v) => v + 1e-6 * rng.normal());
      const cert = tvCertificate(problem, penaltyTerms(problem), x, zStar.map((z) => stretch * z));
      expect(cert.dualityGap).toBeGreaterThanOrEqual(tvObjective(c.A, c.y, edges, c.penalty, x) - best - 1e-12 * best);
    }
    // At the prox's own pair (x*, z*) the gap closes.
    expect(tvCertificate(problem, penaltyTerms(problem), xStar, zStar).dualityGap).toBeLessThanOrEqual(1e-12 * best);
  });

  it("a tv-denoise solve reports the prox's own certificate: objective P(x), a gap that bounds P(x) − P*, from loose to tight", () => {
    const c = CASES.find((k) => k.name === "2-D denoise")!;
    const problem = problemOf(c), edges = gridEdges(c.grid);
    const best = tvObjective(c.A, c.y, edges, c.penalty, ORACLE.get(c.name)!);
    const yy = problem.y.reduce((s, v) => s + v * v, 0);
    for (const tol of [1e-2, 1e-4, 1e-8]) {
      const sol = solve({ ...problem, y: Float64Array.from(problem.y) }, { tol, solver: "tv-denoise" });
      const value = tvObjective(c.A, c.y, edges, c.penalty, sol.x);
      expect(sol.objective).toBeCloseTo(value, 12);
      expect(sol.dualityGap).toBeGreaterThanOrEqual(value - best - 1e-12 * best);
      expect(sol.dualityGap).toBeLessThanOrEqual(tol * yy);
      expect(sol.converged).toBe(true);
    }
  });
});

describe("exact jump sets of 2-D denoising at tight tolerances", () => {
  it("64×64 phantom at tol 1e-12: x within 1e-9 of a 1e-17 prox solve, and only its jumps (no rounding-level ones)", () => {
    // The prox's iterate is stationary to rounding for its own dual but carries 1e-10 noise on its
    // flat edges; only the polish on the pieces gives the jump set. Its pieces certify by the
    // iterate's dual bound (P(x_pieces) − Dual(z)), as the witness rebuilt on them stays loose.
    const N = 64, phantom = sheppLogan(N, N), rng = new Random(64);
    const problem = createProblem({ A: new IdentityOperator(N * N), y: phantom.data.map((v) => v + 0.1 * rng.normal()), grid: [N, N], penalty: { tv: 0.08 } });
    const sol = solve(problem, { tol: 1e-12 });
    const reference = new Float64Array(N * N), D = new GridDifferences([N, N]);
    new CompositeTvProx(D, problem.penalty).apply(problem.y, 1, reference, { tol: 1e-17, maxIter: 50_000 });
    expect(maxAbsDiff(sol.x, reference)).toBeLessThan(1e-9);
    const jumps = (x: Float64Array, floor: number) => gridEdges([N, N]).flatMap(([a, b], e) => (Math.abs(x[b] - x[a]) > floor ? [e] : []));
    const pieces = sol.structure.find((part) => part.kind === "pieces")!;
    expect(pieces.kind === "pieces" && pieces.jumps).toEqual(jumps(reference, 1e-9));
    expect(jumps(sol.x, 0)).toEqual(jumps(sol.x, 1e-9));
    expect(sol.converged).toBe(true);
  });
});

describe("the TV piece system on a pixel mask", () => {
  it("is diagonal (measured pixels per piece) and holds a piece without a measured pixel fixed", () => {
    // 1-D, pixel 2 unmeasured and its own piece between 0 and 1: any value in [0, 1] is optimal there.
    const problem = createProblem({ A: new MaskOperator(Uint8Array.of(1, 1, 0, 1, 1), 5), y: [0, 0, 1, 1], grid: [5], penalty: { tv: 0.1 } });
    const system = pieceSystem(problem, Float64Array.of(0.05, 0.05, 0.5, 0.95, 0.95));
    expect(system.size).toBe(3);
    // H = diag(2, 0, 2): pieces {0, 1} and {3, 4} have two measured pixels each, {2} none.
    expect(Array.from(system.solve(Float64Array.of(4, 7, 6)))).toEqual([2, 0, 3]);
    // F = NᵀAᵀ(ANβ − y) + tv NᵀD_Jᵀs_J vanishes: (0.05·2 − 0) − 0.1 = 0, 0 + 0.1 − 0.1 = 0, (0.95 − 1)·2 + 0.1 = 0.
    for (const f of system.residual()) expect(Math.abs(f)).toBeLessThan(1e-15);
    expect(system.degreesOfFreedom().df).toBe(2);
  });
});

/** Central difference of the reference criterion in one penalty, from fresh tight solves. */
function centralDifference(problem: Problem, key: "tv" | "l1" | "l2", h: number): number {
  const criterion = HeldOutMse.of(problem);
  const at = (delta: number) => criterion.value(solve(withPenalty(problem, { [key]: problem.penalty[key] + delta }), { tol: 1e-14 }).x);
  return (at(h) - at(-h)) / (2 * h);
}

describe("TV hypergradients", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: d criterion / d tv (and l1, l2) match central differences", (_name, c) => {
    const problem = problemOf(c);
    const sol = solve(problem, { tol: 1e-14 });
    const grad = hypergradient(problem, sol, HeldOutMse.of(problem));
    expect(grad.nearBreakpoint).toBe(false);
    expect(sol.complementarityMargin).toBeGreaterThan(1e-3);
    for (const key of ["tv", "l1", "l2"] as const) {
      if (!(problem.penalty[key] > 0)) continue;
      // On a piece x is affine in tv and l1 (math.md), so the central difference is exact up to
      // the solves' accuracy (in l2 up to O(h²)); h = 1e-4 relative stays inside the piece (margins ≥ 1e-3 here).
      const h = 1e-4 * problem.penalty[key];
      const fd = centralDifference(problem, key, h);
      const g = grad.gradient[key] as number;
      expect(Math.abs(g - fd)).toBeLessThan(1e-5 * Math.max(Math.abs(fd), 1e-3 * Math.abs(g) + 1e-12) + 1e-9);
    }
  });

  it("dx/dtv matches a central difference of the solutions", () => {
    const c = CASES[1];
    const problem = problemOf(c);
    const dx = solutionDerivatives(problem, solve(problem, { tol: 1e-14 })).dxdtv;
    const h = 1e-6 * c.penalty.tv;
    const plus = solve(withPenalty(problem, { tv: c.penalty.tv + h }), { tol: 1e-15 }).x;
    const minus = solve(withPenalty(problem, { tv: c.penalty.tv - h }), { tol: 1e-15 }).x;
    const fd = plus.map((v, j) => (v - minus[j]) / (2 * h));
    expect(maxAbsDiff(dx, fd)).toBeLessThan(1e-5 * Math.max(1, ...Array.from(fd, Math.abs)));
  });
});

describe("the public TV fixture", () => {
  const ref = reference("tv1d-denoise") as unknown as { x: number[]; jumps: number[]; jumpSigns: number[]; segments: number; hypergradient: { tv: number }; dxdtv: number[] };
  for (const solver of ["tv-denoise", "fista"] as const) {
    it(`${solver}: x, the jump set, the pieces, the hypergradient and dx/dtv`, () => {
      const problem = loadProblemFile(join(FIXTURES, "tv1d-denoise.json"));
      const sol = solve(problem, { solver, tol: 1e-12 });
      expect(maxAbsDiff(sol.x, ref.x)).toBeLessThan(1e-9 * Math.max(1, ...ref.x.map(Math.abs)));
      expect(sol.structure.find((p) => p.kind === "pieces")).toEqual({ kind: "pieces", jumps: ref.jumps, jumpSigns: ref.jumpSigns, segments: ref.segments });
      const grad = hypergradient(problem, sol, HeldOutMse.of(problem));
      expect(Math.abs(grad.gradient.tv as number - ref.hypergradient.tv)).toBeLessThan(1e-8 * Math.abs(ref.hypergradient.tv));
      expect(maxAbsDiff(solutionDerivatives(problem, sol).dxdtv, ref.dxdtv)).toBeLessThan(1e-9);
    });
  }

  it("through the CLI at --tol 1e-12: solve and hypergrad JSON", () => {
    // The built CLI (`npm test` builds first).
    const cli = (cmd: string) => JSON.parse(execFileSync(process.execPath, [CLI, cmd, join(FIXTURES, "tv1d-denoise.json"), "--tol", "1e-12", "--json"], { encoding: "utf8" }));
    const s = cli("solve");
    expect(s.jumps).toEqual(ref.jumps);
    expect(s.jumpSigns).toEqual(ref.jumpSigns);
    expect(s.segments).toBe(ref.segments);
    expect(maxAbsDiff(s.x, ref.x)).toBeLessThan(1e-6);
    const h = cli("hypergrad");
    expect(Math.abs(h.hypergradient.tv - ref.hypergradient.tv)).toBeLessThan(1e-4 * Math.abs(ref.hypergradient.tv));
  });
});

describe("TV bad input", () => {
  const base = { A: { identity: 6 }, y: [1, 2, 3, 4, 5, 6] };
  it("refuses tv < 0, a grid that does not match n, weights with tv, and a D of the wrong width", () => {
    inputError(() => createProblem({ ...base, penalty: { tv: -1 } }), /penalty\.tv/);
    inputError(() => createProblem({ ...base, penalty: { tv: 1 }, grid: [2, 2] }), /grid: expected a shape with 6 cells/);
    inputError(() => createProblem({ ...base, penalty: { tv: 1, l1: 1, weights: [1, 1, 1, 1, 1, 1] } }), /penalty\.weights/);
    inputError(() => createProblem({ ...base, penalty: { tv: 1 }, D: [[1, -1]] }), /^D: expected 6 columns/);
  });
  it("a solver without tv is named", () => {
    inputError(() => solve(createProblem({ ...base, penalty: { tv: 1 } }), { solver: "cd" }), /penalty\.tv: the cd solver/);
  });
});

describe("the tv tuning range", () => {
  it("covers the noise level of a 1000×1000 image: its lower end follows the data's scale, not tv_max (which grows with the grid)", () => {
    const N = 1000, rng = new Random(1000);
    const y = Float64Array.from({ length: N * N }, (_, p) => (p % N < N / 2 ? 0.2 : 0.8) + 0.08 * rng.normal());
    const problem = createProblem({ A: new IdentityOperator(N * N), y, grid: [N, N], penalty: { tv: 0.05 } });
    const range = tuningRanges(problem).tv;
    expect(range.range[0]).toBeLessThanOrEqual(1e-6 * y.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    expect(range.range[1]).toBeGreaterThan(100);
    expect(range.start).toBe(0.05);
  });
});
