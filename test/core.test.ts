import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { Matrix, inverse } from "ml-matrix";
import {
  AdjointOperator,
  ComposedOperator,
  DenseMatrix,
  HeldOutMse,
  ITERATIVE_SOLVERS,
  InputError,
  StackedOperator,
  certify,
  coordinateDescent,
  createProblem,
  defaultSolverName,
  dotTest,
  fista,
  hypergradient,
  kktSystem,
  penaltyTerms,
  solve,
  tune,
  withPenalty,
  type IterativeSolver,
  type LinearOperator,
  type Problem,
} from "../src/index.js";
import { loadProblemFile } from "../src/io/problem-file.js";
import { Random } from "../src/linalg/random.js";
import { FIXTURES, maxAbsDiff, randomProblem } from "./support.js";

/** The same matrix as a bare operator: apply and applyT only, no column access. */
function matrixFree(A: LinearOperator): LinearOperator {
  return { rows: A.rows, cols: A.cols, apply: (x, out) => A.apply(x, out), applyT: (y, out) => A.applyT(y, out) };
}

function randomDense(rng: Random, m: number, n: number): DenseMatrix {
  return new DenseMatrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal()));
}

const load = (name: string) => loadProblemFile(join(FIXTURES, `${name}.json`));

describe("operator combinators", () => {
  it("composition, adjoint and stacking pass the dot test and equal the dense products", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), (seed, m, k, n) => {
        const rng = new Random(seed);
        const B = randomDense(rng, m, k), A = randomDense(rng, k, n), C = randomDense(rng, k + 1, n);
        const x = Float64Array.from({ length: n }, () => rng.normal());
        const y = Float64Array.from({ length: m }, () => rng.normal());
        const BA = new ComposedOperator(B, A);
        expect(dotTest(BA, x, y)).toBeLessThan(1e-13);
        const dense = new Matrix(B.toMatrix()).mmul(A.toMatrix());
        expect(maxAbsDiff(BA.apply(x, new Float64Array(m)), dense.mmul(Matrix.columnVector(Array.from(x))).getColumn(0))).toBeLessThan(1e-10);
        const At = new AdjointOperator(A);
        const xk = Float64Array.from({ length: k }, () => rng.normal());
        expect(dotTest(At, xk, x)).toBeLessThan(1e-13);
        expect(maxAbsDiff(At.apply(xk, new Float64Array(n)), A.applyT(xk, new Float64Array(n)))).toBe(0);
        const S = new StackedOperator([A, C]);
        const ys = Float64Array.from({ length: 2 * k + 1 }, () => rng.normal());
        expect(dotTest(S, x, ys)).toBeLessThan(1e-13);
        const sx = S.apply(x, new Float64Array(2 * k + 1));
        expect(maxAbsDiff(sx.subarray(0, k), A.apply(x, new Float64Array(k)))).toBe(0);
        expect(maxAbsDiff(sx.subarray(k), C.apply(x, new Float64Array(k + 1)))).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it("shape mismatches are InputErrors naming the operator", () => {
    const rng = new Random(1);
    expect(() => new ComposedOperator(randomDense(rng, 2, 3), randomDense(rng, 4, 2))).toThrow(InputError);
    expect(() => new StackedOperator([randomDense(rng, 2, 3), randomDense(rng, 2, 4)])).toThrow(/operator\[1\]/);
    expect(() => new StackedOperator([])).toThrow(InputError);
  });
});

describe("matrix-free operators through the solver registry and the KKT system", () => {
  it("a bare operator gets FISTA, reaches the dense solution and the same hypergradient (KKT system through A and Aᵀ)", () => {
    const dense = randomProblem(11, 30, 80, { l1Fraction: 0.2 });
    const free: Problem = { ...dense, A: matrixFree(dense.A) };
    expect(defaultSolverName(dense)).toBe("cd");
    expect(defaultSolverName(free)).toBe("fista");
    expect(() => solve(free, { solver: "cd" })).toThrow(/^A: the cd solver needs column access/);
    const a = solve(dense, { tol: 1e-13 }), b = solve(free, { tol: 1e-13 });
    expect(b.converged).toBe(true);
    expect(b.active).toEqual(a.active);
    expect(maxAbsDiff(a.x, b.x)).toBeLessThan(1e-9);
    const ha = hypergradient(dense, a, HeldOutMse.of(dense)), hb = hypergradient(free, b, HeldOutMse.of(free));
    expect(Math.abs(ha.l1 - hb.l1)).toBeLessThanOrEqual(1e-8 * Math.abs(ha.l1));
    expect(Math.abs(ha.l2 - hb.l2)).toBeLessThanOrEqual(1e-8 * Math.abs(ha.l2));
  });

  it("a composed operator (matrix-free) can be a problem's A", () => {
    const rng = new Random(5);
    const B = randomDense(rng, 20, 25), C = randomDense(rng, 25, 40);
    const truth = new Float64Array(40);
    truth[3] = 2;
    truth[17] = -1;
    const op = new ComposedOperator(B, C);
    const y = op.apply(truth, new Float64Array(20));
    const problem = createProblem({ A: op, y, penalty: { l1: 0.05 } });
    const sol = solve(problem, { tol: 1e-12 });
    expect(sol.solver).toBe("fista");
    expect(sol.converged).toBe(true);
    // the same problem with the product formed explicitly
    const BC = DenseMatrix.from(B.toMatrix().mmul(C.toMatrix()));
    const ref = solve(createProblem({ A: BC, y, penalty: { l1: 0.05 } }), { tol: 1e-12 });
    expect(sol.active).toEqual(ref.active);
    expect(maxAbsDiff(sol.x, ref.x)).toBeLessThan(1e-8);
  });
});

describe("steppable solvers", () => {
  // The augmented Lagrangian's steps are whole inner solves (one suffices here): test/constraints.test.ts drives it.
  const solvers: [string, IterativeSolver<unknown, unknown>][] = Object.entries(ITERATIVE_SOLVERS).filter(([, s]) => !s.capabilities.needsIdentity && !s.capabilities.constraints);

  it.each(solvers)("%s: driving setup/step/test by hand reaches the certified solution; the state is plain and copyable", (_name, solver) => {
    const problem = load("lasso-cs-200x500");
    const terms = penaltyTerms(problem);
    const yy = problem.y.reduce((s, v) => s + v * v, 0);
    const { context, state } = solver.setup(problem, terms, new Float64Array(problem.A.cols), { gapTarget: 1e-10 * yy });
    let copy: unknown = null, stepsAtCopy = 0, steps = 0;
    while (!solver.test(context, state).done && steps < 100_000) {
      solver.step(context, state);
      steps++;
      if (steps === 5) {
        copy = structuredClone(state);
        stepsAtCopy = steps;
      }
    }
    const cert = certify(problem, solver.iterate(state), terms.separable!);
    expect(cert.dualityGap).toBeLessThanOrEqual(1e-10 * yy);
    // The copy resumes to the very same iterate: nothing of the run lives outside the state.
    expect(copy).not.toBeNull();
    for (let s = stepsAtCopy; s < steps; s++) solver.step(context, copy);
    expect(maxAbsDiff(solver.iterate(copy), solver.iterate(state))).toBe(0);
    // and the state holds no problem data (it is cheap to record)
    expect(JSON.stringify(Object.keys(state as object))).not.toMatch(/problem|penalty/);
  });

  it("FISTA with a fixed step 1/L (no backtracking) converges when L ≥ ‖A‖²", () => {
    const problem = load("lasso-small");
    const A = (problem.A as DenseMatrix).toMatrix();
    const L = Math.max(...A.transpose().mmul(A).eig?.realEigenvalues ?? [0]);
    const lipschitz = L > 0 ? L * 1.01 : new Matrix(A).norm("frobenius") ** 2;
    const sol = solve(problem, { solver: "fista", lipschitz, tol: 1e-12 });
    expect(sol.converged).toBe(true);
    const ref = solve(problem, { solver: "cd", tol: 1e-12 });
    expect(sol.active).toEqual(ref.active);
  });

  it("rejects bad options the same way for every solver (one driver)", () => {
    const problem = load("lasso-small");
    for (const solver of ["cd", "fista"] as const) {
      expect(() => solve(problem, { solver, warmStart: new Float64Array(problem.A.cols).fill(NaN) })).toThrow(/^options\.warmStart: expected finite/);
      expect(() => solve(problem, { solver, tol: -1 })).toThrow(/^options\.tol/);
      expect(() => solve(problem, { solver, tol: NaN })).toThrow(/^options\.tol/);
      expect(() => solve(problem, { solver, maxIter: 1.5 })).toThrow(/^options\.maxIter/);
      expect(() => solve(withPenalty(problem, { l1: 0, l2: 0 }), { solver })).toThrow(/^penalty: expected a positive l1 or l2/);
    }
    expect(() => solve(problem, { solver: "nope" as "cd" })).toThrow(/^solver: expected one of cd, tv-denoise, fista, split-bregman/);
  });
});

describe("converged never contradicts the certificate", () => {
  it("a huge l2 does not certify x = 0 while features sit far above their thresholds", () => {
    const problem = load("lasso-small");
    for (const l2 of [1e6, 1e10, 1e14]) {
      for (const solver of ["cd", "fista"] as const) {
        const sol = solve(withPenalty(problem, { l2 }), { solver });
        expect(sol.converged).toBe(true);
        expect(sol.complementarityMargin).toBeGreaterThanOrEqual(0);
        // the closed form far from the l1 kinks: x_j ≈ soft(a_jᵀy, l1)/l2 for l2 ≫ ‖A‖²
        const aty = problem.A.applyT(problem.y, new Float64Array(problem.A.cols));
        for (let j = 0; j < aty.length; j++) {
          const soft = Math.sign(aty[j]) * Math.max(0, Math.abs(aty[j]) - problem.penalty.l1);
          expect(Math.abs(sol.x[j] - soft / l2)).toBeLessThanOrEqual(1e-3 * Math.abs(soft / l2) + 1e-300);
        }
      }
    }
  });

  it("on random problems, converged ⇒ the gap meets tol and the KKT violation is small; a cap ⇒ converged = false", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom("cd" as const, "fista" as const), fc.constantFrom(0, 0.3, 3), fc.constantFrom(1e-4, 1e-8, 1e-12), (seed, solver, l2, tol) => {
        const problem = randomProblem(seed, 15, 30, { l1Fraction: 0.1, l2 });
        const sol = solve(problem, { solver, tol });
        const yy = problem.y.reduce((s, v) => s + v * v, 0);
        const cert = certify(problem, sol.x);
        if (sol.converged) {
          expect(cert.dualityGap).toBeLessThanOrEqual(tol * yy * (1 + 1e-9) + 1e-300);
          expect(cert.kktViolation).toBeLessThanOrEqual(1e-2 * problem.penalty.l1 + 1e-2 * l2 * Math.max(...Array.from(sol.x, Math.abs)));
          expect(sol.message).toBeUndefined();
        } else {
          expect(sol.message).toMatch(/.+/);
        }
        const capped = solve(problem, { solver, tol: 1e-15, maxIter: 1, polish: false });
        if (capped.converged) expect(capped.dualityGap).toBeLessThanOrEqual(1e-15 * yy);
        else expect(capped.message).toMatch(/^iteration cap 1 reached \(/);
      }),
      { numRuns: 30 },
    );
  });
});

