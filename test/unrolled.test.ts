import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { hypergradient } from "../src/diff/implicit.js";
import { unrolledForward, unrolledReverse, unrolledValue, type UnrolledOptions, type UnrolledSolverName } from "../src/diff/unrolled.js";
import { NumericalError } from "../src/errors.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { lambdaMax } from "../src/penalties/index.js";
import { createProblem, withPenalty, type Problem } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { FIXTURES, inputError, relErr } from "./support.js";

const SOLVERS: readonly UnrolledSolverName[] = ["fista", "cd", "split-bregman"];
/** The option each algorithm parameter is set by. */
const OPTION_OF: Record<string, keyof UnrolledOptions> = { step: "step", momentum: "extrapolation", mu: "mu" };

interface Case {
  problem: Problem;
  options: UnrolledOptions;
}

/**
 * A small random problem (m × n Gaussian A, validation rows, a sparse truth), its penalties as
 * fractions of λ_max, and for Split Bregman sometimes tv on the 1-D grid. Sizes down to n = 1.
 */
function randomCase(solver: UnrolledSolverName) {
  return fc
    .record({
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      m: fc.integer({ min: 1, max: 8 }),
      n: fc.integer({ min: 1, max: 10 }),
      l1Fraction: fc.double({ min: 0.02, max: 0.9, noNaN: true }),
      l2: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 2, noNaN: true })),
      // Below 1/2: at tv = λ_max/2 exactly, FISTA's first step puts a one-coordinate piece exactly on
      // the soft threshold's kink at l1 = 0 (P_j = η·shrink·((Aᵀy)_j − 2tv) = 0 for the j of λ_max,
      // computed as 2e-11), where the two one-sided derivatives differ (fast-check found it).
      tvFraction: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 0.45, noNaN: true })),
      noL1: fc.boolean(),
      stepFraction: fc.double({ min: 0.3, max: 1, noNaN: true }),
      extrapolation: fc.double({ min: 0.5, max: 1.2, noNaN: true }),
      muFactor: fc.double({ min: 0.1, max: 10, noNaN: true }),
      K: fc.integer({ min: 1, max: 40 }),
    })
    .map((c): Case => {
      const rng = new Random(c.seed);
      const gaussian = (rows: number) => new DenseMatrix(rows, c.n, Float64Array.from({ length: rows * c.n }, () => rng.normal()));
      const truth = Float64Array.from({ length: c.n }, (_, j) => (j % 3 === 0 ? 1 + rng.normal() : 0));
      const measure = (A: DenseMatrix) => {
        const y = A.apply(truth, new Float64Array(A.rows));
        for (let i = 0; i < y.length; i++) y[i] += 0.3 * rng.normal();
        return { A, y };
      };
      const train = measure(gaussian(c.m));
      const lmax = lambdaMax(createProblem(train)) || 1;
      // Split Bregman and FISTA also take tv (1-D grid), with or without l1; coordinate descent l1/l2 only.
      const tv = solver !== "cd" && c.n > 1 ? c.tvFraction * lmax : 0;
      const l1 = tv > 0 && c.noL1 ? 0 : c.l1Fraction * lmax;
      const problem = createProblem({ ...train, validation: measure(gaussian(3)), penalty: { l1, l2: c.l2 === 0 && l1 === 0 && tv === 0 ? 0.1 : c.l2, tv } });
      let normSquared = 0;
      for (let j = 0; j < c.n; j++) normSquared += train.A.column(j).reduce((s, v) => s + v * v, 0);
      const options: UnrolledOptions = {
        solver, iterations: c.K,
        // FISTA converges for η ≤ 1/‖A‖²; ‖A‖_F² ≥ ‖A‖², so η = fraction/‖A‖_F² is safe.
        ...(solver === "fista" && { step: c.stepFraction / normSquared, extrapolation: c.extrapolation }),
        ...(solver === "split-bregman" && { mu: c.muFactor * (normSquared / c.n) }),
      };
      return { problem, options };
    });
}

