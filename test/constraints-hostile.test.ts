import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { loadProblemFile } from "../src/io/problem-file.js";
import { createProblem, type ProblemInput } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { enumerate, tinyConstrainedCase } from "./constrained-oracle.js";
import { FIXTURES } from "./support.js";

/** The probe's cases (issue 8): hostile inputs for the constrained solver. */
const PROBE: Record<string, ProblemInput> = {
  fail_88: {"A": [[-1.7, 1.1], [1.5, -0.5]], "y": [-2.3, -0.2], "penalty": {"l1": 0.1}, "constraints": {"C": [[0, -0.9]], "d": [-0.18000000000000002]}},
  // x ≥ 0 and one constraint: the gap was Infinity at the default tol.
  fail_192: { A: [[-0.6, 2.2, 0.7], [1.2, -0.6, -1.1], [0.6, 0.9, -0.1]], y: [-0.4, 0.5, 0.6], penalty: { l1: 0.1 }, constraints: { C: [[-0.1, 0.3, -0.8]], d: [-0.6500000000000001] }, bounds: { lower: 0 } },
  // C = −I on 2 features, the answer strictly inside the box.
  rand_149: {"A": [[-0.7301358525696857, 1.0083048438925948], [-0.47053762226719875, -1.0006114909164796], [1.066276379306651, 0.8477756889059395], [0.9450660454164813, 0.8484005878915795], [0.6489360479271907, 0.406970348957429], [-1.1408543834986984, 0.831743728058569]], "y": [2.0219945378339315, 2.3494548324867823, -1.3170391101706054, 0.06469265816404754, -2.431126812823199, 0.10930762728334675], "penalty": {"l1": 0.01, "l2": 0.0}, "constraints": {"C": [[-1.0, 0.0], [0.0, -1.0]], "d": [0.05854565123005532, 0.18368050561701202]}, "bounds": {"lower": [-0.35089608988012766, -0.21019918910469748], "upper": [0.24959371514722906, 0.16495462076263379]}},
};
const probe = (name: string): ProblemInput => structuredClone(PROBE[name]);


describe("tiny constrained problems against enumeration of the pieces", () => {
  it("x and the objective match the exact optimum and the solve converges (default tol)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom("none", "nonnegative", "box"),
        fc.constantFrom(0.1, 1, 2), fc.constantFrom(0, 0.1), fc.integer({ min: 0, max: 2 ** 30 }),
        (n, extra, pRaw, box, l1, l2, seed) => {
          const p = Math.min(pRaw, n), m = n + extra;
          const { A, y, C, d, lo, up, bounds } = tinyConstrainedCase(n, m, p, box, seed);
          let problem;
          try {
            problem = createProblem({ A, y, penalty: { l1, l2 }, constraints: { C, d }, ...bounds });
          } catch {
            fc.pre(false); // a zero row of C, or A with a zero column: not what this property is about
            return;
          }
          const exact = enumerate(A, y, l1, l2, C, d, lo, up);
          fc.pre(new SingularValueDecomposition(new Matrix(A)).rank === n); // a unique optimum
          const sol = solve(problem!);
          const scale = 1 + Math.max(...exact.x.map(Math.abs));
          expect(sol.converged).toBe(true);
          expect(Math.max(...exact.x.map((v, j) => Math.abs(v - sol.x[j])))).toBeLessThan(1e-6 * scale);
          expect(Math.abs(sol.objective - exact.objective)).toBeLessThan(1e-8 * (1 + exact.objective));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the probe's stuck cases (a constraint on a feature the unconstrained solution leaves at 0) converge to the exact optimum", () => {
    for (const name of ["fail_88", "rand_149", "fail_192"]) {
      const input = probe(name);
      const sol = solve(createProblem(input));
      expect(sol.converged).toBe(true);
      expect(sol.feasibilityResidual!).toBeLessThan(1e-12);
    }
    // fail_88: A = [[−1.7, 1.1], [1.5, −0.5]], y = [−2.3, −0.2], l1 = 0.1, −0.9 x₁ = −0.18: x₁ = 0.2 and
    // x₀ from the 1-D optimality a₀ᵀ(a₀x₀ + a₁x₁ − y) + 0.1 = 0 (x₀ > 0).
    const sol = solve(createProblem(probe("fail_88")));
    const x1 = 0.2, a0 = [-1.7, 1.5], a1 = [1.1, -0.5], y = [-2.3, -0.2];
    const x0 = (a0[0] * (y[0] - a1[0] * x1) + a0[1] * (y[1] - a1[1] * x1) - 0.1) / (a0[0] ** 2 + a0[1] ** 2);
    expect(sol.x[0]).toBeCloseTo(x0, 12);
    expect(sol.x[1]).toBeCloseTo(x1, 14);
  });
});

