import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomProblem } from "./optim-support.js";
import { inputError } from "./support.js";
import { DivergenceError, NumericalError } from "../src/errors.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { LeastSquares } from "../src/optim/least-squares.js";
import { LogisticRegression } from "../src/optim/logistic.js";
import { SmoothedTotalVariation } from "../src/optim/smoothed-tv.js";
import type { SmoothObjective } from "../src/optim/objective.js";
import type { Optimiser } from "../src/optim/optimiser.js";
import { GradientDescent } from "../src/optim/gradient-descent.js";
import { Momentum } from "../src/optim/momentum.js";
import { Adam } from "../src/optim/adam.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../src/optim/differentiate.js";
import { constantRate, inverseTimeSchedule } from "../src/optim/schedule.js";
import { hypergradientDescent } from "../src/optim/hypergradient-descent.js";
import { learnMomentum, learnSchedule } from "../src/optim/learn.js";

const { objective, x0, curvature } = randomProblem("least-squares", 11, 6, 4);

describe("bad input: InputError naming the field, before any work", () => {
  const eta = 0.5 / curvature;
  it.each([0, -1, 1.5, NaN, Infinity])("iterations K = %s", (K) => {
    for (const run of [runOptimiser, forwardDerivatives, reverseDerivatives]) inputError(() => run(new GradientDescent(objective, eta), x0, K), /iterations: expected an integer ≥ 1/);
    inputError(() => hypergradientDescent(objective, x0, K, { rate: eta, hyperRate: 1e-3 }), /iterations/);
    inputError(() => learnSchedule(objective, x0, K, { theta0: 0, theta1: 0 }), /iterations/);
  });
  it.each([0, -0.1, NaN, Infinity, -Infinity])("step size η = α = %s", (v) => {
    inputError(() => new GradientDescent(objective, v), /^eta: expected a finite number > 0/);
    inputError(() => new Momentum(objective, v, 0.5), /^eta:/);
    inputError(() => new Adam(objective, { alpha: v }), /^alpha:/);
    inputError(() => hypergradientDescent(objective, x0, 5, { rate: v, hyperRate: 1e-3 }), /^eta:/);
    inputError(() => learnMomentum(objective, x0, 5, { rate: v, beta: 0.5 }), /^rate:/);
  });
  it.each([-0.01, 1, 1.5, NaN, Infinity])("momentum β and Adam's β1 = %s (expected in [0, 1))", (v) => {
    inputError(() => new Momentum(objective, eta, v), /^beta: expected a number in \[0, 1\)/);
    inputError(() => new Adam(objective, { alpha: 0.1, beta1: v }), /^beta1: expected a number in \[0, 1\)/);
    inputError(() => hypergradientDescent(objective, x0, 5, { method: "momentum", rate: eta, hyperRate: 1e-3, momentum: v }), /^beta:/);
  });
  it.each([0, 1, -0.5, 1.5, NaN])("Adam's β2 = %s (expected in (0, 1))", (v) => {
    inputError(() => new Adam(objective, { alpha: 0.1, beta2: v }), /^beta2: expected a number in \(0, 1\)/);
  });
  it.each([0, -1e-8, NaN, Infinity])("Adam's ε = %s", (v) => {
    inputError(() => new Adam(objective, { alpha: 0.1, epsilon: v }), /^epsilon: expected a finite number > 0/);
  });
  it("β = 0 and β1 = 0 are accepted (plain gradient descent, no first-moment memory)", () => {
    expect(runOptimiser(new Momentum(objective, eta, 0), x0, 3).loss).toBe(runOptimiser(new GradientDescent(objective, eta), x0, 3).loss);
    expect(Number.isFinite(reverseDerivatives(new Adam(objective, { alpha: 0.01, beta1: 0 }), x0, 3).derivatives.beta1)).toBe(true);
  });
  it("non-finite or mis-sized data, schedules and options", () => {
    const A = new DenseMatrix(2, 2, Float64Array.of(1, 0, 0, 1));
    inputError(() => new LeastSquares(A, Float64Array.of(1, NaN)), /^b: expected finite entries/);
    inputError(() => new LeastSquares(A, Float64Array.of(1)), /^b: expected a Float64Array of length 2/);
    inputError(() => new LeastSquares(A, Float64Array.of(1, 2), -1), /^ridge:/);
    inputError(() => new LogisticRegression(A, Float64Array.of(1, 0)), /^labels: expected −1 or \+1/);
    inputError(() => new SmoothedTotalVariation(A, Float64Array.of(1, 2), new GridDifferences([2]), 1, 0), /^delta:/);
    inputError(() => new SmoothedTotalVariation(A, Float64Array.of(1, 2), new GridDifferences([3]), 1, 1), /^D: expected 2 columns/);
    inputError(() => new SmoothedTotalVariation(A, Float64Array.of(1, 2), new GridDifferences([2]), NaN, 1), /^tau:/);
    inputError(() => runOptimiser(new GradientDescent(objective, eta), Float64Array.of(1, 2), 3), /^x0: expected a Float64Array of length 4/);
    inputError(() => runOptimiser(new GradientDescent(objective, eta), Float64Array.of(1, 2, Infinity, 0), 3), /^x0: expected finite entries/);
    inputError(() => inverseTimeSchedule(NaN, 0), /^theta0:/);
    inputError(() => inverseTimeSchedule(0, Infinity), /^theta1:/);
    inputError(() => inverseTimeSchedule(800, 0), /^theta0:/); // e^800 overflows
    inputError(() => constantRate(-1), /^eta:/);
    inputError(() => reverseDerivatives(new GradientDescent(objective, eta), x0, 10, { interval: 0 }), /^interval:/);
    inputError(() => forwardDerivatives(new GradientDescent(objective, eta), x0, 10, { parameters: ["beta"] }), /^parameters: expected names among eta/);
    inputError(() => runOptimiser(new GradientDescent(objective, eta), x0, 10, { divergence: 1 }), /^divergence:/);
    inputError(() => hypergradientDescent(objective, x0, 5, { rate: eta, hyperRate: 0 }), /^hyperRate:/);
    inputError(() => hypergradientDescent(objective, x0, 5, { rate: eta, hyperRate: 1e-3, method: "sgd" as "gd" }), /^method:/);
    inputError(() => learnMomentum(objective, x0, 5, { rate: eta, beta: 0 }), /^beta: expected a start in \(0, 1\)/);
    inputError(() => learnSchedule(objective, x0, 5, { theta0: 0, theta1: 0 }, { outerSteps: 0 }), /^outerSteps:/);
  });
  it("custom objects: an optional method that is not a function, an optimiser without adjointUpdate (the old adjointStep)", () => {
    const eta = 0.5 / curvature;
    const plain = { dimension: objective.dimension, evaluate: (x: Float64Array, g: Float64Array) => objective.evaluate(x, g), hessianVector: (x: Float64Array, v: Float64Array, out: Float64Array) => objective.hessianVector(x, v, out) };
    for (const optional of ["evaluateWithHessianVectorAt", "evaluateWithHessianVectors"]) {
      const bad = { ...plain, [optional]: true } as unknown as SmoothObjective;
      inputError(() => new GradientDescent(bad, eta), new RegExp(`^objective: expected .*${optional}`));
      inputError(() => new Adam(bad, { alpha: 0.1 }), /^objective:/);
    }
    const gd = new GradientDescent(plain, eta);
    const oldStyle = { name: gd.name, objective: gd.objective, auxiliaries: 0, hyperparameters: gd.hyperparameters, step: gd.step.bind(gd), tangentStep: gd.tangentStep.bind(gd), adjointStep() {} } as unknown as Optimiser;
    inputError(() => reverseDerivatives(oldStyle, x0, 3), /^optimiser: expected .*adjointUpdate/);
    inputError(() => forwardDerivatives({ ...oldStyle, tangentStep: undefined } as unknown as Optimiser, x0, 3), /^optimiser: expected .*tangentStep/);
  });
});

