import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Matrix, inverse } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { hypergradient } from "../src/diff/implicit.js";
import { InputError } from "../src/errors.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { kktSystem } from "../src/kkt/index.js";
import { Random } from "../src/linalg/random.js";
import { createProblem, type Problem, type ProblemInput } from "../src/problem.js";
import { augmentedLagrangian } from "../src/solvers/augmented-lagrangian.js";
import { solve } from "../src/solvers/index.js";
import { penaltyTerms } from "../src/penalties/index.js";
import type { Solution } from "../src/solvers/solution.js";
import { CLI, FIXTURES, maxAbsDiff, relErr } from "./support.js";


interface ConstrainedReference {
  x: number[];
  active: number[];
  multipliers: number[];
  hypergradient: Record<string, number>;
  activeBounds?: { lower: number[]; upper: number[] };
}

const FIXTURE_NAMES = ["constrained-small", "constrained-bounds"];
const ref = (name: string): ConstrainedReference => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")).reference;

function checkAgainstReference(r: ConstrainedReference, out: { x: ArrayLike<number>; active: number[]; multipliers: ArrayLike<number>; activeBounds?: { lower: number[]; upper: number[] } }, grad: Record<string, number>): void {
  expect(maxAbsDiff(out.x, r.x)).toBeLessThan(1e-6);
  expect(maxAbsDiff(out.multipliers, r.multipliers)).toBeLessThan(1e-6);
  expect(out.active).toEqual(r.active);
  if (r.activeBounds) expect(out.activeBounds).toEqual(r.activeBounds);
  for (const [key, value] of Object.entries(r.hypergradient)) expect(relErr(grad[key], value)).toBeLessThan(1e-4);
}

describe("constrained fixtures (independent references: cvxopt, SLSQP + numpy KKT)", () => {
  it.each(FIXTURE_NAMES)("%s through the API at tol 1e-12: x, ν, active set, active bounds, hypergradient", (name) => {
    const problem = loadProblemFile(join(FIXTURES, `${name}.json`));
    const sol = solve(problem, { tol: 1e-12 });
    expect(sol.converged).toBe(true);
    const h = hypergradient(problem, sol, HeldOutMse.of(problem));
    checkAgainstReference(ref(name), { ...sol, multipliers: sol.multipliers! }, { l1: h.l1, l2: h.l2 });
  });

  it.each(FIXTURE_NAMES)("%s through the CLI (hypergrad --json --tol 1e-12)", (name) => {
    const r = spawnSync(process.execPath, [CLI, "hypergrad", join(FIXTURES, `${name}.json`), "--tol", "1e-12", "--json"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.converged).toBe(true);
    expect(out.activeBounds).toBeDefined();
    checkAgainstReference(ref(name), out, out.hypergradient);
  });

  it("solve --json reports multipliers (one per row of C), activeBounds and the feasibility residual", () => {
    const r = spawnSync(process.execPath, [CLI, "solve", join(FIXTURES, "constrained-bounds.json"), "--json"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.multipliers).toHaveLength(3);
    expect(out.activeBounds.upper.length).toBeGreaterThan(0);
    expect(out.feasibilityResidual).toBeLessThan(1e-10);
  });
});

/** A random problem with p constraints (d from a point inside the box: feasible) and optional bounds. */
function randomConstrained(seed: number, m: number, n: number, p: number, opts: { l2?: number; lower?: number; upper?: number; l1Fraction?: number } = {}): ProblemInput {
  const rng = new Random(seed);
  const A = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal() / Math.sqrt(m)));
  const truth = Array.from({ length: n }, (_, j) => (j % 4 === 0 ? rng.normal() + Math.sign(rng.normal()) : 0));
  const y = A.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0) + 0.05 * rng.normal());
  const C = Array.from({ length: p }, () => Array.from({ length: n }, () => rng.normal()));
  const lo = opts.lower ?? -Infinity, up = opts.upper ?? Infinity;
  const inside = truth.map((v) => Math.min(up, Math.max(lo, v)));
  const d = C.map((row) => row.reduce((s, c, j) => s + c * inside[j], 0));
  let lmax = 0;
  for (let j = 0; j < n; j++) lmax = Math.max(lmax, Math.abs(A.reduce((s, row, i) => s + row[j] * y[i], 0)));
  const Aval = Array.from({ length: 10 }, () => Array.from({ length: n }, () => rng.normal() / Math.sqrt(m)));
  const yval = Aval.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0));
  const bounds = opts.lower !== undefined || opts.upper !== undefined ? { bounds: { ...(opts.lower !== undefined && { lower: opts.lower }), ...(opts.upper !== undefined && { upper: opts.upper }) } } : {};
  return { A, y, penalty: { l1: (opts.l1Fraction ?? 0.1) * lmax, l2: opts.l2 ?? 0 }, constraints: { C, d }, validation: { A: Aval, y: yval }, ...bounds };
}

