/**
 * The edges of the math (issue 6, item 9; found by mutation testing): empty supports, λ at λ_max,
 * non-converged and singular solutions, criteria and penalties against their definitions, and
 * the per-feature and cross-validated hypergradients against central differences.
 */
import { describe, expect, it } from "vitest";
import {
  certificate,
  createProblem,
  CrossValidation,
  foldRows,
  ElasticNet,
  L1Penalty,
  L2Penalty,
  HeldOutMse,
  hypergradient,
  IdentityOperator,
  implicitHypergradient,
  InputError,
  lambdaMax,
  MonteCarloSure,
  NumericalError,
  solve,
  solveCoordinateDescent,
  Sure,
  tryImplicitHypergradient,
  withPenalty,
  type Problem,
  type Solution,
} from "../src/node.js";
import { Rng, denseOf, dfOracle, hardMatrix, maxDiff, residualOracle } from "./math-support.js";

const tight = (p: Problem): Solution => solve(p, { tol: 1e-14 });

function gaussianProblem(seed: number, m: number, n: number, opts: { frac?: number; l2?: number; weights?: boolean; validation?: boolean } = {}) {
  const rng = new Rng(seed);
  const A = hardMatrix(rng, m, n, "gaussian");
  const truth = Float64Array.from({ length: n }, (_, j) => (j % 5 === 0 ? rng.sign() * (1 + rng.uniform()) : 0));
  const y = A.apply(truth, new Float64Array(m)).map((v) => v + 0.1 * rng.normal());
  const weights = opts.weights ? Float64Array.from({ length: n }, () => 0.3 + 2 * rng.uniform()) : undefined;
  const vA = hardMatrix(rng, Math.max(2, m >> 1), n, "gaussian");
  const validation = opts.validation === false ? undefined : { A: vA, y: vA.apply(truth, new Float64Array(vA.rows)).map((v) => v + 0.1 * rng.normal()) };
  const base = createProblem({ A, y, ...(validation && { validation }), penalty: { l1: 1, ...(weights && { weights }) } });
  return withPenalty(base, { l1: (opts.frac ?? 0.1) * lambdaMax(base), l2: opts.l2 ?? 0 });
}

describe("λ_max and the empty support", () => {
  it("λ_max = max_j |a_jᵀy|/w_j (dense route): x = 0 at λ_max, x ≠ 0 just below; the margin is 0 there", () => {
    for (const weights of [false, true]) {
      const problem = gaussianProblem(3, 20, 30, { weights });
      const M = denseOf(problem.A);
      const w = problem.penalty.weights;
      const corr = Array.from({ length: 30 }, (_, j) => Math.abs(M.getColumn(j).reduce((s, a, i) => s + a * problem.y[i], 0)) / (w ? w[j] : 1));
      const lmax = Math.max(...corr);
      expect(Math.abs(lambdaMax(problem) - lmax)).toBeLessThanOrEqual(1e-14 * lmax);
      const at = tight(withPenalty(problem, { l1: lmax }));
      expect(at.active).toEqual([]);
      expect(Math.abs(at.complementarityMargin)).toBeLessThanOrEqual(1e-13);
      const h = hypergradient(withPenalty(problem, { l1: lmax }), at, HeldOutMse.of(problem));
      expect(h.l1).toBe(0);
      expect(h.l2).toBe(0);
      expect(h.perFeature.every((v) => v === 0)).toBe(true);
      expect(h.nearBreakpoint).toBe(true); // at λ_max the first feature is about to enter
      const above = withPenalty(problem, { l1: 2 * lmax });
      const h2 = hypergradient(above, tight(above), HeldOutMse.of(problem));
      expect(h2.nearBreakpoint).toBe(false);
      expect(tight(withPenalty(problem, { l1: 0.999 * lmax })).active.length).toBeGreaterThan(0);
    }
  });
});