/** L(x_K) as a function of one hyperparameter (a penalty or an algorithm parameter), the others fixed. */
function valueAlong({ problem, options }: Case, name: string): (v: number) => number {
  const criterion = HeldOutMse.of(problem);
  if (name in OPTION_OF) return (v) => unrolledValue(problem, criterion, { ...options, [OPTION_OF[name]]: v }).value;
  return (v) => unrolledValue(withPenalty(problem, { [name]: v }), criterion, options).value;
}

/** The value the derivative is taken at. */
function valueOf(c: Case, name: string, algorithmValues: Record<string, number>): number {
  return name in OPTION_OF ? algorithmValues[name] : c.problem.penalty[name as "l1" | "l2" | "tv"];
}

/**
 * Central difference with step h·max(|θ|, 0.1) (the floor keeps rounding, ε·L/step, below 1e-9 for
 * the small θ drawn: l2 = 0.01, η ≈ 0.01); l2 = 0 is the one-sided edge: a second-order forward
 * difference with step 10h there.
 */
function centralDifference(f: (v: number) => number, theta: number, h: number): number {
  if (theta === 0) return (-3 * f(0) + 4 * f(10 * h) - f(20 * h)) / (20 * h);
  const e = h * Math.max(Math.abs(theta), 0.1);
  return (f(theta + e) - f(theta - e)) / (2 * e);
}

