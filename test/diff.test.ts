import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { loadProblemFile } from "../src/io/problem-file.js";
import { SOLVERS, regressionSolverNames, type SolverName } from "../src/solvers/index.js";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { hypergradient, solutionDerivatives } from "../src/diff/implicit.js";
import { ActiveSetMatrix } from "../src/kkt/active-set.js";
import { NumericalError } from "../src/errors.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { FIXTURES, L1L2_FIXTURES, maxAbsDiff, randomProblem, reference, relErr } from "./support.js";

const solverNames = regressionSolverNames();

describe.each(solverNames)("hypergradients from %s solutions match the fixtures", (solverName) => {
  it.each(L1L2_FIXTURES)("%s", (name) => {
    const problem = loadProblemFile(join(FIXTURES, `${name}.json`));
    const ref = reference(name);
    const sol = SOLVERS[solverName](problem);
    const criterion = HeldOutMse.of(problem);
    expect(relErr(criterion.value(sol.x), ref.heldoutMse)).toBeLessThanOrEqual(1e-8);
    const h = hypergradient(problem, sol, criterion);
    expect(relErr(h.l1, ref.hypergradient.l1)).toBeLessThanOrEqual(1e-5);
    if (ref.hypergradient.l2 !== undefined) expect(relErr(h.l2, ref.hypergradient.l2)).toBeLessThanOrEqual(1e-5);
    if (ref.dxdl1) {
      const { dxdl1 } = solutionDerivatives(problem, sol);
      expect(maxAbsDiff(dxdl1, ref.dxdl1)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...ref.dxdl1.map(Math.abs)));
    }
    expect(h.nearBreakpoint).toBe(ref.complementarityMargin < 1e-4);
  });
});

/** Central difference of the held-out MSE along one penalty key, with fresh tight solves. */
function centralDifference(problem: Problem, change: (p: Problem, delta: number) => Problem, h: number) {
  const criterion = HeldOutMse.of(problem);
  const plus = SOLVERS.cd(change(problem, h), { tol: 1e-15 });
  const minus = SOLVERS.cd(change(problem, -h), { tol: 1e-15 });
  return {
    value: (criterion.value(plus.x) - criterion.value(minus.x)) / (2 * h),
    sameSupport: JSON.stringify(plus.active) === JSON.stringify(minus.active) && JSON.stringify(plus.signs) === JSON.stringify(minus.signs),
    active: plus.active,
  };
}

describe("hypergradients against central finite differences", () => {
  const cases = fc.record({
    seed: fc.integer({ min: 1, max: 1e9 }),
    m: fc.integer({ min: 10, max: 40 }),
    n: fc.integer({ min: 5, max: 60 }),
    frac: fc.double({ min: 0.05, max: 0.8, noNaN: true }),
    l2: fc.constantFrom(0, 0.3),
  });

  it("dMSE/dl1 and dMSE/dl2 where the active set is locally constant", () => {
    fc.assert(
      fc.property(cases, ({ seed, m, n, frac, l2 }) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: frac, l2 });
        const sol = SOLVERS.cd(problem, { tol: 1e-15 });
        const h = hypergradient(problem, sol, HeldOutMse.of(problem));
        // x is affine in l1 while the support is fixed, so the central difference is exact there.
        const step = 1e-3 * problem.penalty.l1;
        const fd1 = centralDifference(problem, (p, d) => withPenalty(p, { l1: p.penalty.l1 + d }), step);
        fc.pre(fd1.sameSupport && JSON.stringify(fd1.active) === JSON.stringify(sol.active));
        expect(Math.abs(h.l1 - fd1.value)).toBeLessThanOrEqual(1e-5 * Math.max(1e-3, Math.abs(fd1.value)));
        if (l2 > 0) {
          const fd2 = centralDifference(problem, (p, d) => withPenalty(p, { l2: p.penalty.l2 + d }), 1e-4 * l2);
          fc.pre(fd2.sameSupport);
          expect(Math.abs(h.l2 - fd2.value)).toBeLessThanOrEqual(1e-5 * Math.max(1e-3, Math.abs(fd2.value)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("per-feature (weighted l1) hypergradients match finite differences of one weight", () => {
    const base = randomProblem(5, 30, 50, { l1Fraction: 0.15 });
    const weights = Float64Array.from({ length: 50 }, (_, j) => 0.5 + (j % 7) / 7);
    const problem = withPenalty(base, { weights });
    const sol = SOLVERS.cd(problem, { tol: 1e-15 });
    const h = hypergradient(problem, sol, HeldOutMse.of(problem));
    const { l1 } = problem.penalty;
    for (const j of sol.active.slice(0, 5)) {
      const step = 1e-6;
      const fd = centralDifference(problem, (p, d) => {
        const w = Float64Array.from(weights);
        w[j] += d / l1; // λ_j = l1·w_j moves by d
        return withPenalty(p, { weights: w });
      }, step);
      expect(fd.sameSupport).toBe(true);
      expect(Math.abs(h.perFeature[j] - fd.value)).toBeLessThanOrEqual(1e-5 * Math.max(1e-3, Math.abs(fd.value)));
    }
    const inactive = Array.from({ length: 50 }, (_, j) => j).filter((j) => !sol.active.includes(j));
    for (const j of inactive) expect(h.perFeature[j]).toBe(0);
  });

  it("does not depend on which solver produced the solution", () => {
    fc.assert(
      fc.property(cases, ({ seed, m, n, frac, l2 }) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: frac, l2 });
        const a = SOLVERS.cd(problem, { tol: 1e-12 });
        const b = SOLVERS.fista(problem, { tol: 1e-12 });
        fc.pre(JSON.stringify(a.active) === JSON.stringify(b.active));
        const ha = hypergradient(problem, a, HeldOutMse.of(problem));
        const hb = hypergradient(problem, b, HeldOutMse.of(problem));
        expect(Math.abs(ha.l1 - hb.l1)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(ha.l1)));
        expect(Math.abs(ha.l2 - hb.l2)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(ha.l2)));
      }),
      { numRuns: 30 },
    );
  });
});

