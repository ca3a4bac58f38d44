import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { fixedPointHypergradient } from "../src/diff/fixed-point.js";
import { hypergradient } from "../src/diff/implicit.js";
import { kktSystem } from "../src/kkt/index.js";
import { tvCertificate } from "../src/kkt/tv-certificate.js";
import { Random } from "../src/linalg/random.js";
import { penaltyTerms } from "../src/penalties/index.js";
import { createProblem, withPenalty, type Problem, type ProblemInput } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import type { Solution } from "../src/solvers/solution.js";
import { acceleratedAscent, gridEdges, tvObjective } from "./tv-oracle.js";
import { CLI, FIXTURES, inputError, maxAbsDiff } from "./support.js";
import { loadProblemFile } from "../src/io/problem-file.js";


interface Case {
  name: string;
  grid: number[];
  A: number[][];
  y: number[];
  penalty: { tv: number; l1?: number; l2?: number };
  C: number[][];
  d: number[];
  lower?: number;
  upper?: number;
}

const identity = (n: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => +(i === j)));

/** A blur written out entry by entry: weight 1 − 2b on the pixel, b on each grid neighbour (mirrored at the border). */
function blur(grid: number[], b: number): number[][] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const n = h * w;
  const A = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const p = r * w + c;
      A[p][p] += 1 - (h > 1 ? 4 : 2) * b;
      const add = (rr: number, cc: number) => (A[p][Math.max(0, Math.min(h - 1, rr)) * w + Math.max(0, Math.min(w - 1, cc))] += b);
      add(r, c - 1);
      add(r, c + 1);
      if (h > 1) {
        add(r - 1, c);
        add(r + 1, c);
      }
    }
  }
  return A;
}

/** Piecewise constant images with noise: values outside [0, 1] so that bounds bind. */
function image(grid: number[], seed: number): number[] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const rng = new Random(seed);
  return Array.from({ length: h * w }, (_, p) => {
    const r = Math.floor(p / w), c = p % w;
    const base = c < w / 3 ? -0.3 : r < h / 2 || h === 1 ? (c < (2 * w) / 3 ? 1.25 : 0.5) : 0.8;
    return base + 0.08 * rng.normal();
  });
}

const mean = (n: number): number[] => new Array<number>(n).fill(1 / n);
const leftHalf = (n: number): number[] => Array.from({ length: n }, (_, j) => (j < n / 2 ? 1 : 0));

const CASES: Case[] = [
  { name: "1-D denoise, mean, x ≥ 0", grid: [12], A: identity(12), y: image([12], 1), penalty: { tv: 0.15 }, C: [mean(12)], d: [0.45], lower: 0 },
  { name: "1-D blur, two constraints, 0 ≤ x ≤ 1, l2", grid: [12], A: blur([12], 0.2), y: image([12], 2), penalty: { tv: 0.05, l2: 0.05 }, C: [mean(12), leftHalf(12)], d: [0.5, 2], lower: 0, upper: 1 },
  { name: "1-D blur, mean only (no bounds)", grid: [12], A: blur([12], 0.2), y: image([12], 3), penalty: { tv: 0.08, l2: 0.02 }, C: [mean(12)], d: [0.7] },
  { name: "2-D 4×5 denoise, mean, 0 ≤ x ≤ 1", grid: [4, 5], A: identity(20), y: image([4, 5], 4), penalty: { tv: 0.1 }, C: [mean(20)], d: [0.55], lower: 0, upper: 1 },
  { name: "2-D 4×5 blur, mean, x ≥ 0, l1 and l2", grid: [4, 5], A: blur([4, 5], 0.1), y: image([4, 5], 5), penalty: { tv: 0.06, l1: 0.02, l2: 0.05 }, C: [mean(20)], d: [0.6], lower: 0 },
];

function inputOf(c: Case): ProblemInput {
  const n = c.y.length;
  const truth = c.y.map((v, j) => Math.min(1, Math.max(0, v + 0.05 * Math.cos(j))));
  return {
    A: c.A,
    y: c.y,
    grid: c.grid,
    penalty: c.penalty,
    constraints: { C: c.C, d: c.d },
    ...((c.lower !== undefined || c.upper !== undefined) && { bounds: { lower: c.lower, upper: c.upper } }),
    validation: { A: identity(n), y: truth },
  };
}

const problemOf = (c: Case): Problem => createProblem(inputOf(c));

