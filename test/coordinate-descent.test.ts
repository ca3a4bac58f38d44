import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { InputError, NumericalError } from "../src/errors.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { lambdaMax } from "../src/penalties/index.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { IdentityOperator } from "../src/operators/identity.js";
import type { ColumnOperator } from "../src/operators/operator.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { andersonExtrapolate, andersonMemory, andersonPush, andersonReady, andersonReset } from "../src/solvers/anderson.js";
import {
  solveCoordinateDescent,
  type CoordinateDescentOptions,
  type CoordinateDescentProgress,
} from "../src/solvers/coordinate-descent.js";
import { selectSmallest } from "../src/solvers/working-set.js";
import { FIXTURES, maxAbsDiff, randomProblem, reference, relErr } from "./support.js";

const L1L2 = ["lasso-toy", "lasso-small", "enet-small", "lasso-cs-200x500"];
const load = (name: string) => loadProblemFile(join(FIXTURES, `${name}.json`));
const sumSq = (v: ArrayLike<number>) => Array.from(v).reduce((s, a) => s + a * a, 0);

/** Independent KKT check: max_j violation of a_jᵀ(y − Ax) − l2 x_j ∈ l1 w_j ∂|x_j|, by plain loops. */
function kktViolation(problem: Problem, x: Float64Array): number {
  const { A, y, penalty } = problem;
  const m = A.rows, n = A.cols;
  const r = Float64Array.from(y);
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) r[i] -= (A as DenseMatrix).get(i, j) * x[j];
  let viol = 0;
  for (let j = 0; j < n; j++) {
    let c = 0;
    for (let i = 0; i < m; i++) c += (A as DenseMatrix).get(i, j) * r[i];
    const g = c - penalty.l2 * x[j], b = penalty.l1 * (penalty.weights ? penalty.weights[j] : 1);
    viol = Math.max(viol, x[j] === 0 ? Math.abs(g) - b : Math.abs(g - b * Math.sign(x[j])));
  }
  return viol;
}

/** Run the solver and record every feature it screened out, at any outer iteration. */
function solveRecordingScreened(problem: Problem, options: CoordinateDescentOptions = {}) {
  const screened = new Set<number>();
  const log: CoordinateDescentProgress[] = [];
  const sol = solveCoordinateDescent(problem, {
    ...options,
    onIteration: (p) => {
      log.push({ ...p, screened: Uint8Array.from(p.screened) });
      p.screened.forEach((s, j) => {
        if (s) screened.add(j);
      });
    },
  });
  return { sol, screened, log };
}