/** Stationarity Aᵀ(Ax − y) + l1 s + l2 x + Cᵀν ∈ −N_box(x) checked entry by entry on dense arrays. */
function stationarityViolation(input: ProblemInput, problem: Problem, sol: Solution): number {
  const A = input.A as number[][], y = input.y as number[], C = input.constraints!.C as number[][];
  const { l1 = 0, l2 = 0 } = input.penalty!;
  const x = sol.x, nu = sol.multipliers!;
  const lo = problem.bounds?.lower, up = problem.bounds?.upper;
  let worst = 0;
  for (let j = 0; j < x.length; j++) {
    let g = l2 * x[j];
    for (let i = 0; i < A.length; i++) g += A[i][j] * (A[i].reduce((s, a, k) => s + a * x[k], 0) - y[i]);
    for (let i = 0; i < C.length; i++) g += C[i][j] * nu[i];
    // g + l1·∂|x_j| + N(x_j) ∋ 0
    let low = g + (x[j] > 0 ? l1 : -l1), high = g + (x[j] < 0 ? -l1 : l1);
    if (lo && x[j] === lo[j]) low = -Infinity; // N(lo) = (−∞, 0]: g + l1 s ≥ 0 is all it takes
    if (up && x[j] === up[j]) high = Infinity; // N(up) = [0, ∞): g + l1 s ≤ 0
    worst = Math.max(worst, low > 0 ? low : 0, high < 0 ? -high : 0);
  }
  return worst;
}