describe("unrolled differentiation: derivatives of the K-step criterion", () => {
  for (const solver of SOLVERS) {
    it(`${solver}: every derivative matches central finite differences of the K-step criterion`, () => {
      fc.assert(
        fc.property(randomCase(solver), (c) => {
          const criterion = HeldOutMse.of(c.problem);
          const forward = unrolledForward(c.problem, criterion, c.options);
          const all = { ...forward.gradient, ...forward.algorithm };
          const scale = Math.max(1e-3, ...Object.values(all).map(Math.abs));
          for (const [name, derivative] of Object.entries(all)) {
            const f = valueAlong(c, name), theta = valueOf(c, name, forward.algorithmValues);
            const fd = centralDifference(f, theta, 1e-6);
            // A prox kink (a threshold's mask flipping at some step) inside the stencil makes the
            // unrolled criterion non-differentiable there: two step sizes then disagree. Such
            // samples (measure zero in θ) are discarded. Measured: 1e-7·scale at worst (the differences' own error).
            const fd2 = centralDifference(f, theta, 2.5e-7);
            fc.pre(Math.abs(fd - fd2) <= 1e-7 * scale);
            expect(Math.abs(derivative - fd), `${name}: unrolled ${derivative}, finite difference ${fd}`).toBeLessThanOrEqual(2e-7 * scale);
          }
        }),
        { numRuns: 60 },
      );
    });

    // The issue asks for 1e-10; measured: 5e-14 at worst over these samples.
    it(`${solver}: forward and reverse modes agree to 1e-12 relative, whatever the checkpoint interval`, () => {
      fc.assert(
        fc.property(randomCase(solver), fc.option(fc.integer({ min: 1, max: 45 }), { nil: undefined }), (c, interval) => {
          const criterion = HeldOutMse.of(c.problem);
          const forward = unrolledForward(c.problem, criterion, c.options);
          const reverse = unrolledReverse(c.problem, criterion, { ...c.options, interval });
          expect(reverse.value).toBe(forward.value);
          expect(Array.from(reverse.x)).toEqual(Array.from(forward.x));
          const f = { ...forward.gradient, ...forward.algorithm }, r = { ...reverse.gradient, ...reverse.algorithm };
          expect(Object.keys(r).sort()).toEqual(Object.keys(f).sort());
          const scale = Math.max(...Object.values(f).map(Math.abs));
          for (const name of Object.keys(f)) expect(Math.abs(r[name] - f[name]), name).toBeLessThanOrEqual(1e-12 * scale);
        }),
        { numRuns: 60 },
      );
    });
  }

  // The random cases above give Split Bregman a dense A (a factorised x-update). With the DCT
  // solver (A the identity, a 1-D grid), each step recomputed in reverse mode rides with an adjoint
  // step in one paired solve, whose FFTs mix the two right-hand sides: the recomputed states match
  // the forward pass's to rounding only, which the derivatives (sums of terms far larger than
  // they are) amplify. With each half of the shared FFT scaled to unit size first (solvePair), the
  // small adjoint keeps its own accuracy: measured 3.5e-14 relative at worst over 6 seeds (FC_SEED;
  // 8.6e-12 here, 2.8e-11 over 14 seeds without the scaling; the dense cases above reach 5e-14).
  it("split-bregman with the DCT solver (1-D TV denoising, recomputed steps paired with adjoint steps): forward and reverse modes agree to 1e-12 relative, whatever the interval", () => {
    let worst = 0;
    const tvCase = fc.record({
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      n: fc.integer({ min: 2, max: 48 }),
      tv: fc.double({ min: 0.05, max: 2, noNaN: true }),
      l1: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 0.5, noNaN: true })),
      l2: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 1, noNaN: true })),
      mu: fc.double({ min: 0.2, max: 20, noNaN: true }),
      K: fc.integer({ min: 1, max: 60 }),
      interval: fc.option(fc.integer({ min: 1, max: 70 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(tvCase, ({ seed, n, tv, l1, l2, mu, K, interval }) => {
        const rng = new Random(seed);
        const clean = Float64Array.from({ length: n }, (_, i) => Math.floor((4 * i) / n) % 3);
        const problem = createProblem({ A: { identity: n }, y: clean.map((v) => v + 0.4 * rng.normal()), validation: { A: { identity: n }, y: clean }, penalty: { l1, l2, tv } });
        const criterion = HeldOutMse.of(problem);
        const options: UnrolledOptions = { solver: "split-bregman", iterations: K, mu };
        const forward = unrolledForward(problem, criterion, options);
        const reverse = unrolledReverse(problem, criterion, { ...options, interval });
        expect(reverse.value).toBe(forward.value);
        const c = interval ?? Math.ceil(Math.sqrt(K));
        expect(reverse.storedStates).toBe(Math.ceil(K / c) - 1 + (c < K ? 2 : 1) * Math.min(c, K) + 1); // the interleaved sweep ran (a second segment where one is recomputed)
        const f = { ...forward.gradient, ...forward.algorithm }, r = { ...reverse.gradient, ...reverse.algorithm };
        const scale = Math.max(...Object.values(f).map(Math.abs));
        for (const name of Object.keys(f)) {
          if (scale > 0) worst = Math.max(worst, Math.abs(r[name] - f[name]) / scale);
          expect(Math.abs(r[name] - f[name]), name).toBeLessThanOrEqual(1e-12 * scale);
        }
      }),
      { numRuns: 80 },
    );
    console.log(`split-bregman (DCT solver), forward vs reverse: worst relative difference ${worst.toExponential(1)}`);
  });

  it("one FISTA step from 0 against its closed form: x₁ = S(ηAᵀy, ηl1)/(1 + ηl2), dL/dθ = ∇L(x₁)ᵀ∂x₁/∂θ, built entry by entry", () => {
    const problem = loadProblemFile(join(FIXTURES, "enet-small.json"));
    const criterion = HeldOutMse.of(problem);
    const eta = 0.3 / Math.max(...Array.from({ length: problem.A.cols }, (_, j) => (problem.A as DenseMatrix).column(j).reduce((s, v) => s + v * v, 0)));
    const { l1, l2 } = problem.penalty;
    const n = problem.A.cols, m = problem.A.rows;
    const A = (i: number, j: number) => (problem.A as DenseMatrix).column(j)[i];
    const x = new Float64Array(n), dl1 = new Float64Array(n), dl2 = new Float64Array(n), deta = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let c = 0;
      for (let i = 0; i < m; i++) c += A(i, j) * problem.y[i];
      const u = eta * c, shrink = 1 / (1 + eta * l2);
      if (Math.abs(u) <= eta * l1) continue;
      const s = Math.sign(u);
      x[j] = (u - s * eta * l1) * shrink;
      dl1[j] = -s * eta * shrink;
      dl2[j] = -x[j] * eta * shrink;
      deta[j] = (c - s * l1) * shrink - x[j] * l2 * shrink;
    }
    const g = criterion.gradient(x, new Float64Array(n));
    const along = (d: Float64Array) => d.reduce((s, v, j) => s + v * g[j], 0);
    for (const run of [unrolledForward, unrolledReverse]) {
      const r = run(problem, criterion, { solver: "fista", iterations: 1, step: eta });
      expect(relErr(r.value, criterion.value(x))).toBeLessThanOrEqual(1e-14);
      expect(relErr(r.gradient.l1, along(dl1))).toBeLessThanOrEqual(1e-12);
      expect(relErr(r.gradient.l2, along(dl2))).toBeLessThanOrEqual(1e-12);
      expect(relErr(r.algorithm.step, along(deta))).toBeLessThanOrEqual(1e-12);
      expect(r.algorithm.momentum).toBe(0); // z₁ = x₁ + β₀(x₁ − x₀) with β₀ = 0: x₁ does not depend on γ
    }
  });

  it("l1 above λ_max: x_K = 0 for every solver and every θ nearby, so every derivative is 0 (Split Bregman starts at its exact answer there)", () => {
    const base = loadProblemFile(join(FIXTURES, "lasso-small.json"));
    const problem = withPenalty(base, { l1: 1.5 * lambdaMax(base) });
    const criterion = HeldOutMse.of(problem);
    for (const solver of SOLVERS) {
      for (const run of [unrolledForward, unrolledReverse]) {
        const r = run(problem, criterion, { solver, iterations: 20 });
        expect(Array.from(r.x).every((v) => v === 0), solver).toBe(true);
        expect(r.value).toBe(criterion.value(new Float64Array(problem.A.cols)));
        for (const [name, v] of Object.entries({ ...r.gradient, ...r.algorithm })) expect(v, `${solver} ${name}`).toBe(0);
      }
    }
  });

  it("reports the penalties under the hypergradient's names and the algorithm's parameters apart", () => {
    const problem = loadProblemFile(join(FIXTURES, "enet-small.json"));
    const criterion = HeldOutMse.of(problem);
    const fista = unrolledReverse(problem, criterion, { solver: "fista", iterations: 5 });
    expect(Object.keys(fista.gradient)).toEqual(["l1", "l2"]);
    expect(Object.keys(fista.algorithm)).toEqual(["step", "momentum"]);
    expect(Object.keys(unrolledReverse(problem, criterion, { solver: "cd", iterations: 5 }).algorithm)).toEqual([]);
    expect(Object.keys(unrolledReverse(problem, criterion, { solver: "split-bregman", iterations: 5 }).algorithm)).toEqual(["mu"]);
    const tv = loadProblemFile(join(FIXTURES, "tv1d-denoise.json"));
    expect(Object.keys(unrolledReverse(tv, HeldOutMse.of(tv), { solver: "fista", iterations: 5 }).gradient)).toEqual(["l1", "l2", "tv"]);
  });

  it("scales as the problem does: (y, y_val, l1, tv) → c·(…) gives x_K → c·x_K, dL/dl1 → c·dL/dl1, dL/dη, dL/dγ, dL/dμ → c²·(…)", () => {
    const base = loadProblemFile(join(FIXTURES, "enet-small.json"));
    // Powers of 2, so that c·y is exact: coordinate descent's working-set decisions compare gaps,
    // and a rounded c·y can flip one of them (measured: 8e-10 relative on x_K at c = 1e-6).
    for (const c of [2 ** -20, 2 ** 17]) {
      const scaled = createProblem({
        A: base.A, y: base.y.map((v) => c * v), penalty: { l1: c * base.penalty.l1, l2: base.penalty.l2 },
        validation: { A: base.validation!.A, y: base.validation!.y.map((v) => c * v) },
      });
      for (const solver of SOLVERS) {
        const a = unrolledReverse(base, HeldOutMse.of(base), { solver, iterations: 30 });
        const b = unrolledReverse(scaled, HeldOutMse.of(scaled), { solver, iterations: 30 });
        expect(relErr(b.value, c * c * a.value), solver).toBeLessThanOrEqual(1e-12);
        expect(relErr(b.gradient.l1, c * a.gradient.l1)).toBeLessThanOrEqual(1e-9);
        expect(relErr(b.gradient.l2, c * c * a.gradient.l2)).toBeLessThanOrEqual(1e-9);
        for (const name of Object.keys(a.algorithm)) expect(relErr(b.algorithm[name], c * c * a.algorithm[name]), name).toBeLessThanOrEqual(1e-9);
      }
    }
  });
});

