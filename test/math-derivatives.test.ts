/**
 * Every derivative against an independent oracle (issue 6, item 9): a separate dense route
 * (ml-matrix) or central finite differences of re-solved problems (tol 1e-14, polished: x is
 * exact to rounding, and x is affine in λ and y while the support is fixed, so the central
 * difference has no truncation error there; the only error is rounding / step).
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  createProblem,
  degreesOfFreedom,
  hypergradient,
  HeldOutMse,
  lambdaMax,
  MonteCarloSure,
  solve,
  solveCoordinateDescent,
  solutionDerivatives,
  Sure,
  withPenalty,
  type Problem,
  type Solution,
} from "../src/node.js";
import { Rng, constructedProblem, convolutionOperator, denseOf, dfOracle, hardCases, hardMatrix, maxDiff, measure, normInf, printMeasured, residualOracle, type MatrixKind } from "./math-support.js";

afterAll(printMeasured);

const tight = (p: Problem): Solution => solve(p, { solver: "cd", tol: 1e-14 });
const sameSupport = (a: Solution, b: Solution) => JSON.stringify([a.active, a.signs]) === JSON.stringify([b.active, b.signs]);

/** A hard-case problem: structure of A, operator form, weights, l2, λ as a fraction of λ_max. */
const hardCase = hardCases({ m: [8, 24], n: [4, 40], l2: [0.05, 0.5], frac: [0.01, 0.7] });

interface HardCase { seed: number; m: number; n: number; kind: MatrixKind; matrixFree: boolean; weighted: boolean; l2: number; frac: number }

function buildHard({ seed, m, n, kind, matrixFree, weighted, l2, frac }: HardCase): Problem {
  const rng = new Rng(seed);
  const A = matrixFree ? convolutionOperator(rng, m, n) : hardMatrix(rng, m, n, kind);
  const truth = Float64Array.from({ length: n }, (_, j) => (j % 3 === 0 ? rng.normal() + rng.sign() : 0));
  const y = A.apply(truth, new Float64Array(m)).map((v) => v + 0.1 * rng.normal());
  const weights = weighted ? Float64Array.from({ length: n }, () => 0.3 + 2 * rng.uniform()) : undefined;
  const vA = hardMatrix(rng, Math.max(2, m >> 1), n, "gaussian");
  const validation = { A: vA, y: vA.apply(truth, new Float64Array(vA.rows)) };
  const base = createProblem({ A, y, validation, penalty: { l1: 1, ...(weights && { weights }) } });
  return withPenalty(base, { l1: frac * lambdaMax(base), l2 });
}

