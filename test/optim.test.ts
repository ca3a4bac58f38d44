import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { KINDS, gaussianVector, randomProblem, type Kind } from "./optim-support.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import type { LinearOperator } from "../src/operators/operator.js";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { LeastSquares } from "../src/optim/least-squares.js";
import { LogisticRegression } from "../src/optim/logistic.js";
import { SmoothedTotalVariation } from "../src/optim/smoothed-tv.js";
import { valueOf, type SmoothObjective } from "../src/optim/objective.js";
import { GradientDescent } from "../src/optim/gradient-descent.js";
import { Momentum } from "../src/optim/momentum.js";
import { Adam } from "../src/optim/adam.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../src/optim/differentiate.js";
import { inverseTimeSchedule } from "../src/optim/schedule.js";
import type { Optimiser } from "../src/optim/optimiser.js";

type MethodName = "gd" | "schedule" | "momentum" | "adam";
const METHODS: MethodName[] = ["gd", "schedule", "momentum", "adam"];

/** A method from its hyperparameter vector (the order of `optimiser.hyperparameters`). */
function build(method: MethodName, objective: SmoothObjective, h: number[]): Optimiser {
  switch (method) {
    case "gd":
      return new GradientDescent(objective, h[0]);
    case "schedule":
      return new GradientDescent(objective, inverseTimeSchedule(h[0], h[1]));
    case "momentum":
      return new Momentum(objective, h[0], h[1]);
    case "adam":
      return new Adam(objective, { alpha: h[0], beta1: h[1], beta2: h[2], epsilon: h[3] });
  }
}

/** Hyperparameters from unit draws u ∈ [0, 1)⁴, stable for the problem's curvature bound. */
function hyperparameters(method: MethodName, curvature: number, u: number[]): number[] {
  switch (method) {
    case "gd":
      return [(0.05 + 1.5 * u[0]) / curvature];
    case "schedule":
      return [Math.log((0.05 + 1.5 * u[0]) / curvature), -4 + 4 * u[1]];
    case "momentum":
      return [(0.05 + 0.9 * u[0]) / curvature, 0.01 + 0.89 * u[1]];
    case "adam":
      return [0.005 + 0.1 * u[0], 0.01 + 0.94 * u[1], 0.5 + 0.499 * u[2], 10 ** (-8 + 7 * u[3])];
  }
}

const problemArb = fc.record({
  kind: fc.constantFrom<Kind>(...KINDS),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  m: fc.integer({ min: 1, max: 7 }),
  n: fc.integer({ min: 1, max: 6 }),
});
const unitArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 4, maxLength: 4 });

/** The central-difference step for hyperparameter p: relative to η, α, ε; absolute (1e-6) for the β's and θ's. */
function stepFor(method: MethodName, h: number[], p: number): number {
  const absolute = (method === "momentum" && p === 1) || (method === "adam" && (p === 1 || p === 2)) || method === "schedule";
  return absolute ? 1e-6 : method === "adam" && p === 3 ? 1e-4 * h[p] : 1e-6 * h[p];
}

function centralDifference(method: MethodName, objective: SmoothObjective, x0: Float64Array, K: number, h: number[], p: number, step: number): number {
  const plus = [...h], minus = [...h];
  plus[p] += step;
  minus[p] -= step;
  return (runOptimiser(build(method, objective, plus), x0, K).loss - runOptimiser(build(method, objective, minus), x0, K).loss) / (2 * step);
}

/**
 * Central differences for each hyperparameter, or null where the final loss is not smooth at the
 * scale of the step (the differences at step and 10·step disagree by more than 1e-3): Adam's
 * near-sign steps around a minimiser can make x_K a chaotic function of its hyperparameters, where
 * tangents grow exponentially and no derivative (nor difference) is meaningful.
 */
function smoothDifferences(method: MethodName, objective: SmoothObjective, x0: Float64Array, K: number, h: number[], scale: number): number[] | null {
  const fd: number[] = [];
  for (let p = 0; p < h.length; p++) {
    const step = stepFor(method, h, p);
    const fine = centralDifference(method, objective, x0, K, h, p, step);
    const coarse = centralDifference(method, objective, x0, K, h, p, 10 * step);
    if (Math.abs(fine - coarse) > 1e-3 * (Math.abs(fine) + 1e-6 * scale)) return null;
    fd.push(fine);
  }
  return fd;
}

