import { describe, expect, it, vi } from "vitest";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { unrolledForward, unrolledReverse, type UnrolledOptions } from "../src/diff/unrolled.js";
import { Random } from "../src/linalg/random.js";
import { createProblem } from "../src/problem.js";

/**
 * The DCT solver's paired solve, switchable: "real" (its FFTs shared by the two right-hand sides),
 * "separate" (two plain solves: the same bits as unpaired), "absent" (no solvePair: the plain
 * reverse sweep). Isolates the interleaved sweep's bookkeeping from the paired FFT's rounding.
 */
const pairing = vi.hoisted(() => ({ mode: "real" as "real" | "separate" | "absent", pairs: 0 }));
vi.mock("../src/operators/normal-equations.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/operators/normal-equations.js")>();
  return {
    ...original,
    fastNormalSolver: (...args: Parameters<typeof original.fastNormalSolver>) => {
      const solver = original.fastNormalSolver(...args);
      if (!solver || pairing.mode === "real") return solver;
      const separate = (b1: Float64Array, out1: Float64Array, b2: Float64Array, out2: Float64Array) => {
        pairing.pairs++;
        solver.solve(b1, out1);
        solver.solve(b2, out2);
      };
      return { setWeights: solver.setWeights.bind(solver), solve: solver.solve.bind(solver), ...(pairing.mode === "separate" && { solvePair: separate }) };
    },
  };
});

describe("unrolled Split Bregman with the x-updates paired", () => {
  it("each recomputed step riding with an adjoint step gives the same bits as the plain sweep when the paired solve is two solves; the real pairing agrees to rounding", () => {
    const rng = new Random(5);
    for (const n of [2, 17, 64]) {
      const clean = Float64Array.from({ length: n }, (_, i) => Math.floor((5 * i) / n) % 3);
      for (const penalty of [{ tv: 0.3 }, { tv: 0.2, l1: 0.05, l2: 0.1 }]) {
        const problem = createProblem({ A: { identity: n }, y: clean.map((v) => v + 0.3 * rng.normal()), validation: { A: { identity: n }, y: clean }, penalty });
        const criterion = HeldOutMse.of(problem);
        for (const [K, interval] of [[1, undefined], [9, undefined], [40, undefined], [40, 7], [41, 1], [30, 45]] as const) {
          const options: UnrolledOptions = { solver: "split-bregman", iterations: K, mu: 1.3, interval };
          const run = (mode: typeof pairing.mode) => ((pairing.mode = mode), unrolledReverse(problem, criterion, options));
          const [plain, separate, real] = [run("absent"), run("separate"), run("real")];
          const c = interval ?? Math.ceil(Math.sqrt(K));
          expect(plain.storedStates).toBe(Math.ceil(K / c) - 1 + Math.min(c, K) + 1);
          expect(separate.storedStates).toBe(Math.ceil(K / c) - 1 + (c < K ? 2 : 1) * Math.min(c, K) + 1); // a second segment where one is recomputed
          expect(separate.steps).toBe(plain.steps);
          const scale = Math.max(...Object.values({ ...plain.gradient, ...plain.algorithm }).map(Math.abs));
          for (const part of ["gradient", "algorithm"] as const) {
            for (const [name, value] of Object.entries(plain[part])) {
              expect(Object.is(separate[part][name], value), `${name}, n = ${n}, K = ${K}, interval = ${interval}`).toBe(true);
              expect(Math.abs(real[part][name] - value)).toBeLessThanOrEqual(1e-11 * scale);
            }
          }
        }
      }
    }
    pairing.mode = "real";
  });

  it("reverse mode on nearly noise-free data: the small adjoint keeps its own accuracy beside the state it shares the FFTs with", () => {
    // The adjoint ρ ~ ∇L is about 1e-5 of the state x it is paired with: unbalanced, the shared FFT
    // gives ρ x's absolute rounding (measured 1e-9 of the largest derivative before the halves were
    // scaled to the same size).
    const n = 64, rng = new Random(3);
    const clean = Float64Array.from({ length: n }, (_, i) => Math.floor((5 * i) / n) % 3);
    for (const noise of [1e-6, 1e-9]) {
      const problem = createProblem({ A: { identity: n }, y: clean.map((v) => v + noise * rng.normal()), validation: { A: { identity: n }, y: clean }, penalty: { tv: noise / 2 } });
      const criterion = HeldOutMse.of(problem);
      const options: UnrolledOptions = { solver: "split-bregman", iterations: 40, mu: 1.3 };
      const run = (mode: typeof pairing.mode) => ((pairing.mode = mode), unrolledReverse(problem, criterion, options));
      const [plain, real] = [run("absent"), run("real")];
      const all = (r: typeof plain) => ({ ...r.gradient, ...r.algorithm });
      const scale = Math.max(...Object.values(all(plain)).map(Math.abs));
      for (const [name, value] of Object.entries(all(plain))) expect(Math.abs(all(real)[name] - value), `${name}, noise ${noise}`).toBeLessThanOrEqual(1e-11 * scale);
    }
    pairing.mode = "real";
  });

  it("forward mode: tangents stepped two at a time give the same bits as one at a time when the paired solve is two solves; the real pairing agrees to rounding", () => {
    const rng = new Random(8);
    for (const n of [2, 23, 64]) {
      const clean = Float64Array.from({ length: n }, (_, i) => Math.floor((3 * i) / n) % 2);
      // Three or four tangents (l2, tv, mu; l1 too): a pair and a single, or two pairs.
      for (const penalty of [{ tv: 0.3, l2: 0.05 }, { tv: 0.2, l1: 0.05, l2: 0.1 }]) {
        const problem = createProblem({ A: { identity: n }, y: clean.map((v) => v + 0.3 * rng.normal()), validation: { A: { identity: n }, y: clean }, penalty });
        const criterion = HeldOutMse.of(problem);
        for (const K of [1, 6, 40]) {
          const options: UnrolledOptions = { solver: "split-bregman", iterations: K, mu: 0.9 };
          const run = (mode: typeof pairing.mode) => ((pairing.mode = mode), unrolledForward(problem, criterion, options));
          const plain = run("absent");
          pairing.pairs = 0;
          const separate = run("separate");
          const real = run("real");
          const all = (r: typeof plain) => ({ ...r.gradient, ...r.algorithm });
          const scale = Math.max(...Object.values(all(plain)).map(Math.abs));
          const P = Object.keys(all(plain)).length;
          expect(P).toBeGreaterThanOrEqual(3);
          expect(pairing.pairs).toBe(K * Math.floor(P / 2)); // every step pairs all but at most one tangent
          for (const [name, value] of Object.entries(all(plain))) {
            expect(Object.is(all(separate)[name], value), `${name}, n = ${n}, K = ${K}`).toBe(true);
            expect(Math.abs(all(real)[name] - value)).toBeLessThanOrEqual(1e-11 * scale);
          }
          expect(Array.from(real.x)).toEqual(Array.from(plain.x)); // the plain steps are not paired
        }
      }
    }
    pairing.mode = "real";
  });
});
