import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { Cholesky } from "../src/linalg/cholesky.js";
import { UpdatableCholesky } from "../src/linalg/cholesky-update.js";
import { Random } from "../src/linalg/random.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { lambdaMax } from "../src/penalties/index.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { lassoPath, PathBasis, type LassoPath } from "../src/solvers/homotopy.js";
import { SOLVERS } from "../src/solvers/index.js";
import { solvePath, lambdaGrid } from "../src/solvers/path.js";
import { tune } from "../src/tune/tune.js";
import { duplicateTopColumn, FIXTURES, inputError, randomProblem, runCli } from "./support.js";
import { foldRows } from "../src/criteria/cross-validation.js";
import type { DenseMatrix } from "../src/operators/dense.js";

interface LarsCase {
  name: string;
  A: number[][];
  y: number[];
  validation: { A: number[][]; y: number[] };
  to: number;
  lambdaMax: number;
  breakpoints: number[];
  coefficients: number[][];
  l1: number[];
  drops: number;
  minimiser: { l1: number; criterion: number };
}

const LARS: LarsCase[] = JSON.parse(readFileSync(join(FIXTURES, "paths", "lars-path.json"), "utf8")).cases;

/** H = MᵀM + shift·I, k×k column-major, and its entries by (i, j). */
function spd(rng: Random, k: number, shift: number): Float64Array {
  const M = Array.from({ length: k + 2 }, () => Array.from({ length: k }, () => rng.normal()));
  const h = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[j * k + i] = M.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? shift : 0);
  return h;
}

/** The submatrix of H on the index list `keep`, column-major. */
function sub(h: Float64Array, k: number, keep: number[]): Float64Array {
  const q = keep.length, out = new Float64Array(q * q);
  keep.forEach((i, a) => keep.forEach((j, b) => (out[b * q + a] = h[j * k + i])));
  return out;
}

describe("UpdatableCholesky", () => {
  it("after appends and removals solves like a fresh factorisation of the remaining submatrix", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 14 }), fc.array(fc.nat(), { maxLength: 12 }), (seed, k, removals) => {
        const rng = new Random(seed);
        const h = spd(rng, k, 0.1);
        const f = new UpdatableCholesky(2); // grows by doubling along the way
        const order: number[] = [];
        for (let j = 0; j < k; j++) {
          const col = Float64Array.from(order, (i) => h[j * k + i]);
          f.append(col, h[j * k + j]);
          order.push(j);
        }
        for (const r of removals) {
          if (order.length === 0) break;
          const p = r % order.length;
          f.remove(p);
          order.splice(p, 1);
          // re-append a removed index now and then: the factor keeps working order
        }
        if (order.length === 0) return;
        const b = Float64Array.from(order, () => rng.normal());
        const got = f.solveInPlace(Float64Array.from(b));
        const want = Cholesky.factor(sub(h, k, order), order.length).solveInPlace(Float64Array.from(b));
        const scale = Math.max(...Array.from(want, Math.abs));
        for (let a = 0; a < order.length; a++) expect(Math.abs(got[a] - want[a])).toBeLessThanOrEqual(1e-9 * scale);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a dependent column and leaves the factor as it was", () => {
    const f = new UpdatableCholesky();
    f.append(new Float64Array(0), 4);
    expect(() => f.append(Float64Array.of(2), 1)).toThrow(/linearly dependent/); // [4 2; 2 1] is singular
    expect(f.size).toBe(1);
    expect(Array.from(f.solveInPlace(Float64Array.of(8)))).toEqual([2]);
  });
});

function larsProblem(c: LarsCase): Problem {
  return createProblem({ A: c.A, y: c.y, validation: c.validation });
}

/** Support of the coefficient vector, sorted. */
const supportOf = (x: ArrayLike<number>) => Array.from(x).flatMap((v, j) => (v !== 0 ? [j] : []));

