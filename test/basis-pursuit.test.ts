import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { fixedPointHypergradient } from "../src/diff/fixed-point.js";
import { hypergradient } from "../src/diff/implicit.js";
import { parseProblemDocument } from "../src/io/problem-document.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { solveBasisPursuit } from "../src/solvers/basis-pursuit.js";
import { solve } from "../src/solvers/index.js";
import type { Solution } from "../src/solvers/solution.js";
import { tune } from "../src/tune/tune.js";
import { CLI, inputError, relErr } from "./support.js";
import { gaussianRows, lpBasisPursuit, norm, sparseTruth, times, timesT } from "./bp-oracle.js";

function bpProblem(rows: number[][], y: number[], l1 = 1, weights?: number[]): Problem {
  return createProblem({ A: rows, y, penalty: { l1, ...(weights && { weights }) }, basisPursuit: true });
}

/**
 * The certificate recomputed from x and the multipliers alone (explicit loops): primal residual,
 * the dual w = −ν scaled into |a_jᵀw| ≤ l1 w_j, the gap, the stationarity violation.
 */
function independentCertificate(rows: number[][], y: number[], l1: number, weights: number[], sol: Solution) {
  const x = Array.from(sol.x), w = Array.from(sol.multipliers!, (v) => -v);
  const r = times(rows, x).map((v, i) => v - y[i]);
  const c = timesT(rows, w);
  let scale = 1, kkt = 0;
  c.forEach((cj, j) => {
    const bound = l1 * weights[j];
    scale = Math.max(scale, Math.abs(cj) / bound);
    kkt = Math.max(kkt, x[j] === 0 ? Math.max(0, Math.abs(cj) - bound) : Math.abs(cj - bound * Math.sign(x[j])));
  });
  const objective = x.reduce((s, v, j) => s + l1 * weights[j] * Math.abs(v), 0);
  const dual = y.reduce((s, v, i) => s + v * w[i], 0) / scale;
  return { primalResidual: norm(r) / norm(y), objective, gap: objective - dual, kkt };
}

// ── exact recovery ───────────────────────────────────────────────────────────────────────────────

describe("basis pursuit: exact recovery of sparse signals", () => {
  it("recovers a k-sparse x from m ≥ 2k·log(n/k) Gaussian measurements: relative error ≤ 1e-8, the support exact", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 12, max: 80 }), fc.integer({ min: 2, max: 6 }), fc.double({ min: 0.3, max: 1, noNaN: true }), (seed, m, ratio, fraction) => {
        const n = m * ratio;
        // The largest k with 2k·log(n/k) ≤ m, then a fraction of it (at least 1).
        let kMax = 1;
        while (2 * (kMax + 1) * Math.log(n / (kMax + 1)) <= m) kMax++;
        const k = Math.max(1, Math.floor(fraction * kMax));
        const rng = new Random(seed);
        const rows = gaussianRows(rng, m, n);
        const truth = sparseTruth(rng, n, k);
        const sol = solve(bpProblem(rows, times(rows, truth.x)));
        expect(sol.solver).toBe("basis-pursuit");
        expect(sol.converged).toBe(true);
        const err = norm(truth.x.map((v, j) => sol.x[j] - v)) / norm(truth.x);
        expect(err).toBeLessThanOrEqual(1e-8);
        expect(sol.active).toEqual(truth.support);
        expect(sol.signs).toEqual(truth.support.map((j) => Math.sign(truth.x[j])));
      }),
      { numRuns: 40 },
    );
  });

  it("the answer does not depend on l1; the multipliers scale with it", () => {
    const rng = new Random(3);
    const rows = gaussianRows(rng, 30, 90);
    const y = times(rows, sparseTruth(rng, 90, 4).x);
    const a = solve(bpProblem(rows, y, 1)), b = solve(bpProblem(rows, y, 1e3));
    expect(Array.from(b.x)).toEqual(Array.from(a.x).map((v) => expect.closeTo(v, 12)));
    b.multipliers!.forEach((v, i) => expect(relErr(v, 1e3 * a.multipliers![i])).toBeLessThanOrEqual(1e-9));
    expect(relErr(b.objective, 1e3 * a.objective)).toBeLessThanOrEqual(1e-12);
  });

  it("the Bregman iteration alone (no exact finish) reaches Ax = y in a few steps from a large μ", () => {
    const rng = new Random(11);
    const rows = gaussianRows(rng, 40, 120);
    const truth = sparseTruth(rng, 120, 5);
    const sol = solveBasisPursuit(bpProblem(rows, times(rows, truth.x)), { polish: false, muRatio: 0.5, tol: 1e-7 });
    expect(sol.converged).toBe(true);
    expect(sol.iterations).toBeGreaterThan(1);
    expect(sol.feasibilityResidual! / norm(times(rows, truth.x))).toBeLessThanOrEqual(1e-7);
    expect(norm(truth.x.map((v, j) => sol.x[j] - v)) / norm(truth.x)).toBeLessThanOrEqual(1e-6);
  });
});

