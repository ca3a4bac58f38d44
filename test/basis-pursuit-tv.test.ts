import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Random } from "../src/linalg/random.js";
import { SubsampledDctOperator } from "../src/operators/subsampled-dct.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { solveBasisPursuit } from "../src/solvers/basis-pursuit.js";
import { solve } from "../src/solvers/index.js";
import type { Solution } from "../src/solvers/solution.js";
import { gaussianRows, lpBasisPursuit, norm, times, timesT } from "./bp-oracle.js";
import { inputError, relErr, runCli } from "./support.js";

// ── independent helpers: D entry by entry, truths built by hand ─────────────────────────────────

/** The anisotropic differences of an h×w grid as explicit rows: horizontal edges row by row, then vertical (docs/problem-format.md). */
function differenceRows(h: number, w: number): number[][] {
  const rows: number[][] = [];
  const edge = (from: number, to: number) => {
    const row = new Array<number>(h * w).fill(0);
    row[from] = -1;
    row[to] = 1;
    rows.push(row);
  };
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) edge(r * w + c, r * w + c + 1);
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) edge(r * w + c, (r + 1) * w + c);
  return rows;
}

/** l1‖x‖₁ + tv‖Dx‖₁ with D's rows explicit. */
function penaltyValue(x: ArrayLike<number>, D: number[][], l1: number, tv: number): number {
  return l1 * Array.from(x).reduce((s, v) => s + Math.abs(v), 0) + tv * times(D, x).reduce((s, v) => s + Math.abs(v), 0);
}

