import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { lassoPath } from "../src/solvers/homotopy.js";
import { lambdaGrid } from "../src/solvers/path.js";
import { unrolledForward, unrolledReverse, unrolledValue } from "../src/diff/unrolled.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { tune } from "../src/tune/tune.js";
import { NumericalError } from "../src/errors.js";
import { Random } from "../src/linalg/random.js";
import { createProblem } from "../src/problem.js";
import { CrossValidation } from "../src/criteria/cross-validation.js";
import { MaskOperator } from "../src/operators/mask.js";
import { solverByName } from "../src/solvers/index.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { LeastSquares } from "../src/optim/least-squares.js";
import { GradientDescent } from "../src/optim/gradient-descent.js";
import { Momentum } from "../src/optim/momentum.js";
import { Adam } from "../src/optim/adam.js";
import { valueOf } from "../src/optim/objective.js";
import { tuneAsync } from "../src/parallel/tune-async.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../src/optim/differentiate.js";
import { hypergradientDescent } from "../src/optim/hypergradient-descent.js";
import { learnMomentum, learnSchedule } from "../src/optim/learn.js";
import { CLI, FIXTURES, inputError } from "./support.js";

const lasso = join(FIXTURES, "lasso-small.json");

// The CLI runs from dist (`npm test` builds first).

