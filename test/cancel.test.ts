import { describe, expect, it } from "vitest";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { InputError } from "../src/errors.js";
import { spikeTrainProblem } from "../src/problems/spike-train.js";
import { withPenalty } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { tune, type TuningReport } from "../src/tune/tune.js";

const problem = spikeTrainProblem({ length: 256, measurements: 80, validationMeasurements: 40, spikes: 8 });

/** A cancelled report is complete: x solves the problem at the reported λ (to the evaluation's tolerance), its criterion is the best of the trajectory. */
function expectValidCancelled(report: TuningReport) {
  expect(report.cancelled).toBe(true);
  expect(report.converged).toBe(false);
  expect(report.message).toMatch(/^cancelled/);
  expect(report.x).toHaveLength(problem.A.cols);
  expect(report.x.every(Number.isFinite)).toBe(true);
  expect(report.solution.penalty.l1).toBe(report.lambda.l1);
  const finite = report.trajectory.map((p) => p.criterion).filter(Number.isFinite);
  expect(report.criterion).toBe(Math.min(...finite));
  // The held-out MSE recomputed from x (an independent evaluation of the same criterion).
  const v = problem.validation!;
  const pred = v.A.apply(report.x, new Float64Array(v.A.rows));
  let mse = 0;
  for (let i = 0; i < pred.length; i++) mse += (pred[i] - v.y[i]) ** 2 / pred.length;
  expect(Math.abs(mse - report.criterion)).toBeLessThanOrEqual(1e-12 * mse);
  // x is the solve at that λ: a tight solve there agrees to the looser tolerance it was solved at.
  const exact = solve(withPenalty(problem, { l1: report.lambda.l1 }), { tol: 1e-12 });
  const scale = Math.max(...exact.x.map(Math.abs));
  for (let j = 0; j < exact.x.length; j++) expect(Math.abs(exact.x[j] - report.x[j])).toBeLessThanOrEqual(1e-2 * scale);
}

