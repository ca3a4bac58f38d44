/**
 * The generic implicit routine (diff/optimality.ts) and GMRES (linalg/gmres.ts): dense matrices
 * built entry by entry, ml-matrix's LU as the independent solver, Newton in the test for the
 * roots behind the central differences.
 */
import fc from "fast-check";
import { Matrix, SingularValueDecomposition, solve as luSolve } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { implicitAdjoint, implicitJacobian, type OptimalityCondition } from "../src/diff/optimality.js";
import { implicitGradient } from "../src/diff/implicit.js";
import { NumericalError } from "../src/errors.js";
import { ActiveSetSystem } from "../src/kkt/active-set.js";
import { penaltyFamily } from "../src/penalties/index.js";
import { Gmres } from "../src/linalg/gmres.js";
import { Random } from "../src/linalg/random.js";
import { SOLVERS } from "../src/solvers/index.js";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { inputError, randomProblem, relErr } from "./support.js";

/** y = M x for a column-major n × n M, by the definition. */
function multiply(M: Float64Array, n: number, x: Float64Array, transpose = false): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[i] += (transpose ? M[i * n + j] : M[j * n + i]) * x[j];
  return y;
}

function norm(v: Float64Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

/** ‖b − M x‖/‖b‖, entry by entry (b and x divided by max|b_i| first: tiny b would underflow when squared). */
function trueResidual(M: Float64Array, n: number, x: Float64Array, b: Float64Array, transpose = false): number {
  const scale = Math.max(...Array.from(b, Math.abs));
  const mx = multiply(M, n, x.map((v) => v / scale), transpose);
  return norm(b.map((v, i) => v / scale - mx[i])) / norm(b.map((v) => v / scale));
}

function denseSolve(M: Float64Array, n: number, b: Float64Array, transpose = false): Float64Array {
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (transpose ? M[i * n + j] : M[j * n + i])));
  return Float64Array.from(luSolve(new Matrix(rows), Matrix.columnVector(Array.from(b))).getColumn(0));
}

/** A random non-symmetric n × n matrix shifted by `shift`·I (column-major), and a right side. */
function randomSystem(seed: number, n: number, shift: number): { M: Float64Array; b: Float64Array } {
  const rng = new Random(seed);
  const M = Float64Array.from({ length: n * n }, () => rng.normal());
  for (let i = 0; i < n; i++) M[i * n + i] += shift;
  return { M, b: Float64Array.from({ length: n }, () => rng.normal()) };
}

const maxRel = (a: Float64Array, b: Float64Array) => {
  const scale = Math.max(...Array.from(b, Math.abs), 1e-300);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]))) / scale;
};

