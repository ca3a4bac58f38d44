import fc from "fast-check";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { activeSetNewton } from "../src/kkt/bordered.js";
import { constrainedCertificate, lagrangianCorrelation } from "../src/kkt/certificate.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import type { LinearOperator } from "../src/operators/operator.js";
import { penaltyOf } from "../src/penalties/index.js";
import { createProblem, type Problem } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { exact, feasibilityTarget } from "../src/solvers/finish-constrained.js";
import { enumerate, tinyConstrainedCase } from "./constrained-oracle.js";

const TOL = 1e-8;

/** The solvers' verdict at tol 1e-8 (finish-constrained's exact): stationary to rounding, within the gap target, Cx = d. */
function certifiedExact(problem: Problem): (x: Float64Array, nu: Float64Array) => boolean {
  const penalty = penaltyOf(problem), yy = problem.y.reduce((s, v) => s + v * v, 0);
  return (x, nu) => exact(constrainedCertificate(problem, x, nu), x, penalty, problem, TOL * yy, feasibilityTarget(TOL));
}

/**
 * KKT of min ½‖Ax − y‖² + l1‖x‖₁ s.t. Cx = d, x ≥ 0, written out on plain arrays: with
 * g = Aᵀ(Ax − y) + Cᵀν, g_j = −l1 where x_j > 0 and g_j ≥ −l1 where x_j = 0 (the worst
 * violation, relative to l1), x ≥ 0 and Cx = d (the worst residual, relative to |d|+1).
 */
function nonnegativeKkt(A: number[][], y: number[], l1: number, C: number[][], d: number[], x: ArrayLike<number>, nu: ArrayLike<number>): { stationarity: number; feasibility: number } {
  const m = A.length, n = A[0].length;
  const r = A.map((row, i) => row.reduce((s, a, j) => s + a * x[j], 0) - y[i]);
  let stationarity = 0;
  for (let j = 0; j < n; j++) {
    let g = 0;
    for (let i = 0; i < m; i++) g += A[i][j] * r[i];
    C.forEach((row, i) => (g += row[j] * nu[i]));
    stationarity = Math.max(stationarity, x[j] > 0 ? Math.abs(g + l1) / l1 : Math.max(0, -l1 - g) / l1, x[j] < 0 ? Infinity : 0);
  }
  const feasibility = Math.max(...C.map((row, i) => Math.abs(row.reduce((s, c, j) => s + c * x[j], 0) - d[i]) / (Math.abs(d[i]) + 1)));
  return { stationarity, feasibility };
}