describe("unrolled derivatives converge to the implicit ones as K grows", () => {
  const cases: Array<[string, UnrolledSolverName, number]> = [
    ["lasso-small", "fista", 2000],
    ["lasso-small", "cd", 300],
    ["lasso-small", "split-bregman", 1000],
    ["enet-small", "fista", 2000],
    ["enet-small", "cd", 300],
    ["tv1d-denoise", "split-bregman", 2000],
    ["tv1d-denoise", "fista", 2000],
  ];
  it.each(cases)("%s, %s: within 1e-4 relative of the implicit hypergradient at K = %i, far from it at K = 3", (name, solver, K) => {
    const problem = loadProblemFile(join(FIXTURES, `${name}.json`));
    const criterion = HeldOutMse.of(problem);
    const implicit = hypergradient(problem, solve(problem, { tol: 1e-14 }), criterion);
    const far = unrolledReverse(problem, criterion, { solver, iterations: 3 });
    const near = unrolledReverse(problem, criterion, { solver, iterations: K });
    const keys = Object.keys(near.gradient);
    expect(keys.length).toBeGreaterThan(0);
    const error = (u: Record<string, number>) => Math.max(...keys.map((k) => relErr(u[k], implicit.gradient[k] as number)));
    expect(error(near.gradient)).toBeLessThanOrEqual(1e-4);
    expect(error(far.gradient)).toBeGreaterThan(1e-3);
  });
});

