import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Matrix, solve as mlSolve } from "ml-matrix";
import { DenseMatrix } from "../src/operators/dense.js";
import { IdentityOperator } from "../src/operators/identity.js";
import { dotTest } from "../src/operators/dot-test.js";
import { columnNormSquared } from "../src/operators/operator.js";
import { selectRows } from "../src/operators/rows.js";
import { ElasticNet, L1Penalty, L2Penalty } from "../src/penalties/index.js";
import { Cholesky } from "../src/linalg/cholesky.js";
import { conjugateGradient } from "../src/linalg/cg.js";
import { createProblem } from "../src/problem.js";
import { InputError } from "../src/errors.js";
import { maxAbsDiff } from "./support.js";

const finite = fc.double({ min: -10, max: 10, noNaN: true });
const matrix = fc
  .record({ m: fc.integer({ min: 1, max: 12 }), n: fc.integer({ min: 1, max: 12 }) })
  .chain(({ m, n }) => fc.record({
    rows: fc.array(fc.array(finite, { minLength: n, maxLength: n }), { minLength: m, maxLength: m }),
    x: fc.array(finite, { minLength: n, maxLength: n }),
    y: fc.array(finite, { minLength: m, maxLength: m }),
  }));

describe("operators", () => {
  it("dense matrices pass the dot test and agree with ml-matrix products", () => {
    fc.assert(
      fc.property(matrix, ({ rows, x, y }) => {
        const A = DenseMatrix.from(rows);
        const xv = Float64Array.from(x), yv = Float64Array.from(y);
        expect(dotTest(A, xv, yv)).toBeLessThan(1e-12);
        const ml = new Matrix(rows);
        const ax = ml.mmul(Matrix.columnVector(x)).getColumn(0);
        expect(maxAbsDiff(A.apply(xv, new Float64Array(A.rows)), ax)).toBeLessThanOrEqual(1e-9);
        const aty = ml.transpose().mmul(Matrix.columnVector(y)).getColumn(0);
        expect(maxAbsDiff(A.applyT(yv, new Float64Array(A.cols)), aty)).toBeLessThanOrEqual(1e-9);
      }),
    );
  });

  it("number[][], ml-matrix, and flat C / Fortran arrays build the same matrix", () => {
    fc.assert(
      fc.property(matrix, ({ rows }) => {
        const m = rows.length, n = rows[0].length;
        const fromRows = DenseMatrix.from(rows);
        const fromMl = DenseMatrix.from(new Matrix(rows));
        const cOrder = DenseMatrix.fromArray(m, n, rows.flat(), "C");
        const fOrder = DenseMatrix.fromArray(m, n, Array.from({ length: m * n }, (_, k) => rows[k % m][Math.floor(k / m)]), "F");
        for (const B of [fromMl, cOrder, fOrder]) expect(Array.from(B.data)).toEqual(Array.from(fromRows.data));
        expect(fromRows.get(m - 1, n - 1)).toBe(rows[m - 1][n - 1]);
        expect(fromRows.toMatrix().to2DArray()).toEqual(rows);
      }),
    );
  });

  it("the identity passes the dot test", () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 20 }), (x) => {
        const v = Float64Array.from(x);
        expect(dotTest(new IdentityOperator(v.length), v, v.map((t) => t * 2 - 1))).toBeLessThan(1e-15);
      }),
    );
  });

  it("columnNormSquared: Σ_i A_ij² with column access, and through A e_j for a bare operator", () => {
    const rows = [[1, -2, 0], [3, 0.5, -1], [0, 4, 2]];
    const A = DenseMatrix.from(rows);
    const bare = { rows: 3, cols: 3, apply: A.apply.bind(A), applyT: A.applyT.bind(A) };
    for (let j = 0; j < 3; j++) {
      const expected = rows.reduce((s, row) => s + row[j] * row[j], 0);
      expect(columnNormSquared(A, j)).toBe(expected);
      expect(columnNormSquared(bare, j)).toBe(expected);
    }
  });

  it("a broken adjoint fails the dot test", () => {
    const A = DenseMatrix.from([[1, 2], [3, 4]]);
    const broken = { rows: 2, cols: 2, apply: A.apply.bind(A), applyT: (y: Float64Array, out: Float64Array) => A.apply(y, out) };
    expect(dotTest(broken, Float64Array.of(1, -1), Float64Array.of(0.5, 2))).toBeGreaterThan(1e-3);
  });

  it("rejects ragged or non-finite input with the field named", () => {
    expect(() => DenseMatrix.from([[1, 2], [3]], "A")).toThrow(/A\[1\]: expected a row of 2 numbers/);
    expect(() => DenseMatrix.from([[1, NaN]], "A")).toThrow(InputError);
    expect(() => createProblem({ A: [[1, 2]], y: [1, 2] })).toThrow(/y: expected length 1/);
    expect(() => createProblem({ A: [[1, 2]], y: [1], penalty: { l1: -1 } })).toThrow(/penalty.l1: expected a non-negative/);
    expect(() => createProblem({ A: [[1, 2]], y: [1], validation: { A: [[1, 2, 3]], y: [1] } })).toThrow(/validation.A: expected 2 columns/);
  });
});

