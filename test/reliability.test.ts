// Hostile inputs at the library's edge (issue 6, item 8): every bad input is an InputError
// naming the field, before any work; nothing returns NaN or claims a convergence it lacks.
import { describe, expect, it } from "vitest";
import ndarray from "ndarray";
import { InputError } from "../src/errors.js";
import { lambdaMax } from "../src/penalties/index.js";
import { Random } from "../src/linalg/random.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { createProblem, requireCertifiableScales, requirePositivePenalty, toVector, withPenalty, type Problem, type ProblemInput } from "../src/problem.js";
import { solve } from "../src/solvers/index.js";
import { tune, type TuneOptions } from "../src/tune/tune.js";
import { HeldOutMse } from "../src/criteria/heldout.js";
import { hypergradient } from "../src/diff/implicit.js";
import { inputError, maxAbsDiff } from "./support.js";

/** A small noisy compressed-sensing problem as plain arrays (so each field can be scaled). */
function plain(seed = 1, m = 30, n = 60, noise = 0.05): Required<Pick<ProblemInput, "A" | "y" | "validation" | "truth">> & { penalty: { l1: number; l2?: number; weights?: number[] } } {
  const rng = new Random(seed);
  const rows = (k: number) => Array.from({ length: k }, () => Array.from({ length: n }, () => rng.normal() / Math.sqrt(m)));
  const truth = new Array<number>(n).fill(0);
  for (const j of rng.sample(n, 5)) truth[j] = 1 + Math.abs(rng.normal());
  const measure = (A: number[][], sigma: number) => A.map((r) => r.reduce((s, v, j) => s + v * truth[j], 0) + sigma * rng.normal());
  const A = rows(m), Av = rows(m / 2);
  const y = measure(A, noise);
  const l1 = 0.1 * lambdaMax(createProblem({ A, y }));
  return { A, y, validation: { A: Av, y: measure(Av, noise) }, truth, penalty: { l1 } };
}

const scaled = (rows: number[][], s: number) => rows.map((r) => r.map((v) => v * s));
const scaledVec = (v: number[], s: number) => v.map((x) => x * s);