describe("divergence: DivergenceError naming the step", () => {
  /** The first step whose loss leaves [−limit, limit] (or is not finite), by a plain loop on explicit arrays. */
  function firstDivergentStep(eta: number, K: number): number {
    const x = Float64Array.from(x0), g = new Float64Array(x.length);
    const limit = 1e12 * Math.max(1, objective.evaluate(x, g));
    for (let t = 1; t <= K; t++) {
      for (let j = 0; j < x.length; j++) x[j] -= eta * g[j];
      const f = objective.evaluate(x, g);
      if (!(Math.abs(f) <= limit)) return t;
    }
    return -1;
  }

  it("a rate far beyond 2/L: the same step in the plain run, forward mode and reverse mode", () => {
    const eta = 5 / curvature, K = 400;
    const expected = firstDivergentStep(eta, K);
    expect(expected).toBeGreaterThan(1);
    for (const run of [runOptimiser, forwardDerivatives, reverseDerivatives]) {
      let error: unknown;
      try {
        run(new GradientDescent(objective, eta), x0, K);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DivergenceError);
      expect(error).toBeInstanceOf(NumericalError); // the CLI's exit 1
      expect((error as DivergenceError).step).toBe(expected);
      expect((error as Error).message).toBe(`gradient descent diverged at step ${expected} (loss ${(error as Error).message.match(/loss (\S+)\)/)![1]}); lower the step size`);
      expect((error as Error).message).not.toContain("\n");
    }
  });

  it("a non-finite loss is divergence at its step (an objective that returns NaN past |x| > 3)", () => {
    const fragile: SmoothObjective = {
      dimension: 1,
      evaluate: (x, g) => {
        g[0] = -1; // the descent walks x up by η per step
        return Math.abs(x[0]) > 3 ? NaN : 1 - x[0];
      },
      hessianVector: (_x, _v, out) => out.fill(0),
    };
    expect(() => runOptimiser(new GradientDescent(fragile, 1), Float64Array.of(0), 10)).toThrow("gradient descent diverged at step 4 (loss NaN)");
    expect(() => runOptimiser(new Momentum(fragile, 1, 0.5), Float64Array.of(0), 10)).toThrow("momentum diverged at step 3 (loss NaN)");
    // 1 + 1.5 + 1.75 > 3 at the third step
  });

  it("the divergence factor is an option: a lower one stops earlier", () => {
    const stepOf = (divergence?: number) => {
      try {
        runOptimiser(new GradientDescent(objective, 5 / curvature), x0, 400, { divergence });
      } catch (e) {
        return (e as DivergenceError).step;
      }
      return -1;
    };
    expect(stepOf(10)).toBeGreaterThan(0);
    expect(stepOf(10)).toBeLessThan(stepOf());
  });
});