/**
 * An independent oracle (dense, nothing from src): the dual of
 *   min ½‖Ax − y‖² + l2/2‖x‖² + ‖D̃x‖₁  s.t. Cx = d, lower ≤ x ≤ upper,   D̃ = [tv·D; l1·I],
 * whose inner minimisation over the box is a clip when the quadratic in x is diagonal: A = I
 * (α = 1 + l2, x = clip((y − D̃ᵀz − Cᵀν)/α)) or, with l2 > 0, after dualising Ax = u with w
 * (α = l2, x = clip(−(D̃ᵀz + Cᵀν + Aᵀw)/α), u = y + w). Accelerated projected gradient ascent
 * on (z ∈ [−1, 1], ν, w) with adaptive restarts.
 */
function oracle(c: Case, iterations = 300_000): Float64Array {
  const n = c.y.length, { tv, l1 = 0, l2 = 0 } = c.penalty;
  const isIdentity = c.A.every((row, i) => row.every((v, j) => v === +(i === j)));
  if (!isIdentity && !(l2 > 0)) throw new Error("oracle: a general A needs l2 > 0");
  const lo = c.lower ?? -Infinity, up = c.upper ?? Infinity;
  const rows: [number, number][][] = gridEdges(c.grid).map(([from, to]) => [[from, -tv], [to, tv]]);
  if (l1 > 0) for (let j = 0; j < n; j++) rows.push([[j, l1]]);
  const k = rows.length, p = c.C.length, m = isIdentity ? 0 : c.A.length;
  const alpha = isIdentity ? 1 + l2 : l2;
  // Dual variables: [z (k), ν (p), w (m)].
  const size = k + p + m;
  let kNorm = 0;
  rows.forEach((row) => row.forEach(([, v]) => (kNorm += v * v)));
  c.C.forEach((row) => row.forEach((v) => (kNorm += v * v)));
  if (!isIdentity) c.A.forEach((row) => row.forEach((v) => (kNorm += v * v)));
  const L = kNorm / alpha + (isIdentity ? 0 : 1);
  const primal = (v: Float64Array): Float64Array => {
    const q = new Float64Array(n);
    if (isIdentity) for (let j = 0; j < n; j++) q[j] = c.y[j];
    rows.forEach((row, r) => row.forEach(([j, a]) => (q[j] -= a * v[r])));
    c.C.forEach((row, i) => row.forEach((a, j) => (q[j] -= a * v[k + i])));
    if (!isIdentity) c.A.forEach((row, i) => row.forEach((a, j) => (q[j] -= a * v[k + p + i])));
    return q.map((v) => Math.min(up, Math.max(lo, v / alpha)));
  };
  const z = acceleratedAscent(size, k, L, (w, grad) => {
    const x = primal(w);
    // The ascent direction: D̃x, Cx − d, Ax − y − w.
    rows.forEach((row, r) => (grad[r] = row.reduce((s, [j, a]) => s + a * x[j], 0)));
    c.C.forEach((row, i) => (grad[k + i] = row.reduce((s, a, j) => s + a * x[j], -c.d[i])));
    if (!isIdentity) c.A.forEach((row, i) => (grad[k + p + i] = row.reduce((s, a, j) => s + a * x[j], -c.y[i]) - w[k + p + i]));
  }, iterations);
  return primal(z);
}

const objective = (c: Case, x: ArrayLike<number>): number => tvObjective(c.A, c.y, gridEdges(c.grid), c.penalty, x);

/** max_i |(Cx − d)_i| / max_i (|d_i| + Σ_j |C_ij x_j|), written out. */
function relativeInfeasibility(c: Case, x: ArrayLike<number>): number {
  let worst = 0, scale = 0;
  c.C.forEach((row, i) => {
    worst = Math.max(worst, Math.abs(row.reduce((s, a, j) => s + a * x[j], -c.d[i])));
    scale = Math.max(scale, row.reduce((s, a, j) => s + Math.abs(a * x[j]), Math.abs(c.d[i])));
  });
  return worst / scale;
}

const solved = new Map<string, { problem: Problem; sol: Solution }>();
function solutionOf(c: Case): { problem: Problem; sol: Solution } {
  if (!solved.has(c.name)) {
    const problem = problemOf(c);
    solved.set(c.name, { problem, sol: solve(problem, { tol: 1e-14 }) });
  }
  return solved.get(c.name)!;
}