describe("smooth objectives: gradient and Hessian-vector product", () => {
  it("match central differences of the value and of the gradient (all four kinds, 1 to 7 rows, 1 to 6 unknowns)", () => {
    let worstGradient = 0, worstHessian = 0;
    fc.assert(
      fc.property(problemArb, fc.integer(), ({ kind, seed, m, n }, vSeed) => {
        const { objective, x0 } = randomProblem(kind, seed, m, n);
        const v = gaussianVector(new Random(vSeed), n);
        const g = new Float64Array(n), hv = objective.hessianVector(x0, v, new Float64Array(n));
        const f0 = objective.evaluate(x0, g);
        const h = 1e-5;
        const gp = new Float64Array(n), gm = new Float64Array(n), xp = new Float64Array(n), xm = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          xp.set(x0);
          xm.set(x0);
          xp[j] += h;
          xm[j] -= h;
          const fd = (valueOf(objective, xp) - valueOf(objective, xm)) / (2 * h);
          const err = Math.abs(fd - g[j]) / (Math.abs(g[j]) + 1e-3 * (1 + Math.abs(f0)));
          worstGradient = Math.max(worstGradient, err);
          expect(err).toBeLessThanOrEqual(3e-8);
        }
        for (let j = 0; j < n; j++) {
          xp[j] = x0[j] + h * v[j];
          xm[j] = x0[j] - h * v[j];
        }
        objective.evaluate(xp, gp);
        objective.evaluate(xm, gm);
        let scale = 0;
        for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(hv[j]));
        for (let j = 0; j < n; j++) {
          const err = Math.abs((gp[j] - gm[j]) / (2 * h) - hv[j]) / (scale + 1e-3);
          worstHessian = Math.max(worstHessian, err);
          expect(err).toBeLessThanOrEqual(1e-8);
        }
      }),
      { numRuns: 200 },
    );
    console.log(`objectives: worst relative error gradient ${worstGradient.toExponential(1)}, Hessian-vector ${worstHessian.toExponential(1)}`);
  });

  it("agree with closed forms built entry by entry", () => {
    // Least squares with ridge: f = ½‖Ax − b‖² + λ/2‖x‖², ∇f = AᵀAx − Aᵀb + λx, on a 2×2 example by hand.
    const A = new DenseMatrix(2, 2, Float64Array.of(1, 3, 2, 4)); // [[1, 2], [3, 4]] column-major
    const ls = new LeastSquares(A, Float64Array.of(1, -1), 0.5);
    const g = new Float64Array(2);
    const f = ls.evaluate(Float64Array.of(1, 1), g); // Ax − b = (2, 8)
    expect(f).toBeCloseTo(0.5 * (4 + 64) + 0.25 * 2, 14);
    expect(Array.from(g)).toEqual([2 + 24 + 0.5, 4 + 32 + 0.5]);
    expect(Array.from(ls.hessianVector(Float64Array.of(0, 0), Float64Array.of(1, 0), new Float64Array(2)))).toEqual([10 + 0.5, 14]);
    // Logistic at x = 0: f = m·log 2, ∇f = −½Aᵀy, ∇²f = ¼AᵀA.
    const lr = new LogisticRegression(A, Float64Array.of(1, -1));
    expect(lr.evaluate(new Float64Array(2), g)).toBeCloseTo(2 * Math.LN2, 15);
    expect(Array.from(g)).toEqual([-0.5 * (1 - 3), -0.5 * (2 - 4)]);
    expect(Array.from(lr.hessianVector(new Float64Array(2), Float64Array.of(0, 1), new Float64Array(2)))).toEqual([0.25 * 14, 0.25 * 20]);
    // Logistic with huge margins stays finite: log(1 + e^{−m}) ≈ e^{−m} for m = 800, ≈ −m for m = −800.
    const far = new LogisticRegression(new DenseMatrix(2, 1, Float64Array.of(1, 1)), Float64Array.of(1, -1));
    expect(far.evaluate(Float64Array.of(800), new Float64Array(1))).toBeCloseTo(800, 10);
    // Smoothed TV of a 2-sample signal: D = [−1, 1], f = ½‖x − b‖² + τ√((x2 − x1)² + δ²).
    const tv = new SmoothedTotalVariation(new DenseMatrix(2, 2, Float64Array.of(1, 0, 0, 1)), Float64Array.of(0, 0), new GridDifferences([2]), 2, 0.75);
    const x = Float64Array.of(0, 1);
    expect(tv.evaluate(x, g)).toBeCloseTo(0.5 + 2 * 1.25, 14);
    expect(g[0]).toBeCloseTo(0 - 2 * (1 / 1.25), 14);
    expect(g[1]).toBeCloseTo(1 + 2 * (1 / 1.25), 14);
    // ∇²(TV part) = τ δ²/ρ³ DᵀD with ρ = 1.25.
    const hv = tv.hessianVector(x, Float64Array.of(1, 0), new Float64Array(2));
    const c = (2 * 0.5625) / 1.25 ** 3;
    expect(hv[0]).toBeCloseTo(1 + c, 14);
    expect(hv[1]).toBeCloseTo(-c, 14);
  });
});

