import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CrossValidation } from "../src/criteria/cross-validation.js";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { Sure } from "../src/criteria/sure.js";
import { hypergradient } from "../src/diff/implicit.js";
import { InputError } from "../src/errors.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { Random } from "../src/linalg/random.js";
import { CenteredColumnOperator, CenteredOperator } from "../src/operators/centered.js";
import { DenseMatrix } from "../src/operators/dense.js";
import type { LinearOperator } from "../src/operators/operator.js";
import { createProblem, withPenalty } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { FIXTURES, runCli } from "./support.js";

const FILE = join(FIXTURES, "intercept", "diabetes.json");
const doc = JSON.parse(readFileSync(FILE, "utf8"));
const [M, N] = doc.A.shape as [number, number];
const rowsOf = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => doc.A.data.slice((from + i) * N, (from + i + 1) * N) as number[]);
const X: number[][] = rowsOf(0, M);
const Y: number[] = doc.y;
interface Point { alpha: number; l1: number; x: number[]; intercept: number; active: number[] }
const POINTS: Point[] = doc.reference.points;

function expectMatches(x: ArrayLike<number>, b: number | undefined, ref: Point) {
  const scale = Math.max(1, ...ref.x.map(Math.abs));
  for (let j = 0; j < N; j++) expect(Math.abs(x[j] - ref.x[j])).toBeLessThanOrEqual(1e-6 * scale);
  expect(Math.abs(b! - ref.intercept)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.intercept));
}

/** A as a bare operator (no column access), and as a column operator that is not a DenseMatrix. */
function matrixFree(A: DenseMatrix): LinearOperator {
  return { rows: A.rows, cols: A.cols, apply: (x, out) => A.apply(x, out), applyT: (r, out) => A.applyT(r, out) };
}
function columnsOnly(A: DenseMatrix) {
  return { rows: A.rows, cols: A.cols, apply: A.apply.bind(A), applyT: A.applyT.bind(A), columnDot: A.columnDot.bind(A), columnAxpy: A.columnAxpy.bind(A), columnInner: A.columnInner.bind(A), columnNormsSquared: A.columnNormsSquared.bind(A) };
}