describe("properties of constrained solutions", () => {
  it("Cx = d to 1e-9 relative, stationarity with the reported ν, bounds hold exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.constantFrom(0, 0.05), (seed, p, boxed, l2) => {
        const input = randomConstrained(seed, 20, 30, p, { l2, ...(boxed && { lower: -0.5, upper: 1 }) });
        const problem = createProblem(input);
        const sol = solve(problem);
        expect(sol.converged).toBe(true);
        const C = input.constraints!.C as number[][], d = input.constraints!.d as number[];
        C.forEach((row, i) => {
          const cx = row.reduce((s, c, j) => s + c * sol.x[j], 0);
          const scale = Math.abs(d[i]) + row.reduce((s, c, j) => s + Math.abs(c * sol.x[j]), 0);
          expect(Math.abs(cx - d[i])).toBeLessThanOrEqual(1e-9 * scale);
        });
        expect(stationarityViolation(input, problem, sol)).toBeLessThan(1e-8 * (input.penalty!.l1 ?? 1));
        if (boxed) for (const v of sol.x) expect(v >= -0.5 && v <= 1).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it("the hypergradient matches central finite differences of tight solves (l1 and l2)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.boolean(), (seed, boxed) => {
        const input = randomConstrained(seed, 25, 30, 2, { l2: 0.05, ...(boxed && { lower: -0.4, upper: 0.9 }) });
        const problem = createProblem(input);
        const sol = solve(problem, { tol: 1e-14 });
        fc.pre(sol.complementarityMargin > 1e-3 && sol.smallestActive > 1e-3);
        const criterion = HeldOutMse.of(problem);
        const h = hypergradient(problem, sol, criterion);
        for (const key of ["l1", "l2"] as const) {
          const base = problem.penalty[key], step = 1e-6 * base;
          const at = (v: number) => criterion.value(solve({ ...problem, penalty: { ...problem.penalty, [key]: v } }, { tol: 1e-14 }).x);
          const fd = (at(base + step) - at(base - step)) / (2 * step);
          expect(Math.abs(h[key] - fd)).toBeLessThan(1e-5 * Math.max(Math.abs(fd), 1e-2));
        }
      }),
      { numRuns: 10 },
    );
  });

  it("without constraints and with bounds that do not bind, the results equal the unconstrained ones", () => {
    for (const seed of [1, 2, 3]) {
      const input = randomConstrained(seed, 20, 30, 1, { l2: 0.05 });
      const { constraints: _c, ...plain } = input;
      const free = createProblem(plain);
      const wide = createProblem({ ...plain, bounds: { lower: -1e6, upper: 1e6 } });
      const a = solve(free, { tol: 1e-12 }), b = solve(wide, { tol: 1e-12 }), c = solve(free, { tol: 1e-12, solver: "alm" });
      // The bounded solve's iterate can count as exact for finishConstrainedSolution (KKT violation
      // ≤ 1e-9 of the penalty's scale) and then is not polished: seed 1 stops at 4.7e-10, x 1.7e-9
      // from the polished one, hypergradients 4e-10 relative (1e-12 and 1e-10 when both were polished).
      expect(maxAbsDiff(a.x, b.x)).toBeLessThan(1e-8);
      expect(maxAbsDiff(a.x, c.x)).toBeLessThan(1e-12);
      expect(b.activeBounds).toEqual({ lower: [], upper: [] });
      const criterion = HeldOutMse.of(free);
      const ha = hypergradient(free, a, criterion), hb = hypergradient(wide, b, criterion);
      expect(relErr(hb.l1, ha.l1)).toBeLessThan(5e-9);
      expect(relErr(hb.l2, ha.l2)).toBeLessThan(5e-9);
    }
  });

  it("the bordered system's degrees of freedom equal tr(A_F P A_Fᵀ) from the explicit inverse of the KKT matrix", () => {
    for (const l2 of [0, 0.05]) {
      const input = randomConstrained(11, 25, 30, 2, { l2 });
      const problem = createProblem(input);
      const sol = solve(problem, { tol: 1e-12 });
      const F = sol.active, k = F.length, p = 2;
      const A = new Matrix(input.A as number[][]), C = new Matrix(input.constraints!.C as number[][]);
      const AF = A.subMatrixColumn(F), CF = C.subMatrixColumn(F);
      const K = new Matrix(k + p, k + p);
      K.setSubMatrix(AF.transpose().mmul(AF).add(Matrix.eye(k).mul(l2)), 0, 0);
      K.setSubMatrix(CF.transpose(), 0, k);
      K.setSubMatrix(CF, k, 0);
      const P = inverse(K).subMatrix(0, k - 1, 0, k - 1);
      const expected = AF.mmul(P).mmul(AF.transpose()).trace();
      expect(kktSystem(problem, sol).system.degreesOfFreedom().df).toBeCloseTo(expected, 8);
    }
  });

  it("the augmented Lagrangian's state is plain and copyable (unrolled differentiation can record it)", () => {
    const problem = createProblem(randomConstrained(5, 20, 30, 3, { lower: -0.5 }));
    const yy = problem.y.reduce((s, v) => s + v * v, 0);
    const { context, state } = augmentedLagrangian.setup(problem, penaltyTerms(problem), new Float64Array(30), { gapTarget: 1e-10 * yy, polish: false });
    augmentedLagrangian.step(context, state);
    const copy = structuredClone(state);
    for (let k = 0; k < 3; k++) {
      augmentedLagrangian.step(context, state);
      augmentedLagrangian.step(context, copy);
    }
    expect(maxAbsDiff(copy.x, state.x)).toBe(0);
    expect(maxAbsDiff(copy.nu, state.nu)).toBe(0);
  });
});