describe("tv with constraints and bounds: Split Bregman against an independent dual oracle", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: x, feasibility, bounds, certificate", (_name, c) => {
    const { sol } = solutionOf(c);
    expect(sol.solver).toBe("split-bregman");
    expect(sol.converged).toBe(true);
    const reference = oracle(c);
    expect(maxAbsDiff(sol.x, reference)).toBeLessThan(1e-6);
    expect(objective(c, sol.x)).toBeLessThanOrEqual(objective(c, reference) + 1e-12);
    expect(relativeInfeasibility(c, sol.x)).toBeLessThan(1e-9);
    for (const v of sol.x) {
      expect(v).toBeGreaterThanOrEqual(c.lower ?? -Infinity);
      expect(v).toBeLessThanOrEqual(c.upper ?? Infinity);
    }
    expect(sol.multipliers).toHaveLength(c.C.length);
    expect(sol.feasibilityResidual).toBeLessThan(1e-9);
    expect(sol.dualityGap).toBeLessThan(1e-12);
    // Active bounds: exactly the features at a bound.
    expect(sol.activeBounds!.lower).toEqual(Array.from(sol.x.keys()).filter((j) => sol.x[j] === c.lower));
    expect(sol.activeBounds!.upper).toEqual(Array.from(sol.x.keys()).filter((j) => sol.x[j] === c.upper));
    const kinds = sol.structure.map((part) => part.kind);
    expect(kinds).toEqual(["support", "pieces", "constraints", ...(c.lower !== undefined || c.upper !== undefined ? ["bounds"] : [])]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s: stationarity with the reported ν, written out (bound multipliers with the right sign)", (_name, c) => {
    const { sol } = solutionOf(c);
    const x = sol.x, n = x.length, nu = sol.multipliers!;
    const { tv, l1 = 0, l2 = 0 } = c.penalty;
    // g = Aᵀ(Ax − y) + l2 x + Cᵀν: on each piece (maximal run of equal values, not at a bound, not 0 with l1),
    // Σ g + l1·sign·size + tv·Σ(jump signs into and out of it) = 0 (the piece's stationarity: z sums out inside).
    const g = new Float64Array(n);
    const r = c.A.map((row, i) => row.reduce((s, a, j) => s + a * x[j], -c.y[i]));
    for (let j = 0; j < n; j++) g[j] = c.A.reduce((s, row, i) => s + row[j] * r[i], 0) + l2 * x[j] + c.C.reduce((s, row, i) => s + row[j] * nu[i], 0);
    const edges = gridEdges(c.grid);
    const label = new Int32Array(n).fill(-1);
    let count = 0;
    for (let s = 0; s < n; s++) {
      if (label[s] >= 0) continue;
      const stack = [s];
      label[s] = count;
      while (stack.length) {
        const q = stack.pop()!;
        for (const [a, b] of edges) {
          const other = a === q ? b : b === q ? a : -1;
          if (other >= 0 && label[other] < 0 && x[other] === x[q]) {
            label[other] = count;
            stack.push(other);
          }
        }
      }
      count++;
    }
    const sum = new Float64Array(count);
    for (let j = 0; j < n; j++) sum[label[j]] += g[j] + l1 * Math.sign(x[j]);
    for (const [a, b] of edges) {
      if (label[a] === label[b]) continue;
      const s = Math.sign(x[b] - x[a]);
      sum[label[b]] += tv * s;
      sum[label[a]] -= tv * s;
    }
    for (let piece = 0; piece < count; piece++) {
      const j = label.indexOf(piece), value = x[j];
      if (value === c.lower) expect(sum[piece]).toBeGreaterThan(-1e-9); // the normal cone at lower: −∇ ≤ 0
      else if (value === c.upper) expect(sum[piece]).toBeLessThan(1e-9);
      else if (l1 > 0 && value === 0) continue;
      else expect(Math.abs(sum[piece])).toBeLessThan(1e-9);
    }
  });
});