/** A child process with a deadline: a hang is killed (code null, signal set) instead of stalling the suite. */
function runBounded(args: string[], timeout: number) {
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout, killSignal: "SIGKILL" });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe("hostile sizes are refused before any work, not run for hours", () => {
  it("unrolled differentiation: K beyond the cap is an InputError naming iterations (forward, reverse, value)", () => {
    const problem = loadProblemFile(lasso);
    const criterion = HeldOutMse.of(problem);
    for (const run of [unrolledForward, unrolledReverse, unrolledValue]) {
      for (const K of [1_000_001, 1e9, Number.MAX_SAFE_INTEGER]) inputError(() => run(problem, criterion, { iterations: K }), /^iterations: expected at most 1000000 /);
    }
  });

  it("hypergrad --iterations 1e9: exit 2 at once, one line naming --iterations", () => {
    for (const method of ["forward", "reverse"]) {
      const r = runBounded([CLI, "hypergrad", lasso, "--method", method, "--iterations", "1e9"], 20_000);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^sparsetune: .*--iterations.*1000000/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("tune --criterion cv --workers 1e9: no thread beyond the folds' (it finishes, as --workers 5 does)", () => {
    const out = mkdtempSync(join(tmpdir(), "sparsetune-workers-"));
    const r = runBounded([CLI, "tune", lasso, "--criterion", "cv", "--folds", "3", "--workers", "1000000000", "--out", out, "--json"], 20_000);
    expect(r.signal, "killed: the run hung starting a billion worker threads").toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).lambda.l1).toBeGreaterThan(0);
  });
});

describe("a criterion that is not finite anywhere", () => {
  it("sure with σ² overflowing (σ = 1e300) is an InputError naming sigma, not a TypeError", () => {
    const problem = loadProblemFile(lasso);
    inputError(() => tune(problem, { criterion: "sure", sigma: 1e300 }), /^sigma: /);
    // σ² finite but mσ² (30 rows) overflowing.
    inputError(() => tune(problem, { criterion: "sure", sigma: 1e154 }), /^sigma: /);
    // σ² underflowing to 0 is no noise level either.
    inputError(() => tune(problem, { criterion: "sure", sigma: 1e-200 }), /^sigma: /);
  });

  it("CLI: tune --criterion sure --sigma 1e300 exits 2 naming sigma, no internal error, no output files", () => {
    const out = join(mkdtempSync(join(tmpdir(), "sparsetune-sigma-")), "out");
    const r = runBounded([CLI, "tune", lasso, "--criterion", "sure", "--sigma", "1e300", "--out", out], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sparsetune: sigma: /);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(() => readdirSync(out)).toThrow();
  });
});

describe("an unrolled run whose extrapolated point overflows", () => {
  // γ = 1e300: z = x⁺ + γβ(x⁺ − x) is ±Infinity after the third step; the prox maps u = z − ηAᵀ(Az − y)
  // (Infinity − Infinity = NaN) to x = 0, a finite iterate that hid the blow-up (x_K = 0, every derivative 0).
  it("is a NumericalError naming the step, in forward, reverse and value alike", () => {
    const problem = loadProblemFile(lasso);
    const criterion = HeldOutMse.of(problem);
    for (const run of [unrolledForward, unrolledReverse, unrolledValue]) {
      for (const iterations of [4, 10]) {
        expect(() => run(problem, criterion, { solver: "fista", iterations, extrapolation: 1e300 })).toThrow(NumericalError);
        expect(() => run(problem, criterion, { solver: "fista", iterations, extrapolation: 1e300 })).toThrow(/diverged at step 3 /);
      }
    }
  });
});

describe("unrolled split-bregman with a μ too small for its x-update", () => {
  it("is a NumericalError naming mu (it said only \"matrix is singular to working precision\")", () => {
    const problem = loadProblemFile(lasso);
    for (const run of [unrolledForward, unrolledReverse]) {
      expect(() => run(problem, HeldOutMse.of(problem), { solver: "split-bregman", iterations: 5, mu: 1e-140 })).toThrow(/^split-bregman's x-update matrix .* is singular at mu = 1e-140 .*take a larger mu$/);
    }
  });
});

describe("sparsetune path --from below what a solve can certify", () => {
  it("names --from (the start solve's penalty.l1 is not a field the user gave)", () => {
    const r = runBounded([CLI, "path", lasso, "--from", "1e-300"], 20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sparsetune: from: expected at least 1\.0e-12·λ_max = 1\.9e-12 .*got 1\.0e-300/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("lassoPath and HeldOutMse refuse junk arguments with an InputError naming them", () => {
  const problem = loadProblemFile(lasso);

  it("lassoPath: no problem, options that are not an object, junk resume / basis / criterion / maxBreakpoints", () => {
    inputError(() => lassoPath(null as never), /^problem: /);
    inputError(() => lassoPath(problem, null as never), /^options: /);
    inputError(() => lassoPath(problem, { resume: {} as never }), /^resume: /);
    inputError(() => lassoPath(problem, { basis: {} as never }), /^basis: /);
    // A criterion without validation measurements was ignored: no minimiser, no word.
    for (const criterion of [{}, 5, { validation: { A: problem.A, y: problem.y } }]) inputError(() => lassoPath(problem, { criterion: criterion as never }), /^criterion: /);
    // maxBreakpoints 0, NaN or "5": the walk stopped at once, ran uncapped, or stopped after 5.
    for (const maxBreakpoints of [0, NaN, "5", 2.5]) inputError(() => lassoPath(problem, { maxBreakpoints: maxBreakpoints as never }), /^maxBreakpoints: /);
  });

  it("HeldOutMse: of(no problem), value and gradient of an x of the wrong length (was NaN)", () => {
    inputError(() => HeldOutMse.of(null as never), /^problem: /);
    const criterion = HeldOutMse.of(problem);
    inputError(() => criterion.value(new Float64Array(3)), /^x: expected a Float64Array of length 60 \(the columns of validation.A\)/);
    inputError(() => criterion.gradient(new Float64Array(3), new Float64Array(60)), /^x: expected a Float64Array of length 60 \(the columns of validation.A\)/);
    inputError(() => criterion.value([0, 1] as never), /^x: /);
  });
});

describe("grids and baselines of a billion points are refused, not allocated until the heap dies", () => {
  it("lambdaGrid: count beyond the cap, count or ratio out of their domain, λ_max not positive", () => {
    for (const count of [1e9, 0, -1, 2.5, NaN]) inputError(() => lambdaGrid(1, count), /^count: /);
    for (const ratio of [0, -1, 2, NaN]) inputError(() => lambdaGrid(1, 10, ratio), /^ratio: /);
    for (const lmax of [0, -1, NaN, Infinity]) inputError(() => lambdaGrid(lmax, 10), /^lmax: /);
    expect(lambdaGrid(2, 3, 0.25)).toEqual([2, 1, 0.5]);
  });

  it("tune: grid.count and random beyond the cap are InputErrors naming them (the process ran out of memory)", () => {
    const problem = loadProblemFile(lasso);
    inputError(() => tune(problem, { grid: { count: 1e9 } }), /^grid\.count: expected an integer in \[2, 100000\]/);
    inputError(() => tune(problem, { random: 1e9 }), /^random: expected an integer in \[0, 100000\]/);
  });
});

describe("tune: an option of another criterion is refused, not ignored", () => {
  it.each([
    ["--folds", ["--folds", "3"]],
    ["--workers", ["--workers", "2"]],
    ["--sigma", ["--sigma", "0.1"]],
    ["--folds", ["--criterion", "sure", "--sigma", "0.1", "--folds", "3"]],
    ["--sigma", ["--criterion", "cv", "--sigma", "0.1"]],
  ])("%s (with %j): exit 2 naming it, nothing written", (option, args) => {
    const out = join(mkdtempSync(join(tmpdir(), "sparsetune-misplaced-")), "out");
    const r = runBounded([CLI, "tune", lasso, ...args, "--out", out], 30_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^sparsetune: ${option}: applies to --criterion `));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(() => readdirSync(out)).toThrow();
  });
});

describe("cross-validation when A = identity (or a pixel mask): refused, not a meaningless answer", () => {
  // Each fold's held-out rows measure features that no training row measures: their predictions
  // come from the penalty alone. With l1 alone the tuner chose λ_max (x = 0) and said nothing; with
  // tv it failed with "A: the tv-denoise solver handles denoising only", a solver nobody asked for.
  const rng = new Random(7);
  const truth = Float64Array.from({ length: 40 }, (_, i) => (i < 15 ? 1 : i < 28 ? -0.5 : 2));
  const y = truth.map((v) => v + 0.1 * rng.normal());

  it.each([
    ["l1", { l1: 0.1 }],
    ["tv", { tv: 0.1 }],
  ])("identity with %s: an InputError naming the criterion", (_name, penalty) => {
    const problem = createProblem({ A: { identity: 40 }, y, penalty });
    inputError(() => tune(problem, { criterion: "cv", folds: 4 }), /^criterion: .*A = identity/);
    inputError(() => new CrossValidation(problem, 4, solverByName("fista")), /^criterion: /);
  });

  it("a pixel mask likewise", () => {
    const mask = Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const problem = createProblem({ A: new MaskOperator(mask, 40), y: y.filter((_, i) => mask[i] === 1), penalty: { tv: 0.1 } });
    inputError(() => tune(problem, { criterion: "cv", folds: 4 }), /^criterion: /);
  });

  it("CLI: tune --criterion cv on an identity problem exits 2 with one line, nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-cv-identity-"));
    const file = join(dir, "p.json");
    writeFileSync(file, JSON.stringify({ format: "sparsetune-problem/1", A: { identity: 40 }, y: Array.from(y), penalty: { l1: 0.1 } }));
    const r = runBounded([CLI, "tune", file, "--criterion", "cv", "--out", join(dir, "out")], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sparsetune: criterion: /);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(() => readdirSync(join(dir, "out"))).toThrow();
  });
});

describe("optimiser runs of a billion steps are refused like unrolled solvers", () => {
  const objective = new LeastSquares(new DenseMatrix(2, 2, Float64Array.of(1, 0, 0, 2)), Float64Array.of(1, 1));
  const x0 = Float64Array.of(0, 0);
  it("runOptimiser, forward/reverseDerivatives, hypergradientDescent, learnSchedule, learnMomentum: InputError naming iterations", () => {
    const cap = /^iterations: expected at most 1000000 /;
    for (const K of [1_000_001, 1e12]) {
      inputError(() => runOptimiser(new GradientDescent(objective, 0.1), x0, K), cap);
      inputError(() => forwardDerivatives(new GradientDescent(objective, 0.1), x0, K), cap);
      inputError(() => reverseDerivatives(new GradientDescent(objective, 0.1), x0, K), cap);
      // It allocated K + 1 losses first: 1e12 was a RangeError, 1e9 eight gigabytes.
      inputError(() => hypergradientDescent(objective, x0, K, { rate: 0.1, hyperRate: 0.01 }), cap);
      inputError(() => learnSchedule(objective, x0, K, { theta0: Math.log(0.1), theta1: Math.log(0.01) }), cap);
      inputError(() => learnMomentum(objective, x0, K, { rate: 0.1, beta: 0.5 }), cap);
    }
  });
});

describe("optimisers and their runs: missing arguments are InputErrors, not TypeErrors", () => {
  const objective = new LeastSquares(new DenseMatrix(2, 2, Float64Array.of(1, 0, 0, 2)), Float64Array.of(1, 1));
  const x0 = Float64Array.of(0, 0);
  it("objective, optimiser, options and start objects", () => {
    inputError(() => new GradientDescent(null as never, 0.1), /^objective: expected a smooth objective/);
    inputError(() => new Momentum({} as never, 0.1, 0.5), /^objective: /);
    inputError(() => new Adam(objective, null as never), /^parameters: /);
    inputError(() => valueOf(null as never, x0), /^objective: /);
    inputError(() => runOptimiser(null as never, x0, 3), /^optimiser: /);
    inputError(() => forwardDerivatives(new GradientDescent(objective, 0.1), x0, 3, null as never), /^options: /);
    inputError(() => reverseDerivatives(new GradientDescent(objective, 0.1), x0, 3, null as never), /^options: /);
    inputError(() => hypergradientDescent(objective, x0, 3, null as never), /^options: /);
    inputError(() => learnSchedule(objective, x0, 3, null as never), /^start: /);
    inputError(() => learnMomentum(objective, x0, 3, null as never), /^start: /);
  });

  it("tuneAsync with options null", async () => {
    await expect(tuneAsync(loadProblemFile(lasso), null as never)).rejects.toThrow(/^options: expected an object/);
  });
});