describe("extreme scales: refused with the field and the usable range, or solved exactly", () => {
  const base = plain();
  const cases: [string, () => ProblemInput, string][] = [
    ["y·1e160", () => ({ ...base, y: scaledVec(base.y, 1e160) }), "y"],
    ["y·1e-160 (penalties scaled along)", () => ({ ...base, y: scaledVec(base.y, 1e-160), penalty: { l1: base.penalty.l1 * 1e-160 } }), "y"],
    ["A·1e160", () => ({ ...base, A: scaled(base.A as number[][], 1e160) }), "A"],
    ["A·1e-160", () => ({ ...base, A: scaled(base.A as number[][], 1e-160), penalty: { l1: base.penalty.l1 * 1e-160 } }), "A"],
    ["validation.y·1e160", () => ({ ...base, validation: { ...base.validation, y: scaledVec(base.validation.y as number[], 1e160) } }), "validation.y"],
    ["validation.A·1e160", () => ({ ...base, validation: { ...base.validation, A: scaled(base.validation.A as number[][], 1e160) } }), "validation.A"],
    ["truth·1e160", () => ({ ...base, truth: scaledVec(base.truth as number[], 1e160) }), "truth"],
    ["weights 1e160", () => ({ ...base, penalty: { ...base.penalty, weights: new Array(60).fill(1e160) } }), "penalty.weights"],
    ["weights 1e-160", () => ({ ...base, penalty: { ...base.penalty, weights: new Array(60).fill(1e-160) } }), "penalty.weights"],
    ["l1 = 1e-300", () => ({ ...base, penalty: { l1: 1e-300 } }), "penalty.l1"],
    ["l2 = 1e300", () => ({ ...base, penalty: { l1: base.penalty.l1, l2: 1e300 } }), "penalty.l2"],
    // (l2 = 1e10, where x = 0 used to be reported as converged, is now solved: test/core.test.ts)
    ["l2 = 1e30 (above 1e16·max‖a_j‖²)", () => ({ ...base, penalty: { l1: base.penalty.l1, l2: 1e30 } }), "penalty.l2"],
  ];

  it.each(cases)("%s", (_label, input, field) => {
    const e = inputError(() => createProblem(input()));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(/expected/);
  });

  it("data scales refuse with the certifiable range in the message", () => {
    expect(inputError(() => createProblem({ ...base, y: scaledVec(base.y, 1e160) })).message).toMatch(/\[1\.0e-200, 1\.0e\+200\].*overflows/);
  });

  it("moderate extremes (y·1e60, A·1e-60) solve to the rescaled answer", () => {
    const ref = solve(createProblem(base), { tol: 1e-12 });
    const big = solve(createProblem({ ...base, y: scaledVec(base.y, 1e60), penalty: { l1: base.penalty.l1 * 1e60 } }), { tol: 1e-12 });
    expect(big.converged).toBe(true);
    expect(maxAbsDiff(big.x.map((v) => v * 1e-60), ref.x)).toBeLessThan(1e-9);
    const small = solve(createProblem({ ...base, A: scaled(base.A as number[][], 1e-60), penalty: { l1: base.penalty.l1 * 1e-60 } }), { tol: 1e-12 });
    expect(small.converged).toBe(true);
    expect(maxAbsDiff(small.x.map((v) => v * 1e-60), ref.x)).toBeLessThan(1e-9);
  });

  it("a tiny y below the threshold is fine (x = 0 exactly); tuning it is refused", () => {
    const tiny = { ...base, y: scaledVec(base.y, 1e-170), validation: undefined, truth: undefined };
    const sol = solve(createProblem(tiny));
    expect(Array.from(sol.x).every((v) => v === 0)).toBe(true);
    expect(sol.converged).toBe(true);
    const unpenalised = createProblem({ A: base.A, y: tiny.y }); // no penalty yet: checked when one is set
    expect(inputError(() => tune(unpenalised, { criterion: "reference" })).field).toBe("y");
    expect(inputError(() => solve(withPenalty(unpenalised, { l1: 1e-200 }))).field).toBe("y");
  });

  it("a penalty set after createProblem is checked by solve()", () => {
    const p = createProblem(base);
    expect(inputError(() => solve(withPenalty(p, { l1: 1e-300 }))).field).toBe("penalty.l1");
    expect(inputError(() => requireCertifiableScales(withPenalty(p, { l1: 0.1, l2: 1e300 }))).field).toBe("penalty.l2");
  });
});

describe("a missing penalty is bad input, not a numerical failure", () => {
  const base = plain(2);
  it.each([
    ["no penalty", {}],
    ["l1 = l2 = 0", { l1: 0, l2: 0 }],
  ])("%s: solve throws InputError(penalty) asking for a positive l1 or l2", (_label, penalty) => {
    const p = createProblem({ ...base, penalty });
    for (const solver of ["cd", "fista"] as const) {
      const e = inputError(() => solve(p, { solver }));
      expect(e.field).toBe("penalty");
      expect(e.message).toMatch(/positive l1 or l2/);
    }
    expect(() => requirePositivePenalty(p)).toThrow(InputError);
    expect(() => requirePositivePenalty(withPenalty(p, { l2: 0.1 }))).not.toThrow();
  });
});