describe("intercept: scikit-learn's Lasso(fit_intercept=True) on the diabetes data", () => {
  it.each(POINTS.map((p, i) => [i, p.alpha, p] as const))("point %i (alpha = %f): x and the intercept to 1e-6, cd and fista", (_i, _alpha, ref) => {
    const problem = withPenalty(loadProblemFile(FILE), { l1: ref.l1 });
    for (const solver of ["cd", "fista"] as const) {
      const s = solve(problem, { solver, tol: 1e-12, ...(solver === "fista" && { maxIter: 2_000_000 }) });
      expect(s.converged).toBe(true);
      expect(s.active).toEqual(ref.active);
      expectMatches(s.x, s.intercept, ref);
    }
  });

  it("createProblem({ intercept: true }), matrix-free A centred implicitly (never densified): the same answers", () => {
    const A = DenseMatrix.fromArray(M, N, X.flat());
    for (const [A_, kind] of [[X, DenseMatrix], [matrixFree(A), CenteredOperator], [columnsOnly(A), CenteredColumnOperator]] as const) {
      const problem = createProblem({ A: A_, y: Y, intercept: true, penalty: { l1: POINTS[2].l1 } });
      expect(problem.A).toBeInstanceOf(kind);
      const s = solve(problem, { tol: 1e-12, maxIter: 2_000_000 });
      expectMatches(s.x, s.intercept, POINTS[2]);
    }
    // Without the flag: no intercept reported, a different x.
    const plain = solve(createProblem({ A: X, y: Y, penalty: { l1: POINTS[2].l1 } }), { tol: 1e-12 });
    expect(plain.intercept).toBeUndefined();
    expect(Math.abs(plain.x[2] - POINTS[2].x[2])).toBeGreaterThan(1e-3);
  });

  it("the centred operators equal A − 1μᵀ built entry by entry", () => {
    const rng = new Random(5);
    const m = 7, n = 4;
    const rows = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal() + 3));
    const mu = Array.from({ length: n }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / m);
    const C = rows.map((r) => r.map((v, j) => v - mu[j]));
    const A = DenseMatrix.fromArray(m, n, rows.flat());
    const x = Float64Array.from({ length: n }, () => rng.normal()), r = Float64Array.from({ length: m }, () => rng.normal());
    for (const input of [rows, matrixFree(A), columnsOnly(A)]) {
      const op = createProblem({ A: input, y: r, intercept: true }).A as DenseMatrix & CenteredColumnOperator;
      const ax = op.apply(x, new Float64Array(m)), atr = op.applyT(r, new Float64Array(n));
      for (let i = 0; i < m; i++) expect(ax[i]).toBeCloseTo(C[i].reduce((s, v, j) => s + v * x[j], 0), 12);
      for (let j = 0; j < n; j++) expect(atr[j]).toBeCloseTo(C.reduce((s, row, i) => s + row[j] * r[i], 0), 12);
      if (typeof op.columnDot !== "function") continue;
      const norms = op.columnNormsSquared(), v = Float64Array.from(r);
      op.columnAxpy(1, 0.5, v);
      for (let j = 0; j < n; j++) {
        expect(op.columnDot(j, r)).toBeCloseTo(C.reduce((s, row, i) => s + row[j] * r[i], 0), 12);
        expect(op.columnInner(j, 2)).toBeCloseTo(C.reduce((s, row) => s + row[j] * row[2], 0), 12);
        expect(norms[j]).toBeCloseTo(C.reduce((s, row) => s + row[j] ** 2, 0), 10);
      }
      for (let i = 0; i < m; i++) expect(v[i]).toBeCloseTo(r[i] + 0.5 * C[i][1], 12);
    }
  });

  it("the held-out hypergradient includes b's dependence on x: central finite differences of the predictions A_v x + b", () => {
    const train = rowsOf(0, 300), held = rowsOf(300, M);
    const yTrain = Y.slice(0, 300), yHeld = Y.slice(300);
    const base = createProblem({ A: train, y: yTrain, validation: { A: held, y: yHeld }, intercept: true });
    // The criterion recomputed from the raw validation rows with the reported x and intercept.
    const mse = (l1: number) => {
      const s = solve(withPenalty(base, { l1 }), { tol: 1e-14 });
      return held.reduce((acc, row, i) => acc + (row.reduce((p, v, j) => p + v * s.x[j], s.intercept!) - yHeld[i]) ** 2, 0) / held.length;
    };
    for (const ref of POINTS.slice(1, 3)) {
      const l1 = ref.l1 * (300 / M);
      const problem = withPenalty(base, { l1 });
      const s = solve(problem, { tol: 1e-14 });
      const g = hypergradient(problem, s, HeldOutMse.of(problem));
      expect(HeldOutMse.of(problem).value(s.x)).toBeCloseTo(mse(l1), 8);
      const h = 1e-4 * l1;
      const fd = (mse(l1 + h) - mse(l1 - h)) / (2 * h);
      expect(Math.abs(g.gradient.l1 as number - fd)).toBeLessThanOrEqual(1e-6 * Math.abs(fd));
    }
  });

  it("cross-validation centres each fold by its own training means", () => {
    const problem = createProblem({ A: X, y: Y, intercept: true });
    const l1 = POINTS[2].l1 * 0.8;
    const cv = new CrossValidation(problem, 4, (p, o) => solve(p, { ...o, tol: 1e-13 }));
    const value = cv.evaluate({ l1, l2: 0, tv: 0 }, 1e-13, { gradient: false }).value;
    // Independently: centre each fold's training rows by hand, solve without intercept, predict with b.
    let expected = 0;
    for (let k = 0; k < 4; k++) {
      const size = Math.floor(M / 4) + (k < M % 4 ? 1 : 0), start = k * Math.floor(M / 4) + Math.min(k, M % 4);
      const heldIdx = new Set(Array.from({ length: size }, (_, i) => start + i));
      const tr = X.filter((_, i) => !heldIdx.has(i)), ty = Y.filter((_, i) => !heldIdx.has(i));
      const mu = Array.from({ length: N }, (_, j) => tr.reduce((s, r) => s + r[j], 0) / tr.length);
      const ybar = ty.reduce((s, v) => s + v, 0) / ty.length;
      const s = solve(createProblem({ A: tr.map((r) => r.map((v, j) => v - mu[j])), y: ty.map((v) => v - ybar), penalty: { l1 } }), { tol: 1e-13 });
      const b = ybar - mu.reduce((acc, v, j) => acc + v * s.x[j], 0);
      let err = 0;
      for (const i of heldIdx) err += (X[i].reduce((p, v, j) => p + v * s.x[j], b) - Y[i]) ** 2;
      expected += err / size / 4;
    }
    expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-9 * expected);
  });

  it("SURE counts the intercept as one more degree of freedom (df = |S| + 1 for the Lasso)", () => {
    const problem = createProblem({ A: X, y: Y, intercept: true });
    const sure = new Sure(problem, 50, (p, o) => solve(p, { ...o, tol: 1e-12 }));
    sure.evaluate({ l1: POINTS[1].l1, l2: 0, tv: 0 }, 1e-12, { gradient: false });
    expect(sure.lastDf).toBeCloseTo(POINTS[1].active.length + 1, 9);
  });

  it("refuses a non-boolean intercept", () => {
    expect(() => createProblem({ A: X, y: Y, intercept: "yes" as unknown as boolean })).toThrow(InputError);
    expect(() => createProblem({ A: X, y: Y, intercept: 1 as unknown as boolean })).toThrow(/^intercept: expected true or false/);
  });

  it("CLI: solve --json reports the intercept, from the file's key or --intercept", () => {
    const ref = POINTS[1];
    const fromFile = JSON.parse(runCli("solve", FILE, "--tol", "1e-12", "--json").stdout);
    expectMatches(fromFile.x, fromFile.intercept, ref);
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-intercept-"));
    const plain = join(dir, "plain.json");
    writeFileSync(plain, JSON.stringify({ ...doc, intercept: undefined }));
    const flagged = JSON.parse(runCli("solve", plain, "--intercept", "--tol", "1e-12", "--json").stdout);
    expectMatches(flagged.x, flagged.intercept, ref);
    const without = JSON.parse(runCli("solve", plain, "--tol", "1e-12", "--json").stdout);
    expect(without.intercept).toBeUndefined();
    // tune reports the intercept of its answer, in its JSON and in result.json.
    const tuned = runCli("tune", plain, "--intercept", "--criterion", "cv", "--out", join(dir, "out"), "--json");
    expect(tuned.code).toBe(0);
    const summary = JSON.parse(tuned.stdout), result = JSON.parse(readFileSync(join(dir, "out", "result.json"), "utf8"));
    const l1 = summary.lambda.l1;
    const check = solve(withPenalty(loadProblemFile(FILE), { l1 }), { tol: 1e-12 });
    expect(Math.abs(summary.intercept - check.intercept!)).toBeLessThanOrEqual(1e-6 * Math.abs(check.intercept!));
    expect(result.intercept).toBe(summary.intercept);
  });
});