describe("lassoPath against scikit-learn's lars_path(method='lasso')", () => {
  it.each(LARS.map((c) => [c.name, c] as const))("%s: every breakpoint, the support on each piece, the exact minimiser", (_name, c) => {
    const problem = larsProblem(c);
    const path = lassoPath(problem, { to: c.to, criterion: HeldOutMse.of(problem) });
    expect(path.lambdaMax).toBeCloseTo(c.lambdaMax, 12);
    expect(path.breakpoints).toHaveLength(c.breakpoints.length);
    path.breakpoints.forEach((b, i) => expect(Math.abs(b - c.breakpoints[i])).toBeLessThanOrEqual(1e-10 * c.breakpoints[i]));
    // Piece i runs from breakpoint i to i+1 (the last to `to`): its support is the nonzeros between.
    expect(path.pieces).toHaveLength(c.breakpoints.length);
    path.pieces.forEach((p, i) => {
      const mid = c.coefficients[i].map((v, j) => v + c.coefficients[i + 1][j]);
      expect(p.active).toEqual(supportOf(mid));
      expect(p.signs).toEqual(p.active.map((j) => Math.sign(mid[j])));
    });
    const { minimiser } = path;
    expect(Math.abs(minimiser!.l1 - c.minimiser.l1)).toBeLessThanOrEqual(1e-9 * c.minimiser.l1);
    expect(Math.abs(minimiser!.criterion - c.minimiser.criterion)).toBeLessThanOrEqual(1e-10 * c.minimiser.criterion);
  });

  it("the fixtures exercise features leaving the path as well as entering", () => {
    expect(LARS.some((c) => c.drops > 0)).toBe(true);
  });
});

/**
 * The path against tight coordinate-descent solves at interior points of its pieces: the support
 * and signs there, and the criterion's quadratic against the criterion of the solve.
 */
function checkAgainstSolver(problem: Problem, path: LassoPath, criterion: HeldOutMse, pieces: number[]): void {
  for (const i of pieces) {
    const p = path.pieces[i];
    for (const f of [0.3, 0.7]) {
      const l1 = p.hi - f * (p.hi - p.lo);
      const s = SOLVERS.cd(withPenalty(problem, { l1 }), { tol: 1e-14 });
      expect(s.active).toEqual(p.active);
      expect(s.signs).toEqual(p.signs);
      const [c0, c1, c2] = p.quadratic!;
      const tau = p.hi - l1;
      const value = criterion.value(s.x);
      expect(Math.abs(c0 + tau * (c1 + tau * c2) - value)).toBeLessThanOrEqual(1e-10 * value);
    }
  }
}

/** About `count` piece indices spread over the path, long pieces preferred (tiny ones are at the tolerance's mercy). */
function samplePieces(path: LassoPath, count: number): number[] {
  const idx = path.pieces.map((p, i) => i).filter((i) => path.pieces[i].hi - path.pieces[i].lo > 1e-6 * path.pieces[i].hi);
  const step = Math.max(1, Math.floor(idx.length / count));
  return idx.filter((_, k) => k % step === 0);
}