describe("createProblem takes numbers only, known keys only, and keeps its own copies", () => {
  const base = plain(3, 8, 5);

  it.each([
    ["null in y", { y: [null, ...base.y.slice(1)] }, "y"],
    ["true in y", { y: [true, ...base.y.slice(1)] }, "y"],
    ['"2" in y', { y: ["2", ...base.y.slice(1)] }, "y"],
    ["a string in a row of A", { A: [["1", ...(base.A as number[][])[0].slice(1)], ...(base.A as number[][]).slice(1)] }, "A[0]"],
    ["null in a row of A", { A: [...(base.A as number[][]).slice(0, 2), [null, ...(base.A as number[][])[2].slice(1)], ...(base.A as number[][]).slice(3)] }, "A[2]"],
    ["a row that is not an array", { A: [...(base.A as number[][]).slice(0, 7), 3] }, "A[7]"],
    ["null in validation.y", { validation: { ...base.validation, y: [null, ...(base.validation.y as number[]).slice(1)] } }, "validation.y"],
    ["null in truth", { truth: [null, ...(base.truth as number[]).slice(1)] }, "truth"],
    ["a string in weights", { penalty: { l1: 0.1, weights: ["1", 1, 1, 1, 1] } }, "penalty.weights"],
    ["penalty.l1 null", { penalty: { l1: null } }, "penalty.l1"],
    ["penalty.l1 true", { penalty: { l1: true } }, "penalty.l1"],
    ['penalty.l2 "2"', { penalty: { l1: 0.1, l2: "2" } }, "penalty.l2"],
    ["unknown penalty key", { penalty: { l1: 0.1, foo: 1 } }, "penalty.foo"],
    ["penalty as an array", { penalty: [0.1] }, "penalty"],
    ["string data in an ndarray", { y: ndarray(["1", 2, 3, 4, 5, 6, 7, 8] as unknown as number[], [8]) }, "y"],
  ])("%s", (_label, patch, field) => {
    const e = inputError(() => createProblem({ ...base, ...(patch as Partial<ProblemInput>) }));
    expect(e.field).toBe(field);
    if (field === "penalty.foo") expect(e.message).toBe("penalty.foo: unknown penalty, expected l1, l2, tv or weights");
  });

  it("toVector refuses non-numbers with their index", () => {
    const e = inputError(() => toVector(["1", null, true] as unknown as number[], "v"));
    expect(e.message).toMatch(/index 0/);
    expect(inputError(() => toVector([1, null] as unknown as number[], "v")).message).toMatch(/null at index 1/);
    expect(inputError(() => toVector({ length: 2, 0: 1, 1: "x" } as unknown as number[], "v")).field).toBe("v");
  });

  it("a problem that is not an object is refused", () => {
    expect(inputError(() => createProblem(null as unknown as ProblemInput)).field).toBe("problem");
    expect(inputError(() => createProblem([1, 2] as unknown as ProblemInput)).field).toBe("problem");
  });

  it("arrays are copied: mutating the caller's arrays afterwards changes nothing", () => {
    const A = (base.A as number[][]).map((r) => [...r]);
    const y = Float64Array.from(base.y);
    const vy = [...(base.validation.y as number[])];
    const truth = [...(base.truth as number[])];
    const weights = new Float64Array(5).fill(1);
    const p = createProblem({ A, y, validation: { A: base.validation.A, y: vy }, truth, penalty: { l1: 0.1, weights } });
    const before = { A: Array.from((p.A as DenseMatrix).data), y: Array.from(p.y), vy: Array.from(p.validation!.y), truth: Array.from(p.truth!), w: Array.from(p.penalty.weights!) };
    A[0][0] = 99;
    y[0] = 99;
    vy[0] = 99;
    truth[0] = 99;
    weights[0] = 99;
    expect(Array.from((p.A as DenseMatrix).data)).toEqual(before.A);
    expect(Array.from(p.y)).toEqual(before.y);
    expect(Array.from(p.validation!.y)).toEqual(before.vy);
    expect(Array.from(p.truth!)).toEqual(before.truth);
    expect(Array.from(p.penalty.weights!)).toEqual(before.w);
  });

  it("operator objects (DenseMatrix) are used by reference, as documented", () => {
    const D = DenseMatrix.from(base.A as number[][]);
    expect(createProblem({ ...base, A: D }).A).toBe(D);
  });
});

