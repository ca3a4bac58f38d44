import { describe, expect, it } from "vitest";
import { addScaled } from "../src/diff/gradient-map.js";
import { meetsTolerance, penaltyScale, type Certificate } from "../src/kkt/certificate.js";
import {
  ElasticNet,
  HeldOutMse,
  L1Penalty,
  L2Penalty,
  NumericalError,
  declaredHyperparameters,
  hypergradient,
  implicitHypergradient,
  solutionDerivatives,
  tryImplicitHypergradient,
  lambdaMax,
  solve,
  tune,
  tuningRanges,
  withPenalty,
  imageFromNdarray,
  gaussianKernel,
} from "../src/index.js";
import { wasSolvedFor } from "../src/solvers/solution.js";
import { inputError, randomProblem } from "./support.js";

const cert = (dualityGap: number, kktViolation: number): Certificate => ({ objective: 1, dualityGap, kktViolation, complementarityMargin: 1, smallestActive: 1 });

describe("the shared stopping rule", () => {
  it("penaltyScale is max_j (l1·w_j + l2|x_j|), by definition", () => {
    const w = Float64Array.from([1, 3, 0.5]);
    const x = Float64Array.from([0, -2, 4]);
    const g = new ElasticNet(new L1Penalty(0.2, w), new L2Penalty(0.7));
    const byHand = Math.max(...[0, 1, 2].map((j) => 0.2 * w[j] + 0.7 * Math.abs(x[j])));
    expect(penaltyScale(g, x)).toBe(byHand);
    expect(penaltyScale(new L1Penalty(0.2, w), x)).toBe(0.2 * 3);
    expect(penaltyScale(new L2Penalty(0.7), x)).toBe(0.7 * 4);
  });

  it("meetsTolerance: the gap within its target and the KKT violation within 1% of the penalty's scale, boundaries included", () => {
    const g = new L1Penalty(2);
    const x = new Float64Array(3);
    const kktLimit = 0.01 * 2;
    expect(meetsTolerance(cert(1e-8, 0), g, x, 1e-8)).toBe(true);
    expect(meetsTolerance(cert(1e-8 * (1 + 1e-12), 0), g, x, 1e-8)).toBe(false);
    expect(meetsTolerance(cert(0, kktLimit), g, x, 1e-8)).toBe(true);
    expect(meetsTolerance(cert(0, kktLimit * (1 + 1e-12)), g, x, 1e-8)).toBe(false);
    // ridge at x = 0 has scale 0: any violation refuses convergence
    expect(meetsTolerance(cert(0, 1e-300), new L2Penalty(1), x, 1)).toBe(false);
    expect(meetsTolerance(cert(0, 0), new L2Penalty(1), x, 1)).toBe(true);
  });
});

describe("gradient maps", () => {
  it("addScaled adds numbers and vectors by name, scaled, creating missing entries", () => {
    const into = { a: 1, v: Float64Array.from([1, 2]) };
    addScaled(into, { a: 2, b: 3, v: Float64Array.from([10, 20]), w: Float64Array.from([1, -1]) }, 0.5);
    expect(into.a).toBe(2);
    expect((into as Record<string, unknown>).b).toBe(1.5);
    expect(Array.from(into.v)).toEqual([6, 12]);
    expect(Array.from((into as Record<string, unknown>).w as Float64Array)).toEqual([0.5, -0.5]);
    const plain = addScaled({}, { a: 4 });
    expect(plain.a).toBe(4);
  });
});

