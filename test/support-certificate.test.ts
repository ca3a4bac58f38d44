/**
 * supportIsCertain (kkt/support-certificate.ts) on problems whose solution is known by
 * construction (constructedProblem: the KKT conditions hold exactly, an inactive feature at or
 * near its kink, a coefficient about to leave), at perturbed points x, with the duality gap from
 * oracles written out here: whenever it says "certain", x has the support and signs of x*.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { supportIsCertain } from "../src/kkt/support-certificate.js";
import { penaltyOf } from "../src/penalties/index.js";
import type { Problem } from "../src/problem.js";
import { Rng, bounds, constructedProblem, denseOf, hardMatrix, norm, primalOracle, residualOracle } from "./math-support.js";

/** P(x) − D(θ) at θ = r = y − Ax, D(θ) = yᵀθ − ½‖θ‖² − Σ_j (|a_jᵀθ| − l1 w_j)₊²/(2 l2) (the elastic net's dual, by hand). */
function gapOracle(problem: Problem, x: Float64Array): { gap: number; c: Float64Array } {
  const { r, c } = residualOracle(problem, x);
  const b = bounds(problem), l2 = problem.penalty.l2;
  let dual = 0;
  for (let i = 0; i < r.length; i++) dual += problem.y[i] * r[i] - 0.5 * r[i] * r[i];
  for (let j = 0; j < c.length; j++) dual -= Math.max(0, Math.abs(c[j]) - b[j]) ** 2 / (2 * l2);
  return { gap: Math.max(0, primalOracle(problem, x) - dual), c };
}

const signsOf = (x: ArrayLike<number>) => Array.from(x, Math.sign);

describe("supportIsCertain: a proven support is the solution's", () => {
  let certain = 0, uncertain = 0;
  afterAll(() => {
    // not vacuous either way
    expect(certain).toBeGreaterThan(25); // measured ~50 of 500 runs (most constructions are discarded)
    expect(uncertain).toBeGreaterThan(25);
  });

  const cases = fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    m: fc.integer({ min: 10, max: 30 }),
    n: fc.integer({ min: 8, max: 50 }),
    k: fc.integer({ min: 1, max: 6 }),
    l2: fc.constantFrom(0.02, 0.05, 0.1), // larger l2 makes most constructions fail
    level: fc.constantFrom(1, 1, 0.999, 0.9, 0.5),
    tiny: fc.constantFrom(undefined, 1e-3, 1e-6),
    weighted: fc.boolean(),
    // how x departs from x*: everywhere, on the support only, the edge feature switched on, the smallest coefficient dropped
    kind: fc.constantFrom("everywhere", "support", "edge", "drop"),
    scale: fc.integer({ min: -14, max: -1 }).map((e) => 10 ** e),
  });

  it("x* perturbed in every way, at every scale: certain ⇒ same support and signs as x*", () => {
    fc.assert(
      fc.property(cases, (t) => {
        const rng = new Rng(t.seed);
        const A = hardMatrix(rng, t.m, t.n, "gaussian");
        const weights = t.weighted ? Float64Array.from({ length: t.n }, () => 0.5 + rng.uniform()) : undefined;
        const built = constructedProblem(rng, A, { k: Math.min(t.k, t.m - 1), l1: 0.5, l2: t.l2, weights, level: t.level, tiny: t.tiny });
        fc.pre(built !== null);
        const { problem, x: star, active, edge } = built!;
        const x = Float64Array.from(star);
        if (t.kind === "everywhere") for (let j = 0; j < t.n; j++) x[j] += t.scale * rng.normal();
        if (t.kind === "support" || t.kind === "drop") for (const j of active) x[j] += t.scale * rng.normal();
        // the edge feature switched on the way its correlation points: at a kink (level 1) P − P* and
        // the gap are then of second order in the step, the hardest case for the primal radius
        if (t.kind === "edge") x[edge] = t.scale * Math.sign(residualOracle(problem, star).c[edge]);
        if (t.kind === "drop") x[active[active.length - 1]] = 0; // the smallest when tiny is set
        const { gap, c } = gapOracle(problem, x);
        const M = denseOf(problem.A);
        const norms = Float64Array.from({ length: t.n }, (_, j) => norm(M.getColumn(j)));
        const yy = problem.y.reduce((s, v) => s + v * v, 0);
        if (supportIsCertain(penaltyOf(problem), x, c, gap, norms, yy)) {
          certain++;
          expect(signsOf(x)).toEqual(signsOf(star));
        } else {
          uncertain++;
        }
      }),
      { numRuns: 500 },
    );
  });

  it("the solution itself is proven when nothing sits at a kink; a Lasso (no curvature) never is", () => {
    /** The first seed whose construction succeeds (some draws put an inactive feature above its bound). */
    const construct = (l2: number) => {
      for (let seed = 1; seed < 200; seed++) {
        const rng = new Rng(seed);
        const built = constructedProblem(rng, hardMatrix(rng, 30, 60, "gaussian"), { k: 3, l1: 0.5, l2, level: 0.5 });
        if (built) return built;
      }
      throw new Error("no construction");
    };
    for (const l2 of [0, 0.05, 0.1]) {
      const { problem, x } = construct(l2);
      const { gap, c } = l2 > 0 ? gapOracle(problem, x) : { gap: 0, c: residualOracle(problem, x).c };
      const M = denseOf(problem.A);
      const norms = Float64Array.from({ length: 60 }, (_, j) => norm(M.getColumn(j)));
      const yy = problem.y.reduce((s, v) => s + v * v, 0);
      expect(supportIsCertain(penaltyOf(problem), x, c, gap, norms, yy), `l2 = ${l2}`).toBe(l2 > 0);
    }
  });
});