describe("the KKT system of (problem, solution)", () => {
  it("residual vanishes at the solution; J⁻¹ and ∂F/∂θ agree with a dense route (ml-matrix inverse)", () => {
    for (const name of ["lasso-small", "enet-small"]) {
      const problem = load(name);
      const sol = solve(problem, { tol: 1e-13 });
      const { system, names } = kktSystem(problem, sol);
      expect(names).toEqual(["l1", "weights", "l2"]);
      const F = system.residual();
      expect(Math.max(...Array.from(F, Math.abs))).toBeLessThan(1e-10);
      // Dense H = A_SᵀA_S + l2 I and its inverse by ml-matrix
      const A = (problem.A as DenseMatrix).toMatrix();
      const S = sol.active;
      const AS = new Matrix(A.rows, S.length);
      S.forEach((j, a) => AS.setColumn(a, A.getColumn(j)));
      const H = AS.transpose().mmul(AS).add(Matrix.eye(S.length).mul(problem.penalty.l2));
      const Hinv = inverse(H);
      const b = Float64Array.from(S, (_, a) => Math.cos(a));
      const ours = system.solve(b);
      const theirs = Hinv.mmul(Matrix.columnVector(Array.from(b))).getColumn(0);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-9 * Math.max(1, ...theirs.map(Math.abs)));
      // ∂F/∂l1 = s (unweighted), ∂F/∂l2 = x_S
      const j1 = system.parameterJacobian("l1")!, j2 = system.parameterJacobian("l2")!;
      expect(j1.shape === "scalar" && Array.from(j1.column)).toEqual(sol.signs);
      expect(j2.shape === "scalar" && Array.from(j2.column)).toEqual(S.map((j) => sol.x[j]));
      // df = tr(A_S H⁻¹ A_Sᵀ) by the dense route
      const dense = AS.mmul(Hinv).mmul(AS.transpose()).trace();
      expect(system.degreesOfFreedom().df).toBeCloseTo(dense, 9);
    }
  });

  it("hyperparameters by name: the gradient map has every declared key; dL/dw_j matches a central difference in w_j", () => {
    const base = randomProblem(3, 25, 40, { l1Fraction: 0.15 });
    const w = Float64Array.from({ length: 40 }, (_, j) => 0.5 + (j % 5) * 0.25);
    const problem = createProblem({ A: base.A as DenseMatrix, y: base.y, validation: base.validation as { A: DenseMatrix; y: Float64Array }, penalty: { l1: base.penalty.l1, weights: w } });
    const sol = solve(problem, { tol: 1e-13 });
    const h = hypergradient(problem, sol, HeldOutMse.of(problem));
    expect(Object.keys(h.gradient).sort()).toEqual(["l1", "l2", "weights"]);
    const dw = h.gradient.weights as Float64Array;
    // an independent route: re-solve with w_j moved both ways (the support stays put for a small step)
    const crit = HeldOutMse.of(problem);
    for (const j of sol.active.slice(0, 3)) {
      const step = 1e-6 * w[j];
      const at = (d: number) => {
        const wj = Float64Array.from(w);
        wj[j] += d;
        return crit.value(solve(withPenalty(problem, { weights: wj }), { tol: 1e-15 }).x);
      };
      const fd = (at(step) - at(-step)) / (2 * step);
      expect(Math.abs(dw[j] - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1e-3, Math.abs(fd)));
    }
    for (let j = 0; j < 40; j++) if (!sol.active.includes(j)) expect(dw[j]).toBe(0);
    // l1 scales every threshold: dL/dl1 = Σ_j w_j dL/dλ_j
    const chain = h.perFeature.reduce((s, g, j) => s + g * w[j], 0);
    expect(h.l1).toBeCloseTo(chain, 12);
  });

  it("a solution of another problem of the same size is refused", () => {
    const a = randomProblem(1, 20, 30), b = randomProblem(2, 20, 30);
    const sol = solve(withPenalty(a, { l1: b.penalty.l1 }), { tol: 1e-10 });
    expect(() => hypergradient(b, sol, HeldOutMse.of(b))).toThrow(/^solution: expected a solution of this problem/);
  });
});

describe("the tuner by hyperparameter name", () => {
  it("tunes l2 alone (l1 held) and refuses unknown keys with an InputError", () => {
    const problem = randomProblem(9, 30, 50, { l1Fraction: 0.1, l2: 0.1 });
    const report = tune(problem, { keys: ["l2"], scan: 0 });
    expect(Object.keys(report.lambda)).toEqual(["l2"]);
    expect(report.solution.penalty.l1).toBe(problem.penalty.l1);
    expect(Number.isFinite(report.criterion)).toBe(true);
    // the chosen l2 is at least as good as the start on the held-out criterion
    const crit = HeldOutMse.of(problem);
    const atStart = crit.value(solve(problem, { tol: 1e-10 }).x);
    expect(report.criterion).toBeLessThanOrEqual(atStart * (1 + 1e-9));
    expect(() => tune(problem, { keys: ["l3"] })).toThrow(InputError);
    expect(() => tune(problem, { keys: ["l3"] })).toThrow(/^keys: unknown hyperparameter "l3"/);
    expect(() => tune(problem, { keys: [] })).toThrow(/^keys: expected at least one/);
  });
});