describe("KKT system on the active set", () => {
  it("Cholesky and matrix-free CG give the same solve", () => {
    const problem = randomProblem(9, 80, 60, { l1Fraction: 0.02, l2: 0.1 });
    const active = Array.from({ length: 40 }, (_, a) => a);
    const b = Float64Array.from(active, (a) => Math.sin(a + 1));
    const dense = new ActiveSetMatrix(problem.A, active, new Float64Array(40), "cholesky").solve(b);
    const cg = new ActiveSetMatrix(problem.A, active, new Float64Array(40), "cg").solve(b);
    expect(maxAbsDiff(dense, cg)).toBeLessThanOrEqual(1e-9 * Math.max(1, ...Array.from(dense, Math.abs)));
    // and H·(H⁻¹b) = b through the independent product
    const hv = new Float64Array(40);
    new ActiveSetMatrix(problem.A, active, new Float64Array(40), "cg").applyH(dense, hv);
    expect(maxAbsDiff(hv, b)).toBeLessThanOrEqual(1e-10);
  });

  it("a singular system (|S| > m, l2 = 0) is a clear diagnostic, never NaN", () => {
    const problem = randomProblem(4, 10, 40, { l1Fraction: 0.001 });
    const sol = SOLVERS.cd(problem, { tol: 1e-10 });
    expect(sol.active.length).toBeGreaterThanOrEqual(1);
    const tooMany = Array.from({ length: 12 }, (_, a) => a);
    expect(() => new ActiveSetMatrix(problem.A, tooMany, new Float64Array(12))).toThrow(NumericalError);
    expect(() => new ActiveSetMatrix(problem.A, tooMany, new Float64Array(12))).toThrow(/not unique.*l2 > 0/);
    // Duplicate columns: rank-deficient with |S| ≤ m.
    const dup = randomProblem(4, 10, 5);
    const A = dup.A as import("../src/operators/dense.js").DenseMatrix;
    A.data.copyWithin(A.rows, 0, A.rows); // column 1 := column 0
    expect(() => new ActiveSetMatrix(dup.A, [0, 1], new Float64Array(2))).toThrow(/linearly dependent/);
  });

  it("elastic net with more active features than measurements is well posed", () => {
    const problem = randomProblem(12, 15, 60, { l1Fraction: 0.01, l2: 0.5 });
    const sol = SOLVERS.cd(problem, { tol: 1e-12 });
    expect(sol.active.length).toBeGreaterThan(15);
    const h = hypergradient(problem, sol, HeldOutMse.of(problem));
    expect(Number.isFinite(h.l1) && Number.isFinite(h.l2)).toBe(true);
    const fd = centralDifference(problem, (p, d) => withPenalty(p, { l2: p.penalty.l2 + d }), 1e-6);
    expect(Math.abs(h.l2 - fd.value)).toBeLessThanOrEqual(1e-5 * Math.max(1e-3, Math.abs(fd.value)));
  });
});

describe("denoising (A = identity): closed forms", () => {
  it("x = soft(y, l1)/(1 + l2) and the held-out hypergradients, for both solvers", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 30 }),
        fc.double({ min: 0.05, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.constantFrom(...solverNames),
        (yv, l1, l2, solverName) => {
          const n = yv.length;
          const y = Float64Array.from(yv);
          const clean = y.map((v) => 0.8 * v);
          const problem = createProblem({ A: { identity: n }, y, penalty: { l1, l2 }, validation: { A: { identity: n }, y: clean } });
          const sol = SOLVERS[solverName](problem, { tol: 1e-12 });
          const expected = y.map((v) => (Math.sign(v) * Math.max(Math.abs(v) - l1, 0)) / (1 + l2));
          expect(maxAbsDiff(sol.x, expected)).toBeLessThanOrEqual(1e-9);
          // Skip draws sitting on a threshold, where the derivative is one-sided.
          fc.pre(y.every((v) => Math.abs(Math.abs(v) - l1) > 1e-6));
          // L = ‖x − c‖²/n: dL/dl1 = Σ_S 2(x−c)/n · (−s/(1+l2)), dL/dl2 = Σ_S 2(x−c)/n · (−x/(1+l2)).
          let d1 = 0, d2 = 0;
          for (let j = 0; j < n; j++) {
            if (expected[j] === 0) continue;
            const g = (2 * (expected[j] - clean[j])) / n;
            d1 -= (g * Math.sign(y[j])) / (1 + l2);
            d2 -= (g * expected[j]) / (1 + l2);
          }
          const h = hypergradient(problem, sol, HeldOutMse.of(problem));
          expect(Math.abs(h.l1 - d1)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(d1)));
          expect(Math.abs(h.l2 - d2)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(d2)));
        },
      ),
      { numRuns: 60 },
    );
  });
});