describe("coordinate descent against the scikit-learn fixtures", () => {
  it.each(L1L2)("%s: x, active set and objective match, with and without polishing", (name) => {
    const problem = load(name);
    const ref = reference(name);
    const scale = Math.max(1, ...ref.x.map(Math.abs));
    const sol = solveCoordinateDescent(problem);
    expect(sol.converged).toBe(true);
    expect(sol.solver).toBe("cd");
    expect(maxAbsDiff(sol.x, ref.x)).toBeLessThanOrEqual(1e-6 * scale);
    expect(sol.active).toEqual(ref.active);
    expect(relErr(sol.objective, ref.objective)).toBeLessThanOrEqual(1e-9);
    // The coordinate-descent iterate itself (no Newton polish), solved tightly.
    const raw = solveCoordinateDescent(problem, { polish: false, tol: 1e-14 });
    expect(raw.converged).toBe(true);
    expect(raw.dualityGap).toBeLessThanOrEqual(1e-14 * sumSq(problem.y) * (1 + 1e-9));
    expect(maxAbsDiff(raw.x, ref.x)).toBeLessThanOrEqual(1e-5 * scale);
    expect(relErr(raw.objective, ref.objective)).toBeLessThanOrEqual(1e-12);
    for (const j of ref.active ?? []) expect(raw.x[j]).not.toBe(0);
  });

  it.each(L1L2)("%s: screening never discards a feature active in the reference", (name) => {
    const problem = load(name);
    const ref = reference(name);
    const { sol, screened } = solveRecordingScreened(problem, { tol: 1e-14, polish: false });
    expect(sol.converged).toBe(true);
    for (const j of ref.active ?? []) expect(screened.has(j)).toBe(false);
  });

  it("screening does discard features (so the test above is not vacuous), Lasso and elastic net", () => {
    for (const name of ["lasso-cs-200x500", "enet-small", "lasso-small"]) {
      const { screened } = solveRecordingScreened(load(name), { tol: 1e-12 });
      expect(screened.size, name).toBeGreaterThan(0);
    }
  });

  it("screening, Anderson and the working-set size change the path, not the answer", () => {
    const problem = load("lasso-cs-200x500");
    const ref = reference("lasso-cs-200x500");
    for (const options of [
      { screening: false },
      { anderson: false },
      { screening: false, anderson: false },
      { initialWorkingSet: 1 },
      { initialWorkingSet: 10_000 },
    ] satisfies CoordinateDescentOptions[]) {
      const sol = solveCoordinateDescent(problem, options);
      expect(sol.converged, JSON.stringify(options)).toBe(true);
      expect(sol.active).toEqual(ref.active);
      expect(relErr(sol.objective, ref.objective)).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe("coordinate descent on random problems (fast-check)", () => {
  const shapes = fc.record({
    seed: fc.integer({ min: 1, max: 1e9 }),
    m: fc.integer({ min: 3, max: 30 }),
    n: fc.integer({ min: 1, max: 60 }),
    frac: fc.double({ min: 0.01, max: 1.2, noNaN: true }),
    l2: fc.constantFrom(0, 0.05, 1),
    screening: fc.boolean(),
    anderson: fc.boolean(),
  });

  it("the raw iterate satisfies the KKT conditions and certifies its gap", () => {
    fc.assert(
      fc.property(shapes, ({ seed, m, n, frac, l2, screening, anderson }) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: frac, l2 });
        const tol = 1e-12;
        const sol = solveCoordinateDescent(problem, { tol, polish: false, screening, anderson });
        expect(sol.converged).toBe(true);
        expect(sol.dualityGap).toBeLessThanOrEqual(tol * sumSq(problem.y) * (1 + 1e-9) + 1e-300);
        const viol = kktViolation(problem, sol.x);
        expect(viol).toBeLessThanOrEqual(1e-4 * Math.max(1, problem.penalty.l1));
        if (frac >= 1) expect(sol.active).toEqual([]); // l1 ≥ λ_max: x = 0
      }),
      { numRuns: 80 },
    );
  });

  it("screening never discards a feature of the solution (oracle: a screening-free solve)", () => {
    fc.assert(
      fc.property(shapes, ({ seed, m, n, frac, l2 }) => {
        const problem = randomProblem(seed, m, n, { l1Fraction: Math.min(frac, 0.9), l2 });
        const oracle = solveCoordinateDescent(problem, { tol: 1e-14, screening: false });
        const { screened } = solveRecordingScreened(problem, { tol: 1e-14 });
        for (const j of oracle.active) expect(screened.has(j)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it("weighted l1 equals the unweighted problem on A·diag(1/w), mapped back (x_j = u_j / w_j)", () => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 1, max: 1e9 }), ({ seed, m, n, frac }, wseed) => {
        const base = randomProblem(seed, m, n);
        const rng = new Random(wseed);
        const w = Float64Array.from({ length: n }, () => 0.2 + 3 * rng.uniform());
        const A = base.A as DenseMatrix;
        const scaled = new Float64Array(A.data.length);
        for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) scaled[j * m + i] = A.data[j * m + i] / w[j];
        const unweighted = createProblem({ A: new DenseMatrix(m, n, scaled), y: base.y, penalty: { l1: 1 } });
        const l1 = Math.min(frac, 0.95) * lambdaMax(unweighted);
        const weighted = createProblem({ A, y: base.y, penalty: { l1, weights: w } });
        const a = solveCoordinateDescent(weighted, { tol: 1e-14 });
        const b = solveCoordinateDescent(withPenalty(unweighted, { l1 }), { tol: 1e-14 });
        expect(a.converged && b.converged).toBe(true);
        const mapped = Float64Array.from(b.x, (u, j) => u / w[j]);
        expect(maxAbsDiff(a.x, mapped)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...Array.from(mapped, Math.abs)));
        expect(relErr(a.objective, b.objective)).toBeLessThanOrEqual(1e-9);
      }),
      { numRuns: 40 },
    );
  });
});

/** An elastic net m×4m (Gaussian A/√m, Gaussian y) at l1 = 0.05·λ_max: supports of 100-300 features. */
function wideElasticNet(seed: number, m: number, l2: number): Problem {
  const rng = new Random(seed);
  const n = 4 * m;
  const A = new DenseMatrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m)));
  const base = createProblem({ A, y: Float64Array.from({ length: m }, () => rng.normal()), penalty: { l1: 1 } });
  return withPenalty(base, { l1: 0.05 * lambdaMax(base), l2 });
}