/** The objectives that share passes over A between gradients and Hessian-vector products, on A (D: first differences). */
function fusingObjectives(A: LinearOperator, ridge: number, rng: Random): SmoothObjective[] {
  const m = A.rows, n = A.cols;
  return [
    new LeastSquares(A, Float64Array.from({ length: m }, () => rng.normal()), ridge),
    new LogisticRegression(A, Float64Array.from({ length: m }, () => (rng.normal() > 0 ? 1 : -1)), ridge),
    new SmoothedTotalVariation(A, Float64Array.from({ length: m }, () => rng.normal()), new GridDifferences([n]), 0.3, 0.1),
  ];
}

describe("differentiable optimisers: derivatives of the final loss in the hyperparameters", () => {
  it("forward mode matches central differences (GD, inverse-time schedule, momentum, Adam on all four objectives)", () => {
    let worst = 0, skipped = 0;
    fc.assert(
      fc.property(problemArb, fc.constantFrom(...METHODS), unitArb, fc.integer({ min: 1, max: 25 }), ({ kind, seed, m, n }, method, u, K) => {
        const { objective, x0, curvature } = randomProblem(kind, seed, m, n);
        const h = hyperparameters(method, curvature, u);
        const f0 = valueOf(objective, x0);
        const fd = smoothDifferences(method, objective, x0, K, h, f0);
        if (fd === null) skipped++;
        fc.pre(fd !== null);
        const forward = forwardDerivatives(build(method, objective, h), x0, K);
        build(method, objective, h).hyperparameters.forEach((name, p) => {
          // Relative, with a floor at the rounding level of the difference (ε·f₀/step).
          const err = Math.abs(forward.derivatives[name] - fd![p]) / (Math.abs(fd![p]) + (1e-9 * Math.abs(f0)) / stepFor(method, h, p));
          worst = Math.max(worst, err);
          expect(err, `${method} ${name}`).toBeLessThanOrEqual(2e-6);
        });
      }),
      { numRuns: 200 },
    );
    console.log(`forward mode vs central differences: worst relative error ${worst.toExponential(1)} (${skipped} non-smooth draws skipped)`);
  });

  it("reverse mode (checkpointed, any interval) agrees with forward mode to 1e-10 relative", () => {
    let worst = 0, skipped = 0;
    fc.assert(
      fc.property(
        problemArb,
        fc.constantFrom(...METHODS),
        unitArb,
        fc.integer({ min: 1, max: 60 }),
        fc.option(fc.integer({ min: 1, max: 70 }), { nil: undefined }),
        ({ kind, seed, m, n }, method, u, K, interval) => {
          const { objective, x0, curvature } = randomProblem(kind, seed, m, n);
          const h = hyperparameters(method, curvature, u);
          const f0 = valueOf(objective, x0);
          const smooth = method !== "adam" || smoothDifferences(method, objective, x0, K, h, f0) !== null;
          if (!smooth) skipped++;
          fc.pre(smooth);
          const optimiser = build(method, objective, h);
          const forward = forwardDerivatives(optimiser, x0, K);
          const reverse = reverseDerivatives(optimiser, x0, K, { interval });
          expect(reverse.loss).toBe(forward.loss);
          expect(Array.from(reverse.x)).toEqual(Array.from(forward.x));
          for (const name of optimiser.hyperparameters) {
            const a = forward.derivatives[name], b = reverse.derivatives[name];
            // A derivative that is exactly 0 (Adam's β1, β2 at K = 1: the bias correction cancels
            // them) comes back as rounding: the floor 1e-14·f₀.
            const err = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-14 * Math.abs(f0));
            worst = Math.max(worst, err);
            expect(err, `${method} ${name}: forward ${a}, reverse ${b}`).toBeLessThanOrEqual(1e-10);
          }
        },
      ),
      { numRuns: 200 },
    );
    console.log(`forward vs reverse mode: worst relative difference ${worst.toExponential(1)} (${skipped} non-smooth Adam draws skipped)`);
  });

  it("forward mode with the Hessian-vector products riding along with the gradients: the same bits as without (least squares, logistic regression, smoothed TV; GD, momentum, Adam; 1 to 4 tangents; dense SIMD-resident and small, ridge or not)", () => {
    const rng = new Random(17);
    for (const [m, n, ridge] of [[180, 100, 0], [181, 97, 0.3], [9, 5, 0.1], [39, 40, 0.2]] as const) {
      // The last: a matrix-free operator (first differences on 40 samples), products in pairs by two calls each.
      const A = m === 39 ? new GridDifferences([n]) : new DenseMatrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m)));
      if (A instanceof DenseMatrix) expect(A.resident !== null).toBe(m * n >= 16384);
      for (const ls of fusingObjectives(A, ridge, rng)) {
      // The same objective without the shared passes: the driver then calls evaluate and hessianVector.
      const plain: SmoothObjective = { dimension: n, evaluate: (x, g) => ls.evaluate(x, g), hessianVector: (x, v, out) => ls.hessianVector(x, v, out) };
      const x0 = Float64Array.from({ length: n }, () => 0.3 * rng.normal());
      const make = (f: SmoothObjective): Optimiser[] => [new GradientDescent(f, inverseTimeSchedule(Math.log(0.2), Math.log(0.05))), new Momentum(f, 0.2, 0.6), new Adam(f, { alpha: 0.05, beta1: 0.8, beta2: 0.95, epsilon: 1e-6 })];
      const fused = make(ls), separate = make(plain);
      fused.forEach((opt, i) => {
        for (const count of [1, 2, 3, 4].filter((c) => c <= opt.hyperparameters.length)) {
          const parameters = opt.hyperparameters.slice(0, count);
          const a = forwardDerivatives(opt, x0, 30, { parameters }), b = forwardDerivatives(separate[i], x0, 30, { parameters });
          expect(Object.is(a.loss, b.loss)).toBe(true);
          for (const name of parameters) expect(Object.is(a.derivatives[name], b.derivatives[name]), `${ls.constructor.name} ${opt.name} ${name}`).toBe(true);
          expect(Number.isFinite(a.derivatives[parameters[0]]) && a.derivatives[parameters[0]] !== 0).toBe(true);
        }
      });
      }
    }
  });

  it("one gradient step: d f(x₁)/dη = −∇f(x₁)ᵀ∇f(x₀) (the hypergradient-descent formula)", () => {
    fc.assert(
      fc.property(problemArb, unitArb, ({ kind, seed, m, n }, u) => {
        const { objective, x0, curvature } = randomProblem(kind, seed, m, n);
        const eta = (0.05 + 1.5 * u[0]) / curvature;
        const g0 = new Float64Array(n), g1 = new Float64Array(n), x1 = Float64Array.from(x0);
        objective.evaluate(x0, g0);
        for (let j = 0; j < n; j++) x1[j] -= eta * g0[j];
        objective.evaluate(x1, g1);
        let expected = 0;
        for (let j = 0; j < n; j++) expected -= g1[j] * g0[j];
        const optimiser = new GradientDescent(objective, eta);
        for (const d of [forwardDerivatives(optimiser, x0, 1), reverseDerivatives(optimiser, x0, 1)]) {
          expect(Math.abs(d.derivatives.eta - expected)).toBeLessThanOrEqual(1e-14 * (Math.abs(expected) + 1e-3));
        }
      }),
    );
  });

  it("gradient descent on a diagonal quadratic: the closed form d/dη ½Σ c_i(1 − ηc_i)^{2K}b_i²/c_i²…", () => {
    // f(x) = ½Σ(√c_i x_i − b_i)², x₀ = 0: e_i = x_i − b_i/√c_i shrinks by (1 − ηc_i) per step, so
    // f(x_K) = ½Σ b_i²(1 − ηc_i)^{2K} and df/dη = −Σ b_i² K c_i (1 − ηc_i)^{2K−1}.
    const c = [0.1, 0.5, 1.3], b = [1, -2, 0.5], eta = 0.7, K = 9;
    const data = new Float64Array(9);
    c.forEach((ci, i) => (data[i * 3 + i] = Math.sqrt(ci)));
    const objective = new LeastSquares(new DenseMatrix(3, 3, data), Float64Array.from(b));
    const loss = 0.5 * c.reduce((s, ci, i) => s + b[i] ** 2 * (1 - eta * ci) ** (2 * K), 0);
    const slope = -c.reduce((s, ci, i) => s + b[i] ** 2 * K * ci * (1 - eta * ci) ** (2 * K - 1), 0);
    const r = reverseDerivatives(new GradientDescent(objective, eta), new Float64Array(3), K);
    expect(r.loss).toBeCloseTo(loss, 14);
    expect(Math.abs(r.derivatives.eta - slope)).toBeLessThanOrEqual(1e-13 * Math.abs(slope));
  });

  it("the inverse-time schedule's derivatives match central differences", () => {
    fc.assert(
      fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -8, max: 3, noNaN: true }), fc.integer({ min: 0, max: 1000 }), (theta0, theta1, t) => {
        const s = inverseTimeSchedule(theta0, theta1);
        expect(s.rate(t)).toBeCloseTo(Math.exp(theta0) / (1 + t * Math.exp(theta1)), 12);
        const h = 1e-6;
        const d0 = (inverseTimeSchedule(theta0 + h, theta1).rate(t) - inverseTimeSchedule(theta0 - h, theta1).rate(t)) / (2 * h);
        const d1 = (inverseTimeSchedule(theta0, theta1 + h).rate(t) - inverseTimeSchedule(theta0, theta1 - h).rate(t)) / (2 * h);
        expect(Math.abs(s.rateDerivative(t, 0) - d0)).toBeLessThanOrEqual(1e-8 * s.rate(t));
        expect(Math.abs(s.rateDerivative(t, 1) - d1)).toBeLessThanOrEqual(1e-8 * s.rate(t));
      }),
    );
  });

  it("Adam where a gradient entry stays exactly 0 (√ŝ = 0): finite derivatives that match central differences", () => {
    // x₂ does not enter f: its gradient entry is 0 at every step.
    const A = new DenseMatrix(2, 2, Float64Array.of(1, 0.5, 0, 0));
    const objective = new LeastSquares(A, Float64Array.of(1, 2));
    const x0 = Float64Array.of(0.3, 0.7), h = [0.05, 0.8, 0.9, 1e-3];
    const forward = forwardDerivatives(build("adam", objective, h), x0, 12);
    const reverse = reverseDerivatives(build("adam", objective, h), x0, 12);
    const fd = smoothDifferences("adam", objective, x0, 12, h, 1)!;
    ["alpha", "beta1", "beta2", "epsilon"].forEach((name, p) => {
      expect(Number.isFinite(reverse.derivatives[name])).toBe(true);
      expect(Math.abs(reverse.derivatives[name] - forward.derivatives[name])).toBeLessThanOrEqual(1e-12 * Math.abs(forward.derivatives[name]));
      expect(Math.abs(reverse.derivatives[name] - fd[p])).toBeLessThanOrEqual(1e-6 * Math.abs(fd[p]));
    });
  });
});