describe("activeSetNewton", () => {
  it("from the solution without Cx = d (another support), the violators enter and the polish is the constrained solution", () => {
    const rng = new Random(11);
    const m = 40, n = 80, p = 3;
    const A = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal()));
    const truth = Array.from({ length: n }, (_, j) => (j % 13 === 0 ? 1 + rng.uniform() : 0));
    const y = A.map((row) => row.reduce((s, a, j) => s + a * truth[j], 0) + 0.1 * rng.normal());
    const C = Array.from({ length: p }, () => Array.from({ length: n }, () => rng.normal()));
    const d = C.map((row) => row.reduce((s, c, j) => s + c * truth[j], 0));
    const l1 = 0.05 * Math.max(...Array.from({ length: n }, (_, j) => Math.abs(A.reduce((s, row, i) => s + row[j] * y[i], 0))));
    const problem = createProblem({ A, y, penalty: { l1 }, constraints: { C, d }, bounds: { lower: 0 } });
    const start = solve(createProblem({ A, y, penalty: { l1 }, bounds: { lower: 0 } }), { tol: 1e-12 }).x;
    const out = activeSetNewton(problem, penaltyOf(problem), start, new Float64Array(p), certifiedExact(problem));
    expect(out?.accepted).toBe(true);
    const kkt = nonnegativeKkt(A, y, l1, C, d, out!.x, out!.nu);
    expect(kkt.stationarity).toBeLessThan(1e-10);
    expect(kkt.feasibility).toBeLessThan(1e-12);
  });

  it("tiny problems against enumeration: from the optimum with one free feature held at 0, that feature enters and the optimum follows; an accepted point is always the optimum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom("none", "nonnegative", "box"),
        fc.constantFrom(0.1, 1, 2), fc.constantFrom(0, 0.1), fc.integer({ min: 0, max: 2 ** 30 }), fc.nat(),
        (n, extra, pRaw, box, l1, l2, seed, pick) => {
          const p = Math.min(pRaw, n - 1), m = n + extra;
          const { A, y, C, d, lo, up, bounds } = tinyConstrainedCase(n, m, p, box, seed);
          let problem: Problem;
          try {
            problem = createProblem({ A, y, penalty: { l1, l2 }, constraints: { C, d }, ...bounds });
          } catch {
            fc.pre(false); // a zero row of C, or A with a zero column: not what this property is about
            return;
          }
          fc.pre(new SingularValueDecomposition(new Matrix(A)).rank === n); // a unique optimum
          const opt = enumerate(A, y, l1, l2, C, d, lo, up);
          // The piece of x_j: at a bound, at 0, or the sign (the enumeration's x has rounding errors).
          const piece = (x: ArrayLike<number>, l: number) => (Math.abs(x[l] - lo[l]) <= 1e-9 ? "lo" : Math.abs(x[l] - up[l]) <= 1e-9 ? "up" : Math.abs(x[l]) <= 1e-9 ? 0 : Math.sign(x[l]));
          const free = opt.x.flatMap((_, l) => (piece(opt.x, l) === 1 || piece(opt.x, l) === -1 ? [l] : []));
          fc.pre(free.length > 0);
          const j = free[pick % free.length];
          const close = (x: ArrayLike<number>) => Math.max(...opt.x.map((v, l) => Math.abs(v - x[l]))) <= 1e-9 * (1 + Math.max(...opt.x.map(Math.abs)));
          const accept = certifiedExact(problem!);
          // From the optimum with x_j = 0 (any other free set): whatever comes out, accepted means optimal.
          const x0 = Float64Array.from(opt.x);
          x0[j] = 0;
          const any = activeSetNewton(problem!, penaltyOf(problem!), x0, new Float64Array(p), accept);
          if (any?.accepted) expect(close(any.x)).toBe(true);
          // From the optimum of the problem with x_j held at 0 (by enumeration), when every other
          // feature keeps its piece there and C on its free set has rank p: its multipliers are
          // unique (the Newton ones), its KKT condition at j fails towards x*_j's piece (the
          // objective falls from 0 towards x*_j), so j enters on the optimum's free set and one
          // polish gives the optimum.
          const held = enumerate(A, y, l1, l2, C, d, lo.map((v, l) => (l === j ? 0 : v)), up.map((v, l) => (l === j ? 0 : v)));
          fc.pre(held.objective < Infinity && opt.x.every((_, l) => l === j || piece(held.x, l) === piece(opt.x, l)));
          const heldFree = free.filter((l) => l !== j);
          fc.pre(heldFree.length >= p && new SingularValueDecomposition(new Matrix(C.map((row) => heldFree.map((l) => row[l])))).rank === p);
          const out = activeSetNewton(problem!, penaltyOf(problem!), Float64Array.from(held.x), new Float64Array(p), accept);
          expect(out?.accepted).toBe(true);
          expect(close(out!.x)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("lagrangianCorrelation", () => {
  /** A dense A behind a bare operator that counts its products with Aᵀ. */
  function counted(rows: number[][]): { A: LinearOperator; products: () => number } {
    const dense = DenseMatrix.from(rows);
    let count = 0;
    const A: LinearOperator = {
      rows: dense.rows, cols: dense.cols,
      apply: (x, out) => dense.apply(x, out),
      applyT: (v, out) => (count++, dense.applyT(v, out)),
    };
    return { A, products: () => count };
  }

  it("is Aᵀ(y − Ax) − Cᵀν entry by entry, and after the certificate of the same (x, ν) costs no product with A", () => {
    const rows = [[1, 2, 0], [0, 1, -1], [3, 0, 1], [1, 1, 1]], y = [1, -2, 0.5, 3], C = [[1, 1, 1], [0, 2, -1]];
    const { A, products } = counted(rows);
    const problem = createProblem({ A, y, penalty: { l1: 0.3 }, constraints: { C, d: [1, 0.5] }, bounds: { lower: 0 } });
    const x = Float64Array.from([0.2, 0.5, 0.3]), nu = Float64Array.from([0.1, -0.7]);
    const explicit = [0, 1, 2].map((j) => rows.reduce((s, row, i) => s + row[j] * (y[i] - row.reduce((t, a, l) => t + a * x[l], 0)), 0) - C.reduce((s, row, i) => s + row[j] * nu[i], 0));
    constrainedCertificate(problem, x, nu);
    const before = products();
    const c = lagrangianCorrelation(problem, x, nu);
    expect(products()).toBe(before);
    explicit.forEach((v, j) => expect(c[j]).toBeCloseTo(v, 13));
    c[0] = 99; // a copy: the remembered products stay as they were
    expect(lagrangianCorrelation(problem, x, nu)[0]).toBeCloseTo(explicit[0], 13);
    nu[1] = 0.4;
    const moved = lagrangianCorrelation(problem, x, nu);
    expect(products()).toBe(before + 1);
    expect(moved[1]).toBeCloseTo(explicit[1] + 2 * (-0.7 - 0.4), 13);
  });
});