describe("coordinate descent on elastic nets with large supports", () => {
  // Seeds where Anderson steps left a coefficient that had just reached 0 at ~1e-8 (found by a search).
  const cases: [number, number, number][] = [[14, 120, 1], [20, 40, 1], [29, 120, 1], [38, 100, 1], [41, 60, 1]];

  it.each(cases)("seed %i (m = %i, l2 = %d): the unpolished iterate at tol 1e-8 has the exact support (no near-zero leftovers)", (seed, m, l2) => {
    const problem = wideElasticNet(seed, m, l2);
    const exact = solveCoordinateDescent(problem, { tol: 1e-14 });
    expect(kktViolation(problem, exact.x)).toBeLessThanOrEqual(1e-12); // x* by the oracle
    const raw = solveCoordinateDescent(problem, { tol: 1e-8, polish: false });
    expect(raw.converged).toBe(true);
    expect(raw.active).toEqual(exact.active);
    expect(raw.signs).toEqual(exact.signs);
  });

  it("seed 28 (m = 100): a coefficient within 2.4e-7 of 0 at tol 1e-8; by default the solver goes on until the gap proves the support, which is then exact", () => {
    const problem = wideElasticNet(28, 100, 0.5);
    const exact = solveCoordinateDescent(problem, { tol: 1e-14 });
    expect(kktViolation(problem, exact.x)).toBeLessThanOrEqual(1e-12);
    const raw = solveCoordinateDescent(problem, { tol: 1e-8, polish: false });
    expect(raw.active.length).toBe(exact.active.length + 1); // the hard case: tol 1e-8 alone does not settle it
    const sol = solveCoordinateDescent(problem, { tol: 1e-8 });
    expect(sol.converged).toBe(true);
    expect(sol.active).toEqual(exact.active);
    expect(sol.signs).toEqual(exact.signs);
    expect(sol.dualityGap).toBeLessThan(raw.dualityGap);
  });

  it("the first working set holds every violator of x = 0 (|a_jᵀy| > l1 w_j, counted by hand), not a doubling from 30", () => {
    const problem = wideElasticNet(14, 120, 1);
    const { A, y, penalty } = problem;
    let violators = 0;
    for (let j = 0; j < A.cols; j++) {
      let c = 0;
      for (let i = 0; i < A.rows; i++) c += (A as DenseMatrix).get(i, j) * y[i];
      if (Math.abs(c) > penalty.l1) violators++;
    }
    const { log } = solveRecordingScreened(problem, { tol: 1e-8 });
    expect(violators).toBeGreaterThan(100);
    expect(log[0].workingSetSize).toBeGreaterThanOrEqual(violators);
    expect(log.length).toBeLessThanOrEqual(4); // outer iterations (measured: 3)
  });

  it("its certificate is that of x on every feature, screened ones included (oracles by hand): a margin set by screened features", () => {
    // Tiny and tight: every inactive feature is screened, so the margin comes from screened ones only.
    for (const name of ["enet-small", "lasso-small", "lasso-cs-200x500"]) {
      const problem = load(name);
      const { sol, screened } = solveRecordingScreened(problem, { tol: 1e-13, polish: false });
      const { A, y, penalty } = problem;
      const m = A.rows, n = A.cols;
      const r = Float64Array.from(y);
      for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) r[i] -= (A as DenseMatrix).get(i, j) * sol.x[j];
      let margin = 1;
      for (let j = 0; j < n; j++) {
        if (sol.x[j] !== 0) continue;
        let c = 0;
        for (let i = 0; i < m; i++) c += (A as DenseMatrix).get(i, j) * r[i];
        const b = penalty.l1 * (penalty.weights ? penalty.weights[j] : 1);
        margin = Math.min(margin, (b - Math.abs(c)) / b);
      }
      expect(screened.size, name).toBeGreaterThan(0);
      expect(Math.abs(sol.complementarityMargin - margin), name).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(sol.kktViolation - kktViolation(problem, sol.x)), name).toBeLessThanOrEqual(1e-12);
      expect(relErr(sol.objective, 0.5 * sumSq(r) + Array.from(sol.x).reduce((acc, v) => acc + penalty.l1 * Math.abs(v) + 0.5 * penalty.l2 * v * v, 0)), name).toBeLessThanOrEqual(1e-13);
    }
  });
});