describe("bad constraints and bounds", () => {
  const base = () => randomConstrained(3, 10, 6, 2);

  it("refuse C with the wrong columns, lower > upper, bounds of the wrong length, NaN", () => {
    const input = base();
    expect(() => createProblem({ ...input, constraints: { C: [[1, 2, 3]], d: [1] } })).toThrow(/constraints.C: expected 6 columns/);
    expect(() => createProblem({ ...input, bounds: { lower: 1, upper: 0 } })).toThrow(/bounds: expected lower ≤ upper/);
    expect(() => createProblem({ ...input, bounds: { lower: [0, 0] } })).toThrow(/bounds.lower: expected 6 values/);
    expect(() => createProblem({ ...input, bounds: { upper: NaN } })).toThrow(InputError);
    expect(() => createProblem({ ...input, bounds: { lower: Infinity } })).toThrow(/bounds.lower/);
  });

  it("redundant consistent rows are dropped (multiplier 0, noted) and give the same x; inconsistent ones are refused", () => {
    const input = base();
    const C = input.constraints!.C as number[][], d = input.constraints!.d as number[];
    const combo = C[0].map((v, j) => 2 * v - 3 * C[1][j]);
    const redundant = createProblem({ ...input, constraints: { C: [...C, combo], d: [...d, 2 * d[0] - 3 * d[1]] } });
    expect(redundant.constraints!.redundant).toHaveLength(1);
    const a = solve(createProblem(input), { tol: 1e-12 }), b = solve(redundant, { tol: 1e-12 });
    expect(maxAbsDiff(a.x, b.x)).toBeLessThan(1e-12);
    expect(b.warnings?.[0]).toMatch(/constraint row \d is a combination of the others/);
    expect(b.multipliers!.filter((v) => v === 0)).toHaveLength(1);
    expect(() => createProblem({ ...input, constraints: { C: [...C, combo], d: [...d, 2 * d[0] - 3 * d[1] + 0.1] } })).toThrow(/inconsistent/);
    expect(() => createProblem({ ...input, constraints: { C: [...C, C[0].map(() => 0)], d: [...d, 1] } })).toThrow(/row 2 of C is zero/);
  });

  it("infeasible with the bounds: a row out of range is refused at once, and so is a jointly infeasible system", () => {
    const input = base();
    expect(() => createProblem({ ...input, constraints: { C: [[1, 1, 1, 1, 1, 1]], d: [-1] }, bounds: { lower: 0 } })).toThrow(/infeasible with the bounds: row 0/);
    // x0 − x1 = 1 and x0 + x1 = 0.5 force x1 = −0.25 < 0: each row alone is feasible in [0, 1]².
    expect(() => createProblem({ ...input, constraints: { C: [[1, -1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]], d: [1, 0.5] }, bounds: { lower: 0, upper: 1 } })).toThrow(/constraints: infeasible/);
  });

  it("the CLI says so on one line and exits 2", () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, "constrained-small.json"), "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-constraints-"));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ bounds: { lower: 1, upper: 0 } }, /bounds: expected lower ≤ upper/],
      [{ bounds: { lower: [0, 0] } }, /bounds.lower: expected 60 values/],
      [{ constraints: { C: { shape: [1, 3], data: [1, 2, 3] }, d: [1] } }, /constraints.C: expected 60 columns/],
      [{ bounds: { lower: 0, upper: 0.001 } }, /infeasible with the bounds/],
    ];
    for (const [change, message] of cases) {
      const file = join(dir, "p.json");
      writeFileSync(file, JSON.stringify({ ...doc, ...change }));
      const r = spawnSync(process.execPath, [CLI, "solve", file], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("a problem file's bounds: numbers, vectors with null for an open side", () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, "constrained-small.json"), "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-bounds-"));
    const file = join(dir, "p.json");
    const lower = Array.from({ length: 60 }, (_, j) => (j === 21 ? null : -0.1));
    writeFileSync(file, JSON.stringify({ ...doc, bounds: { lower, upper: 5 } }));
    const problem = loadProblemFile(file);
    expect(problem.bounds!.lower[21]).toBe(-Infinity);
    expect(problem.bounds!.lower[0]).toBe(-0.1);
    expect(problem.bounds!.upper[59]).toBe(5);
    const sol = solve(problem);
    expect(sol.converged).toBe(true);
    for (let j = 0; j < 60; j++) expect(sol.x[j]).toBeGreaterThanOrEqual(problem.bounds!.lower[j]);
    expect(sol.activeBounds!.lower.length).toBeGreaterThan(0);
  });
});