describe("GMRES", () => {
  it("solves random non-symmetric systems, at any restart length and scale, and reports the true residual", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 14 }),
        fc.constantFrom(1e-150, 1e-8, 1, 1e8, 1e150), fc.constantFrom(0, 2, 6),
        (seed, n, restart, scale, shift) => {
          const { M, b } = randomSystem(seed, n, shift * Math.sqrt(n));
          const scaled = M.map((v) => v * scale);
          const gmres = new Gmres(n, Math.min(restart, n));
          const x = new Float64Array(n);
          const run = gmres.solve((v, out) => out.set(multiply(scaled, n, v)), b, x, { tol: 1e-11, maxIter: 50 * n + 100 });
          const exact = denseSolve(scaled, n, b);
          // the report is the true residual: two evaluations of b − Mx differ by rounding, ≤ n·eps·‖M‖_F‖x‖/‖b‖
          const honest = trueResidual(scaled, n, x, b);
          const rounding = n * Number.EPSILON * norm(M) * norm(x.map((v) => v * scale)) / norm(b);
          expect(Math.abs(run.relativeResidual - honest)).toBeLessThanOrEqual(rounding + 1e-6 * honest);
          if (!run.converged) {
            expect(restart).toBeLessThan(n); // only a restarted run may stagnate on a random matrix
            return;
          }
          expect(run.relativeResidual).toBeLessThanOrEqual(1e-11);
          // forward error ≤ cond(M) · residual, against LU (cond from ml-matrix's SVD)
          const cond = new SingularValueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => M[j * n + i])))).condition;
          expect(maxRel(x, exact)).toBeLessThanOrEqual(10 * cond * 1e-11 + 1e-12);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("with full restart length it converges within two cycles (in exact arithmetic, one: n products)", () => {
    const n = 9, { M, b } = randomSystem(7, n, 0);
    const x = new Float64Array(n);
    const run = new Gmres(n, n).solve((v, out) => out.set(multiply(M, n, v)), b, x, { tol: 1e-10 });
    expect(run.converged).toBe(true);
    expect(run.iterations).toBeLessThanOrEqual(2 * (n + 1));
  });

  it("a singular system: not converged, and the residual it reports is the true one", () => {
    const n = 5, { M, b } = randomSystem(3, n, 0);
    for (let i = 0; i < n; i++) M[2 * n + i] = M[1 * n + i]; // two equal columns
    const x = new Float64Array(n);
    const run = new Gmres(n, n).solve((v, out) => out.set(multiply(M, n, v)), b, x);
    expect(run.converged).toBe(false);
    expect(run.iterations).toBeLessThanOrEqual(4 * (n + 1)); // stops when a cycle gains nothing (19 here), not at maxIter (150)
    expect(run.relativeResidual).toBeGreaterThan(1e-3);
    expect(relErr(run.relativeResidual, trueResidual(M, n, x, b))).toBeLessThanOrEqual(1e-12);
  });

  it("the tolerance is relative to ‖b‖ at any scale of b, and iterations counts the products", () => {
    const n = 8, { M, b } = randomSystem(11, n, 2 * Math.sqrt(n));
    for (const scale of [1e-120, 1e-8, 1e8, 1e120]) {
      let calls = 0;
      const x = new Float64Array(n), bs = b.map((v) => v * scale);
      const run = new Gmres(n, 3).solve((v, out) => (calls++, out.set(multiply(M, n, v))), bs, x, { tol: 1e-10 });
      expect(run.converged).toBe(true);
      expect(run.iterations).toBe(calls);
      const honest = trueResidual(M, n, x, bs);
      expect(honest).toBeLessThanOrEqual(1e-10);
      expect(honest).toBeGreaterThan(1e-16); // it stopped at the target, not far past it
    }
  });

  it("b = 0 gives x = 0 without a product", () => {
    let calls = 0;
    const x = Float64Array.of(1, 2);
    const run = new Gmres(2).solve(() => calls++, new Float64Array(2), x);
    expect([run.iterations, calls, run.relativeResidual, run.converged, ...x]).toEqual([0, 0, 0, true, 0, 0]);
  });
});

/**
 * F(z, θ) = M z + c z³ + θ_s b + θ_t (d∘z) + β∘w (β one entry per unknown): a non-symmetric
 * nonlinear optimality condition, J = M + diag(3c z² + θ_t d).
 */
interface Instance {
  n: number; M: Float64Array; c: number; b: Float64Array; d: Float64Array; w: Float64Array;
}

function randomInstance(seed: number, n: number, symmetric: boolean): Instance {
  const rng = new Random(seed);
  const M = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) M[j * n + i] = rng.normal() / Math.sqrt(n);
  if (symmetric) {
    const S = new Float64Array(n * n); // MᵀM + I: symmetric positive definite
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) s += M[i * n + k] * M[j * n + k];
      S[j * n + i] = s;
    }
    M.set(S);
  } else {
    for (let i = 0; i < n; i++) M[i * n + i] += 2;
  }
  const vec = () => Float64Array.from({ length: n }, () => rng.normal());
  return { n, M, c: symmetric ? 0 : 0.3 * rng.uniform(), b: vec(), d: vec().map((v) => 0.2 * Math.abs(v)), w: vec() };
}

function residualOf(I: Instance, z: Float64Array, s: number, t: number, beta: Float64Array): Float64Array {
  const F = multiply(I.M, I.n, z);
  for (let i = 0; i < I.n; i++) F[i] += I.c * z[i] ** 3 + s * I.b[i] + t * I.d[i] * z[i] + beta[i] * I.w[i];
  return F;
}

/** J at z as a dense column-major matrix. */
function jacobianOf(I: Instance, z: Float64Array, t: number): Float64Array {
  const J = Float64Array.from(I.M);
  for (let i = 0; i < I.n; i++) J[i * I.n + i] += 3 * I.c * z[i] ** 2 + t * I.d[i];
  return J;
}

/** The root z*(θ) by Newton with LU solves (independent of the code under test). */
function root(I: Instance, s: number, t: number, beta: Float64Array): Float64Array {
  const z = new Float64Array(I.n);
  for (let k = 0; k < 100; k++) {
    const F = residualOf(I, z, s, t, beta);
    const step = denseSolve(jacobianOf(I, z, t), I.n, F);
    for (let i = 0; i < I.n; i++) z[i] -= step[i];
    if (norm(step) <= 1e-15 * (1 + norm(z))) break;
  }
  return z;
}