describe("coordinate descent: warm starts, caps and inputs", () => {
  it("a warm start from the solution converges in at most 2 outer iterations and is not mutated", () => {
    for (const name of L1L2) {
      const problem = load(name);
      const first = solveCoordinateDescent(problem);
      const warm = Float64Array.from(first.x);
      const again = solveCoordinateDescent(problem, { warmStart: warm });
      expect(again.converged).toBe(true);
      expect(again.iterations).toBeLessThanOrEqual(2);
      expect(warm).toEqual(first.x);
      expect(again.x).not.toBe(warm);
      // also from the unpolished iterate
      const raw = solveCoordinateDescent(problem, { polish: false });
      const again2 = solveCoordinateDescent(problem, { warmStart: raw.x, polish: false });
      expect(again2.iterations).toBeLessThanOrEqual(2);
    }
  });

  it("a warm start from a nearby λ needs fewer outer iterations than a cold start", () => {
    const problem = load("lasso-cs-200x500");
    const near = solveCoordinateDescent(withPenalty(problem, { l1: problem.penalty.l1 * 1.1 }));
    const cold = solveCoordinateDescent(problem);
    const warm = solveCoordinateDescent(problem, { warmStart: near.x });
    expect(warm.converged).toBe(true);
    expect(warm.iterations).toBeLessThan(cold.iterations);
    expect(warm.active).toEqual(cold.active);
  });

  it("the iteration cap gives converged = false and says why", () => {
    const problem = load("lasso-cs-200x500");
    for (const maxIter of [0, 1]) {
      const sol = solveCoordinateDescent(problem, { maxIter, tol: 1e-15, polish: false });
      expect(sol.converged).toBe(false);
      expect(sol.iterations).toBe(maxIter);
      expect(sol.message).toMatch(/^iteration cap \d+ reached \(duality gap \S+ > tol·‖y‖² = \S+\)$/);
    }
    // tol below the floating-point floor of the gap: stops on its own, says so.
    const floor = solveCoordinateDescent(problem, { tol: 0, polish: false });
    expect(floor.converged).toBe(false);
    expect(floor.message).toMatch(/^no progress in \d+ outer iterations at the floating-point floor .*\(duality gap \S+ > tol·‖y‖² = \S+\)$/);
  });

  it("l1 ≥ λ_max: x = 0 is certified without any working-set solve", () => {
    const problem = load("lasso-small");
    const sol = solveCoordinateDescent(withPenalty(problem, { l1: lambdaMax(problem) * 1.0001 }));
    expect(sol.converged).toBe(true);
    expect(sol.iterations).toBe(0);
    expect(sol.active).toEqual([]);
  });

  it("rejects TV, constraints and malformed warm starts with InputError", () => {
    const problem = load("lasso-small");
    expect(() => solveCoordinateDescent(withPenalty(problem, { tv: 0.1 }))).toThrow(InputError);
    expect(() => solveCoordinateDescent(withPenalty(problem, { tv: 0.1 }))).toThrow(
      /^penalty\.tv: the cd solver handles l1\/l2 penalties only/,
    );
    expect(() => solveCoordinateDescent(load("constrained-small"))).toThrow(InputError);
    expect(() => solveCoordinateDescent(withPenalty(problem, { l1: 0, l2: 0 }))).toThrow(/^penalty: expected a positive l1 or l2/);
    expect(() => solveCoordinateDescent(problem, { warmStart: new Float64Array(3) })).toThrow(/options\.warmStart/);
    expect(() => solveCoordinateDescent(problem, { warmStart: new Float64Array(60).fill(NaN) })).toThrow(InputError);
  });

  it("y = 0 gives x = 0 at once, even from a non-zero warm start; l1 = 0 < l2 is ridge regression", () => {
    const problem = load("lasso-small");
    const zero = solveCoordinateDescent({ ...problem, y: new Float64Array(problem.y.length) }, { warmStart: new Float64Array(60).fill(1) });
    expect(zero.converged).toBe(true);
    expect(zero.iterations).toBe(0);
    expect(zero.active).toEqual([]);
    // ridge oracle: (AᵀA + l2 I) x = Aᵀy by normal equations, solved here by plain Gauss–Jordan
    const A = problem.A as DenseMatrix, n = A.cols, m = A.rows, l2 = 0.3;
    const ridge = solveCoordinateDescent(withPenalty(problem, { l1: 0, l2 }), { tol: 1e-14 });
    const G = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n + 1 }, (_, j) => {
        let s = 0;
        for (let k = 0; k < m; k++) s += A.get(k, i) * (j < n ? A.get(k, j) : problem.y[k]);
        return s + (i === j ? l2 : 0);
      }),
    );
    for (let c = 0; c < n; c++) {
      for (let r = 0; r < n; r++) {
        if (r === c) continue;
        const f = G[r][c] / G[c][c];
        for (let k = c; k <= n; k++) G[r][k] -= f * G[c][k];
      }
    }
    const exact = G.map((row, i) => row[n] / row[i]);
    expect(ridge.converged).toBe(true);
    expect(maxAbsDiff(ridge.x, exact)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...exact.map(Math.abs)));
  });

  it("zero columns stay at 0 and do not break the solve", () => {
    const base = randomProblem(7, 20, 15, { l1Fraction: 0.1 });
    const A = base.A as DenseMatrix;
    const data = Float64Array.from(A.data);
    data.fill(0, 3 * 20, 4 * 20);
    const problem = createProblem({ A: new DenseMatrix(20, 15, data), y: base.y, penalty: base.penalty });
    const warmStart = new Float64Array(15).fill(0.5);
    const sol = solveCoordinateDescent(problem, { warmStart, tol: 1e-12 });
    expect(sol.converged).toBe(true);
    expect(sol.x[3]).toBe(0);
    expect(kktViolation(problem, sol.x)).toBeLessThanOrEqual(1e-5);
  });
});