describe("hypergradient preconditions and diagnostics", () => {
  it("refuses a solution of other penalties or another size (InputError)", () => {
    const problem = gaussianProblem(4, 15, 20, { l2: 0.1, weights: true });
    const sol = tight(problem);
    const crit = HeldOutMse.of(problem);
    expect(() => hypergradient(withPenalty(problem, { l1: problem.penalty.l1 * 1.01 }), sol, crit)).toThrow(InputError);
    expect(() => hypergradient(withPenalty(problem, { l2: 0.2 }), sol, crit)).toThrow(InputError);
    expect(() => hypergradient(withPenalty(problem, { weights: problem.penalty.weights!.map((w) => 1.01 * w) }), sol, crit)).toThrow(InputError);
    // equal weights in another array are the same problem
    expect(() => hypergradient(withPenalty(problem, { weights: Float64Array.from(problem.penalty.weights!) }), sol, crit)).not.toThrow();
    expect(() => implicitHypergradient(problem, { ...sol, x: sol.x.subarray(1) }, new Float64Array(20))).toThrow(InputError);
    // the forgiving variant turns only numerical failures into NaN: wrong input still throws
    expect(() => tryImplicitHypergradient(withPenalty(problem, { l2: 0.2 }), sol, new Float64Array(20))).toThrow(InputError);
  });

  it("a non-converged solution is flagged (nearBreakpoint with a warning), a converged interior one is not", () => {
    const problem = gaussianProblem(5, 30, 60, { frac: 0.05 });
    const capped = solveCoordinateDescent(problem, { maxIter: 1, tol: 1e-15, polish: false });
    expect(capped.converged).toBe(false);
    const h = tryImplicitHypergradient(problem, capped, new Float64Array(60).fill(1));
    expect(h.nearBreakpoint).toBe(true);
    expect(h.warning).toMatch(/did not converge/);
    const good = tight(problem);
    expect(good.complementarityMargin).toBeGreaterThan(1e-3);
    const hg = tryImplicitHypergradient(problem, good, new Float64Array(60).fill(1));
    expect(hg.nearBreakpoint).toBe(false);
    expect(hg.warning).toBeUndefined();
  });

  it("a singular KKT system (duplicate active columns, l2 = 0): NaN derivatives and a warning from try…, NumericalError from implicit…", () => {
    const rng = new Rng(8);
    const A = hardMatrix(rng, 10, 4, "duplicate"); // column 3 = column 0
    const problem = createProblem({ A, y: Float64Array.from({ length: 10 }, () => rng.normal()), penalty: { l1: 0.01 } });
    const base = tight(problem);
    // another solution of the same problem: the weight of column 0 shared with its copy
    const x = Float64Array.from(base.x);
    const share = x[0] !== 0 ? x[0] : x[3];
    x[0] = share / 2;
    x[3] = share / 2;
    expect(share).not.toBe(0);
    const { r, c } = residualOracle(problem, x);
    const shared: Solution = { ...base, ...certificate(problem, x, r, c), x, active: [0, 1, 2, 3].filter((j) => x[j] !== 0), signs: [0, 1, 2, 3].filter((j) => x[j] !== 0).map((j) => Math.sign(x[j])) };
    const g = new Float64Array(4).fill(1);
    expect(() => implicitHypergradient(problem, shared, g)).toThrow(NumericalError);
    const h = tryImplicitHypergradient(problem, shared, g);
    expect(Number.isNaN(h.l1) && Number.isNaN(h.l2)).toBe(true);
    expect(Array.from(h.perFeature).every(Number.isNaN)).toBe(true);
    expect(h.nearBreakpoint).toBe(true);
    expect(h.warning).toMatch(/singular/);
  });
});

