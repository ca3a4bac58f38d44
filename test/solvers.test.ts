import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { loadProblemFile } from "../src/io/problem-file.js";
import { SOLVERS, regressionSolverNames, type SolverName } from "../src/solvers/index.js";
import { lambdaMax } from "../src/penalties/index.js";
import { withPenalty } from "../src/problem.js";
import { solvePath, lambdaGrid } from "../src/solvers/path.js";
import { dot, normInf } from "../src/linalg/vector.js";
import { FIXTURES, L1L2_FIXTURES, maxAbsDiff, randomProblem, reference, relErr } from "./support.js";

const solverNames = regressionSolverNames();

describe.each(solverNames)("%s on the scikit-learn fixtures", (solverName) => {
  it.each(L1L2_FIXTURES)("%s: x, active set, signs and objective match the reference", (name) => {
    const problem = loadProblemFile(join(FIXTURES, `${name}.json`));
    const ref = reference(name);
    const sol = SOLVERS[solverName](problem);
    expect(sol.converged).toBe(true);
    expect(maxAbsDiff(sol.x, ref.x)).toBeLessThanOrEqual(1e-6 * Math.max(1, normInf(Float64Array.from(ref.x))));
    expect(sol.active).toEqual(ref.active);
    expect(sol.signs).toEqual(ref.signs);
    expect(relErr(sol.objective, ref.objective)).toBeLessThanOrEqual(1e-9);
    expect(sol.dualityGap).toBeLessThanOrEqual(1e-8 * dot(problem.y, problem.y));
  });
});

describe("solver properties on random problems", () => {
  const shapes = fc.record({
    seed: fc.integer({ min: 1, max: 1e9 }),
    m: fc.integer({ min: 5, max: 40 }),
    n: fc.integer({ min: 3, max: 80 }),
    frac: fc.double({ min: 0.02, max: 0.9, noNaN: true }),
    l2: fc.constantFrom(0, 0.1, 1),
  });

  it("KKT conditions hold at the returned solution to the reported violation, for both solvers", () => {
    fc.assert(
      fc.property(shapes, fc.constantFrom(...solverNames), ({ seed, m, n, frac, l2 }, solverName) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: frac, l2 });
        const sol = SOLVERS[solverName](problem, { tol: 1e-10 });
        expect(sol.converged).toBe(true);
        // Independent check of stationarity: |a_jᵀ(y − Ax) − l2 x_j| ≤ l1 off S, = l1·sign on S.
        const r = problem.A.apply(sol.x, new Float64Array(m));
        for (let i = 0; i < m; i++) r[i] = problem.y[i] - r[i];
        const c = problem.A.applyT(r, new Float64Array(n));
        const { l1 } = problem.penalty;
        let viol = 0;
        for (let j = 0; j < n; j++) {
          const g = c[j] - l2 * sol.x[j];
          viol = Math.max(viol, sol.x[j] === 0 ? Math.abs(g) - l1 : Math.abs(g - l1 * Math.sign(sol.x[j])));
        }
        expect(viol).toBeLessThanOrEqual(sol.kktViolation + 1e-12 * (1 + l1));
        expect(sol.kktViolation).toBeLessThanOrEqual(1e-4 * Math.max(1, l1));
      }),
      { numRuns: 60 },
    );
  });

  it("l1 ≥ λ_max gives x = 0", () => {
    fc.assert(
      fc.property(shapes, fc.double({ min: 1, max: 10, noNaN: true }), fc.constantFrom(...solverNames), ({ seed, m, n, l2 }, factor, solverName) => {
        const base = randomProblem(seed, m, n, { l2 });
        const problem = withPenalty(base, { l1: factor * lambdaMax(base) });
        const sol = SOLVERS[solverName](problem);
        expect(sol.active).toEqual([]);
        expect(normInf(sol.x)).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it("coordinate descent and FISTA agree", () => {
    fc.assert(
      fc.property(shapes, ({ seed, m, n, frac, l2 }) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: frac, l2 });
        const cd = SOLVERS.cd(problem, { tol: 1e-12 });
        const fista = SOLVERS.fista(problem, { tol: 1e-12 });
        expect(relErr(fista.objective, cd.objective)).toBeLessThanOrEqual(1e-9);
        // Unique solutions (l2 > 0, or m ≥ |S| generic): the points agree too.
        if (l2 > 0) expect(maxAbsDiff(fista.x, cd.x)).toBeLessThanOrEqual(1e-5 * Math.max(1, normInf(cd.x)));
      }),
      { numRuns: 40 },
    );
  });

  it("an iteration cap is reported, never silent", () => {
    const problem = randomProblem(3, 60, 200, { l1Fraction: 0.01 });
    // The augmented Lagrangian's iteration is a whole inner solve: two of them solve this problem.
    for (const solverName of solverNames.filter((name) => name !== "alm")) {
      const sol = SOLVERS[solverName](problem, { tol: 1e-14, maxIter: 2, polish: false });
      expect(sol.converged).toBe(false);
      expect(sol.message).toMatch(/iteration cap/);
      expect(sol.dualityGap).toBeGreaterThan(1e-14 * dot(problem.y, problem.y));
    }
  });

  it("the warm-started path covers the grid and every point is certified", () => {
    const problem = randomProblem(11, 50, 120, { l1Fraction: 0.1 });
    const lmax = lambdaMax(problem);
    const path = solvePath(problem, SOLVERS.cd, { count: 30 });
    const grid = lambdaGrid(lmax, 30);
    expect(path.map((s) => s.penalty.l1)).toEqual(grid);
    expect(grid[29] / grid[0]).toBeCloseTo(1e-3, 12);
    for (const s of path) {
      expect(s.converged).toBe(true);
      expect(s.dualityGap).toBeLessThanOrEqual(1e-8 * dot(problem.y, problem.y));
    }
    expect(path[0].active).toEqual([]);
  });
});