describe("coordinate descent on operators that are not a DenseMatrix", () => {
  it("identity (denoising): x = ST(y, l1)/(1 + l2), the closed form", () => {
    const rng = new Random(3);
    const y = Float64Array.from({ length: 50 }, () => rng.normal());
    for (const l2 of [0, 0.7]) {
      const problem = createProblem({ A: new IdentityOperator(50), y, penalty: { l1: 0.6, l2 } });
      const sol = solveCoordinateDescent(problem, { polish: false, tol: 1e-14 });
      expect(sol.converged).toBe(true);
      const expected = Array.from(y, (v) => (Math.sign(v) * Math.max(Math.abs(v) - 0.6, 0)) / (1 + l2));
      expect(maxAbsDiff(sol.x, expected)).toBeLessThanOrEqual(1e-10);
    }
  });

  it("a generic ColumnOperator gives the DenseMatrix answer", () => {
    const problem = load("lasso-cs-200x500");
    const dense = problem.A as DenseMatrix;
    const wrapped: ColumnOperator = {
      rows: dense.rows,
      cols: dense.cols,
      apply: (x, out) => dense.apply(x, out),
      applyT: (v, out) => dense.applyT(v, out),
      columnDot: (j, v) => dense.columnDot(j, v),
      columnAxpy: (j, a, v) => dense.columnAxpy(j, a, v),
      columnInner: (i, j) => dense.columnInner(i, j),
      columnNormsSquared: () => dense.columnNormsSquared(),
    };
    const a = solveCoordinateDescent(problem);
    const b = solveCoordinateDescent({ ...problem, A: wrapped });
    expect(b.converged).toBe(true);
    expect(b.active).toEqual(a.active);
    expect(maxAbsDiff(a.x, b.x)).toBeLessThanOrEqual(1e-9);
  });
});