describe("the path against the solver between breakpoints", () => {
  it("Lasso, elastic net and weighted l1: the support between breakpoints and the criterion's quadratic (1e-10 relative)", () => {
    const rng = new Random(7);
    const base = randomProblem(5, 30, 50, { k: 6, noise: 0.1 });
    const weights = Float64Array.from({ length: 50 }, () => 0.5 + rng.uniform());
    const cases: Problem[] = [
      base,
      withPenalty(base, { l2: 0.05 }),
      createProblem({ A: base.A, y: base.y, validation: base.validation, penalty: { weights } }),
    ];
    for (const problem of cases) {
      const criterion = HeldOutMse.of(problem);
      const path = lassoPath(problem, { to: 1e-2 * lambdaMax(problem), criterion });
      expect(path.pieces.length).toBeGreaterThan(10);
      checkAgainstSolver(problem, path, criterion, samplePieces(path, 8));
    }
  });

  it("the reference criterion (identity validation) and a start below λ_max", () => {
    const problem = randomProblem(9, 25, 40, { k: 4, noise: 0.05 });
    const withTruth = createProblem({ A: problem.A, y: problem.y, truth: Float64Array.from({ length: 40 }, (_, j) => (j % 7 === 0 ? 1 : 0)) });
    const criterion = HeldOutMse.reference(withTruth);
    const lmax = lambdaMax(withTruth);
    const path = lassoPath(withTruth, { from: 0.3 * lmax, to: 0.01 * lmax, criterion });
    expect(path.from).toBe(0.3 * lmax);
    expect(path.pieces[0].hi).toBe(0.3 * lmax);
    checkAgainstSolver(withTruth, path, criterion, samplePieces(path, 6));
  });

  it("breakpoints are those of a walk from λ_max, whatever l1 it starts from", () => {
    const problem = randomProblem(11, 30, 60, { k: 5, noise: 0.1 });
    const lmax = lambdaMax(problem);
    const whole = lassoPath(problem, { to: 0.01 * lmax });
    const part = lassoPath(problem, { from: 0.2 * lmax, to: 0.01 * lmax });
    const inside = whole.breakpoints.filter((b) => b <= 0.2 * lmax);
    expect(part.breakpoints).toHaveLength(inside.length);
    part.breakpoints.forEach((b, i) => expect(Math.abs(b - inside[i])).toBeLessThanOrEqual(1e-10 * b));
  });

  it("a start from a loose solution's support at another l1 (corrected, no solve) and a walk going on from the last one's end: the same breakpoints", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 0.5, max: 2, noNaN: true }), fc.constantFrom(0, 0.05), (seed, ratio, l2Fraction) => {
        const base = randomProblem(seed, 30, 60, { k: 5, noise: 0.1 });
        const lmax = lambdaMax(base);
        const problem = withPenalty(base, { l2: l2Fraction * lmax });
        const whole = lassoPath(problem, { to: 0.01 * lmax });
        const from = 0.1 * lmax, middle = 0.05 * lmax, to = 0.02 * lmax;
        // A loose solve at a different l1: its support is near, not equal to, the one at `from`.
        const loose = SOLVERS.cd(withPenalty(problem, { l1: ratio * from }), { tol: 1e-4, polish: false });
        const first = lassoPath(problem, { from, to: middle, warmStart: loose.x });
        const second = lassoPath(problem, { from: middle, to, resume: first.state });
        expect(second.solves).toBe(0); // went on: no start
        const walked = [...first.breakpoints, ...second.breakpoints];
        const inside = whole.breakpoints.filter((b) => b <= from && b >= to);
        expect(walked).toHaveLength(inside.length);
        walked.forEach((b, i) => expect(Math.abs(b - inside[i])).toBeLessThanOrEqual(1e-9 * b));
        // A state goes on once: the next walk from the same l1 starts afresh (a solve or the warm support).
        // ... and only from where it ended: a state at `to` does not serve a walk from `middle`.
        for (const resume of [first.state, second.state]) {
          const again = lassoPath(problem, { from: middle, to, resume, warmStart: loose.x });
          expect(again.breakpoints).toHaveLength(second.breakpoints.length);
          again.breakpoints.forEach((b, i) => expect(Math.abs(b - second.breakpoints[i])).toBeLessThanOrEqual(1e-9 * b));
        }
      }),
      { numRuns: 25 },
    );
  });

  it("a kept basis (Aᵀy, column norms) serves walks of the same A and y only: another y's walk is its own", () => {
    const problem = randomProblem(12, 30, 60, { k: 5, noise: 0.1 });
    const other = createProblem({ A: problem.A, y: problem.y.map((v, i) => v + (i % 3) - 1), penalty: problem.penalty });
    const kept = PathBasis.of(problem);
    expect(PathBasis.of(withPenalty(problem, { l1: 1 }), kept)).toBe(kept); // same arrays: kept
    for (const p of [problem, other]) {
      const lmax = lambdaMax(p);
      const fresh = lassoPath(p, { to: 0.05 * lmax });
      const withKept = lassoPath(p, { to: 0.05 * lmax, basis: kept });
      expect(withKept.lambdaMax).toBe(lmax);
      expect(withKept.breakpoints).toEqual(fresh.breakpoints);
    }
  });

  it("refuses what it cannot walk: one-line InputErrors", () => {
    const problem = randomProblem(3, 20, 30);
    inputError(() => lassoPath(problem, { from: 1, to: 2 }), /^to: expected to < from/);
    inputError(() => lassoPath(problem, { to: -1 }), /^to: expected a positive finite l1/);
    inputError(() => lassoPath(problem, { from: Number.NaN }), /^from: /);
    inputError(() => lassoPath(withPenalty(problem, { tv: 1 }), {}), /^penalty\.tv: /);
  });

  it("two equal columns (the Lasso not unique once they enter): stops there with a message, not NaN", () => {
    const base = randomProblem(4, 15, 30, { k: 4, noise: 0.1 });
    const A = duplicateTopColumn(base);
    const problem = createProblem({ A, y: base.y, validation: base.validation });
    const path = lassoPath(problem, { criterion: HeldOutMse.of(problem) });
    expect(path.message).toMatch(/dependent .* not unique/);
    expect(path.end).toBe(path.lambdaMax);
    expect(path.pieces).toHaveLength(0);
  });
});

/** The best held-out MSE on a fine 200-point grid (independent tight solves), λ_max down to 1e-3·λ_max. */
function fineGridBest(problem: Problem): number {
  const criterion = HeldOutMse.of(problem);
  const path = solvePath(problem, SOLVERS.cd, { lambdas: lambdaGrid(lambdaMax(problem), 200, 1e-3), tol: 1e-12 });
  return Math.min(...path.map((s) => criterion.value(s.x)));
}