describe("tuning ranges the penalties declare", () => {
  it("l1 tops out at λ_max exactly: x = 0 there, not just below; l2 and the weights have their documented ranges", () => {
    const problem = randomProblem(21, 30, 60, { l1Fraction: 0.2 });
    const lmax = lambdaMax(problem);
    const r = tuningRanges(problem);
    expect(r.l1.range).toEqual([1e-6 * lmax, lmax]);
    expect(r.l2.range).toEqual([1e-8 * lmax, 1e4 * lmax]);
    expect(r.weights.range).toEqual([1e-6 * lmax, 10 * lmax]);
    expect(solve(withPenalty(problem, { l1: r.l1.range[1] }), { tol: 1e-12 }).active).toEqual([]);
    expect(solve(withPenalty(problem, { l1: r.l1.range[1] * 0.95 }), { tol: 1e-12 }).active.length).toBeGreaterThan(0);
    expect([r.l1.scannable, r.l2.scannable, r.weights.scannable]).toEqual([true, false, true]);
    for (const key of ["l1", "l2", "weights"]) {
      const { range, start } = r[key];
      expect(start).toBeGreaterThanOrEqual(range[0]);
      expect(start).toBeLessThanOrEqual(range[1]);
    }
    // every declared hyperparameter has a range
    expect(declaredHyperparameters(problem).map((h) => h.name).sort()).toEqual(Object.keys(r).sort());
  });

  it("starts: the problem's own values when usable, else 0.1·λ_max for l1 and 1e-3·λ_max for l2", () => {
    const problem = randomProblem(22, 30, 60, { l1Fraction: 0.2, l2: 0.05 });
    const lmax = lambdaMax(problem);
    expect(tuningRanges(problem).l1.start).toBe(problem.penalty.l1);
    expect(tuningRanges(problem).l2.start).toBe(0.05);
    expect(tuningRanges(withPenalty(problem, { l1: 2 * lmax, l2: 0 })).l1.start).toBe(0.1 * lmax);
    expect(tuningRanges(withPenalty(problem, { l1: 1e-7 * lmax })).l1.start).toBe(0.1 * lmax);
    expect(tuningRanges(withPenalty(problem, { l1: 1e-6 * lmax })).l1.start).toBe(1e-6 * lmax);
    expect(tuningRanges(withPenalty(problem, { l2: 0 })).l2.start).toBe(1e-3 * lmax);
    expect(tuningRanges(problem).weights.start).toBe(tuningRanges(problem).l1.start);
  });

  it("a start outside its range names the range in words and numbers", () => {
    const problem = randomProblem(23, 30, 60, { l1Fraction: 0.2, l2: 0.05 });
    const lmax = lambdaMax(problem);
    const e = inputError(() => tune(problem, { start: { l1: 2 * lmax }, scan: 0 }));
    expect(e.field).toBe("start");
    expect(e.message).toContain("[1e-6·λ_max, λ_max]");
    const e2 = inputError(() => tune(problem, { keys: ["l1", "l2"], start: { l2: 1e5 * lmax }, scan: 0 }));
    expect(e2.message).toContain("expected l2 in [1e-8·λ_max, 1e4·λ_max]");
  });
});