describe("the certificate with constraints and bounds", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: the gap bounds P(x) − P* at perturbed feasible points", (_name, c) => {
    const { problem, sol } = solutionOf(c);
    const best = objective(c, sol.x);
    const rng = new Random(9);
    const n = sol.x.length;
    for (const size of [1e-6, 1e-3, 3e-2]) {
      // A perturbation in the null space of C (Gram–Schmidt against its rows), zero on the features at a bound.
      const v = Float64Array.from({ length: n }, (_, j) => (sol.x[j] === c.lower || sol.x[j] === c.upper ? 0 : rng.normal()));
      const basis: Float64Array[] = [];
      for (const row of c.C) {
        const q = Float64Array.from(row, (a, j) => (sol.x[j] === c.lower || sol.x[j] === c.upper ? 0 : a));
        for (const b of basis) {
          const s = q.reduce((t, a, j) => t + a * b[j], 0);
          for (let j = 0; j < n; j++) q[j] -= s * b[j];
        }
        const norm = Math.hypot(...q);
        if (norm > 1e-12) basis.push(q.map((a) => a / norm));
      }
      for (const b of basis) {
        const s = v.reduce((t, a, j) => t + a * b[j], 0);
        for (let j = 0; j < n; j++) v[j] -= s * b[j];
      }
      const x = Float64Array.from(sol.x, (xj, j) => Math.min(c.upper ?? Infinity, Math.max(c.lower ?? -Infinity, xj + size * v[j])));
      if (relativeInfeasibility(c, x) > 1e-12) continue; // clipped: no longer feasible, the bound does not apply
      for (const nu of [sol.multipliers!, sol.multipliers!.map((m) => 1.1 * m + 0.01)]) {
        const cert = tvCertificate(problem, penaltyTerms(problem), x, null, { nu });
        expect(cert.dualityGap).toBeGreaterThanOrEqual(objective(c, x) - best - 1e-12 * Math.max(1, best));
        expect(cert.feasibilityResidual).toBeLessThan(1e-12);
      }
    }
  });

  it.each(["direct", "cg"] as const)("every x-update carries μ_c CᵀC (%s): unpolished solves reach the oracle", (normalSolver) => {
    for (const c of [CASES[1], CASES[4]]) {
      const sol = solve(problemOf(c), { solver: "split-bregman", normalSolver, tol: 1e-11, polish: false } as Parameters<typeof solve>[1]);
      expect(sol.converged).toBe(true);
      expect(maxAbsDiff(sol.x, oracle(c))).toBeLessThan(1e-4);
      expect(relativeInfeasibility(c, sol.x)).toBeLessThan(1e-9);
    }
  });

  it.each([
    ["mean and x ≥ 0 (a side open)", { bounds: { lower: 0 } }],
    ["mean only", {}],
    ["mean and 0 ≤ x ≤ 1", { bounds: { lower: 0, upper: 1 } }],
  ] as const)("a 24×24 denoise with %s certifies from Split Bregman's duals, unpolished, and its gap bounds P(x) − P*", (_name, extra) => {
    const grid = [24, 24], n = 576;
    const y = image(grid, 11);
    const c: Case = { name: "24×24", grid, A: identity(n), y, penalty: { tv: 0.1 }, C: [mean(n)], d: [0.5], lower: "bounds" in extra ? extra.bounds.lower : undefined, upper: "bounds" in extra && "upper" in extra.bounds ? extra.bounds.upper : undefined };
    const problem = createProblem({ A: { identity: n }, y, grid, penalty: c.penalty, constraints: { C: c.C, d: c.d }, ...extra });
    const loose = solve(problem, { tol: 1e-7 });
    expect(loose.converged).toBe(true);
    expect(relativeInfeasibility(c, loose.x)).toBeLessThan(1e-8);
    const tight = solve(problem, { tol: 1e-13 });
    expect(tight.converged).toBe(true);
    expect(loose.dualityGap).toBeGreaterThanOrEqual(objective(c, loose.x) - objective(c, tight.x) - 1e-12 * objective(c, tight.x));
    expect(loose.dualityGap).toBeLessThanOrEqual(1e-7 * y.reduce((t, v) => t + v * v, 0));
  });

  it("without constraints or bounds binding, the solution is the unconstrained one with ν = 0", () => {
    const c = CASES[2];
    const free = createProblem({ ...inputOf(c), constraints: undefined });
    const x0 = solve(free, { tol: 1e-14 }).x;
    const loose = createProblem({ ...inputOf(c), constraints: { C: c.C, d: [c.C[0].reduce((s, a, j) => s + a * x0[j], 0)] }, bounds: { lower: -10, upper: 10 } });
    const sol = solve(loose, { tol: 1e-14 });
    expect(maxAbsDiff(sol.x, x0)).toBeLessThan(1e-9);
    expect(Math.abs(sol.multipliers![0])).toBeLessThan(1e-8);
    expect(sol.activeBounds).toEqual({ lower: [], upper: [] });
  });
});

/** Central difference of the held-out criterion in one penalty, from fresh tight solves. */
function centralDifference(problem: Problem, key: "tv" | "l1" | "l2", h: number): number {
  const criterion = HeldOutMse.of(problem);
  const at = (delta: number) => criterion.value(solve(withPenalty(problem, { [key]: problem.penalty[key] + delta }), { tol: 1e-14 }).x);
  return (at(h) - at(-h)) / (2 * h);
}