describe("the tuner's exact finish", () => {
  const checkTuned = (problem: Problem, starts: number[]) => {
    const best = fineGridBest(problem);
    const lmax = lambdaMax(problem);
    for (const f of starts) {
      const report = tune(problem, { keys: ["l1"], start: { l1: f * lmax } });
      expect(report.criterion).toBeLessThanOrEqual(best * (1 + 1e-9));
      const cert = report.certificate!;
      expect(cert.bracket[0]).toBeLessThanOrEqual(report.lambda.l1);
      expect(cert.bracket[1]).toBeGreaterThanOrEqual(report.lambda.l1);
      expect(report.criterion).toBeLessThanOrEqual(cert.minimiser.criterion * (1 + 1e-9));
      for (const b of cert.breakpoints) expect(b >= cert.bracket[0] && b <= cert.bracket[1]).toBe(true);
    }
  };

  it.each(["lasso-small", "enet-small"])("%s (l1 alone): at most the best of a fine 200-point grid from every start", (name) => {
    checkTuned(loadProblemFile(join(FIXTURES, `${name}.json`)), [1e-4, 1e-2, 0.1, 1]);
  });

  it("random problems: at most the best of a fine 200-point grid", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 20, max: 50 }), fc.integer({ min: 30, max: 120 }), (seed, m, n) => {
        checkTuned(randomProblem(seed, m, n, { k: 5, noise: 0.1 }), [1e-3, 0.1]);
      }),
      { numRuns: 12 },
    );
  });

  it("does not run for other keys or criteria (no certificate), nor with exact: false", () => {
    const problem = loadProblemFile(join(FIXTURES, "enet-small.json"));
    expect(tune(problem).certificate).toBeUndefined(); // l1 and l2 together
    expect(tune(problem, { keys: ["l1"], exact: false }).certificate).toBeUndefined();
    inputError(() => tune(problem, { exact: "yes" as unknown as boolean }), /^exact/);
  });

  it("past the whole-path size: the scan brackets the basin and walks find the minimum (at most the best of a fine 200-point grid)", () => {
    // m·n·min(m, n) = 150·2300·150 > 5e7: the scan, then walks around the parabola's vertex.
    const problem = randomProblem(5, 150, 2300, { k: 15, noise: 0.1 });
    const report = tune(problem);
    expect(report.trajectory.some((p) => p.tol === 1e-5)).toBe(true); // scanned (the exact finish scans at 1e-5)
    const criterion = HeldOutMse.of(problem);
    const grid = lambdaGrid(lambdaMax(problem), 200, 1e-3);
    const values = solvePath(problem, SOLVERS.cd, { lambdas: grid, tol: 1e-12 }).map((s) => criterion.value(s.x));
    const [lo, hi] = report.certificate!.bracket;
    expect(report.lambda.l1 >= lo && report.lambda.l1 <= hi).toBe(true);
    expect(report.criterion).toBeLessThanOrEqual(Math.min(...values) * (1 + 1e-9));
    expect(report.converged).toBe(true);
  });
});

describe("cross-validation's exact finish", () => {
  /** CV(l1) from scratch: each fold's problem built row by row from A, a tight solve, its held-out MSE; the mean. */
  function cvOracle(problem: Problem, folds: number, l1: number): number {
    const m = problem.A.rows, n = problem.A.cols;
    const A = problem.A as DenseMatrix;
    let mean = 0;
    for (const held of foldRows(m, folds)) {
      const train = Array.from({ length: m }, (_, i) => i).filter((i) => !held.includes(i));
      const rows = (idx: number[]) => idx.map((i) => Array.from({ length: n }, (_, j) => A.get(i, j)));
      const fold = createProblem({ A: rows(train), y: train.map((i) => problem.y[i]), penalty: { l1, l2: problem.penalty.l2 }, validation: { A: rows(held), y: held.map((i) => problem.y[i]) } });
      mean += HeldOutMse.of(fold).value(SOLVERS.cd(fold, { tol: 1e-13 }).x) / folds;
    }
    return mean;
  }

  it("random problems, Lasso and elastic net: at most the best of a fine 200-point grid of the independent CV, equal to it at the answer", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(0, 0.02), (seed, l2Fraction) => {
        const base = randomProblem(seed, 40, 60, { k: 5, noise: 0.1 });
        const problem = withPenalty(base, { l2: l2Fraction * lambdaMax(base) });
        const report = tune(problem, { criterion: "cv", folds: 4, keys: ["l1"] });
        const cert = report.certificate!;
        expect(cert.bracket[0] <= report.lambda.l1 && report.lambda.l1 <= cert.bracket[1]).toBe(true);
        expect(Math.abs(cvOracle(problem, 4, report.lambda.l1) - report.criterion)).toBeLessThanOrEqual(1e-9 * report.criterion);
        const best = Math.min(...lambdaGrid(lambdaMax(problem), 200, 1e-3).map((l1) => cvOracle(problem, 4, l1)));
        expect(report.criterion).toBeLessThanOrEqual(best * (1 + 1e-9));
        // The answer's x solves the whole problem at the chosen l1.
        const check = SOLVERS.cd(withPenalty(problem, { l1: report.lambda.l1 }), { tol: 1e-13 });
        expect(report.solution.objective - check.objective).toBeLessThanOrEqual(report.solution.dualityGap + 1e-12);
      }),
      { numRuns: 4 },
    );
  });

  it("pure noise past the whole-path size: the minimum near λ_max, above some folds' own λ_max (x = 0 there), no lower grid point", () => {
    const problem = randomProblem(7, 150, 2300, { k: 1, noise: 3 });
    const lmax = lambdaMax(problem);
    const report = tune(problem, { criterion: "cv", folds: 3 });
    const top = lambdaGrid(lmax, 200, 1e-3).slice(0, 12);
    expect(report.criterion).toBeLessThanOrEqual(Math.min(...top.map((l1) => cvOracle(problem, 3, l1))) * (1 + 1e-9));
    expect(Math.abs(cvOracle(problem, 3, report.lambda.l1) - report.criterion)).toBeLessThanOrEqual(1e-9 * report.criterion);
  });
});