/** A piecewise-constant signal of length n with k jumps (sizes ±0.5 … 2.5) at sorted positions; `base` the first level. */
function staircase(rng: Random, n: number, k: number, base: number): { x: number[]; jumps: number[] } {
  const jumps = rng.sample(n - 1, k).sort((a, b) => a - b);
  const x = new Array<number>(n);
  let level = base, t = 0;
  for (let i = 0; i < n; i++) {
    if (t < k && i === jumps[t] + 1) {
      level += (0.5 + 2 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
      t++;
    }
    x[i] = level;
  }
  return { x, jumps };
}

/** The constant pieces of x on an h×w grid: connected components of equal neighbours (flood fill). */
function constantPieces(x: ArrayLike<number>, h: number, w: number): number[][] {
  const seen = new Array<boolean>(h * w).fill(false), out: number[][] = [];
  for (let seed = 0; seed < h * w; seed++) {
    if (seen[seed]) continue;
    const piece = [seed], stack = [seed];
    seen[seed] = true;
    while (stack.length > 0) {
      const p = stack.pop()!, r = Math.floor(p / w), c = p % w;
      for (const [rr, cc] of [[r, c - 1], [r, c + 1], [r - 1, c], [r + 1, c]]) {
        const q = rr * w + cc;
        if (rr < 0 || rr >= h || cc < 0 || cc >= w || seen[q] || x[q] !== x[p]) continue;
        seen[q] = true;
        piece.push(q);
        stack.push(q);
      }
    }
    out.push(piece);
  }
  return out;
}

const relativeError = (x: ArrayLike<number>, truth: ArrayLike<number>) => norm(Array.from(truth, (v, j) => x[j] - v)) / norm(truth);

function pieces(sol: Solution) {
  return sol.structure.find((p) => p.kind === "pieces") as Extract<Solution["structure"][number], { kind: "pieces" }>;
}

function bpTv(A: Problem["A"] | number[][], y: ArrayLike<number>, grid: number[], l1: number, tv: number): Problem {
  return createProblem({ A, y: Array.from(y), grid, penalty: { l1, tv }, basisPursuit: true });
}

// ── exact recovery ───────────────────────────────────────────────────────────────────────────────

describe("basis pursuit with tv: exact recovery of piecewise-constant signals", () => {
  it("1-D, tv alone: k jumps from m ≥ 2·(2k·log(n/k)) Gaussian measurements, relative error ≤ 1e-8, the jumps exact", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 5 }), (seed, k) => {
        const rng = new Random(seed);
        const n = 120;
        const m = Math.ceil(4 * k * Math.log(n / k)) + 10;
        const truth = staircase(rng, n, k, rng.normal());
        const rows = gaussianRows(rng, m, n);
        const sol = solve(bpTv(rows, times(rows, truth.x), [n], 0, 1));
        expect(sol.solver).toBe("basis-pursuit");
        expect(sol.converged).toBe(true);
        expect(relativeError(sol.x, truth.x)).toBeLessThanOrEqual(1e-8);
        expect(pieces(sol).jumps).toEqual(truth.jumps);
        expect(pieces(sol).segments).toBe(k + 1);
        // The multipliers w = −ν: on each piece p the sum of (Aᵀw)_j is the one every subgradient
        // of tv‖Dx‖₁ has there, tv·(sign of the jump into p − sign of the jump out of p).
        const c = timesT(rows, Array.from(sol.multipliers!, (v) => -v));
        const bounds = [-1, ...truth.jumps, n - 1];
        const sign = (t: number) => (t < 1 || t > k ? 0 : Math.sign(truth.x[bounds[t] + 1] - truth.x[bounds[t]]));
        for (let t = 0; t + 1 < bounds.length; t++) {
          let sum = 0;
          for (let j = bounds[t] + 1; j <= bounds[t + 1]; j++) sum += c[j];
          expect(Math.abs(sum - (sign(t) - sign(t + 1)))).toBeLessThanOrEqual(1e-9);
        }
        expect(norm(times(rows, sol.x).map((v, i) => v - times(rows, truth.x)[i])) / norm(times(rows, truth.x))).toBeLessThanOrEqual(1e-9);
      }),
      { numRuns: 12 },
    );
  });

  it("1-D, l1 + tv: plateaus on a zero background, recovered with the zero pieces exactly 0", () => {
    const rng = new Random(21);
    const n = 100, m = 45;
    const truth = new Array<number>(n).fill(0);
    for (let j = 20; j < 35; j++) truth[j] = 1.5;
    for (let j = 60; j < 70; j++) truth[j] = -0.8;
    const rows = gaussianRows(rng, m, n);
    const sol = solve(bpTv(rows, times(rows, truth), [n], 1, 1));
    expect(sol.converged).toBe(true);
    expect(relativeError(sol.x, truth)).toBeLessThanOrEqual(1e-8);
    expect(sol.active).toEqual(truth.flatMap((v, j) => (v !== 0 ? [j] : [])));
    expect(pieces(sol).jumps).toEqual([19, 34, 59, 69]);
  });

  it("2-D: four rectangles on a 32×32 grid from 30% subsampled DCT coefficients (matrix-free A), relative error ≤ 1e-8", () => {
    const h = 32, w = 32, n = h * w;
    const truth = new Float64Array(n);
    const rects = [[2, 4, 12, 10, 1], [15, 3, 9, 20, -0.7], [8, 18, 20, 8, 0.6], [24, 24, 6, 6, 1.3]];
    for (const [r0, c0, hh, ww, v] of rects) for (let r = r0; r < r0 + hh; r++) for (let c = c0; c < c0 + ww; c++) truth[r * w + c] += v;
    const rng = new Random(4);
    const m = Math.round(0.3 * n);
    // The DC coefficient (index 0) is measured: tv alone needs A·1 ≠ 0.
    const indices = [0, ...rng.sample(n - 1, m - 1).map((k) => k + 1)].sort((a, b) => a - b);
    const A = new SubsampledDctOperator(h, w, indices);
    const y = A.apply(truth, new Float64Array(m));
    const sol = solve(bpTv(A, y, [h, w], 0, 1));
    expect(sol.converged).toBe(true);
    expect(relativeError(sol.x, truth)).toBeLessThanOrEqual(1e-8);
    expect(sol.feasibilityResidual! / norm(y)).toBeLessThanOrEqual(1e-9);
    // The objective is tv‖Dx‖₁ with D built here; the jump count matches the truth's.
    const D = differenceRows(h, w);
    expect(relErr(sol.objective, penaltyValue(sol.x, D, 0, 1))).toBeLessThanOrEqual(1e-12);
    expect(pieces(sol).jumps.length).toBe(times(D, truth).filter((v) => v !== 0).length);
    // The multipliers w = −ν: on every constant piece of x, Σ (Aᵀw)_j equals the same sum of
    // g = tv·Dᵀsign(Dx), as for every subgradient of tv‖Dx‖₁ (the flat edges inside cancel).
    const residual = A.applyT(Float64Array.from(sol.multipliers!, (v) => -v), new Float64Array(n));
    const g = timesT(D, times(D, sol.x).map(Math.sign));
    for (const piece of constantPieces(sol.x, h, w)) {
      const sum = piece.reduce((s, j) => s + residual[j] - g[j], 0);
      expect(Math.abs(sum)).toBeLessThanOrEqual(1e-9);
    }
  });

  it("a constant signal under tv alone (tv_max = 0): x = c·1 exactly, objective 0, certified", () => {
    const rng = new Random(5);
    for (const grid of [[30], [5, 6]]) {
      const n = grid.reduce((a, b) => a * b, 1);
      const rows = gaussianRows(rng, 12, n);
      const sol = solve(bpTv(rows, times(rows, new Array<number>(n).fill(-1.25)), grid, 0, 1));
      expect(sol.converged).toBe(true);
      for (const v of sol.x) expect(Math.abs(v + 1.25)).toBeLessThanOrEqual(1e-12);
      expect(sol.objective).toBeLessThanOrEqual(1e-10);
      expect(pieces(sol).jumps).toEqual([]);
    }
  });

  it("the minimiser depends only on tv/l1: scaling both scales the objective and the multipliers", () => {
    const rng = new Random(8);
    const n = 60, m = 30;
    const truth = staircase(rng, n, 3, 0.7).x;
    const rows = gaussianRows(rng, m, n);
    const y = times(rows, truth);
    const a = solve(bpTv(rows, y, [n], 0.2, 1)), b = solve(bpTv(rows, y, [n], 200, 1000));
    expect(a.converged && b.converged).toBe(true);
    for (let j = 0; j < n; j++) expect(Math.abs(a.x[j] - b.x[j])).toBeLessThanOrEqual(1e-10 * norm(truth));
    expect(relErr(b.objective, 1000 * a.objective)).toBeLessThanOrEqual(1e-10);
    b.multipliers!.forEach((v, i) => expect(Math.abs(v - 1000 * a.multipliers![i])).toBeLessThanOrEqual(1e-6 * 1000 * norm(a.multipliers!)));
  });
});