describe("hypergradients through the bordered piece system", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: d criterion / d tv (and l1, l2) match central differences", (_name, c) => {
    const { problem, sol } = solutionOf(c);
    const grad = hypergradient(problem, sol, HeldOutMse.of(problem));
    expect(grad.method).toBe("schur-cholesky");
    for (const key of ["tv", "l1", "l2"] as const) {
      if (!(problem.penalty[key]! > 0)) continue;
      // x is affine in tv and l1 on a piece with fixed structure, so h = 1e-4 relative is exact up to the solves' accuracy.
      const h = 1e-4 * problem.penalty[key]!;
      const fd = centralDifference(problem, key, h);
      const gk = grad.gradient[key] as number;
      expect(Math.abs(gk - fd)).toBeLessThan(1e-5 * Math.max(Math.abs(fd), 1e-3 * Math.abs(gk) + 1e-12) + 1e-9);
    }
  });

  it.each([CASES[0], CASES[1], CASES[4]].map((c) => [c.name, c] as const))("%s: SURE's df = tr(∂(Ax)/∂y) by central differences in y", (_name, c) => {
    const { problem, sol } = solutionOf(c);
    const { df } = kktSystem(problem, sol).system.degreesOfFreedom();
    const h = 1e-6;
    let trace = 0;
    for (let i = 0; i < c.y.length; i++) {
      const fit = (delta: number) => {
        const y = Float64Array.from(c.y);
        y[i] += delta;
        const x = solve({ ...problem, y }, { tol: 1e-14 }).x;
        return c.A[i].reduce((t, a, j) => t + a * x[j], 0);
      };
      trace += (fit(h) - fit(-h)) / (2 * h);
    }
    expect(Math.abs(df - trace)).toBeLessThan(1e-6 * Math.max(1, trace));
  });

  it("fixed-point differentiation refuses constrained problems with a clear error", () => {
    const problem = problemOf(CASES[0]);
    inputError(() => fixedPointHypergradient(problem, new Float64Array(problem.A.cols)), /implicit/);
  });
});

describe("Split Bregman on the l1/l2 constrained fixtures (no tv)", () => {
  it.each(["constrained-small", "constrained-bounds"])("%s: x and ν as the independent reference", (name) => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8"));
    const sol = solve(loadProblemFile(join(FIXTURES, `${name}.json`)), { solver: "split-bregman", tol: 1e-12 });
    expect(sol.converged).toBe(true);
    expect(maxAbsDiff(sol.x, doc.reference.x)).toBeLessThan(1e-6);
    expect(maxAbsDiff(sol.multipliers!, doc.reference.multipliers)).toBeLessThan(1e-6);
  });
});

describe("CLI and bad input", () => {
  it("solve --json on a tv problem with constraints and bounds prints multipliers, activeBounds and the jumps", () => {
    const c = CASES[0];
    const dir = mkdtempSync(join(tmpdir(), "sbcon-"));
    const file = join(dir, "tv-constrained.json");
    writeFileSync(file, JSON.stringify({ format: "sparsetune-problem/1", A: { identity: 12 }, y: c.y, grid: c.grid, penalty: c.penalty, constraints: { C: { shape: [c.C.length, 12], data: c.C.flat() }, d: c.d }, bounds: { lower: 0 } }));
    const r = spawnSync(process.execPath, [CLI, "solve", file, "--tol", "1e-12", "--json"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    const { sol } = solutionOf(c);
    expect(out.converged).toBe(true);
    expect(maxAbsDiff(out.multipliers, sol.multipliers!)).toBeLessThan(1e-9);
    expect(out.activeBounds).toEqual(sol.activeBounds);
    const pieces = sol.structure.find((p) => p.kind === "pieces") as { jumps: number[] };
    expect(out.jumps ?? out.structure.find((p: { kind: string }) => p.kind === "pieces").jumps).toEqual(pieces.jumps);
  });

  it("tv with constraints that the bounds make infeasible: a clear error", () => {
    const c = CASES[3];
    inputError(() => createProblem({ ...inputOf(c), constraints: { C: c.C, d: [1.5] } }), /infeasible/);
  });

  it("solvers other than Split Bregman refuse tv with constraints or bounds", () => {
    const c = CASES[0];
    inputError(() => solve(problemOf(c), { solver: "fista" }), /split-bregman/);
    inputError(() => solve(createProblem({ ...inputOf(c), constraints: undefined }), { solver: "fista" }), /split-bregman/);
    inputError(() => solve(problemOf(c), { solver: "alm" }), /tv/);
    // Without tv the augmented Lagrangian stays the default for constraints.
    expect(solve(createProblem({ A: c.A, y: c.y, penalty: { l1: 0.1 }, constraints: { C: c.C, d: c.d } })).solver).toBe("alm");
  });
});