// ── the LP oracle ────────────────────────────────────────────────────────────────────────────────

describe("basis pursuit against a linear-programming oracle", () => {
  it("the same minimum and the same x (unique for generic data): sparse and dense y, weighted l1, ties", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom("sparse", "dense", "integer"),
        fc.boolean(),
        (seed, m, extra, kind, weighted) => {
          const n = m + extra;
          const rng = new Random(seed);
          // "integer": small integer entries, where ties between columns and degenerate vertices happen.
          const rows = kind === "integer" ? Array.from({ length: m }, () => Array.from({ length: n }, () => Math.floor(rng.uniform() * 5) - 2)) : gaussianRows(rng, m, n);
          const y = kind === "sparse" ? times(rows, sparseTruth(rng, n, Math.max(1, Math.floor(m / 3))).x) : Array.from({ length: m }, () => rng.normal());
          const weights = Array.from({ length: n }, () => (weighted ? 0.2 + 3 * rng.uniform() : 1));
          let lp: { x: number[]; value: number };
          try {
            lp = lpBasisPursuit(rows, y, weights);
          } catch (e) {
            if ((e as Error).message !== "LP infeasible") throw e;
            // Integer rows can be rank-deficient with y outside the range: a clear InputError.
            inputError(() => solve(bpProblem(rows, y, 1, weighted ? weights : undefined)), /range of A/);
            return;
          }
          const sol = solve(bpProblem(rows, y, 1, weighted ? weights : undefined));
          expect(sol.converged).toBe(true);
          expect(relErr(sol.objective, lp.value)).toBeLessThanOrEqual(1e-9);
          // Ties (integer rows) can leave a face of solutions with more than m non-zeros: no exact
          // finish there, the Bregman iterate is feasible to the tolerance (1e-8).
          expect(sol.feasibilityResidual! / norm(y)).toBeLessThanOrEqual(kind === "integer" ? 1e-8 : 1e-12);
          if (kind !== "integer") for (let j = 0; j < n; j++) expect(Math.abs(sol.x[j] - lp.x[j])).toBeLessThanOrEqual(1e-9 * Math.max(1, norm(lp.x)));
          // One Bregman step: not necessarily optimal, but for a feasible x the gap bounds the excess.
          const early = solveBasisPursuit(bpProblem(rows, y, 1, weighted ? weights : undefined), { maxIter: 1, muRatio: 0.5 });
          if (early.feasibilityResidual! / norm(y) <= 1e-12) expect(early.objective - lp.value).toBeLessThanOrEqual(early.dualityGap + 1e-9 * lp.value);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ── the certificate ──────────────────────────────────────────────────────────────────────────────

describe("basis pursuit certificate", () => {
  const cases = fc.record({
    seed: fc.integer({ min: 1, max: 1e9 }),
    m: fc.integer({ min: 1, max: 25 }),
    extra: fc.integer({ min: 0, max: 40 }),
    sparse: fc.boolean(),
    weighted: fc.boolean(),
    maxIter: fc.constantFrom(1, 2, 100),
    polish: fc.boolean(),
    tol: fc.constantFrom(1e-4, 1e-8, 1e-12),
  });

  it("matches its recomputation from x and ν; gap ≥ 0; converged never contradicts it", () => {
    fc.assert(
      fc.property(cases, ({ seed, m, extra, sparse, weighted, maxIter, polish, tol }) => {
        const n = m + extra;
        const rng = new Random(seed);
        const rows = gaussianRows(rng, m, n);
        const y = sparse ? times(rows, sparseTruth(rng, n, Math.max(1, Math.floor(m / 4))).x) : Array.from({ length: m }, () => rng.normal());
        const weights = Array.from({ length: n }, () => (weighted ? 0.5 + rng.uniform() : 1));
        const l1 = 0.1 + 10 * rng.uniform();
        const sol = solveBasisPursuit(bpProblem(rows, y, l1, weighted ? weights : undefined), { maxIter, polish, tol });
        const ind = independentCertificate(rows, y, l1, weights, sol);
        const scale = l1 * Math.max(...weights);
        expect(sol.dualityGap).toBeGreaterThanOrEqual(0);
        expect(Math.abs(sol.feasibilityResidual! / norm(y) - ind.primalResidual)).toBeLessThanOrEqual(1e-12 + 1e-9 * ind.primalResidual);
        expect(relErr(sol.objective, ind.objective)).toBeLessThanOrEqual(1e-12);
        expect(Math.abs(sol.dualityGap - Math.max(0, ind.gap))).toBeLessThanOrEqual(1e-10 * ind.objective);
        expect(Math.abs(sol.kktViolation - ind.kkt)).toBeLessThanOrEqual(1e-10 * scale);
        const meets = ind.primalResidual <= tol * (1 + 1e-6) && ind.gap <= tol * ind.objective + 1e-10 * ind.objective && ind.kkt <= 1e-2 * scale * (1 + 1e-6);
        if (sol.converged) expect(meets).toBe(true);
        else expect(sol.message).toMatch(/‖Ax − y‖\/‖y‖/);
        // Stationarity l1 g + Aᵀν = 0 on the support: (Aᵀν)_j = −l1 w_j sign(x_j).
        if (sol.converged) {
          const atnu = timesT(rows, sol.multipliers!);
          for (const [a, j] of sol.active.entries()) expect(Math.abs(atnu[j] + l1 * weights[j] * sol.signs[a])).toBeLessThanOrEqual(1e-2 * scale);
        }
      }),
      { numRuns: 120 },
    );
  });

  it("the gap bounds objective − optimum even when the dual point is infeasible (scaled into the box)", () => {
    // Found by search: two Bregman steps leave a feasible x with ‖Aᵀw‖∞ = 1 + 8e-6 > l1.
    const rng = new Random(1732);
    const rows = gaussianRows(rng, 5, 10);
    const y = Array.from({ length: 5 }, () => rng.normal());
    const sol = solveBasisPursuit(bpProblem(rows, y), { maxIter: 2, muRatio: 0.01 });
    const w = Array.from(sol.multipliers!, (v) => -v);
    expect(Math.max(...timesT(rows, w).map(Math.abs))).toBeGreaterThan(1 + 1e-6);
    expect(sol.feasibilityResidual! / norm(y)).toBeLessThanOrEqual(1e-12);
    const lp = lpBasisPursuit(rows, y, new Array(10).fill(1));
    expect(sol.objective - lp.value).toBeGreaterThan(0);
    expect(sol.objective - lp.value).toBeLessThanOrEqual(sol.dualityGap * (1 + 1e-9));
  });

  it("y = 0: x = 0 with a zero certificate", () => {
    const sol = solve(bpProblem([[1, 2, 3], [4, 5, 6]], [0, 0]));
    expect(Array.from(sol.x)).toEqual([0, 0, 0]);
    expect(sol.converged).toBe(true);
    expect(sol.objective).toBe(0);
    expect(sol.feasibilityResidual).toBe(0);
  });

  it("one row: the BP solution puts all weight on the column with the largest |a_j|/w_j", () => {
    // min Σ w_j|x_j| s.t. Σ a_j x_j = y: x_j* = y/a_j at j* = argmax |a_j|/w_j, value w_j*|y/a_j*|.
    const sol = solve(bpProblem([[1, -4, 2, 3]], [2], 1, [1, 2.5, 1, 3]));
    expect(sol.active).toEqual([2]);
    expect(sol.x[2]).toBeCloseTo(1, 14);
    expect(sol.multipliers![0]).toBeCloseTo(-0.5, 14); // a_2ᵀw = l1 w_2 → w = 1/2, ν = −w
    // A tie (|a_1|/w_1 = |a_2|/w_2 = 2): every split between them is optimal, value 1.
    const tie = solve(bpProblem([[1, -4, 2, 3]], [2], 1, [1, 2, 1, 3]));
    expect(tie.converged).toBe(true);
    expect(tie.objective).toBeCloseTo(1, 9);
    expect(-4 * tie.x[1] + 2 * tie.x[2]).toBeCloseTo(2, 9);
  });
});

// ── problem files and the CLI ────────────────────────────────────────────────────────────────────

describe("basis pursuit from problem files and the CLI", () => {
  const rng = new Random(5);
  const rows = gaussianRows(rng, 20, 50);
  const truth = sparseTruth(rng, 50, 3);
  const doc = {
    format: "sparsetune-problem/1",
    A: { shape: [20, 50], data: rows.flat() },
    y: times(rows, truth.x),
    penalty: { l1: 1 },
    basisPursuit: true,
    validation: { A: { shape: [1, 50], data: rows[0] }, y: [0] },
  };

  it("parseProblemDocument reads the flag; solve picks the basis-pursuit solver", () => {
    const sol = solve(parseProblemDocument(doc));
    expect(sol.solver).toBe("basis-pursuit");
    expect(sol.active).toEqual(truth.support);
    inputError(() => parseProblemDocument({ ...doc, basisPursuit: "yes" }), /^basisPursuit: expected true or false/);
    expect(parseProblemDocument({ ...doc, basisPursuit: false }).basisPursuit).toBeUndefined();
  });

  it("sparsetune solve --json prints x, the multipliers and ‖Ax − y‖; hypergrad is refused (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-bp-"));
    const file = join(dir, "bp.json");
    writeFileSync(file, JSON.stringify(doc));
        const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
    const r = run("solve", file, "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.solver).toBe("basis-pursuit");
    expect(out.converged).toBe(true);
    expect(out.active).toEqual(truth.support);
    expect(out.multipliers).toHaveLength(20);
    expect(out.feasibilityResidual).toBeLessThanOrEqual(1e-12 * norm(doc.y));
    const text = run("solve", file);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/converged with basis-pursuit/);
    expect(text.stdout).toMatch(/multipliers/);
    const h = run("hypergrad", file);
    expect(h.status).toBe(2);
    expect(h.stdout).toBe("");
    expect(h.stderr).toMatch(/^sparsetune: basisPursuit: .*does not depend on l1/);
  });
});

// ── bad input ────────────────────────────────────────────────────────────────────────────────────

describe("basis pursuit: bad input", () => {
  const rows = [[1, 0, 2], [0, 1, 1]];
  const y = [1, 2];

  it("refuses tv on a user D, l2, a missing or zero l1, constraints and a non-boolean flag at createProblem", () => {
    inputError(() => createProblem({ A: rows, y, penalty: { l1: 1, tv: 0.5 }, D: [[1, -1, 0]], basisPursuit: true }), /^D: expected no D with basisPursuit and tv/);
    inputError(() => createProblem({ A: rows, y, penalty: { l1: 1, l2: 0.5 }, basisPursuit: true }), /^penalty\.l2: /);
    inputError(() => createProblem({ A: rows, y, basisPursuit: true }), /^penalty\.l1: expected a positive l1 with basisPursuit/);
    inputError(() => createProblem({ A: rows, y, penalty: { l1: 0 }, basisPursuit: true }), /^penalty\.l1: /);
    inputError(() => createProblem({ A: rows, y, penalty: { l1: 1 }, basisPursuit: true, constraints: { C: [[1, 1, 1]], d: [1] } }), /^constraints: /);
    inputError(() => createProblem({ A: rows, y, penalty: { l1: 1 }, basisPursuit: 1 as unknown as boolean }), /^basisPursuit: /);
  });

  it("refuses a penalty changed later (withPenalty) at solve time", () => {
    const p = bpProblem(rows, y);
    inputError(() => solve(withPenalty(p, { l1: 0 })), /^penalty\.l1: /);
    inputError(() => solve(withPenalty(p, { tv: -1 })), /^penalty\.tv: /);
    inputError(() => solve(withPenalty(p, { l2: 1 })), /^penalty\.l2: /);
  });

  it("rank-deficient A with y outside its range: a clear error, promptly", () => {
    // Row 3 = row 1 + row 2, y₃ ≠ y₁ + y₂: no x satisfies Ax = y.
    const rng = new Random(9);
    for (const [m, n] of [[3, 3], [4, 8], [30, 90]]) {
      const A = gaussianRows(rng, m, n);
      A[m - 1] = A[0].map((v, j) => v + A[1][j]);
      const yy = Array.from({ length: m }, () => rng.normal());
      const started = performance.now();
      inputError(() => solve(bpProblem(A, yy)), /^y: expected y in the range of A/);
      expect(performance.now() - started).toBeLessThan(20_000);
    }
  });

  it("other solvers refuse a basis-pursuit problem; basis-pursuit refuses a penalised one; no matrix-free A", () => {
    const p = bpProblem(rows, y);
    inputError(() => solve(p, { solver: "cd" }), /^basisPursuit: the cd solver solves penalised problems/);
    inputError(() => solve(p, { solver: "fista" }), /^basisPursuit: /);
    inputError(() => solve(createProblem({ A: rows, y, penalty: { l1: 0.1 } }), { solver: "basis-pursuit" }), /^solver: basis-pursuit solves problems with basisPursuit: true/);
    const dense = DenseMatrix.from(rows);
    const matrixFree = { rows: 2, cols: 3, apply: dense.apply.bind(dense), applyT: dense.applyT.bind(dense) };
    inputError(() => solve(createProblem({ A: matrixFree, y, penalty: { l1: 1 }, basisPursuit: true })), /^A: basis pursuit needs column access/);
    inputError(() => solveBasisPursuit(p, { maxIter: 0 }), /^options\.maxIter: /);
    inputError(() => solveBasisPursuit(p, { muRatio: 2 }), /^options\.muRatio: /);
  });

  it("hypergradients and tuning are refused: the solution does not depend on l1", () => {
    const p = createProblem({ A: rows, y, penalty: { l1: 1 }, basisPursuit: true, validation: { A: [[1, 1, 1]], y: [1] } });
    const sol = solve(p);
    inputError(() => hypergradient(p, sol, HeldOutMse.of(p)), /^basisPursuit: .*does not depend on l1/);
    inputError(() => fixedPointHypergradient(p, new Float64Array(3)), /^basisPursuit: /);
    inputError(() => tune(p), /^basisPursuit: .*tuning/);
  });
});
