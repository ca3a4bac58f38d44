/**
 * Tests written against the mutants Stryker left alive in the math folders (`npm run mutation`):
 * each checks a documented behaviour against an independent route (a dense solve, a by-hand
 * fold split, the definitions), not the code against itself.
 */
import { describe, expect, it } from "vitest";
import { Matrix, inverse } from "ml-matrix";
import {
  ActiveSetMatrix,
  certificate,
  createProblem,
  CrossValidation,
  foldRows,
  HeldOutMse,
  hypergradient,
  IdentityOperator,
  InputError,
  lambdaMax,
  MonteCarloSure,
  NumericalError,
  solutionDerivatives,
  solve,
  solveCoordinateDescent,
  Sure,
  withPenalty,
  type Problem,
  type Solution,
  type SolveOptions,
} from "../src/node.js";
import { Rng, constructedProblem, denseOf, hardMatrix, residualOracle } from "./math-support.js";

const tight = (p: Problem): Solution => solve(p, { tol: 1e-14 });

function gaussian(seed: number, m: number, n: number, l2 = 0, frac = 0.1) {
  const rng = new Rng(seed);
  const A = hardMatrix(rng, m, n, "gaussian");
  const truth = Float64Array.from({ length: n }, (_, j) => (j % 4 === 0 ? rng.sign() * (1 + rng.uniform()) : 0));
  const y = A.apply(truth, new Float64Array(m)).map((v) => v + 0.1 * rng.normal());
  const base = createProblem({ A, y, penalty: { l1: 1 } });
  return withPenalty(base, { l1: frac * lambdaMax(base), l2 });
}

/** dL/dl1 = −(H⁻¹g_S)ᵀs with H = A_SᵀA_S + l2 I by an explicit ml-matrix inverse. */
function denseDl1(problem: Problem, sol: Solution, g: Float64Array): number {
  const AS = denseOf(problem.A).subMatrixColumn(sol.active);
  const H = AS.transpose().mmul(AS).add(Matrix.eye(sol.active.length).mul(problem.penalty.l2));
  const v = inverse(H).mmul(Matrix.columnVector(sol.active.map((j) => g[j]))).to1DArray();
  return -v.reduce((s, vi, a) => s + vi * sol.signs[a], 0);
}