describe("reverse mode's memory", () => {
  it("stores at most about 2√K + 1 plain states and takes at most 2K steps", () => {
    const problem = loadProblemFile(join(FIXTURES, "lasso-small.json"));
    const criterion = HeldOutMse.of(problem);
    for (const solver of SOLVERS) {
      for (const K of [1, 2, 7, 100, 1000]) {
        const r = unrolledReverse(problem, criterion, { solver, iterations: K });
        expect(r.storedStates).toBeLessThanOrEqual(2 * Math.sqrt(K) + 2);
        expect(r.steps).toBeLessThanOrEqual(2 * K);
        expect(r.steps).toBeGreaterThanOrEqual(K);
      }
    }
  });
});

describe("unrolled differentiation refuses bad input", () => {
  const problem = loadProblemFile(join(FIXTURES, "lasso-small.json"));
  const criterion = HeldOutMse.of(problem);
  const tv = loadProblemFile(join(FIXTURES, "tv1d-denoise.json"));

  it.each([0, -3, 2.5, NaN, Infinity, "10", undefined])("iterations %s: an InputError naming iterations", (K) => {
    for (const run of [unrolledForward, unrolledReverse, unrolledValue]) {
      inputError(() => run(problem, criterion, { iterations: K as number }), /^iterations: expected an integer ≥ 1/);
    }
  });

  it("algorithm parameters outside their domain, unknown solvers, junk criteria and options", () => {
    for (const step of [0, -1, NaN, Infinity]) inputError(() => unrolledForward(problem, criterion, { solver: "fista", iterations: 3, step }), /^step: expected a positive number/);
    for (const extrapolation of [0, -0.5, NaN]) inputError(() => unrolledForward(problem, criterion, { solver: "fista", iterations: 3, extrapolation }), /^extrapolation: expected a positive number/);
    for (const mu of [0, -2, Infinity]) inputError(() => unrolledReverse(problem, criterion, { solver: "split-bregman", iterations: 3, mu }), /^mu: expected a positive number/);
    // μ² underflowed: reverse mode reported an overflow while forward mode returned numbers.
    for (const mu of [1e-300, 1e-151, 1e200]) for (const run of [unrolledForward, unrolledReverse]) inputError(() => run(problem, criterion, { solver: "split-bregman", iterations: 3, mu }), /^mu: expected a number in \[1e-150, 1e150\]/);
    inputError(() => unrolledReverse(problem, criterion, { solver: "lbfgs" as UnrolledSolverName, iterations: 3 }), /^solver: expected one of fista, cd, split-bregman/);
    inputError(() => unrolledForward(problem, criterion, { solver: "cd", iterations: 3, mu: 2 }), /^mu: applies to the split-bregman solver only/);
    inputError(() => unrolledForward(problem, criterion, { solver: "split-bregman", iterations: 3, step: 0.1 }), /^step: applies to the fista solver only/);
    inputError(() => unrolledReverse(problem, criterion, { solver: "cd", iterations: 3, extrapolation: 1 }), /^extrapolation: applies to the fista solver only/);
    inputError(() => unrolledReverse(problem, criterion, { iterations: 3, interval: 0 }), /^interval/);
    inputError(() => unrolledReverse(problem, null as never, { iterations: 3 }), /^criterion/);
    inputError(() => unrolledReverse(problem, criterion, null as never), /^options/);
    inputError(() => unrolledReverse(null as never, criterion, { iterations: 3 }), /^problem/);
  });

  it("problems outside a solver's reach: tv for cd, 2-D tv for fista, constraints, no penalty", () => {
    const image = createProblem({ A: { identity: 12 }, y: Array.from({ length: 12 }, (_, i) => i % 5), grid: [3, 4], validation: { A: { identity: 12 }, y: new Array(12).fill(1) }, penalty: { tv: 0.1 } });
    inputError(() => unrolledForward(image, HeldOutMse.of(image), { solver: "fista", iterations: 3 }), /^penalty\.tv: .*1-D grid.*split-bregman/);
    inputError(() => unrolledForward(tv, HeldOutMse.of(tv), { solver: "cd", iterations: 3 }), /^penalty\.tv/);
    const constrained = loadProblemFile(join(FIXTURES, "constrained-small.json"));
    inputError(() => unrolledReverse(constrained, HeldOutMse.of(constrained), { solver: "split-bregman", iterations: 3 }), /^constraints/);
    inputError(() => unrolledReverse(withPenalty(problem, { l1: 0, l2: 0 }), criterion, { iterations: 3 }), /^penalty/);
  });

  it("a run that diverges (a step far above 1/‖A‖²) is a NumericalError naming the step", () => {
    for (const run of [unrolledForward, unrolledReverse]) {
      let error: unknown;
      try {
        run(problem, criterion, { solver: "fista", iterations: 5000, step: 1e3 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NumericalError);
      expect((error as Error).message).toMatch(/^the unrolled fista run diverged at step \d+ /);
      expect((error as Error).message).not.toContain("\n");
    }
  });
});