describe("elastic-net degrees of freedom against a dense route and the fit's divergence in y", () => {
  it("df = tr(A_S H⁻¹A_Sᵀ) (ml-matrix inverse) and ∂df/∂l2 = its central difference, on hard cases", () => {
    fc.assert(
      fc.property(hardCase, (c) => {
        const problem = buildHard(c);
        const sol = tight(problem);
        fc.pre(sol.active.length > 0);
        const dof = degreesOfFreedom(problem, sol);
        const df = dof.df, dDfDl2 = dof.derivative("l2");
        const oracle = dfOracle(problem, sol.active);
        // measured ≤ 1.2e-15 per active feature (MEASURE=1), duplicate/correlated columns included
        expect(measure("df vs dense", Math.abs(df - oracle) / Math.max(1, sol.active.length))).toBeLessThanOrEqual(1e-13);
        const h = 1e-4 * problem.penalty.l2;
        const fd = (dfOracle(problem, sol.active, problem.penalty.l2 + h) - dfOracle(problem, sol.active, problem.penalty.l2 - h)) / (2 * h);
        // measured ≤ 5.6e-9 (the O(h²) error of the difference of the dense route)
        expect(measure("dDfDl2 vs fd", Math.abs(dDfDl2 - fd) / Math.max(1, Math.abs(fd)))).toBeLessThanOrEqual(1e-7);
        expect(dDfDl2).toBeLessThan(0); // df falls as l2 grows (every eigenvalue σ²/(σ² + l2) falls)
      }),
      { numRuns: 40 },
    );
  });

  it("df = Σ_i ∂(Ax)_i/∂y_i by central differences of re-solved problems (elastic net with |S| > m)", () => {
    const rng = new Rng(42);
    const m = 10, n = 30;
    const A = hardMatrix(rng, m, n, "gaussian");
    const y = Float64Array.from({ length: m }, () => rng.normal());
    const base = createProblem({ A, y, penalty: { l1: 1 } });
    const problem = withPenalty(base, { l1: 0.02 * lambdaMax(base), l2: 0.3 });
    const sol = tight(problem);
    expect(sol.active.length).toBeGreaterThan(m); // the elastic net beyond interpolation
    const h = 1e-5;
    let divergence = 0;
    for (let i = 0; i < m; i++) {
      const at = (d: number) => {
        const yi = Float64Array.from(y);
        yi[i] += d;
        const s = tight({ ...problem, y: yi });
        expect(sameSupport(s, sol)).toBe(true);
        return A.apply(s.x, new Float64Array(m))[i];
      };
      divergence += (at(h) - at(-h)) / (2 * h);
    }
    const { df } = degreesOfFreedom(problem, sol);
    // measured |df − divergence| = 1.7e-11 (rounding of x, ~1e-16, over 2h, summed over m rows)
    expect(measure("df vs divergence", Math.abs(df - divergence))).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(df - dfOracle(problem, sol.active))).toBeLessThanOrEqual(1e-13 * m);
    expect(df).toBeLessThan(sol.active.length - 0.5); // the −l2·tr(H⁻¹) term matters here
  });

  it("Sure: value = ‖y − Ax‖² − mσ² + 2σ²·df_oracle and its l1/l2 gradient = central differences of that value", () => {
    const rng = new Rng(7);
    const m = 25, n = 40, sigma = 0.8; // σ large: the df term dominates dSURE/dl2
    const A = hardMatrix(rng, m, n, "correlated");
    const y = Float64Array.from({ length: m }, () => rng.normal());
    const base = createProblem({ A, y, penalty: { l1: 1 } });
    const problem = withPenalty(base, { l1: 0.1 * lambdaMax(base), l2: 0.4 });
    const sol = tight(problem);
    const ev = new Sure(problem, sigma, solveCoordinateDescent).evaluate(problem.penalty, 1e-14);
    const { r } = residualOracle(problem, sol.x);
    const rss = r.reduce((s, v) => s + v * v, 0);
    const expected = rss - m * sigma ** 2 + 2 * sigma ** 2 * dfOracle(problem, sol.active);
    // measured 4e-16
    expect(measure("SURE value", Math.abs(ev.value - expected) / Math.max(1, Math.abs(expected)))).toBeLessThanOrEqual(1e-13);
    for (const key of ["l1", "l2"] as const) {
      const h = 1e-5 * problem.penalty[key];
      const at = (d: number) => new Sure(problem, sigma, solveCoordinateDescent).evaluate({ ...problem.penalty, [key]: problem.penalty[key] + d }, 1e-14, { gradient: false }).value;
      const fd = (at(h) - at(-h)) / (2 * h);
      // measured ≤ 5.5e-11 relative
      expect(measure(`SURE d/d${key}`, Math.abs((ev.gradient![key] as number) - fd) / Math.max(1e-2, Math.abs(fd)))).toBeLessThanOrEqual(5e-9);
    }
  });
});