describe("working-set and Anderson helpers", () => {
  it("selectSmallest puts the k smallest scores first (ties included)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }),
        fc.nat(),
        (values, kk) => {
          const scores = Float64Array.from(values, (v) => (v === -5 ? -Infinity : v));
          const count = scores.length, k = kk % (count + 1);
          const idx = Int32Array.from({ length: count }, (_, i) => i);
          selectSmallest(idx, count, scores, k);
          expect(Array.from(idx).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
          const sorted = Array.from(scores).sort((a, b) => a - b);
          const chosen = Array.from(idx.subarray(0, k), (j) => scores[j]).sort((a, b) => a - b);
          expect(chosen).toEqual(sorted.slice(0, k));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("Anderson extrapolation of a linear contraction lands far closer to the fixed point, residual consistent", () => {
    // x ← Mx + b, fixed point x* = (I − M)⁻¹ b; the residual r = x − x* is affine in x, as y − Ax is.
    const dim = 4, K = 4;
    const M = [0.5, 0.1, 0, 0.05, -0.2, 0.6, 0.1, 0, 0, 0.1, 0.7, 0.2, 0.1, 0, -0.1, 0.4];
    const b = [1, -2, 0.5, 3];
    const step = (v: Float64Array) =>
      Float64Array.from({ length: dim }, (_, i) => b[i] + v.reduce((s, vj, j) => s + M[i * dim + j] * vj, 0));
    let star = new Float64Array(dim);
    for (let t = 0; t < 3000; t++) star = step(star);
    const ws = Int32Array.from([0, 1, 2, 3]);
    const acc = andersonMemory(K, dim, dim);
    andersonReset(acc, dim);
    let x: Float64Array = new Float64Array(dim);
    for (let t = 0; t <= K; t++) {
      x = step(x);
      andersonPush(acc, x, ws, Float64Array.from(x, (v, i) => v - star[i]));
    }
    expect(andersonReady(acc)).toBe(true);
    const outX = new Float64Array(dim), outR = new Float64Array(dim);
    expect(andersonExtrapolate(acc, outX, outR)).toBe(true);
    expect(andersonReady(acc)).toBe(false);
    const lastErr = maxAbsDiff(x, star), accErr = maxAbsDiff(outX, star);
    expect(accErr).toBeLessThanOrEqual(0.25 * lastErr); // numpy: 0.0987 vs 0.510
    expect(maxAbsDiff(outR, Float64Array.from(outX, (v, i) => v - star[i]))).toBeLessThanOrEqual(1e-12);
  });

  it("Anderson declines a singular system (converged iterates)", () => {
    const acc = andersonMemory(3, 2, 2);
    andersonReset(acc, 2);
    const x = Float64Array.from([1, 2]);
    for (let t = 0; t < 4; t++) andersonPush(acc, x, Int32Array.from([0, 1]), x);
    expect(andersonExtrapolate(acc, new Float64Array(2), new Float64Array(2))).toBe(false);
  });
});

describe("a warm start from where the last solve on the matrix stopped", () => {
  /** The same problem on a copy of A (another matrix: nothing kept from earlier solves). */
  const onCopy = (p: Problem) => createProblem({ A: new DenseMatrix(p.A.rows, p.A.cols, Float64Array.from((p.A as DenseMatrix).data)), y: p.y, penalty: p.penalty });
  const same = (a: ReturnType<typeof solveCoordinateDescent>, b: ReturnType<typeof solveCoordinateDescent>) => {
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect([a.iterations, a.dualityGap, a.kktViolation, a.complementarityMargin, a.converged]).toEqual([b.iterations, b.dualityGap, b.kktViolation, b.complementarityMargin, b.converged]);
  };

  it("reuses its correlations only for that x and y: the same solve as one that sweeps A (Lasso, elastic net, screening on and off)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(0, 0.1), fc.boolean(), (seed, l2Fraction, screening) => {
        const base = randomProblem(seed, 25, 60, { k: 4, noise: 0.1 });
        const lmax = lambdaMax(base);
        const at = (f: number, p: Problem = base) => withPenalty(p, { l1: f * lmax, l2: l2Fraction * lmax });
        const options = { tol: 1e-9, polish: false, screening } as const;
        const first = solveCoordinateDescent(at(0.3), options);
        // Warm from the stopped x (a copy, as a worker receives it): kept correlations against a fresh sweep.
        same(solveCoordinateDescent(at(0.1), { ...options, warmStart: Float64Array.from(first.x) }), solveCoordinateDescent(onCopy(at(0.1)), { ...options, warmStart: first.x }));
        // Another y on the same matrix, or another x: nothing kept applies.
        const otherY = createProblem({ A: base.A, y: base.y.map((v) => v + 0.01), penalty: at(0.1).penalty });
        solveCoordinateDescent(at(0.3), options);
        same(solveCoordinateDescent(otherY, { ...options, warmStart: first.x }), solveCoordinateDescent(onCopy(otherY), { ...options, warmStart: first.x }));
        const nudged = Float64Array.from(first.x, (v) => 0.5 * v);
        solveCoordinateDescent(at(0.3), options);
        same(solveCoordinateDescent(at(0.1), { ...options, warmStart: nudged }), solveCoordinateDescent(onCopy(at(0.1)), { ...options, warmStart: nudged }));
      }),
      { numRuns: 30 },
    );
  });
});