describe("hypergradient descent (Baydin et al. 2018)", () => {
  /** The paper's updates written out on plain arrays: u_{t−1} is the last step's direction. */
  function reference(method: "gd" | "momentum" | "adam", eta0: number, beta: number, K: number) {
    const n = x0.length, x = Float64Array.from(x0), g = new Float64Array(n), u = new Float64Array(n), v = new Float64Array(n), m = new Float64Array(n), s = new Float64Array(n);
    let eta = eta0;
    const rates: number[] = [], losses = [objective.evaluate(x, g)];
    for (let t = 0; t < K; t++) {
      if (t > 0) {
        let h = 0;
        for (let j = 0; j < n; j++) h += g[j] * u[j];
        eta += beta * h;
      }
      rates.push(eta);
      for (let j = 0; j < n; j++) {
        if (method === "gd") u[j] = g[j];
        else if (method === "momentum") u[j] = v[j] = 0.9 * v[j] + g[j];
        else {
          m[j] = 0.9 * m[j] + 0.1 * g[j];
          s[j] = 0.999 * s[j] + 0.001 * g[j] * g[j];
          u[j] = m[j] / (1 - 0.9 ** (t + 1)) / (Math.sqrt(s[j] / (1 - 0.999 ** (t + 1))) + 1e-8);
        }
        x[j] -= eta * u[j];
      }
      losses.push(objective.evaluate(x, g));
    }
    return { rates, losses };
  }

  it.each(["gd", "momentum", "adam"] as const)("%s-HD: η_t = η_{t−1} + β∇f(x_t)ᵀu_{t−1}, as the paper's updates written out", (method) => {
    const eta0 = method === "adam" ? 0.01 : 0.05 / curvature, beta = method === "adam" ? 1e-4 : 1e-3 / curvature;
    const run = hypergradientDescent(objective, x0, 30, { method, rate: eta0, hyperRate: beta });
    const ref = reference(method, eta0, beta, 30);
    for (let t = 0; t < 30; t++) expect(Math.abs(run.rates[t] - ref.rates[t])).toBeLessThanOrEqual(1e-12 * Math.abs(ref.rates[t]));
    for (let t = 0; t <= 30; t++) expect(Math.abs(run.losses[t] - ref.losses[t])).toBeLessThanOrEqual(1e-12 * ref.losses[0]);
    expect(run.rates[29]).not.toBe(eta0); // it adapted
  });

  it("from a rate 100× too small, the adapted rate grows and the loss ends lower than at the fixed rate", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        const p = randomProblem("ridge", seed, 8, 5);
        const eta = 0.01 / p.curvature;
        const adapted = hypergradientDescent(p.objective, p.x0, 50, { rate: eta, hyperRate: 0.01 / p.curvature ** 2 });
        expect(adapted.rates[49]).toBeGreaterThan(eta);
        expect(adapted.loss).toBeLessThan(runOptimiser(new GradientDescent(p.objective, eta), p.x0, 50).loss);
      }),
      { numRuns: 30 },
    );
  });
});

describe("hyperparameters learned by reverse mode over whole runs", () => {
  it("a learned schedule never ends above its start, and each accepted outer step lowers the final loss", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        const p = randomProblem("least-squares", seed, 10, 6);
        const learned = learnSchedule(p.objective, p.x0, 30, { theta0: Math.log(0.2 / p.curvature), theta1: -3 }, { outerSteps: 8 });
        for (let k = 1; k < learned.losses.length; k++) expect(learned.losses[k]).toBeLessThan(learned.losses[k - 1]);
        expect(learned.loss).toBe(runOptimiser(new GradientDescent(p.objective, inverseTimeSchedule(learned.theta0, learned.theta1)), p.x0, 30).loss);
      }),
      { numRuns: 15 },
    );
  });

  it("learned β stays in [0, 1) and lowers the final loss", () => {
    const learned = learnMomentum(objective, x0, 20, { rate: 0.1 / curvature, beta: 0.3 }, { outerSteps: 10 });
    expect(learned.beta).toBeGreaterThanOrEqual(0);
    expect(learned.beta).toBeLessThan(1);
    expect(learned.loss).toBeLessThan(learned.losses[0]);
    expect(learned.loss).toBe(runOptimiser(new Momentum(objective, 0.1 / curvature, learned.beta), x0, 20).loss);
  });
});