describe("tune: options and keys are checked; convergence is not over-claimed", () => {
  const p = createProblem(plain(4));
  const quiet: TuneOptions = { onEvent: () => {} };

  it.each([
    ["unknown key", { keys: ["l3"] }, "keys"],
    ["keys not an array", { keys: "l1" }, "keys"],
    ["unknown criterion", { criterion: "aic" }, "criterion"],
    ["unknown optimizer", { optimizer: "newton" }, "optimizer"],
    ["unknown solver", { solver: "newton" }, "solver"],
    ["unknown start key", { start: { l3: 1 } }, "start.l3"],
    ["NaN start", { start: { l1: NaN } }, "start.l1"],
    ["maxIter 0", { maxIter: 0 }, "maxIter"],
    ["tol -1", { tol: -1 }, "tol"],
    ["start below the box", { start: { l1: 1e-300 } }, "start"],
  ])("%s: InputError", (_label, options, field) => {
    expect(inputError(() => tune(p, { ...quiet, ...(options as unknown as TuneOptions) })).field).toBe(field);
  });

  it("a start one ulp (or 1e-13 relative) above λ_max is clamped; 1e-6 above is refused", () => {
    const lmax = lambdaMax(p);
    for (const start of [lmax * (1 + Number.EPSILON), lmax * (1 + 1e-13)]) {
      const r = tune(p, { ...quiet, start: { l1: start }, scan: 0, maxIter: 2 });
      expect(r.start.l1).toBe(lmax);
    }
    expect(inputError(() => tune(p, { ...quiet, start: { l1: lmax * (1 + 1e-6) } })).field).toBe("start");
  });

  it("maxIter caps each local descent of the tuner", () => {
    // exact: false: the Lasso in l1 alone otherwise finishes on the exact path, without a descent.
    const capped = tune(p, { ...quiet, scan: 0, maxIter: 1, exact: false });
    const free = tune(p, { ...quiet, scan: 0, exact: false });
    expect(capped.iterations).toBeLessThanOrEqual(3); // one step per descent: the first, and at most two neighbour restarts
    expect(capped.solves).toBeLessThan(free.solves);
  });

  /** y = A x_true exactly, validation exact too: the held-out error falls toward 0 with l1. */
  function noiseless(): Problem {
    const rng = new Random(3);
    const m = 30, n = 60;
    const rows = (k: number) => Array.from({ length: k }, () => Array.from({ length: n }, () => rng.normal() / Math.sqrt(m)));
    const truth = new Array<number>(n).fill(0);
    for (const j of rng.sample(n, 5)) truth[j] = 1 + Math.abs(rng.normal());
    const measure = (A: number[][]) => A.map((r) => r.reduce((s, v, j) => s + v * truth[j], 0));
    const A = rows(m), Av = rows(m / 2);
    return createProblem({ A, y: measure(A), validation: { A: Av, y: measure(Av) } });
  }

  it("noiseless data: a run ending on the l1 lower bound with the criterion still falling is not 'converged'", () => {
    const r = tune(noiseless(), { ...quiet, tol: 1e-14 });
    expect(r.lambda.l1).toBeLessThanOrEqual(1e-6 * r.lambdaMax * (1 + 1e-9));
    expect(r.converged).toBe(false);
    expect(r.message).toMatch(/lower bound of l1.*still decreases/);
  });

  it("noiseless data at the default tolerance: the still-falling criterion is reported, not convergence", () => {
    const r = tune(noiseless(), quiet);
    expect(r.converged).toBe(false);
    expect(r.message).toMatch(/still decreases/);
  });

  it("noisy data still converge (the check does not fire at a real minimum)", () => {
    const r = tune(p, quiet);
    expect(r.converged).toBe(true);
    expect(r.message).toMatch(/converged/);
  });
});

describe("solve() checks options and penalties for every solver (FISTA used to run to its cap)", () => {
  const p = createProblem(plain(7));
  it.each([
    ["tol -1", { tol: -1 }, "options.tol"],
    ["tol NaN", { tol: NaN }, "options.tol"],
    ["maxIter 2.5", { maxIter: 2.5 }, "options.maxIter"],
    ["a NaN warm start", { warmStart: new Float64Array(60).fill(NaN) }, "options.warmStart"],
    ["a short warm start", { warmStart: new Float64Array(2) }, "options.warmStart"],
    ["polish \"yes\"", { polish: "yes" as unknown as boolean }, "options.polish"],
  ])("fista and cd: %s", (_label, options, field) => {
    for (const solver of ["cd", "fista"] as const) expect(inputError(() => solve(p, { solver, ...options })).field).toBe(field);
  });

  it("penalties brought in by withPenalty are checked (NaN, negative)", () => {
    expect(inputError(() => solve(withPenalty(p, { l1: NaN }))).field).toBe("penalty.l1");
    expect(inputError(() => solve(withPenalty(p, { l1: -1, l2: 1 }))).field).toBe("penalty.l1");
  });

  it("tune: a junk grid option is an InputError, not a TypeError", () => {
    expect(inputError(() => tune(p, { grid: { count: -5 } })).field).toBe("grid.count");
  });
});

describe("hypergradient of a well-posed problem stays finite", () => {
  it("with a penalty set, solve + hypergradient give finite numbers", () => {
    const p = createProblem(plain(6));
    const s = solve(p, { tol: 1e-12 });
    const g = hypergradient(p, s, HeldOutMse.of(p));
    expect(Number.isFinite(g.l1)).toBe(true);
  });
});