describe("tune(problem, { signal })", () => {
  it.each([1, 2, 4])("aborted from onEvent after %i iterations: the best point so far, marked cancelled", (k) => {
    const full = tune(problem, { scan: 0, exact: false });
    expect(full.cancelled).toBe(false);
    expect(full.iterations).toBeGreaterThan(k); // otherwise the abort would come too late to test anything
    const controller = new AbortController();
    const report = tune(problem, {
      scan: 0,
      exact: false,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "iteration" && e.iteration === k) controller.abort();
      },
    });
    expectValidCancelled(report);
    // Stopped right after the k-th step: the same trajectory as the full run up to there, no more.
    expect(report.iterations).toBe(k + 1);
    expect(report.trajectory.length).toBeLessThan(full.trajectory.length);
    report.trajectory.forEach((p, i) => expect(p.criterion).toBe(full.trajectory[i].criterion));
    expect(report.solves).toBe(report.trajectory.reduce((s, p) => s + p.solves, 0));
  });

  it("aborted during the scan: the best scan point", () => {
    const controller = new AbortController();
    const report = tune(problem, { exact: false, signal: controller.signal, onEvent: (e) => e.type === "baseline" && e.index === 3 && controller.abort() });
    expectValidCancelled(report);
    expect(report.trajectory).toHaveLength(4);
  });

  it("already aborted: the start alone, evaluated once", () => {
    const controller = new AbortController();
    controller.abort();
    const report = tune(problem, { signal: controller.signal, start: { l1: problem.penalty.l1 } });
    expect(report.trajectory).toHaveLength(1);
    expect(Math.abs(report.lambda.l1 - problem.penalty.l1)).toBeLessThanOrEqual(1e-14 * problem.penalty.l1);
    expect(report.cancelled).toBe(true);
    expect(report.converged).toBe(false);
    expect(report.x.every(Number.isFinite)).toBe(true);
  });

  it("aborted at any point of a scanned exact run, the walks included: the best of the trajectory so far", () => {
    // Large enough for a scan before the walks (small problems walk the whole path).
    const scanned = spikeTrainProblem({ length: 2048, measurements: 200, validationMeasurements: 100, spikes: 20 });
    let reads = 0;
    const full = tune(scanned, { signal: { get aborted() { return ++reads < 0; } } });
    expect(full.message).toMatch(/walks?\)/);
    // Every 8th read of the signal, and each of the last 16 (the walks come last).
    const at = [...Array.from({ length: Math.ceil(reads / 8) }, (_, i) => 1 + 8 * i), ...Array.from({ length: 16 }, (_, i) => reads - i)];
    let fromWalk = 0;
    for (const k of at) {
      let r = 0;
      const report = tune(scanned, { signal: { get aborted() { return ++r > k; } } });
      if (!report.cancelled) continue;
      const finite = report.trajectory.map((p) => p.criterion).filter(Number.isFinite);
      expect(report.criterion).toBe(Math.min(...finite));
      expect(report.x.every(Number.isFinite)).toBe(true);
      const best = report.trajectory.find((p) => p.criterion === report.criterion)!;
      if (best.solves === 0 || best.tol === 1e-10) fromWalk++;
      // x is a solve at the reported λ: its held-out MSE is the reported criterion (to the solve's tolerance).
      expect(Math.abs(HeldOutMse.of(scanned).value(report.x) - report.criterion)).toBeLessThanOrEqual(1e-6 * report.criterion);
    }
    expect(fromWalk).toBeGreaterThan(0); // the abort did land after a walk's point
  });

  it("cv: the report's x is one solve of the whole problem at the best λ (CV solves only folds)", () => {
    const controller = new AbortController();
    const report = tune(problem, { criterion: "cv", folds: 3, scan: 0, exact: false, signal: controller.signal, onEvent: (e) => e.type === "iteration" && e.iteration === 1 && controller.abort() });
    expect(report.cancelled).toBe(true);
    expect(report.solves).toBe(report.trajectory.reduce((s, p) => s + p.solves, 0) + 1);
    const exact = solve(withPenalty(problem, { l1: report.lambda.l1 }), { tol: 1e-12 });
    const scale = Math.max(...exact.x.map(Math.abs));
    for (let j = 0; j < exact.x.length; j++) expect(Math.abs(exact.x[j] - report.x[j])).toBeLessThanOrEqual(1e-3 * scale);
    expect(HeldOutMse.of(problem).value(report.x)).toBeGreaterThan(0);
  });

  it("an inner solve stops at its next iteration once aborted, unconverged and saying so", () => {
    const p = withPenalty(problem, { l1: 1e-3 * problem.penalty.l1 });
    let reads = 0;
    const signal = { get aborted() { return ++reads > 3; } };
    const s = solve(p, { signal, tol: 1e-14, polish: false });
    expect(s.converged).toBe(false);
    expect(s.message).toMatch(/cancelled/);
    expect(s.iterations).toBeLessThanOrEqual(3);
    expect(s.x.every(Number.isFinite)).toBe(true);
  });

  it("a signal that never aborts changes nothing, SURE's floor and jumps included (the checked objective is the objective underneath)", () => {
    const never = new AbortController().signal;
    // Scanned first (large enough), SURE below zero at its minimum (σ above the noise).
    const scanned = spikeTrainProblem({ length: 2048, measurements: 200, validationMeasurements: 20, spikes: 20 });
    for (const options of [{ criterion: "sure" as const, sigma: 0.05 }, { criterion: "heldout" as const }]) {
      const plain = tune(scanned, options), checked = tune(scanned, { ...options, signal: never });
      if (options.criterion === "sure") expect(plain.criterion).toBeLessThan(0);
      // Its scan also evaluates the start: warm starts and the bracket may differ, the exact minimum not.
      expect(Math.abs(checked.criterion - plain.criterion)).toBeLessThanOrEqual(1e-9 * Math.abs(plain.criterion));
      expect(Math.abs(checked.lambda.l1 - plain.lambda.l1)).toBeLessThanOrEqual(1e-9 * plain.lambda.l1);
    }
  });

  it("refuses a signal that is not one", () => {
    expect(() => tune(problem, { signal: {} as AbortSignal })).toThrow(InputError);
    expect(() => tune(problem, { signal: 1 as unknown as AbortSignal })).toThrow(/signal/);
  });
});