// ── the LP oracle ────────────────────────────────────────────────────────────────────────────────

describe("basis pursuit with tv against a linear-programming oracle", () => {
  it("min l1‖x‖₁ + tv‖Dx‖₁ s.t. Ax = y as basis pursuit in (x, d) with [A 0; D −I](x, d) = (y, 0): same minimum, same x, Ax = y to 1e-9", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.constantFrom([6], [10], [3, 3], [2, 4]),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0, 0.3, 1, 4),
        fc.constantFrom("staircase", "dense"),
        (seed, grid, fewer, l1, kind) => {
          const rng = new Random(seed);
          const n = grid.reduce((a, b) => a * b, 1);
          const m = Math.max(1, n - fewer);
          const rows = gaussianRows(rng, m, n);
          const y = kind === "dense" ? Array.from({ length: m }, () => rng.normal()) : times(rows, staircase(rng, n, 2, rng.normal()).x);
          const tv = 0.5 + rng.uniform();
          const Dgrid = grid.length === 1 ? differenceRows(1, n) : differenceRows(grid[0], grid[1]);
          const p = Dgrid.length;
          const big = [...rows.map((row) => [...row, ...new Array<number>(p).fill(0)]), ...Dgrid.map((row, e) => [...row, ...Array.from({ length: p }, (_, f) => (f === e ? -1 : 0))])];
          const lp = lpBasisPursuit(big, [...y, ...new Array<number>(p).fill(0)], [...new Array<number>(n).fill(l1), ...new Array<number>(p).fill(tv)]);
          const sol = solve(bpTv(rows, y, grid, l1, tv));
          // On a 1-D grid the witness flow is exact: converged. On 2-D grids it comes from Split
          // Bregman's dual, which cannot prove a degenerate optimum (a flat edge at |z| = tv in
          // every dual) to 1e-8; its gap still bounds the excess over the optimum.
          if (grid.length === 1) expect(sol.converged).toBe(true);
          expect(sol.dualityGap).toBeGreaterThanOrEqual(0);
          expect(sol.objective - lp.value).toBeLessThanOrEqual(sol.dualityGap + 1e-10 * lp.value);
          expect(relErr(sol.objective, lp.value)).toBeLessThanOrEqual(1e-9);
          expect(relErr(penaltyValue(sol.x, Dgrid, l1, tv), lp.value)).toBeLessThanOrEqual(1e-9);
          expect(norm(times(rows, sol.x).map((v, i) => v - y[i])) / norm(y)).toBeLessThanOrEqual(1e-9);
          // The multipliers w = −ν: yᵀw is the optimum (strong duality), and on a 1-D grid without l1
          // Aᵀw = Dᵀz has the one solution z_i = −Σ_{k≤i} (Aᵀw)_k, which must satisfy |z| ≤ tv, Σ(Aᵀw) = 0.
          const w = Array.from(sol.multipliers!, (v) => -v);
          if (sol.converged) expect(relErr(w.reduce((s, v, i) => s + v * y[i], 0), lp.value)).toBeLessThanOrEqual(1e-8);
          if (grid.length === 1 && l1 === 0) {
            const c = timesT(rows, w);
            let z = 0;
            for (let i = 0; i < n - 1; i++) {
              z -= c[i];
              expect(Math.abs(z)).toBeLessThanOrEqual(tv * (1 + 1e-9));
            }
            expect(Math.abs(z - c[n - 1])).toBeLessThanOrEqual(1e-9 * tv);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("basis pursuit with tv: a degenerate 2-D optimum", () => {
  it("stops after 5 Bregman steps without progress, not converged, its gap still bounding the excess; a larger tol converges", () => {
    // Found by search over small random problems: l1 + tv on a 2×4 grid, 5 measurements, a dual
    // face that Split Bregman's duals do not pin down to 1e-8.
    const rng = new Random(8);
    const grid = [2, 4], n = 8, m = 5, l1 = 0.5, tv = 1;
    const rows = gaussianRows(rng, m, n);
    const y = Array.from({ length: m }, () => rng.normal());
    const D = differenceRows(2, 4), p = D.length;
    const big = [...rows.map((row) => [...row, ...new Array<number>(p).fill(0)]), ...D.map((row, e) => [...row, ...Array.from({ length: p }, (_, f) => (f === e ? -1 : 0))])];
    const lp = lpBasisPursuit(big, [...y, ...new Array<number>(p).fill(0)], [...new Array<number>(n).fill(l1), ...new Array<number>(p).fill(tv)]);
    const problem = bpTv(rows, y, grid, l1, tv);
    const sol = solve(problem);
    expect(sol.converged).toBe(false);
    expect(sol.message).toMatch(/^no progress in 5 Bregman steps/);
    expect(sol.iterations).toBeLessThanOrEqual(20);
    expect(sol.objective - lp.value).toBeLessThanOrEqual(sol.dualityGap + 1e-12 * lp.value);
    expect(relErr(sol.objective, lp.value)).toBeLessThanOrEqual(1e-6);
    const loose = solve(problem, { tol: 1e-6 });
    expect(loose.converged).toBe(true);
    expect(relErr(loose.objective, lp.value)).toBeLessThanOrEqual(1e-6);
  });
});

// ── problem files, the CLI and bad input ────────────────────────────────────────────────────────

describe("basis pursuit with tv: problem files, the CLI and bad input", () => {
  const rng = new Random(12);
  const n = 40, m = 20;
  const truth = staircase(rng, n, 2, 1).x;
  const rows = gaussianRows(rng, m, n);
  const y = times(rows, truth);
  const doc = { format: "sparsetune-problem/1", A: { shape: [m, n], data: rows.flat() }, y, grid: [n], penalty: { tv: 1 }, basisPursuit: true };
  const write = (content: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), "sparsetune-bptv-")), "p.json");
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it("sparsetune solve --json prints x, the jumps, their signs, the segments, the multipliers and ‖Ax − y‖", () => {
    const r = runCli("solve", write(doc), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.solver).toBe("basis-pursuit");
    expect(out.converged).toBe(true);
    expect(relativeError(out.x, truth)).toBeLessThanOrEqual(1e-8);
    const jumps = truth.flatMap((v, i) => (i + 1 < n && truth[i + 1] !== v ? [i] : []));
    expect(out.jumps).toEqual(jumps);
    expect(out.jumpSigns).toEqual(jumps.map((i) => Math.sign(truth[i + 1] - truth[i])));
    expect(out.segments).toBe(3);
    expect(out.multipliers).toHaveLength(m);
    expect(out.feasibilityResidual).toBeLessThanOrEqual(1e-9 * norm(y));
    expect(out.penalty).toEqual({ l1: 0, l2: 0, tv: 1 });
  });

  it("hostile files: tv < 0, a grid that does not fit, l2 > 0, bounds, constraints: one-line InputErrors, exit 2", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ penalty: { tv: -1 } }, /^sparsetune: penalty\.tv: /],
      [{ grid: [7, 7] }, /^sparsetune: grid: /],
      [{ penalty: { tv: 1, l2: 0.5 } }, /^sparsetune: penalty\.l2: expected no l2 with basisPursuit/],
      [{ penalty: { l1: 0, tv: 0 } }, /^sparsetune: penalty\.l1: expected a positive l1 with basisPursuit, or tv > 0/],
      [{ bounds: { lower: 0 } }, /^sparsetune: bounds: expected no bounds with basisPursuit/],
      [{ constraints: { C: { shape: [1, n], data: new Array(n).fill(1) }, d: [1] } }, /^sparsetune: constraints: expected no constraints with basisPursuit/],
    ];
    for (const [change, pattern] of cases) {
      const r = runCli("solve", write({ ...doc, ...change }), "--json");
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it("createProblem and solve refuse: a user D, tv alone with A·1 = 0, a penalty made invalid later", () => {
    inputError(() => createProblem({ A: rows, y, grid: [n], penalty: { tv: 1 }, D: differenceRows(1, n), basisPursuit: true }), /^D: expected no D with basisPursuit and tv/);
    // A DCT without its DC coefficient does not see constants: x + c·1 would solve it for every c.
    const A = new SubsampledDctOperator(4, 4, [1, 2, 5, 7, 9]);
    const ya = A.apply(Float64Array.from({ length: 16 }, (_, j) => (j % 4 < 2 && j < 8 ? 1 : 0)), new Float64Array(5));
    inputError(() => createProblem({ A, y: ya, grid: [4, 4], penalty: { tv: 1 }, basisPursuit: true }), /^A: expected A·1 ≠ 0 with basisPursuit and tv alone/);
    // With l1 > 0 the constants are penalised: accepted.
    expect(createProblem({ A, y: ya, grid: [4, 4], penalty: { l1: 1, tv: 1 }, basisPursuit: true }).basisPursuit).toBe(true);
    const p = bpTv(rows, y, [n], 0, 1);
    inputError(() => solve(withPenalty(p, { l2: 1 })), /^penalty\.l2: /);
    inputError(() => solve(withPenalty(p, { tv: 0 })), /^penalty\.l1: /);
    inputError(() => solveBasisPursuit(p, { muRatio: 0 }), /^options\.muRatio: /);
  });
});