describe("the KKT systems of successive supports on one operator", () => {
  it("a support that grows by a feature at its end (S then S ∪ {j}, same A and l2): each hypergradient matches the dense route", () => {
    let checked = 0;
    for (let seed = 1; seed <= 12 && checked < 3; seed++) {
      const rng = new Rng(seed);
      const A = hardMatrix(rng, 25, 12, "gaussian");
      const built = constructedProblem(rng, A, { k: 4, l1: 0.5, level: 1 });
      if (!built || built.otherRatio > 0.95) continue;
      const vA = hardMatrix(rng, 10, 12, "gaussian");
      const crit = new HeldOutMse({ A: vA, y: Float64Array.from({ length: 10 }, () => rng.normal()) });
      const first = built.problem;
      const s1 = tight(first);
      const g1 = crit.gradient(s1.x, new Float64Array(12));
      expect(Math.abs(hypergradient(first, s1, crit).l1 - denseDl1(first, s1, g1))).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(denseDl1(first, s1, g1))));
      // just below the kink the edge feature (index ≥ 4) enters: S' = S ∪ {edge} with S a prefix of S'
      const second = withPenalty(first, { l1: 0.5 * (1 - 1e-3) });
      const s2 = tight(second);
      if (s2.active.length !== 5 || s2.active[4] !== built.edge) continue;
      const g2 = crit.gradient(s2.x, new Float64Array(12));
      const oracle = denseDl1(second, s2, g2);
      expect(Math.abs(hypergradient(second, s2, crit).l1 - oracle)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(oracle)));
      const { dxdl1 } = solutionDerivatives(second, s2);
      expect(dxdl1[built.edge]).not.toBe(0);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("ActiveSetMatrix (public) on singular and square systems", () => {
  it("l2 = 0 with more active features than rows is refused up front; exactly as many (full rank) is solved", () => {
    const problem = gaussian(2, 10, 20);
    expect(() => new ActiveSetMatrix(problem.A, Array.from({ length: 11 }, (_, a) => a), new Float64Array(11))).toThrow(/11 active features but only 10 measurements/);
    const square = new ActiveSetMatrix(problem.A, Array.from({ length: 10 }, (_, a) => a), new Float64Array(10));
    const b = Float64Array.from({ length: 10 }, (_, a) => a + 1);
    const x = square.solve(b);
    const AS = denseOf(problem.A).subMatrixColumn(Array.from({ length: 10 }, (_, a) => a));
    const expected = inverse(AS.transpose().mmul(AS)).mmul(Matrix.columnVector(Array.from(b))).to1DArray();
    expect(Math.max(...x.map((v, a) => Math.abs(v - expected[a])))).toBeLessThanOrEqual(1e-8 * Math.max(...expected.map(Math.abs)));
  });

  it("forced CG on a singular system says that CG stalled; the default falls back to Cholesky, which names the dependent columns", () => {
    const rng = new Rng(5);
    const A = hardMatrix(rng, 12, 4, "duplicate"); // column 3 = column 0
    const problem = createProblem({ A, y: Float64Array.from({ length: 12 }, () => rng.normal()), penalty: { l1: 0.1 } });
    const b = Float64Array.from([1, 2, 3, 4]);
    expect(() => new ActiveSetMatrix(problem.A, [0, 1, 2, 3], new Float64Array(4), "cg").solve(b)).toThrow(/conjugate gradients stalled/);
    expect(() => new ActiveSetMatrix(problem.A, [0, 1, 2, 3], new Float64Array(4), "cg").solve(b)).toThrow(NumericalError);
    expect(() => new ActiveSetMatrix(problem.A, [0, 1, 2, 3], new Float64Array(4)).solve(b)).toThrow(/linearly dependent/);
  });
});

describe("diagnostics of the hypergradient", () => {
  it("the warning names the reason: an inactive feature at its threshold, an active coefficient nearly zero; none inside a piece", () => {
    const problem = gaussian(3, 20, 30);
    const crit = new HeldOutMse({ A: problem.A, y: problem.y });
    const lmax = lambdaMax(problem);
    const atMax = withPenalty(problem, { l1: lmax });
    const h = hypergradient(atMax, tight(atMax), crit);
    expect(h.warning).toMatch(/^active set close to changing: an inactive feature is at its threshold \(margin .*\); the hypergradient is one-sided there$/);
    expect(solutionDerivatives(atMax, tight(atMax)).dxdl1.every((v) => v === 0)).toBe(true);
    let built: ReturnType<typeof constructedProblem> = null;
    for (let seed = 4; built === null; seed++) {
      const rng = new Rng(seed);
      built = constructedProblem(rng, hardMatrix(rng, 20, 10, "gaussian"), { k: 3, l1: 0.5, level: 0.5, tiny: 1e-9 });
    }
    const s = tight(built!.problem);
    expect(s.active.length).toBe(3);
    // (a criterion of the built problem's size: `crit` has 30 columns, whose gradient at this x is not finite)
    expect(hypergradient(built!.problem, s, new HeldOutMse({ A: built!.problem.A, y: built!.problem.y })).warning).toMatch(/an active coefficient is nearly zero/);
    expect(() => hypergradient(built!.problem, s, crit)).toThrow(/^criterion: expected a criterion of this problem/);
    const inside = tight(problem);
    expect(hypergradient(problem, inside, crit).warning).toBeUndefined();
    expect(() => hypergradient(withPenalty(problem, { l1: 1 }), inside, crit)).toThrow(/^solution: expected a solution of this problem with these penalties$/);
  });

  it("error messages name the field and what was expected", () => {
    const problem = gaussian(6, 12, 8);
    expect(() => new Sure(problem, -1, solveCoordinateDescent)).toThrow(/^sigma: expected a positive noise level, got -1$/);
    expect(() => foldRows(10, 1)).toThrow(/^folds: expected an integer ≥ 2, got 1$/);
    expect(() => foldRows(10, 11)).toThrow(/^folds: expected at most 10 folds \(the rows of A\), got 11$/);
    expect(() => HeldOutMse.of(problem)).toThrow(/^validation: expected validation measurements/);
    expect(() => HeldOutMse.reference(problem)).toThrow(/^truth: expected a clean reference signal/);
    const x = new Float64Array(8), { r, c } = residualOracle(problem, x);
    expect(() => certificate(withPenalty(problem, { l1: 0, l2: 0 }), x, r, c)).toThrow(/^penalty: expected a positive l1 or l2/);
    // criterion names are the keys the tuner and the CLI report
    expect(new Sure(problem, 1, solveCoordinateDescent).name).toBe("sure");
    expect(new MonteCarloSure(problem, 1, solveCoordinateDescent).name).toBe("sure-mc");
    expect(new CrossValidation(problem, 3, solveCoordinateDescent).name).toBe("cv");
    expect(new HeldOutMse({ A: problem.A, y: problem.y }).name).toBe("heldout");
    const withTruth = { ...problem, truth: new Float64Array(8) };
    expect(HeldOutMse.reference(withTruth).name).toBe("reference");
    expect(HeldOutMse.reference({ ...problem, validation: { A: new IdentityOperator(8), y: new Float64Array(8) } }).name).toBe("reference");
  });
});

describe("criteria bookkeeping: convergence, breakpoints and iteration counts are passed on", () => {
  const capped = (p: Problem, o: SolveOptions = {}) => solveCoordinateDescent(p, { ...o, maxIter: 1, polish: false });

  it("a fold, a probe or the solve that does not converge makes the evaluation not converged", () => {
    const problem = gaussian(7, 30, 40, 0.1, 0.05);
    expect(new CrossValidation(problem, 3, capped).evaluate(problem.penalty, 1e-15).converged).toBe(false);
    expect(new Sure(problem, 0.5, capped).evaluate(problem.penalty, 1e-15).converged).toBe(false);
    let calls = 0;
    const probeOnly = (p: Problem, o: SolveOptions = {}) => (calls++ === 0 ? solveCoordinateDescent(p, o) : capped(p, o));
    const mc = new MonteCarloSure(problem, 0.5, probeOnly, { probes: 2 }).evaluate(problem.penalty, 1e-15);
    expect(mc.converged).toBe(false);
    const ok = new MonteCarloSure(problem, 0.5, solveCoordinateDescent, { probes: 2 }).evaluate(problem.penalty, 1e-12);
    expect(ok.converged).toBe(true);
    // every solve (the base and each probe, each fold) counts its iterations
    expect(ok.innerIterations).toBeGreaterThanOrEqual(3);
    const cv = new CrossValidation(problem, 3, solveCoordinateDescent).evaluate(problem.penalty, 1e-12);
    expect(cv.innerIterations).toBeGreaterThanOrEqual(3);
  });

  it("nearBreakpoint: false inside a piece with or without the gradient; CV flags a single fold at its λ_max", () => {
    const problem = gaussian(8, 30, 20, 0.1, 0.2);
    for (const withGradient of [true, false]) {
      expect(new Sure(problem, 0.5, solveCoordinateDescent).evaluate(problem.penalty, 1e-12, withGradient).nearBreakpoint).toBe(false);
      expect(new MonteCarloSure(problem, 0.5, solveCoordinateDescent).evaluate(problem.penalty, 1e-12, withGradient).nearBreakpoint).toBe(false);
      expect(new CrossValidation(problem, 3, solveCoordinateDescent).evaluate(problem.penalty, 1e-12, withGradient).nearBreakpoint).toBe(false);
    }
    // λ = the largest of the folds' own λ_max (computed here from the training rows): that fold
    // sits at its breakpoint, the others are strictly inside (x = 0 with margin > 0)
    const M = denseOf(problem.A);
    const foldLmax = foldRows(30, 3).map((held) => {
      const rows = Array.from({ length: 30 }, (_, i) => i).filter((i) => !held.includes(i));
      return Math.max(...Array.from({ length: 20 }, (_, j) => Math.abs(rows.reduce((s, i) => s + M.get(i, j) * problem.y[i], 0))));
    });
    const top = Math.max(...foldLmax);
    expect(foldLmax.filter((v) => v > top * (1 - 1e-3)).length).toBe(1);
    const ev = new CrossValidation(problem, 3, solveCoordinateDescent).evaluate({ ...problem.penalty, l1: top }, 1e-12);
    expect(ev.nearBreakpoint).toBe(true);
  });

  it("CrossValidation's value = the mean over folds of the held-out MSE of a solve on the other rows (folds split here by hand)", () => {
    const problem = gaussian(9, 24, 15, 0.2, 0.15);
    const M = denseOf(problem.A);
    let mean = 0;
    for (const held of foldRows(24, 4)) {
      const train = Array.from({ length: 24 }, (_, i) => i).filter((i) => !held.includes(i));
      const sub = (rows: number[]) => rows.map((i) => M.getRow(i));
      const p = createProblem({ A: sub(train), y: train.map((i) => problem.y[i]), penalty: problem.penalty });
      const x = tight(p).x;
      const crit = new HeldOutMse({ A: createProblem({ A: sub(held), y: held.map((i) => problem.y[i]) }).A, y: Float64Array.from(held, (i) => problem.y[i]) });
      mean += crit.value(x) / 4;
    }
    const ev = new CrossValidation(problem, 4, solveCoordinateDescent).evaluate(problem.penalty, 1e-14, false);
    expect(Math.abs(ev.value - mean)).toBeLessThanOrEqual(1e-12 * mean);
  });
});