type Route = "gmres" | "direct" | "cg";

/** The instance at its root as an OptimalityCondition, by products only (GMRES or CG) or by dense solves. */
function conditionOf(I: Instance, z: Float64Array, t: number, route: Route): OptimalityCondition {
  const J = jacobianOf(I, z, t), n = I.n;
  const parameterJacobian = (name: string) =>
    name === "s" ? { shape: "scalar" as const, column: Float64Array.from(I.b) }
    : name === "t" ? { shape: "scalar" as const, column: I.d.map((v, i) => v * z[i]) }
    : name === "beta" ? { shape: "perFeature" as const, diagonal: Float64Array.from(I.w) }
    : null;
  if (route === "direct") return { size: n, solve: (b) => denseSolve(J, n, b), solveAdjoint: (b) => denseSolve(J, n, b, true), parameterJacobian };
  return {
    size: n,
    symmetric: route === "cg",
    apply: (v, out) => out.set(multiply(J, n, v)),
    applyTranspose: (u, out) => out.set(multiply(J, n, u, true)),
    parameterJacobian,
  };
}

describe("implicit differentiation of F(z, θ) = 0", () => {
  const cases = fc.record({
    seed: fc.integer({ min: 1, max: 1e9 }),
    n: fc.integer({ min: 1, max: 9 }),
    s: fc.double({ min: -2, max: 2, noNaN: true }).filter((v) => v === 0 || Math.abs(v) >= 1e-150), // not subnormal
    t: fc.double({ min: 0, max: 1, noNaN: true }),
    symmetric: fc.boolean(),
  });

  it("dz/dθ (forward) matches central differences of an independent Newton root, by GMRES, CG and direct solves", () => {
    fc.assert(
      fc.property(cases, ({ seed, n, s, t, symmetric }) => {
        const I = randomInstance(seed, n, symmetric);
        const beta = new Float64Array(n).fill(0.1);
        const z = root(I, s, t, beta);
        const h = 1e-6;
        const fd = (dz: (e: number) => Float64Array) => dz(h).map((v, i) => (v - dz(-h)[i]) / (2 * h));
        const fdS = fd((e) => root(I, s + e, t, beta));
        const fdT = fd((e) => root(I, s, t + e, beta));
        const a = seed % n;
        const fdBeta = fd((e) => root(I, s, t, beta.map((v, i) => (i === a ? v + e : v))));
        for (const route of (symmetric ? ["gmres", "direct", "cg"] : ["gmres", "direct"]) as Route[]) {
          const { derivatives, solves } = implicitJacobian(conditionOf(I, z, t, route), ["s", "t", "beta", "none"]);
          expect(maxRel(derivatives.s, fdS)).toBeLessThanOrEqual(1e-6);
          expect(maxRel(derivatives.t, fdT)).toBeLessThanOrEqual(1e-6);
          expect(maxRel(derivatives.beta.subarray(a * n, (a + 1) * n), fdBeta)).toBeLessThanOrEqual(1e-6);
          expect(Array.from(derivatives.none)).toEqual(new Array(n).fill(0));
          expect(solves.length).toBe(2 + n);
          for (const r of solves) {
            expect(r.method).toBe(route);
            if (route === "direct") expect(r.residual).toBeNull();
            else expect(r.residual).toBeLessThanOrEqual(1e-12);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("reverse mode gᵀdz/dθ agrees with forward mode to 1e-10 relative, and the adjoint residual is the true one", () => {
    fc.assert(
      fc.property(cases, fc.integer({ min: 1, max: 1e9 }), ({ seed, n, s, t, symmetric }, gSeed) => {
        const I = randomInstance(seed, n, symmetric);
        const z = root(I, s, t, new Float64Array(n));
        const rng = new Random(gSeed);
        const g = Float64Array.from({ length: n }, () => rng.normal());
        for (const route of (symmetric ? ["gmres", "direct", "cg"] : ["gmres", "direct"]) as Route[]) {
          const condition = conditionOf(I, z, t, route);
          const { derivatives } = implicitJacobian(condition, ["s", "t", "beta"]);
          const { gradient, adjoint, solve } = implicitAdjoint(condition, g, ["s", "t", "beta", "none"]);
          const dot = (u: Float64Array) => u.reduce((acc, v, i) => acc + v * g[i], 0);
          for (const name of ["s", "t"]) expect(relErr(gradient[name] as number, dot(derivatives[name]))).toBeLessThanOrEqual(1e-10);
          const perUnknown = gradient.beta as Float64Array;
          for (let a = 0; a < n; a++) expect(Math.abs(perUnknown[a] - dot(derivatives.beta.subarray(a * n, (a + 1) * n)))).toBeLessThanOrEqual(1e-10 * Math.max(1e-300, ...Array.from(perUnknown, Math.abs)));
          expect(gradient.none).toBe(0);
          // the reported residual is ‖g − Jᵀv‖/‖g‖ (recomputed here entry by entry)
          const J = jacobianOf(I, z, t);
          if (route !== "direct") expect(Math.abs(solve.residual! - trueResidual(J, n, adjoint, g, true))).toBeLessThanOrEqual(1e-15);
          expect(maxRel(adjoint, denseSolve(J, n, g, true))).toBeLessThanOrEqual(1e-8);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("right sides at 1e-300 and 1e+300 (squares out of range): the adjoint scales with them", () => {
    for (const route of ["gmres", "cg"] as Route[]) {
      const I = randomInstance(17, 6, route === "cg"), z = root(I, 0.5, 0.3, new Float64Array(6));
      const condition = conditionOf(I, z, 0.3, route);
      const g = Float64Array.of(1, -2, 3, 0.5, 0, 1);
      const base = implicitAdjoint(condition, g, ["s"]).gradient.s as number;
      for (const scale of [1e-300, 1e300]) {
        const scaled = implicitAdjoint(condition, g.map((v) => v * scale), ["s"]);
        expect(relErr(scaled.gradient.s as number, base * scale)).toBeLessThanOrEqual(1e-12);
        expect(scaled.solve.residual).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it("a per-unknown θ on the first k unknowns only (a diagonal shorter than z, as a bordered KKT system has)", () => {
    const I = randomInstance(11, 5, false), z = root(I, 0.3, 0.2, new Float64Array(5));
    const base = conditionOf(I, z, 0.2, "gmres");
    const condition = { ...base, parameterJacobian: () => ({ shape: "perFeature" as const, diagonal: Float64Array.of(1, -2) }) };
    const g = Float64Array.of(1, 2, 3, 4, 5);
    const { gradient, adjoint } = implicitAdjoint(condition, g, ["w"]);
    const v = denseSolve(jacobianOf(I, z, 0.2), 5, g, true);
    expect(maxRel(gradient.w as Float64Array, Float64Array.of(-v[0], 2 * v[1]))).toBeLessThanOrEqual(1e-10);
    expect(adjoint.length).toBe(5);
    expect(implicitJacobian(condition, ["w"]).derivatives.w.length).toBe(10);
  });

  it("a singular J by GMRES: a NumericalError stating the residual, never NaN", () => {
    const n = 4, J = new Float64Array(n * n);
    for (let i = 0; i < n - 1; i++) J[i * n + i] = 1; // the last row and column zero
    const condition: OptimalityCondition = { size: n, apply: (v, out) => out.set(multiply(J, n, v)), applyTranspose: (u, out) => out.set(multiply(J, n, u, true)), parameterJacobian: () => ({ shape: "scalar", column: Float64Array.of(1, 1, 1, 1) }) };
    expect(() => implicitJacobian(condition, ["s"])).toThrow(NumericalError);
    expect(() => implicitJacobian(condition, ["s"])).toThrow(/gmres on J .*relative residual 5\.00e-1/);
    expect(() => implicitAdjoint(condition, Float64Array.of(0, 0, 0, 1), ["s"])).toThrow(/gmres on Jᵀ .*relative residual 1\.00e\+0/);
  });

  it("size 0: empty derivatives, no solve", () => {
    const condition: OptimalityCondition = { size: 0, apply: () => { throw new Error("no product expected"); }, symmetric: true, parameterJacobian: () => ({ shape: "scalar", column: new Float64Array(0) }) };
    expect(implicitJacobian(condition, ["s"]).derivatives.s.length).toBe(0);
    expect(implicitAdjoint(condition, new Float64Array(0), ["s"]).gradient.s).toBe(0);
  });
});

describe("the KKT systems are instances", () => {
  it("the Lasso active set: its direct solve, and CG and GMRES on an explicit H = A_SᵀA_S + l2 I, give the same hypergradient", () => {
    const problem = randomProblem(5, 30, 40, { l1Fraction: 0.2, l2: 0.1 });
    const solution = SOLVERS.cd(problem, { tol: 1e-14 });
    const system = new ActiveSetSystem(problem, penaltyFamily(problem), solution.x, solution.active);
    const criterion = HeldOutMse.of(problem);
    const gradX = criterion.gradient(solution.x, new Float64Array(problem.A.cols));
    const direct = implicitGradient(system, gradX, ["l1", "l2"], problem.A.cols);
    // H entry by entry from the dense A
    const S = solution.active, k = S.length, m = problem.A.rows;
    const column = (j: number) => problem.A.apply(Float64Array.from({ length: problem.A.cols }, (_, i) => (i === j ? 1 : 0)), new Float64Array(m));
    const cols = Array.from(S, column);
    const H = new Float64Array(k * k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) H[b * k + a] = cols[a].reduce((s, v, i) => s + v * cols[b][i], 0) + (a === b ? problem.penalty.l2 : 0);
    const g = system.restrict(gradX);
    for (const symmetric of [true, false]) {
      const byProducts: OptimalityCondition = { size: k, symmetric, apply: (v, out) => out.set(multiply(H, k, v)), applyTranspose: (u, out) => out.set(multiply(H, k, u, true)), parameterJacobian: (name) => system.parameterJacobian(name) };
      const { gradient, solve } = implicitAdjoint(byProducts, g, ["l1", "l2"]);
      expect(solve.method).toBe(symmetric ? "cg" : "gmres");
      expect(relErr(gradient.l1 as number, direct.l1 as number)).toBeLessThanOrEqual(1e-9);
      expect(relErr(gradient.l2 as number, direct.l2 as number)).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe("bad input", () => {
  const good: OptimalityCondition = { size: 2, apply: (v, out) => out.set(v), parameterJacobian: () => ({ shape: "scalar", column: Float64Array.of(1, 2) }) };

  it("names the field in one line", () => {
    inputError(() => implicitJacobian(null as never, ["s"]), /^condition: /);
    inputError(() => implicitJacobian({ ...good, size: -1 }, ["s"]), /^condition\.size: /);
    inputError(() => implicitJacobian({ size: 2, parameterJacobian: good.parameterJacobian }, ["s"]), /^condition\.apply: /);
    inputError(() => implicitJacobian({ ...good, parameterJacobian: undefined as never }, ["s"]), /^condition\.parameterJacobian: /);
    inputError(() => implicitAdjoint(good, Float64Array.of(1, 2), ["s"]), /^condition\.applyTranspose: /);
    inputError(() => implicitAdjoint({ ...good, symmetric: true }, Float64Array.of(1), ["s"]), /^gradZ: /);
    inputError(() => implicitAdjoint({ ...good, symmetric: true }, Float64Array.of(1, NaN), ["s"]), /^gradZ: /);
    inputError(() => implicitAdjoint({ ...good, symmetric: true }, [1, 2] as never, ["s"]), /^gradZ: /);
    inputError(() => implicitJacobian(good, "s" as never), /^names: /);
    inputError(() => implicitJacobian(good, ["s"], { tol: 0 }), /^options\.tol: /);
    inputError(() => implicitJacobian(good, ["s"], { tol: NaN }), /^options\.tol: /);
    inputError(() => implicitJacobian(good, ["s"], { maxIter: 1.5 }), /^options\.maxIter: /);
    inputError(() => implicitJacobian(good, ["s"], { restart: 0 }), /^options\.restart: /);
    inputError(() => implicitJacobian({ ...good, parameterJacobian: () => ({ shape: "scalar", column: Float64Array.of(1) }) }, ["s"]), /^parameterJacobian\(s\): /);
    inputError(() => new Gmres(-1), /^size: /);
    inputError(() => new Gmres(3, 0), /^restart: /);
    const identity = (v: Float64Array, out: Float64Array) => out.set(v);
    inputError(() => new Gmres(2).solve(null as never, Float64Array.of(1, 2), new Float64Array(2)), /^apply: /);
    inputError(() => new Gmres(2).solve(identity, Float64Array.of(1), new Float64Array(2)), /^b: /);
    inputError(() => new Gmres(2).solve(identity, Float64Array.of(1, Infinity), new Float64Array(2)), /^b: /);
    inputError(() => new Gmres(2).solve(identity, Float64Array.of(1, 2), new Float64Array(3)), /^x: /);
  });
});