describe("checkpointed reverse mode: memory", () => {
  it("least squares, logistic regression, smoothed TV: each adjoint product rides with a recomputed step's gradient (interleaved sweep), the same bits as the separate calls; at most 3⌈√K⌉ + 1 states", () => {
    const rng = new Random(23);
    for (const [m, n] of [[180, 100], [30, 12]] as const) {
      const A = new DenseMatrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m)));
      for (const ls of fusingObjectives(A, 0.1, rng)) {
      let fused = 0;
      const counted: SmoothObjective = { dimension: n, evaluate: (x, g) => ls.evaluate(x, g), hessianVector: (x, v, out) => ls.hessianVector(x, v, out), evaluateWithHessianVectorAt: (x, g, at, v, hv) => (fused++, ls.evaluateWithHessianVectorAt(x, g, at, v, hv)) };
      const plain: SmoothObjective = { dimension: n, evaluate: (x, g) => ls.evaluate(x, g), hessianVector: (x, v, out) => ls.hessianVector(x, v, out) };
      const x0 = Float64Array.from({ length: n }, () => rng.normal());
      const make = (f: SmoothObjective): Optimiser[] => [new GradientDescent(f, inverseTimeSchedule(Math.log(0.2), Math.log(0.05))), new Momentum(f, 0.2, 0.6), new Adam(f, { alpha: 0.05, beta1: 0.8, beta2: 0.95, epsilon: 1e-6 })];
      const withFusion = make(counted), without = make(plain);
      for (const K of [1, 2, 7, 30, 64, 65]) {
        for (const interval of [undefined, 1, 3, K + 2]) {
          withFusion.forEach((opt, i) => {
            fused = 0;
            const a = reverseDerivatives(opt, x0, K, { interval }), b = reverseDerivatives(without[i], x0, K, { interval });
            expect(Object.is(a.loss, b.loss)).toBe(true);
            for (const name of opt.hyperparameters) expect(Object.is(a.derivatives[name], b.derivatives[name]), `${opt.name} K=${K} interval=${interval} ${name}`).toBe(true);
            expect(a.steps).toBe(b.steps);
            // Every recomputed step shares its passes with an adjoint product, but those of the segment
            // recomputed while a shorter last segment is swept (at most c − 1 of them).
            const c = interval ?? Math.ceil(Math.sqrt(K));
            expect(fused).toBeLessThanOrEqual(a.steps - K);
            expect(fused).toBeGreaterThanOrEqual(a.steps - K - (c - 1));
            if (K % c === 0) expect(fused).toBe(a.steps - K);
            expect(a.storedStates).toBeLessThanOrEqual(Math.ceil(K / c) - 1 + 2 * Math.min(c, K) + 1);
          });
        }
      }
      }
    }
  });

  it("interleaved sweep: an optimiser whose step reuses the buffer adjointUpdate returns (one scratch vector) gets the plain sweep's derivatives", () => {
    const rng = new Random(29), m = 20, n = 8;
    const A = new DenseMatrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m)));
    const ls = new LeastSquares(A, Float64Array.from({ length: m }, () => rng.normal()));
    const plain: SmoothObjective = { dimension: n, evaluate: (x, g) => ls.evaluate(x, g), hessianVector: (x, v, out) => ls.hessianVector(x, v, out) };
    /** Gradient descent whose step scribbles over its adjoint buffer w (shared scratch, as a custom optimiser may). */
    class ScratchSharing extends GradientDescent {
      override step(s: Parameters<GradientDescent["step"]>[0], t: number): void {
        super.step(s, t);
        (this as unknown as { w: Float64Array }).w.fill(NaN);
      }
    }
    const x0 = Float64Array.from({ length: n }, () => rng.normal());
    const fused = reverseDerivatives(new ScratchSharing(ls, 0.3), x0, 30), reference = reverseDerivatives(new ScratchSharing(plain, 0.3), x0, 30);
    expect(fused.derivatives.eta).toBe(reference.derivatives.eta);
    expect(Number.isFinite(fused.derivatives.eta)).toBe(true);
  });

  it("holds at most 2⌈√K⌉ + 1 states and takes at most 2K steps, whatever K", () => {
    const { objective, x0, curvature } = randomProblem("least-squares", 3, 6, 4);
    for (const K of [1, 2, 3, 10, 99, 100, 101, 400, 1000]) {
      let evaluations = 0;
      const counting: SmoothObjective = {
        dimension: objective.dimension,
        evaluate: (x, g) => (evaluations++, objective.evaluate(x, g)),
        hessianVector: (x, v, out) => objective.hessianVector(x, v, out),
      };
      const r = reverseDerivatives(new Momentum(counting, 0.5 / curvature, 0.5), x0, K);
      expect(r.storedStates, `K = ${K}`).toBeLessThanOrEqual(2 * Math.ceil(Math.sqrt(K)) + 1);
      expect(r.steps).toBeLessThanOrEqual(2 * K);
      // One evaluation at x₀, one per step: the backward pass reads ∇f from the stored state.
      expect(evaluations).toBe(1 + r.steps);
    }
  });
});