describe("criteria against their definitions", () => {
  it("HeldOutMse: value = ‖A_v x − y_v‖²/m_v and its gradient = central differences, full and on a support", () => {
    const problem = gaussianProblem(6, 12, 9);
    const crit = HeldOutMse.of(problem);
    const rng = new Rng(1);
    const x = Float64Array.from({ length: 9 }, () => rng.normal());
    const V = denseOf(problem.validation!.A);
    const res = Array.from({ length: V.rows }, (_, i) => V.getRow(i).reduce((s, a, j) => s + a * x[j], 0) - problem.validation!.y[i]);
    expect(Math.abs(crit.value(x) - res.reduce((s, v) => s + v * v, 0) / V.rows)).toBeLessThanOrEqual(1e-14);
    const g = crit.gradient(x, new Float64Array(9));
    const fd = Array.from({ length: 9 }, (_, j) => {
      const at = (d: number) => crit.value(x.map((v, k) => (k === j ? v + d : v)));
      return (at(1e-6) - at(-1e-6)) / 2e-6;
    });
    expect(maxDiff(g, fd)).toBeLessThanOrEqual(1e-8);
    const part = crit.gradient(x, new Float64Array(9).fill(7), [2, 5]);
    expect([part[2], part[5]]).toEqual([g[2], g[5]]);
    expect(part[0]).toBe(7); // entries off the support are left as they were
  });

  it("HeldOutMse.reference: ‖x − truth‖²/n from `truth`, or from identity validation; refused otherwise", () => {
    const truth = [1, -2, 0.5];
    const withTruth = createProblem({ A: [[1, 0, 0], [0, 1, 0]], y: [1, 2], truth });
    const x = Float64Array.from([0.5, -1, 0]);
    const expected = (0.25 + 1 + 0.25) / 3;
    expect(HeldOutMse.reference(withTruth).value(x)).toBeCloseTo(expected, 15);
    const viaIdentity = { ...createProblem({ A: [[1, 0, 0], [0, 1, 0]], y: [1, 2] }), validation: { A: new IdentityOperator(3), y: Float64Array.from(truth) } };
    expect(HeldOutMse.reference(viaIdentity).value(x)).toBeCloseTo(expected, 15);
    expect(() => HeldOutMse.reference(createProblem({ A: [[1, 0, 0]], y: [1] }))).toThrow(InputError);
    expect(() => HeldOutMse.of(createProblem({ A: [[1, 0, 0]], y: [1] }))).toThrow(InputError);
  });

  it("Sure: σ must be positive and finite; without the gradient, value only; per-feature gradient = central differences in λ_j", () => {
    const problem = gaussianProblem(9, 25, 30, { weights: true, l2: 0.2, validation: false });
    for (const sigma of [0, -1, NaN, Infinity]) expect(() => new Sure(problem, sigma, solveCoordinateDescent)).toThrow(InputError);
    for (const sigma of [0, NaN]) expect(() => new MonteCarloSure(problem, sigma, solveCoordinateDescent)).toThrow(InputError);
    const sigma = 0.5;
    const sure = new Sure(problem, sigma, solveCoordinateDescent);
    const noGrad = sure.evaluate(problem.penalty, 1e-14, { gradient: false });
    expect(noGrad.gradient).toBeNull();
    expect(noGrad.solves).toBe(1);
    const ev = sure.evaluate(problem.penalty, 1e-14);
    // a second solve warm-started from the first: the same value up to rounding
    expect(Math.abs(ev.value - noGrad.value)).toBeLessThanOrEqual(1e-13 * Math.abs(noGrad.value));
    expect(ev.converged).toBe(true);
    const sol = tight(problem);
    expect(Math.abs(sure.lastDf - dfOracle(problem, sol.active))).toBeLessThanOrEqual(1e-12 * sol.active.length);
    const w = problem.penalty.weights!;
    for (const j of sol.active.slice(0, 3)) {
      const step = 1e-5 * problem.penalty.l1 * w[j];
      const at = (d: number) => {
        const wj = Float64Array.from(w);
        wj[j] += d / problem.penalty.l1;
        return new Sure(problem, sigma, solveCoordinateDescent).evaluate({ ...problem.penalty, weights: wj }, 1e-14, { gradient: false }).value;
      };
      const fd = (at(step) - at(-step)) / (2 * step);
      expect(Math.abs((ev.gradient!.weights as Float64Array)[j] / problem.penalty.l1 - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1e-2, Math.abs(fd)));
    }
  });

  it("MonteCarloSure: df estimate = mean over probes of εᵀA(x(y + δε) − x(y))/δ (by hand, same seed), solves = 1 + probes", () => {
    const problem = gaussianProblem(10, 20, 15, { l2: 0.3, validation: false });
    const sigma = 0.4, probes = 3;
    const mc = new MonteCarloSure(problem, sigma, solveCoordinateDescent, { probes, seed: 4, delta: 0.01 });
    const ev = mc.evaluate(problem.penalty, 1e-14, { gradient: false });
    expect(ev.solves).toBe(1 + probes);
    expect(ev.gradient).toBeNull();
    // For an elastic net with fixed support the fit is affine in y: the estimate is exactly the
    // mean of εᵀA_S H⁻¹A_Sᵀε over the probes; in expectation it is df, and MC-df converges to the
    // dense df as the number of probes grows (checked loosely: 400 probes, sd ≈ √(2 df/400)).
    const sol = tight(problem);
    const df = dfOracle(problem, sol.active);
    const many = new MonteCarloSure(problem, sigma, solveCoordinateDescent, { probes: 400, seed: 4, delta: 0.01 });
    many.evaluate(problem.penalty, 1e-12, { gradient: false });
    expect(Math.abs(many.lastDf - df)).toBeLessThanOrEqual(4 * Math.sqrt((2 * df) / 400));
    const { r } = residualOracle(problem, sol.x);
    const rss = r.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(ev.value - (rss - 20 * sigma ** 2 + 2 * sigma ** 2 * mc.lastDf))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ev.value)));
  });

  it("SURE and Monte-Carlo SURE report nearBreakpoint at λ_max (the first feature is about to enter), not inside; 4 probes by default", () => {
    const problem = gaussianProblem(16, 20, 12, { validation: false });
    const at = withPenalty(problem, { l1: lambdaMax(problem) });
    expect(new Sure(at, 0.3, solveCoordinateDescent).evaluate(at.penalty, 1e-12).nearBreakpoint).toBe(true);
    expect(new MonteCarloSure(at, 0.3, solveCoordinateDescent).evaluate(at.penalty, 1e-12).nearBreakpoint).toBe(true);
    const inside = tight(problem);
    expect(inside.complementarityMargin).toBeGreaterThan(1e-3);
    expect(new Sure(problem, 0.3, solveCoordinateDescent).evaluate(problem.penalty, 1e-12).nearBreakpoint).toBe(false);
    const mc = new MonteCarloSure(problem, 0.3, solveCoordinateDescent).evaluate(problem.penalty, 1e-12);
    expect(mc.solves).toBe(5);
    expect(mc.converged).toBe(true);
  });

  it("foldRows: K contiguous folds partitioning 0..m−1, sizes ⌊m/K⌋ or ⌈m/K⌉ with the larger first (scikit-learn's KFold); bad K refused", () => {
    for (const [m, K] of [[10, 3], [9, 3], [7, 2], [5, 5], [23, 4]]) {
      const folds = foldRows(m, K);
      expect(folds.length).toBe(K);
      expect(folds.flat()).toEqual(Array.from({ length: m }, (_, i) => i));
      const sizes = folds.map((f) => f.length);
      const big = Math.ceil(m / K), small = Math.floor(m / K);
      expect(sizes).toEqual(Array.from({ length: K }, (_, k) => (k < m % K ? big : small)));
    }
    for (const K of [1, 0, 2.5, 11]) expect(() => foldRows(10, K)).toThrow(InputError);
  });

  it("CrossValidation: the gradient (l1, l2, per feature) = central differences of its value", () => {
    const problem = gaussianProblem(12, 30, 20, { l2: 0.2, weights: true, validation: false });
    const make = () => new CrossValidation(problem, 3, solveCoordinateDescent);
    const ev = make().evaluate(problem.penalty, 1e-14);
    expect(ev.solves).toBe(3);
    expect(ev.converged).toBe(true);
    for (const key of ["l1", "l2"] as const) {
      const h = 1e-5 * problem.penalty[key];
      const at = (d: number) => make().evaluate({ ...problem.penalty, [key]: problem.penalty[key] + d }, 1e-14, { gradient: false }).value;
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs((ev.gradient![key] as number) - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1e-3, Math.abs(fd)));
    }
    const w = problem.penalty.weights!;
    const j = Array.from(ev.gradient!.weights as Float64Array).findIndex((v) => v !== 0);
    expect(j).toBeGreaterThanOrEqual(0);
    const step = 1e-5 * problem.penalty.l1 * w[j];
    const at = (d: number) => {
      const wj = Float64Array.from(w);
      wj[j] += d / problem.penalty.l1;
      return make().evaluate({ ...problem.penalty, weights: wj }, 1e-14, { gradient: false }).value;
    };
    const fd = (at(step) - at(-step)) / (2 * step);
    expect(Math.abs((ev.gradient!.weights as Float64Array)[j] / problem.penalty.l1 - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1e-3, Math.abs(fd)));
  });
});

