import { afterAll, describe, expect, it } from "vitest";
// The pool's workers run the built code (dist/parallel/fold-worker.js): everything here comes from dist (`npm test` builds first).
import { closeFoldPools, CrossValidation, createProblem, FoldPool, InputError, lambdaMax, Random, solverByName, spikeTrainProblem, tune, tuneAsync, withPenalty } from "../dist/node.js";
import type { HyperGradient, Penalty, Problem } from "../dist/node.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, runCli } from "./support.js";

const pool = new FoldPool(2);
afterAll(() => pool.close());

/** Serial and pooled CV on the same path of penalties (each warm-started from the last): value and hypergradient agree to rounding. */
function expectSameAlongPath(problem: Problem, folds: number, penalties: Penalty[]) {
  const cd = solverByName("cd");
  const serial = new CrossValidation(problem, folds, cd);
  const pooled = new CrossValidation(problem, folds, cd, (f) => pool.evaluator(f, "cd"));
  for (const penalty of penalties) {
    const a = serial.evaluate(penalty, 1e-10), b = pooled.evaluate(penalty, 1e-10);
    expect(Math.abs(b.value - a.value)).toBeLessThanOrEqual(1e-13 * a.value);
    expect(b.solves).toBe(a.solves);
    expect(b.innerIterations).toBe(a.innerIterations);
    expect(b.converged).toBe(a.converged);
    const ga = a.gradient as HyperGradient, gb = b.gradient as HyperGradient;
    expect(Object.keys(gb).sort()).toEqual(Object.keys(ga).sort());
    for (const [name, g] of Object.entries(ga)) {
      const h = gb[name];
      if (typeof g === "number") expect(Math.abs((h as number) - g)).toBeLessThanOrEqual(1e-12 * Math.abs(g) + 1e-300);
      else g.forEach((v, j) => expect(Math.abs((h as Float64Array)[j] - v)).toBeLessThanOrEqual(1e-12 * Math.max(...g.map(Math.abs))));
    }
    // Not a constant: the values move along the path.
    expect(a.value).toBeGreaterThan(0);
  }
}

describe("cross-validation on a pool of worker threads", () => {
  const problem = spikeTrainProblem({ length: 300, measurements: 120, validationMeasurements: 30, spikes: 10 });
  const lmax = lambdaMax(problem);

  it("5 folds on 2 workers: the criterion and its hypergradient equal the serial ones, along a warm-started path", () => {
    expectSameAlongPath(problem, 5, [0.5, 0.2, 0.1, 0.05, 0.02].map((f) => ({ l1: f * lmax, l2: 0, tv: 0 })));
  });

  it("elastic net, per-feature weights (a vector hypergradient) and an intercept", () => {
    expectSameAlongPath(problem, 3, [0.3, 0.1].map((f) => ({ l1: f * lmax, l2: 0.01 * lmax, tv: 0 })));
    const weights = Float64Array.from({ length: problem.A.cols }, (_, j) => 0.5 + (j % 7) / 7);
    expectSameAlongPath(withPenalty(problem, { weights }), 4, [{ l1: 0.1 * lmax, l2: 0, tv: 0, weights }]);
    const rng = new Random(2);
    const shifted = createProblem({ A: Array.from({ length: 60 }, () => Array.from({ length: 40 }, () => rng.normal() + 2)), y: Array.from({ length: 60 }, () => rng.normal() + 5), intercept: true });
    expectSameAlongPath(shifted, 5, [0.3, 0.1, 0.03].map((f) => ({ l1: f * lambdaMax(shifted), l2: 0, tv: 0 })));
  });

  it("tuneAsync({ criterion: 'cv', workers: 2 }) makes the serial run's choices", async () => {
    const serial = tune(problem, { criterion: "cv", folds: 5 });
    const parallel = await tuneAsync(problem, { criterion: "cv", folds: 5, workers: 2 });
    expect(parallel.lambda.l1).toBe(serial.lambda.l1);
    expect(parallel.solves).toBe(serial.solves);
    expect(Math.abs(parallel.criterion - serial.criterion)).toBeLessThanOrEqual(1e-13 * serial.criterion);
    expect(parallel.trajectory.map((p) => p.lambda.l1)).toEqual(serial.trajectory.map((p) => p.lambda.l1));
    // Later runs reuse the pool's workers (given new folds each time): 3 folds, then 5 again, the same choices.
    const three = await tuneAsync(problem, { criterion: "cv", folds: 3, workers: 2 });
    expect(three.lambda.l1).toBe(tune(problem, { criterion: "cv", folds: 3 }).lambda.l1);
    const again = await tuneAsync(problem, { criterion: "cv", folds: 5, workers: 2 });
    expect(again.lambda.l1).toBe(serial.lambda.l1);
    expect(again.criterion).toBe(parallel.criterion);
    // Closed, the next run starts a new pool.
    await closeFoldPools();
    expect((await tuneAsync(problem, { criterion: "cv", folds: 5, workers: 2 })).criterion).toBe(parallel.criterion);
    await closeFoldPools();
  });

  it("CLI: tune --criterion cv --workers 2 reports what --workers 1 does", () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-pool-"));
    const run = (workers: string) => JSON.parse(runCli("tune", join(FIXTURES, "lasso-cs-200x500.json"), "--criterion", "cv", "--workers", workers, "--out", join(dir, workers), "--json").stdout);
    const one = run("1"), two = run("2");
    expect(two.lambda).toEqual(one.lambda);
    expect(two.solves).toBe(one.solves);
    expect(Math.abs(two.criterion - one.criterion)).toBeLessThanOrEqual(1e-13 * one.criterion);
    expect(runCli("tune", join(FIXTURES, "lasso-cs-200x500.json"), "--criterion", "cv", "--workers", "0").code).toBe(2);
  });

  it("an error in a worker reaches the caller as the same error; bad worker counts are refused", async () => {
    const cv = new CrossValidation(problem, 3, solverByName("cd"), (f) => pool.evaluator(f, "cd"));
    expect(() => cv.evaluate({ l1: -1, l2: 0, tv: 0 }, 1e-8)).toThrow(InputError);
    expect(() => cv.evaluate({ l1: -1, l2: 0, tv: 0 }, 1e-8)).toThrow(/penalty\.l1/);
    // The pool still works after a failed round.
    expect(cv.evaluate({ l1: 0.1 * lmax, l2: 0, tv: 0 }, 1e-8).value).toBeGreaterThan(0);
    await expect(tuneAsync(problem, { criterion: "cv", workers: 0 })).rejects.toThrow(InputError);
    expect(() => new FoldPool(1.5)).toThrow(/workers/);
  });
});