describe("the boxed penalty", () => {
  const grid = (lo: number, up: number, f: (x: number) => number) => {
    // sup/inf by a fine grid over the box, refined around the best point (an independent oracle)
    let best = -Infinity, at = lo;
    for (let pass = 0, a = lo, b = up; pass < 4; pass++) {
      for (let t = 0; t <= 2000; t++) {
        const x = a + ((b - a) * t) / 2000;
        const v = f(x);
        if (v > best) [best, at] = [v, x];
      }
      const w = (b - a) / 100;
      [a, b] = [Math.max(lo, at - w), Math.min(up, at + w)];
    }
    return { best, at };
  };

  it("prox, conjugate and the subdifferential distance agree with brute force over the box (l1, l2, elastic net)", async () => {
    const { BoxedPenalty } = await import("../src/penalties/box.js");
    const { L1Penalty, L2Penalty, ElasticNet } = await import("../src/penalties/index.js");
    fc.assert(
      fc.property(
        fc.double({ min: -3, max: 0, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }),
        fc.constantFrom("l1", "l2", "enet"), fc.double({ min: 0.1, max: 2, noNaN: true }),
        (lo, up, v, kind, t) => {
          const b = 0.7, k = 0.3;
          const inner = kind === "l1" ? new L1Penalty(b) : kind === "l2" ? new L2Penalty(k) : new ElasticNet(new L1Penalty(b), new L2Penalty(k));
          const g = (x: number) => (kind === "l2" ? 0 : b * Math.abs(x)) + (kind === "l1" ? 0 : 0.5 * k * x * x);
          const box = new BoxedPenalty(inner, { lower: Float64Array.of(lo), upper: Float64Array.of(up) });
          const prox = grid(lo, up, (x) => -(g(x) + (x - v) ** 2 / (2 * t)));
          expect(Math.abs(box.proxCoordinate(0, v, t) - prox.at)).toBeLessThan(1e-6);
          const conj = grid(lo, up, (x) => v * x - g(x));
          expect(Math.abs(box.conjugate(0, v) - conj.best)).toBeLessThan(1e-6);
          // x = prox(v) satisfies (v − x)/t ∈ ∂(g + box)(x): distance 0, and a clear violation is seen.
          const x = box.proxCoordinate(0, v, t);
          expect(box.subdiffDistance(0, x, (v - x) / t)).toBeLessThan(1e-12);
          if (box.isActive(0, x)) expect(box.subdiffDistance(0, x, (v - x) / t + 1)).toBeGreaterThan(0.5);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("dualScale puts z in the conjugate's one-sided domain (l1 with an open side)", async () => {
    const { BoxedPenalty } = await import("../src/penalties/box.js");
    const { L1Penalty } = await import("../src/penalties/index.js");
    const box = new BoxedPenalty(new L1Penalty(2), { lower: Float64Array.of(0), upper: Float64Array.of(Infinity) });
    expect(box.dualScale(0, 5)).toBeCloseTo(2.5);
    expect(box.dualScale(0, -50)).toBe(0); // x ≥ 0: any z ≤ l1 is in the domain
    expect(box.conjugate(0, -50)).toBe(0);
    expect(box.conjugate(0, 2.5)).toBe(Infinity);
  });

  it("dualScale's z = c/s stays inside the domain when c/(c/l1) rounds one ulp above l1", async () => {
    const { BoxedPenalty } = await import("../src/penalties/box.js");
    const { L1Penalty } = await import("../src/penalties/index.js");
    const box = new BoxedPenalty(new L1Penalty(0.1), { lower: Float64Array.of(0), upper: Float64Array.of(Infinity) });
    for (const c of [0.13024788605971835, 0.1258922274035301, 0.1, 0.3, 7]) {
      const s = box.dualScale(0, c);
      expect(c / s).toBeLessThanOrEqual(0.1);
      expect(s).toBeGreaterThanOrEqual(c / 0.1);
      expect(s).toBeLessThanOrEqual((c / 0.1) * (1 + 4 * Number.EPSILON));
      expect(box.conjugate(0, c / s)).toBe(0);
    }
    expect(0.13024788605971835 / (0.13024788605971835 / 0.1)).toBeGreaterThan(0.1); // the case in point
  });
});