describe("a solution must belong to the problem it is differentiated on", () => {
  it("an objective that does not match this problem's data is refused; the solution's own is accepted", () => {
    const problem = randomProblem(24, 25, 40, { l1Fraction: 0.2 });
    const sol = solve(problem, { tol: 1e-12 });
    const crit = HeldOutMse.of(problem);
    expect(() => hypergradient(problem, sol, crit)).not.toThrow();
    expect(() => hypergradient(problem, { ...sol, objective: sol.objective * (1 + 1e-6) }, crit)).toThrow(/^solution: expected a solution of this problem \(its objective/);
    expect(() => hypergradient(problem, { ...sol, objective: sol.objective * (1 + 1e-10) }, crit)).not.toThrow();
  });

  it("a solution solve() made for this very problem object skips the data pass, with the same hypergradient", () => {
    const problem = randomProblem(25, 25, 40, { l1Fraction: 0.2 });
    const sol = solve(problem, { tol: 1e-12 });
    expect(wasSolvedFor(sol, problem)).toBe(true);
    // A copy of the solution, or the same data in another problem object, takes the checked path.
    expect(wasSolvedFor({ ...sol }, problem)).toBe(false);
    const twin = withPenalty(problem, { ...problem.penalty });
    expect(wasSolvedFor(sol, twin)).toBe(false);
    const crit = HeldOutMse.of(problem);
    expect(hypergradient(problem, sol, crit).gradient).toEqual(hypergradient(twin, { ...sol }, crit).gradient);
  });
});

describe("implicit differentiation: diagnostics and shapes", () => {
  it("a singular KKT system at an unconverged point names the unconverged solve, not a non-unique Lasso", () => {
    const problem = randomProblem(31, 10, 40, { l1Fraction: 0.001 });
    const capped = solve(problem, { solver: "fista", maxIter: 3, polish: false, tol: 1e-14 });
    expect(capped.converged).toBe(false);
    expect(capped.active.length).toBeGreaterThan(10);
    const g = new Float64Array(40).fill(1);
    expect(() => implicitHypergradient(problem, capped, g)).toThrow(NumericalError);
    expect(() => implicitHypergradient(problem, capped, g)).toThrow(/^the solve did not converge \(iteration cap 3 reached .*\), so its support is not the solution's: KKT system singular/);
    // converged but non-unique (|S| > m, l2 = 0): the Lasso diagnosis
    const tight = solve(problem, { tol: 1e-12 });
    if (tight.active.length > 10) expect(() => implicitHypergradient(problem, tight, g)).toThrow(/not unique/);
  });

  it("tryImplicitHypergradient on a singular system gives NaN for every declared name, vectors for per-feature ones", () => {
    const problem = randomProblem(31, 10, 40, { l1Fraction: 0.001 });
    const capped = solve(problem, { solver: "fista", maxIter: 3, polish: false, tol: 1e-14 });
    const h = tryImplicitHypergradient(problem, capped, new Float64Array(40).fill(1));
    expect(Object.keys(h.gradient).sort()).toEqual(["l1", "l2", "weights"]);
    expect(h.gradient.l1).toBeNaN();
    expect(h.gradient.l2).toBeNaN();
    const w = h.gradient.weights as Float64Array;
    expect(w).toBeInstanceOf(Float64Array);
    expect(w.length).toBe(40);
    expect(Array.from(w).every(Number.isNaN)).toBe(true);
    expect(h.nearBreakpoint).toBe(true);
    expect(h.warning).toMatch(/did not converge/);
  });

  it("solutionDerivatives: one dx/dθ per scalar hyperparameter, zero vectors on an empty support", () => {
    const problem = randomProblem(32, 20, 30, { l1Fraction: 0.2 });
    const d = solutionDerivatives(problem, solve(problem, { tol: 1e-12 }));
    expect(Object.keys(d).sort()).toEqual(["dxdl1", "dxdl2"]);
    const empty = withPenalty(problem, { l1: 2 * lambdaMax(problem) });
    const d0 = solutionDerivatives(empty, solve(empty));
    expect(Array.from(d0.dxdl1).every((v) => v === 0)).toBe(true);
    expect(d0.dxdl1.length).toBe(30);
  });

  it("weights must match by value: none against some, another length, or another value is another problem", () => {
    const base = randomProblem(33, 20, 30, { l1Fraction: 0.2 });
    const w = Float64Array.from({ length: 30 }, (_, j) => 1 + (j % 3) / 10);
    const weighted = withPenalty(base, { weights: w });
    const sol = solve(weighted, { tol: 1e-12 });
    const crit = HeldOutMse.of(base);
    expect(() => hypergradient(withPenalty(base, { weights: undefined }), sol, crit)).toThrow(/^solution:/);
    expect(() => hypergradient(weighted, { ...sol, penalty: { ...sol.penalty, weights: undefined } }, crit)).toThrow(/^solution:/);
    expect(() => hypergradient(withPenalty(base, { weights: w.subarray(1) }), sol, crit)).toThrow(/^solution:/);
    const other = Float64Array.from(w);
    other[29] *= 1.5;
    expect(() => hypergradient(withPenalty(base, { weights: other }), sol, crit)).toThrow(/^solution:/);
    other[29] = w[29];
    expect(() => hypergradient(withPenalty(base, { weights: other }), sol, crit)).not.toThrow();
  });

  it("the objective check is relative for objectives above 1", () => {
    const base = randomProblem(34, 20, 30, { l1Fraction: 0.2 });
    const big = { ...base, y: base.y.map((v) => 100 * v), penalty: { ...base.penalty, l1: 100 * base.penalty.l1 } };
    const sol = solve(big, { tol: 1e-12 });
    expect(sol.objective).toBeGreaterThan(10);
    // 5e-9 relative: inside 1e-8·|objective|, outside 1e-8 absolute
    expect(() => hypergradient(big, { ...sol, objective: sol.objective * (1 + 5e-9) }, HeldOutMse.of(big))).not.toThrow();
  });
});

describe("library entry points refuse junk with an InputError, never a TypeError or RangeError", () => {
  it("solve, tune, hypergradient, imageFromNdarray, gaussianKernel", () => {
    const problem = randomProblem(26, 20, 30, { l1Fraction: 0.3 });
    const sol = solve(problem);
    const other = solve(randomProblem(27, 12, 40, { l1Fraction: 0.3 }));
    const crit = HeldOutMse.of(problem);
    const junk = [null, undefined, 3, "problem", [], {}];
    for (const j of junk) {
      expect(inputError(() => solve(j as never)).field).toBe("problem");
      expect(inputError(() => tune(j as never)).field).toBe("problem");
      expect(inputError(() => hypergradient(j as never, sol, crit)).field).toBe("problem");
      expect(inputError(() => hypergradient(problem, j as never, crit)).field).toBe("solution");
      if (j !== undefined && !(typeof j === "object" && j !== null && !Array.isArray(j))) expect(inputError(() => solve(problem, j as never)).field).toBe("options");
      if (j !== undefined && typeof j !== "object") expect(inputError(() => imageFromNdarray(j as never)).field).toBe("image");
    }
    expect(inputError(() => imageFromNdarray(null as never)).field).toBe("image");
    expect(inputError(() => hypergradient(problem, sol, null as never)).field).toBe("criterion");
    expect(inputError(() => hypergradient(problem, other, crit)).field).toBe("solution");
    expect(inputError(() => tune(problem, { onEvent: "x" as never })).field).toBe("onEvent");
    expect(inputError(() => tune(problem, { scan: 1e9 })).field).toBe("scan");
    expect(inputError(() => gaussianKernel(1e9)).field).toBe("kernel");
  });
});