describe("penalties", () => {
  it("the elastic-net prox is non-expansive and firmly shrinks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(finite, finite), { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        (pairs, l1, l2, t) => {
          const g = new ElasticNet(new L1Penalty(l1), new L2Penalty(l2));
          const u = Float64Array.from(pairs, (p) => p[0]), v = Float64Array.from(pairs, (p) => p[1]);
          const pu = g.prox(u, t, new Float64Array(u.length)), pv = g.prox(v, t, new Float64Array(v.length));
          let num = 0, den = 0;
          for (let j = 0; j < u.length; j++) {
            num += (pu[j] - pv[j]) ** 2;
            den += (u[j] - v[j]) ** 2;
          }
          expect(num).toBeLessThanOrEqual(den * (1 + 1e-12) + 1e-300);
          // Optimality of the prox: (u − p)/t ∈ ∂g(p), checked coordinate-wise.
          for (let j = 0; j < u.length; j++) {
            const sub = (u[j] - pu[j]) / t - l2 * pu[j];
            if (pu[j] === 0) expect(Math.abs(sub)).toBeLessThanOrEqual(l1 * (1 + 1e-12) + 1e-12);
            else expect(sub).toBeCloseTo(l1 * Math.sign(pu[j]), 9);
          }
        },
      ),
    );
  });
});

describe("dense linear algebra", () => {
  const spd = fc.integer({ min: 1, max: 15 }).chain((k) =>
    fc.record({ k: fc.constant(k), b: fc.array(finite, { minLength: k * (k + 2), maxLength: k * (k + 2) }) }),
  );

  it("Cholesky and CG solve SPD systems like ml-matrix's LU", () => {
    fc.assert(
      fc.property(spd, ({ k, b }) => {
        const B = new Matrix(k + 1, k);
        for (let i = 0; i <= k; i++) for (let j = 0; j < k; j++) B.set(i, j, b[i * k + j]);
        const H = B.transpose().mmul(B).add(Matrix.eye(k).mul(0.5));
        const rhs = b.slice(k * (k + 1), k * (k + 1) + k);
        const expected = mlSolve(H, Matrix.columnVector(rhs)).getColumn(0);
        const flat = Float64Array.from({ length: k * k }, (_, t) => H.get(t % k, Math.floor(t / k)));
        const chol = Cholesky.factor(flat, k).solveInPlace(Float64Array.from(rhs));
        const scale = Math.max(1, ...expected.map(Math.abs));
        expect(maxAbsDiff(chol, expected)).toBeLessThanOrEqual(1e-8 * scale);
        const cg = conjugateGradient((v, out) => {
          const r = H.mmul(Matrix.columnVector(Array.from(v))).getColumn(0);
          out.set(r);
        }, Float64Array.from(rhs));
        expect(maxAbsDiff(cg.x, expected)).toBeLessThanOrEqual(1e-6 * scale);
      }),
    );
  });
});

describe("ndarray at the API edge", () => {
  it("strided 2-D views (transposed, sliced) and 1-D views become the same matrix and vector", async () => {
    const { default: ndarray } = await import("ndarray");
    const { createProblem: make } = await import("../src/problem.js");
    fc.assert(
      fc.property(matrix, ({ rows, y }) => {
        const m = rows.length, n = rows[0].length;
        // Store Aᵀ row-major, then view it transposed: strides [1, m].
        const buf = new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) buf[j * m + i] = rows[i][j];
        const view = ndarray(buf, [n, m]).transpose(1, 0);
        // y inside a larger buffer with stride 2 and an offset.
        const ybuf = new Float64Array(2 * m + 1);
        y.forEach((v, i) => (ybuf[1 + 2 * i] = v));
        const yView = ndarray(ybuf, [m], [2], 1);
        const p = make({ A: view, y: yView });
        expect(Array.from((p.A as DenseMatrix).data)).toEqual(Array.from(DenseMatrix.from(rows).data));
        expect(Array.from(p.y)).toEqual(y);
      }),
    );
  });
});

describe("dense Gram kernel", () => {
  it("equals the column inner products for any column subset (any k, repeated columns)", () => {
    fc.assert(
      fc.property(matrix, fc.array(fc.nat(), { minLength: 1, maxLength: 11 }), ({ rows }, picks) => {
        const A = DenseMatrix.from(rows);
        const cols = picks.map((p) => p % A.cols);
        const g = A.gram(cols);
        const k = cols.length;
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            let s = 0;
            for (let i = 0; i < A.rows; i++) s += rows[i][cols[a]] * rows[i][cols[b]];
            expect(Math.abs(g[b * k + a] - s)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(s)));
          }
        }
      }),
    );
  });
});

describe("selectRows", () => {
  it("copies the chosen rows entry by entry (runs of consecutive rows, repeats, any order, length 1)", () => {
    fc.assert(
      fc.property(matrix, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), fc.boolean(), ({ rows }, picks, sorted) => {
        const A = DenseMatrix.from(rows);
        const chosen = picks.map((p) => p % A.rows);
        if (sorted) chosen.sort((a, b) => a - b);
        const B = selectRows(A, chosen);
        expect([B.rows, B.cols]).toEqual([chosen.length, A.cols]);
        chosen.forEach((r, i) => {
          for (let j = 0; j < A.cols; j++) expect(B.data[j * chosen.length + i]).toBe(rows[r][j]);
        });
      }),
    );
  });
});