describe("sparsetune path", () => {
  it("--json: one object with every breakpoint (descending, inside [to, from]) and the exact minimiser", () => {
    const file = join(FIXTURES, "lasso-small.json");
    const problem = loadProblemFile(file);
    const lmax = lambdaMax(problem);
    const run = runCli("path", file, "--from", String(0.5 * lmax), "--to", String(0.01 * lmax), "--json");
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(run.stdout);
    expect(out.breakpoints.length).toBeGreaterThan(3);
    for (let i = 1; i < out.breakpoints.length; i++) expect(out.breakpoints[i]).toBeLessThan(out.breakpoints[i - 1]);
    for (const b of out.breakpoints) expect(b >= 0.01 * lmax && b <= 0.5 * lmax).toBe(true);
    // the minimiser against tight solves on a fine grid of the same interval
    const criterion = HeldOutMse.of(problem);
    const grid = solvePath(problem, SOLVERS.cd, { lambdas: lambdaGrid(0.5 * lmax, 200, 0.02), tol: 1e-13 });
    const gridBest = Math.min(...grid.map((s) => criterion.value(s.x)));
    expect(out.minimiser.criterion).toBeLessThanOrEqual(gridBest * (1 + 1e-9));
    const atMin = SOLVERS.cd(withPenalty(problem, { l1: out.minimiser.l1 }), { tol: 1e-14 });
    expect(Math.abs(criterion.value(atMin.x) - out.minimiser.criterion)).toBeLessThanOrEqual(1e-10 * out.minimiser.criterion);
  });

  it("tune writes the bracket as a certificate in result.json", () => {
    const out = mkdtempSync(join(tmpdir(), "sparsetune-tune-"));
    const run = runCli("tune", join(FIXTURES, "lasso-small.json"), "--out", out, "--json");
    expect(run.code).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    const { bracket, breakpoints, minimiser } = result.certificate;
    expect(bracket[0]).toBeLessThanOrEqual(result.lambda.l1);
    expect(bracket[1]).toBeGreaterThanOrEqual(result.lambda.l1);
    expect(breakpoints.length).toBeGreaterThan(0);
    expect(result.criterion).toBeLessThanOrEqual(minimiser.criterion * (1 + 1e-9));
    expect(JSON.parse(run.stdout).bracket).toEqual(bracket);
  });

  it("bad input: one-line errors, exit 2", () => {
    const file = join(FIXTURES, "lasso-small.json");
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-path-"));
    const doc = JSON.parse(readFileSync(file, "utf8"));
    delete doc.validation;
    const noValidation = join(dir, "no-validation.json");
    writeFileSync(noValidation, JSON.stringify(doc));
    for (const [args, pattern] of [
      [[file, "--from", "0.1", "--to", "0.2"], /--to.*expected --to < --from/],
      [[file, "--to", "-1"], /--to/],
      [[file, "--from", "0"], /--from/],
      [[noValidation], /validation/],
    ] as const) {
      const run = runCli("path", ...args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(pattern);
    }
  });
});