/** A fixed well-conditioned 6×5 problem (A, y), for the scale tests. */
const A6 = [[1, 0.2, -0.3, 0.5, 0.1], [0.3, 1, 0.2, -0.4, 0.6], [-0.2, 0.1, 1, 0.3, -0.5], [0.4, -0.3, 0.2, 1, 0.2], [0.1, 0.5, -0.6, 0.2, 1], [0.7, -0.1, 0.3, 0.2, 0.4]];
const Y6 = [1, -0.5, 0.8, 0.3, -1.2, 0.6];

/** max_i |(Cx − d)_i| / (|d_i| + Σ_j |C_ij x_j|), written out on plain arrays. */
function rowwiseInfeasibility(C: number[][], d: number[], x: ArrayLike<number>): number {
  return Math.max(...C.map((row, i) => Math.abs(row.reduce((s, c, j) => s + c * x[j], 0) - d[i]) / (Math.abs(d[i]) + row.reduce((s, c, j) => s + Math.abs(c * x[j]), 0))));
}

describe("rows of C on different scales", () => {
  const withScale = (s: number): ProblemInput => ({ A: A6, y: Y6, penalty: { l1: 0.05 }, constraints: { C: [[1, 1, 0, 0, 0], [0, 0, s, s, 0]], d: [1, s] } });

  it("each row is held to its own scale: x does not depend on a row's scale and ν on that row scales by 1/s", () => {
    const reference = solve(createProblem(withScale(1)), { tol: 1e-12 });
    expect(reference.converged).toBe(true);
    for (const s of [1e-10, 1e10, 1e-150, 1e150, 1e-170, 1e170]) {
      const input = withScale(s);
      const sol = solve(createProblem(input));
      expect(sol.converged).toBe(true);
      expect(rowwiseInfeasibility(input.constraints!.C as number[][], input.constraints!.d as number[], sol.x)).toBeLessThan(1e-14);
      for (let j = 0; j < 5; j++) expect(Math.abs(sol.x[j] - reference.x[j])).toBeLessThan(1e-12);
      expect(sol.multipliers![0]).toBeCloseTo(reference.multipliers![0], 12);
      expect(sol.multipliers![1] * s).toBeCloseTo(reference.multipliers![1], 12);
    }
  });

  it("the redundancy test is scale-free: rows of 1e±170 are neither dropped nor called zero, a dependent pair is found at any scale", () => {
    for (const s of [1e-170, 1e155, 1e170]) {
      const single = createProblem({ A: A6, y: Y6, penalty: { l1: 0.05 }, constraints: { C: [[s, s, s, s, s]], d: [s] } });
      expect(single.constraints!.redundant).toBeUndefined();
      const pair = createProblem({ A: A6, y: Y6, penalty: { l1: 0.05 }, constraints: { C: [[s, 0, s, 0, 0], [0, s, 0, 0, s]], d: [s, 0] } });
      expect(pair.constraints!.redundant).toBeUndefined();
      const sol = solve(pair);
      expect(sol.converged).toBe(true);
      expect(rowwiseInfeasibility([[s, 0, s, 0, 0], [0, s, 0, 0, s]], [s, 0], sol.x)).toBeLessThan(1e-14);
      const dependent = createProblem({ A: A6, y: Y6, penalty: { l1: 0.05 }, constraints: { C: [[s, 0, s, 0, 0], [2 * s, 0, 2 * s, 0, 0]], d: [s, 2 * s] } });
      expect(dependent.constraints!.redundant).toEqual([1]);
    }
    expect(() => createProblem({ A: A6, y: Y6, penalty: { l1: 0.05 }, constraints: { C: [[0, 0, 0, 0, 0]], d: [1e-300] } })).toThrow(/row 0 of C is zero/);
  });
});

/** Signed distance-like test of d in the convex hull of points in the plane: min over hull edges of the cross product (> 0 inside, counter-clockwise hull). */
function insideHull(points: [number, number][], d: [number, number]): number {
  const pts = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list: [number, number][]) => {
    const h: [number, number][] = [];
    for (const q of list) {
      while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
      h.push(q);
    }
    return h.slice(0, -1);
  };
  const hull = [...half(pts), ...half(pts.slice().reverse())];
  if (hull.length < 3) return -Infinity; // degenerate (a segment): the property skips those
  let worst = Infinity;
  for (let k = 0; k < hull.length; k++) {
    const a = hull[k], b = hull[(k + 1) % hull.length];
    worst = Math.min(worst, cross(a, b, d) / Math.hypot(b[0] - a[0], b[1] - a[1]));
  }
  return worst;
}