describe("solution derivatives and hypergradients against central finite differences", () => {
  it("dx/dl1, dx/dl2, dL/dl1, dL/dl2 and dL/dλ_j on hard cases (duplicate/zero/correlated columns, matrix-free, weights)", () => {
    fc.assert(
      fc.property(hardCase, (c) => {
        const problem = buildHard(c);
        const sol = tight(problem);
        fc.pre(sol.active.length > 0 && sol.complementarityMargin > 1e-3);
        const criterion = HeldOutMse.of(problem);
        const { dxdl1, dxdl2 } = solutionDerivatives(problem, sol);
        const hg = hypergradient(problem, sol, criterion);
        const { l1, l2 } = problem.penalty;
        const xScale = Math.max(1, normInf(sol.x));
        const check = (key: "l1" | "l2", step: number, dx: Float64Array, dL: number) => {
          const plus = tight(withPenalty(problem, { [key]: problem.penalty[key] + step }));
          const minus = tight(withPenalty(problem, { [key]: problem.penalty[key] - step }));
          if (!sameSupport(plus, sol) || !sameSupport(minus, sol)) return; // a breakpoint within the step
          const fdx = Float64Array.from(plus.x, (v, j) => (v - minus.x[j]) / (2 * step));
          // measured ≤ 3.7e-9 relative (x rounding over 2·step, step = 1e-5·λ, ill-conditioned H on correlated columns)
          expect(measure(`dx/d${key}`, maxDiff(dx, fdx) / Math.max(xScale, normInf(fdx)))).toBeLessThanOrEqual(3e-7);
          const fdL = (criterion.value(plus.x) - criterion.value(minus.x)) / (2 * step);
          // measured ≤ 5.5e-9
          expect(measure(`dL/d${key}`, Math.abs(dL - fdL) / Math.max(1e-3, Math.abs(fdL)))).toBeLessThanOrEqual(3e-7);
        };
        check("l1", 1e-5 * l1, dxdl1, hg.l1);
        check("l2", 1e-5 * l2, dxdl2, hg.l2);
        // per-feature thresholds λ_j = l1 w_j: move one active λ_j
        const w = problem.penalty.weights ?? new Float64Array(problem.A.cols).fill(1);
        const j = sol.active[0];
        const step = 1e-5 * l1 * w[j];
        const at = (d: number) => {
          const wj = Float64Array.from(w);
          wj[j] += d / l1;
          return tight(withPenalty(problem, { weights: wj }));
        };
        const plus = at(step), minus = at(-step);
        if (sameSupport(plus, sol) && sameSupport(minus, sol)) {
          const fd = (criterion.value(plus.x) - criterion.value(minus.x)) / (2 * step);
          // measured ≤ 7.6e-9
          expect(measure("dL/dλ_j hard", Math.abs(hg.perFeature[j] - fd) / Math.max(1e-3, Math.abs(fd)))).toBeLessThanOrEqual(3e-7);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("weighted Lasso: dL/dl1 (all λ_j = l1 w_j move together) = Σ_j w_j dL/dλ_j = central difference", () => {
    const rng = new Rng(11);
    const m = 30, n = 50;
    const A = hardMatrix(rng, m, n, "gaussian");
    const truth = Float64Array.from({ length: n }, (_, j) => (j < 6 ? rng.sign() * (1 + rng.uniform()) : 0));
    const y = A.apply(truth, new Float64Array(m)).map((v) => v + 0.05 * rng.normal());
    const weights = Float64Array.from({ length: n }, () => 0.2 + 3 * rng.uniform()); // far from 1
    const vA = hardMatrix(rng, 15, n, "gaussian");
    const base = createProblem({ A, y, penalty: { l1: 1, weights }, validation: { A: vA, y: vA.apply(truth, new Float64Array(15)) } });
    const problem = withPenalty(base, { l1: 0.1 * lambdaMax(base) });
    const sol = tight(problem);
    const criterion = HeldOutMse.of(problem);
    const hg = hypergradient(problem, sol, criterion);
    const step = 1e-5 * problem.penalty.l1;
    const plus = tight(withPenalty(problem, { l1: problem.penalty.l1 + step }));
    const minus = tight(withPenalty(problem, { l1: problem.penalty.l1 - step }));
    expect(sameSupport(plus, sol) && sameSupport(minus, sol)).toBe(true);
    const fd = (criterion.value(plus.x) - criterion.value(minus.x)) / (2 * step);
    // measured 4.3e-13 relative
    expect(measure("weighted dL/dl1", Math.abs(hg.l1 - fd) / Math.abs(fd))).toBeLessThanOrEqual(1e-10);
    // and per feature: the chain rule over λ_j = l1 w_j, each λ_j by its own finite difference
    let chain = 0;
    for (const j of sol.active) {
      const at = (d: number) => {
        const wj = Float64Array.from(weights);
        wj[j] += d / problem.penalty.l1;
        return criterion.value(tight(withPenalty(problem, { weights: wj })).x);
      };
      const s = 1e-5 * problem.penalty.l1 * weights[j];
      const fdj = (at(s) - at(-s)) / (2 * s);
      // measured ≤ 4.7e-9
      expect(measure("weighted dL/dλ_j", Math.abs(hg.perFeature[j] - fdj) / Math.max(1e-3, Math.abs(fdj)))).toBeLessThanOrEqual(2e-7);
      chain += weights[j] * fdj;
    }
    expect(measure("weighted chain", Math.abs(hg.l1 - chain) / Math.abs(chain))).toBeLessThanOrEqual(1e-8); // measured 1.1e-10
  });
});

describe("Monte-Carlo SURE gradient against central differences of its own value (same probes, same seed)", () => {
  it.each([
    ["Lasso", 0],
    ["elastic net", 0.3],
  ])("%s", (_label, l2) => {
    const rng = new Rng(l2 === 0 ? 5 : 6);
    const m = 30, n = 24, sigma = 0.7;
    const A = hardMatrix(rng, m, n, "gaussian");
    const y = Float64Array.from({ length: m }, () => rng.normal());
    const base = createProblem({ A, y, penalty: { l1: 1 } });
    const problem = withPenalty(base, { l1: 0.15 * lambdaMax(base), l2 });
    // A large δ keeps the perturbed solves' rounding (~1e-15/δ) far below the λ-differences.
    const make = () => new MonteCarloSure(problem, sigma, solveCoordinateDescent, { probes: 3, seed: 9, delta: 0.05 });
    const ev = make().evaluate(problem.penalty, 1e-14);
    expect(ev.nearBreakpoint).toBe(false);
    const keys = l2 > 0 ? (["l1", "l2"] as const) : (["l1"] as const);
    for (const key of keys) {
      const h = 1e-5 * problem.penalty[key];
      const at = (d: number) => make().evaluate({ ...problem.penalty, [key]: problem.penalty[key] + d }, 1e-14, { gradient: false }).value;
      const fd = (at(h) - at(-h)) / (2 * h);
      // measured ≤ 1e-9 relative
      expect(measure(`MC SURE d/d${key}`, Math.abs((ev.gradient![key] as number) - fd) / Math.max(1e-2, Math.abs(fd)))).toBeLessThanOrEqual(5e-8);
    }
  });
});

describe("nearBreakpoint on constructed kinks", () => {
  const kinkCase = fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    m: fc.integer({ min: 12, max: 30 }),
    extra: fc.integer({ min: 2, max: 30 }),
    k: fc.integer({ min: 1, max: 4 }),
    l2: fc.constantFrom(0, 0.2),
    weighted: fc.boolean(),
  });
  const build = ({ seed, m, extra, k, l2, weighted }: { seed: number; m: number; extra: number; k: number; l2: number; weighted: boolean }, level: number, tiny?: number) => {
    const rng = new Rng(seed);
    const n = k + extra;
    const A = hardMatrix(rng, m, n, "gaussian");
    const weights = weighted ? Float64Array.from({ length: n }, () => 0.5 + rng.uniform()) : undefined;
    return constructedProblem(rng, A, { k, l1: 0.7, l2, weights, level, tiny });
  };

  it("true when an inactive correlation equals its bound (l1 = |a_jᵀr| by construction); the solver finds the constructed x", () => {
    fc.assert(
      fc.property(kinkCase, (c) => {
        const built = build(c, 1);
        fc.pre(built !== null && built.otherRatio < 0.99);
        const { problem, x } = built!;
        const sol = tight(problem);
        expect(measure("constructed x (kink)", maxDiff(sol.x, x) / Math.max(1, normInf(x)))).toBeLessThanOrEqual(1e-13); // measured 7e-16
        const hg = hypergradient(problem, sol, new HeldOutMse({ A: denseOfProblem(problem), y: problem.y }));
        measure("kink cases", 0);
        expect(hg.nearBreakpoint).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("true when an active coefficient is about to leave (|x_j| = 1e-7·‖x‖∞), false well inside a piece", () => {
    fc.assert(
      fc.property(kinkCase, (c) => {
        const inside = build(c, 0.5);
        fc.pre(inside !== null && inside.otherRatio < 0.9);
        const crit = (p: Problem) => new HeldOutMse({ A: denseOfProblem(p), y: p.y });
        const solIn = tight(inside!.problem);
        expect(measure("constructed x (inside)", maxDiff(solIn.x, inside!.x) / Math.max(1, normInf(inside!.x)))).toBeLessThanOrEqual(1e-13); // measured 6e-16
        expect(hypergradient(inside!.problem, solIn, crit(inside!.problem)).nearBreakpoint).toBe(false);
        const leaving = build({ ...c, k: Math.max(2, c.k) }, 0.5, 1e-7);
        fc.pre(leaving !== null && leaving.otherRatio < 0.9);
        const solOut = tight(leaving!.problem);
        fc.pre(solOut.active.length === leaving!.active.length);
        measure("leaving cases", 0);
        expect(hypergradient(leaving!.problem, solOut, crit(leaving!.problem)).nearBreakpoint).toBe(true);
        // "nearly zero" is relative to ‖x‖∞: the same problem scaled (y, l1 → c·y, c·l1 gives x → c·x)
        // is as close to its breakpoint whatever c
        for (const scale of [1e3, 1e-3]) {
          const p = leaving!.problem;
          const scaled = withPenalty({ ...p, y: p.y.map((v) => v * scale) }, { l1: p.penalty.l1 * scale });
          const sol = tight(scaled);
          fc.pre(sol.active.length === leaving!.active.length);
          expect(hypergradient(scaled, sol, crit(scaled)).nearBreakpoint).toBe(true);
          const scaledIn = withPenalty({ ...inside!.problem, y: inside!.problem.y.map((v) => v * scale) }, { l1: inside!.problem.penalty.l1 * scale });
          expect(hypergradient(scaledIn, tight(scaledIn), crit(scaledIn)).nearBreakpoint).toBe(false);
        }
      }),
      { numRuns: 30 },
    );
  });
});

/** The problem's own A as a DenseMatrix (a validation operator for a criterion on the training rows). */
function denseOfProblem(p: Problem) {
  const M = denseOf(p.A);
  return createProblem({ A: M.to2DArray(), y: p.y }).A;
}