describe("penalty and certificate edge cases", () => {
  it("ElasticNetPenalty: value by definition; prox minimises t·g(u) + ½(u − v)² (checked against neighbours)", () => {
    const rng = new Rng(13);
    const n = 12;
    const weights = Float64Array.from({ length: n }, () => 0.2 + 2 * rng.uniform());
    const pen = new ElasticNet(new L1Penalty(0.7, weights), new L2Penalty(0.4));
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const value = x.reduce((s, v, j) => s + 0.7 * weights[j] * Math.abs(v) + 0.2 * v * v, 0);
    expect(Math.abs(pen.value(x) - value)).toBeLessThanOrEqual(1e-14 * value);
    for (const t of [0.3, 2]) {
      const v = Float64Array.from({ length: n }, () => 2 * rng.normal());
      const u = pen.prox(v, t, new Float64Array(n));
      for (let j = 0; j < n; j++) {
        const phi = (z: number) => t * (0.7 * weights[j] * Math.abs(z) + 0.2 * z * z) + 0.5 * (z - v[j]) ** 2;
        for (const d of [1e-4, -1e-4]) expect(phi(u[j])).toBeLessThanOrEqual(phi(u[j] + d));
        if (Math.abs(v[j]) <= t * 0.7 * weights[j]) expect(u[j]).toBe(0);
      }
      // in place (out = v) gives the same
      expect(pen.prox(Float64Array.from(v), t, Float64Array.from(v))).toEqual(u);
    }
  });

  it("certificate: ridge (l1 = 0) has margin 1 and no inactive bound; l1 = l2 = 0 is refused", () => {
    const problem = gaussianProblem(14, 10, 6, { validation: false });
    const ridge = withPenalty(problem, { l1: 0, l2: 0.5 });
    const x = Float64Array.from([0.1, 0, -0.2, 0, 0, 0.3]);
    const { r, c } = residualOracle(ridge, x);
    const cert = certificate(ridge, x, r, c);
    expect(cert.complementarityMargin).toBe(1);
    // KKT of ridge: ∇_j = −c_j + l2 x_j must be 0 everywhere (the subdifferential of 0·|x| is {0})
    const kkt = Math.max(...Array.from(x, (v, j) => Math.abs(-c[j] + 0.5 * v)));
    expect(Math.abs(cert.kktViolation - kkt)).toBeLessThanOrEqual(1e-14);
    expect(() => certificate(withPenalty(problem, { l1: 0, l2: 0 }), x, r, c)).toThrow(InputError);
  });

  it("the Lasso dual point scales r into the dual feasible set: the gap at x = 0 equals P(0) − D(y/s) by hand", () => {
    const problem = gaussianProblem(15, 12, 8, { frac: 0.3, validation: false });
    const x = new Float64Array(8);
    const { r, c } = residualOracle(problem, x);
    const s = Math.max(1, ...Array.from(c, (v) => Math.abs(v) / problem.penalty.l1));
    expect(s).toBeGreaterThan(1);
    const yy = problem.y.reduce((a, v) => a + v * v, 0);
    const dual = yy / s - (0.5 * yy) / (s * s);
    const cert = certificate(problem, x, r, c);
    expect(Math.abs(cert.dualityGap - (0.5 * yy - dual))).toBeLessThanOrEqual(1e-14 * yy);
    expect(cert.smallestActive).toBe(Infinity);
  });
});