describe("joint infeasibility of Cx = d over the box, decided before solving", () => {
  const A4 = [[1, 0.2, -0.3, 0.5], [0.3, 1, 0.2, -0.4], [-0.2, 0.1, 1, 0.3], [0.4, -0.3, 0.2, 1], [0.1, 0.5, -0.6, 0.2], [0.7, -0.1, 0.3, 0.2]];
  const Y4 = [1, -0.5, 0.8, 0.3, -1.2, 0.6];
  const input = (C: number[][], d: number[], bounds: { lower?: number; upper?: number }): ProblemInput => ({ A: A4, y: Y4, penalty: { l1: 0.1 }, constraints: { C, d }, bounds });

  it("the issue's systems (each row reachable alone) are refused with the smallest ‖Ĉx − d̂‖ (unit rows)", () => {
    // Closest points over the box worked by hand, on the rows divided by their norms:
    // x0 + x1 = 1, x0 − x1 = 3, x ≥ 0: x = (2, 0), residual (1, −1)/√2: 1.
    // x0 + x1 + x2 + x3 = 1, x2 + x3 = 2 (norms 2, √2), 0 ≤ x ≤ 5: with t = x2 + x3 and x0 = x1 = 0,
    //   min (t/2 − 1/2)² + (t/√2 − √2)² at t = 5/3: residual (1/3, −1/(3√2)), norm 1/√6.
    const cases: [number[][], number[], { lower?: number; upper?: number }, RegExp][] = [
      [[[1, 1, 0, 0], [1, -1, 0, 0]], [1, 3], { lower: 0 }, /= 1\.00 /],
      [[[1, 1, 1, 1], [1, 1, -1, 0]], [1, 2], { lower: 0 }, /= \d/],
      [[[1, 1, 1, 1], [0, 0, 1, 1]], [1, 2], { lower: 0, upper: 5 }, new RegExp(`= ${(1 / Math.sqrt(6)).toPrecision(3)} `)],
    ];
    for (const [C, d, bounds, value] of cases) {
      expect(() => createProblem(input(C, d, bounds))).toThrow(/constraints: infeasible: no x within the bounds satisfies Cx = d \(min ‖Cx − d‖ over the box/);
      expect(() => createProblem(input(C, d, bounds))).toThrow(value);
    }
  });

  it("agrees with the convex hull of C·(box vertices) on random 2-row systems over [lo, up]⁴", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 8, maxLength: 8 }), fc.integer({ min: -30, max: 30 }), fc.integer({ min: -30, max: 30 }),
        fc.constantFrom([0, 1], [-1, 1], [0.5, 2]),
        (entries, d0, d1, [lo, up]) => {
          const C = [entries.slice(0, 4).map((v) => v / 10), entries.slice(4).map((v) => v / 10)];
          const d: [number, number] = [d0 / 10, d1 / 10];
          const vertices: [number, number][] = [];
          for (let code = 0; code < 16; code++) {
            const v = [0, 1, 2, 3].map((j) => ((code >> j) & 1 ? up : lo));
            vertices.push([C[0].reduce((s, c, j) => s + c * v[j], 0), C[1].reduce((s, c, j) => s + c * v[j], 0)]);
          }
          const margin = insideHull(vertices, d);
          fc.pre(Number.isFinite(margin) && Math.abs(margin) > 1e-6);
          const make = () => createProblem(input(C, [d[0], d[1]], { lower: lo, upper: up }));
          if (margin > 0) expect(make).not.toThrow();
          else expect(make).toThrow(/constraints: infeasible/);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("never refuses a feasible system whose point sits on the boundary of the box (x ≥ 0, d = C x₀ with zeros in x₀)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 8, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), (entries, point) => {
        const C = [entries.slice(0, 4), entries.slice(4)];
        const d = C.map((row) => row.reduce((s, c, j) => s + c * point[j], 0));
        let problem;
        try {
          problem = createProblem(input(C, d, { lower: 0 }));
        } catch (e) {
          expect(String(e)).not.toMatch(/infeasible/);
          return; // a zero row of C (refused for that reason)
        }
        expect(problem.constraints).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe("the scale a constraint forces on x", () => {
  it("d so large that A·x overflows is refused naming constraints.d; a large but certifiable d solves to finite numbers", () => {
    const input = (d: number): ProblemInput => ({ A: A6, y: Y6, penalty: { l1: 0.1 }, constraints: { C: [[1, 1, 1, 1, 1]], d: [d] } });
    expect(() => createProblem(input(1e200))).toThrow(/constraints\.d: expected the squared scale .* overflows/);
    expect(() => createProblem(input(1e110))).toThrow(/constraints\.d: expected the squared scale .* it is \d\.\de\+2\d\d/);
    for (const d of [1e6, -1e4]) {
      const sol = solve(createProblem(input(d)));
      expect(sol.converged).toBe(true);
      expect(Math.abs(sol.x.reduce((s, v) => s + v, 0) - d)).toBeLessThan(1e-14 * Math.abs(d));
    }
    // l1 = 0.1 is far below the rounding of gradients of 1e40: not certifiable, but finite numbers.
    const sol = solve(createProblem(input(1e20)), { maxIter: 3 });
    expect(sol.converged).toBe(false);
    for (const v of [sol.objective, sol.dualityGap, sol.kktViolation, sol.feasibilityResidual!, ...sol.x]) expect(Number.isFinite(v)).toBe(true);
  });
});

describe("far bounds in the dual", () => {
  it("bounds of ±1e10, ±1e15, ±1e300 that do not bind give the unbounded solution, converged at the default tol (constrained-small)", () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, "constrained-small.json"), "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-far-bounds-"));
    const load = (bounds?: object) => {
      writeFileSync(join(dir, "p.json"), JSON.stringify({ ...doc, ...(bounds && { bounds }) }));
      return loadProblemFile(join(dir, "p.json"));
    };
    const free = solve(load(), { tol: 1e-12 });
    for (const bounds of [{ lower: -1e10, upper: 1e10 }, { lower: -1e15, upper: 1e15 }, { lower: -1e300, upper: 1e300 }]) {
      const sol = solve(load(bounds));
      expect(sol.converged).toBe(true);
      expect(Math.max(...free.x.map((v, j) => Math.abs(v - sol.x[j])))).toBeLessThan(1e-6);
    }
  });

  it("the dual stays a lower bound on the optimum (enumeration) at any (θ, ν), whatever the bounds", async () => {
    const { dualObjective } = await import("../src/kkt/certificate.js");
    const { penaltyOf } = await import("../src/penalties/index.js");
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }), fc.double({ min: -3, max: 3, noNaN: true }),
        fc.constantFrom([-1e15, 1e15], [-0.3, 0.4], [0, 1e10], [-1, Infinity]), fc.constantFrom(0, 0.2),
        (point, nu, [lo, up], l2) => {
          const A = A6.map((row) => row.slice(0, 3)), C = [[1, -1, 0.5]], d = [0.1];
          const problem = createProblem({ A, y: Y6, penalty: { l1: 0.3, l2 }, constraints: { C, d }, bounds: { lower: lo, upper: up } });
          const optimum = enumerate(A, Y6, 0.3, l2, C, d, [lo, lo, lo], [up, up, up]).objective;
          const x = point.map((v) => Math.min(up, Math.max(lo, v)));
          const r = Float64Array.from(Y6, (v, i) => v - A[i].reduce((s, a, j) => s + a * x[j], 0));
          const c = Float64Array.from([0, 1, 2], (j) => A.reduce((s, row, i) => s + row[j] * r[i], 0) - C[0][j] * nu);
          const dual = dualObjective(penaltyOf(problem), problem.y, r, c, undefined, 3, nu * d[0]);
          expect(dual).toBeLessThanOrEqual(optimum + 1e-9 * (1 + optimum));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("validation of bounds and C (issue 8 #8)", () => {
  const input = (extra: Partial<ProblemInput>): ProblemInput => ({ A: A6, y: Y6, penalty: { l1: 0.1 }, ...extra });

  it("an open side's infinity is accepted in a bound vector of a file as it is as a scalar; the other infinity is refused", async () => {
    const { parseProblemDocument } = await import("../src/io/problem-document.js");
    const doc = (bounds: string) => `{"format": "sparsetune-problem/1", "A": {"shape": [1, 3], "data": [1, 2, 3]}, "y": [1], "penalty": {"l1": 0.1}, "bounds": ${bounds}}`;
    const parse = (bounds: string) => parseProblemDocument(JSON.parse(doc(bounds)));
    expect(Array.from(parse(`{"lower": [-1e999, 0, null], "upper": [1e999, 2, 3]}`).bounds!.lower)).toEqual([-Infinity, 0, -Infinity]);
    expect(Array.from(parse(`{"lower": -1e999, "upper": [1e999, 2, 3]}`).bounds!.upper)).toEqual([Infinity, 2, 3]);
    expect(() => parse(`{"lower": [1e999, 0, 0]}`)).toThrow(/bounds.lower/);
    expect(() => parse(`{"upper": [0, -1e999, 0]}`)).toThrow(/bounds.upper/);
    expect(Array.from(createProblem(input({ bounds: { lower: [-Infinity, 0, 0, 0, 0] } })).bounds!.lower)).toEqual([-Infinity, 0, 0, 0, 0]);
  });

  it("strings are quoted, non-plain objects refused, C = { identity: n } accepted, one redundant row in the singular", () => {
    expect(() => createProblem(input({ bounds: { lower: ["0", 0, 0, 0, 0] as never } }))).toThrow(/got "0" at index 0/);
    expect(() => createProblem(input({ bounds: new Map() as never }))).toThrow(/bounds: expected a plain object/);
    const A = [[1, 0.5], [0.2, 1], [0.3, -0.4]];
    const withIdentity = createProblem({ A, y: [1, 2, 3], penalty: { l1: 0.1 }, constraints: { C: { identity: 2 }, d: [0.25, -0.5] } });
    const sol = solve(withIdentity);
    expect(sol.converged).toBe(true);
    expect(sol.x[0]).toBeCloseTo(0.25, 15);
    expect(sol.x[1]).toBeCloseTo(-0.5, 15);
    const oneRedundant = solve(createProblem({ A, y: [1, 2, 3], penalty: { l1: 0.1 }, constraints: { C: [[1, 1], [2, 2]], d: [1, 2] } }));
    expect(oneRedundant.warnings).toEqual(["constraint row 1 is a combination of the others (with a consistent d): dropped, its multiplier reported as 0"]);
  });
});

describe("an exact active set (issue 8 #9)", () => {
  it("A = [I; 1ᵀ], y = (1, 2, 3, 4), Σx = 3, x ≥ 0: x₀ is exactly at its bound (r = (1, 1, 1, 1), ν = 1.9, a₀ᵀr − ν = l1)", () => {
    const A = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]];
    for (const tol of [undefined, 1e-12]) {
      const sol = solve(createProblem({ A, y: [1, 2, 3, 4], penalty: { l1: 0.1 }, constraints: { C: [[1, 1, 1]], d: [3] }, bounds: { lower: 0 } }), { tol });
      expect(sol.converged).toBe(true);
      expect(sol.x[0]).toBe(0);
      expect(sol.active).toEqual([1, 2]);
      expect(sol.activeBounds).toEqual({ lower: [0], upper: [] });
      expect(sol.x[1]).toBeCloseTo(1, 15);
      expect(sol.x[2]).toBeCloseTo(2, 15);
      expect(sol.multipliers![0]).toBeCloseTo(1.9, 14);
    }
  });

  it("C = I (the probe's c_identity): the features d sets to 0 are exactly 0 and inactive", () => {
    const A = [[0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971, -0.535669373161111], [0.36159505490948474, 1.3040000451301372, 0.9470809631292422, -0.7037352358069926, -1.2654214710460525], [-0.6232744625373522, 0.0413259793472436, -2.3250307746388343, -0.21879166393254573, -1.2459109472530652], [-0.7322673547034516, -0.5442589828573099, -0.31630015636915454, 0.4116305363741328, 1.0425133694426776], [-0.12853466294403426, 1.3664634705496859, -0.6651946734866135, 0.3515100700930197, 0.9034701816518086], [0.09401229776087457, -0.7434992493538084, -0.9217253762584194, -0.45772582566733916, 0.2201951234700494], [-1.009618183538736, -0.20917557487171307, -0.15922500991447772, 0.5408455846858077, 0.2146591225063409], [0.3553727090399214, -0.6538286094183394, -0.12961363369276946, 0.7839754700613295, 1.4934311452207607]];
    const sol = solve(createProblem({ A, y: [-1.2590655321041202, 1.5139237747390626, 1.3458754237823045, 0.7813114007004275, 0.2644556303293035, -0.3139228145364278, 1.4580206835369587, 1.9602583164499647], penalty: { l1: 0.1 }, constraints: { C: [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 1 : 0))), d: [0.1, 0.2, 0, 0, -0.3] } }));
    expect(sol.converged).toBe(true);
    expect(sol.active).toEqual([0, 1, 4]);
    expect([sol.x[2], sol.x[3]]).toEqual([0, 0]);
  });
});
