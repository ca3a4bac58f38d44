/**
 * The certificate and the gap-safe screening against oracles written out here (issue 6, item 9):
 * the KKT violation max_j dist(−∇_j f(x), ∂g_j(x_j)), the primal and the documented dual point,
 * and the sphere inequality ‖θ − θ*‖ ≤ √(2·gap) that makes screening safe.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  certificate,
  createProblem,
  lambdaMax,
  solve,
  solveCoordinateDescent,
  withPenalty,
  type CoordinateDescentProgress,
  type Problem,
} from "../src/node.js";
import {
  Rng,
  bounds,
  constructedProblem,
  convolutionOperator,
  denseOf,
  hardCases,
  hardMatrix,
  kktOracle,
  measure,
  norm,
  primalOracle,
  printMeasured,
  residualOracle,
  type MatrixKind,
} from "./math-support.js";

afterAll(printMeasured);

/** The documented dual point and value (kkt/certificate.ts's comment, math.md), by hand. */
function dualOracle(problem: Problem, r: Float64Array, c: Float64Array, alive?: (j: number) => boolean): { theta: Float64Array; value: number } {
  const { y, penalty } = problem;
  const b = bounds(problem);
  const inPlay = (j: number) => (alive ? alive(j) : true);
  let yt = 0, tt = 0;
  if (penalty.l2 > 0) {
    for (let i = 0; i < r.length; i++) (yt += y[i] * r[i]), (tt += r[i] * r[i]);
    let conj = 0;
    for (let j = 0; j < c.length; j++) if (inPlay(j)) conj += Math.max(0, Math.abs(c[j]) - b[j]) ** 2 / (2 * penalty.l2);
    return { theta: Float64Array.from(r), value: yt - 0.5 * tt - conj };
  }
  let s = 1;
  for (let j = 0; j < c.length; j++) if (inPlay(j)) s = Math.max(s, Math.abs(c[j]) / b[j]);
  const theta = r.map((v) => v / s);
  for (let i = 0; i < r.length; i++) (yt += y[i] * theta[i]), (tt += theta[i] * theta[i]);
  return { theta, value: yt - 0.5 * tt };
}

const shapes = hardCases({ m: [5, 30], n: [3, 50], l2: [0, 0.05, 0.5], frac: [0.02, 0.9] });

function build({ seed, m, n, kind, matrixFree, weighted, l2, frac }: { seed: number; m: number; n: number; kind: MatrixKind; matrixFree: boolean; weighted: boolean; l2: number; frac: number }) {
  const rng = new Rng(seed);
  const A = matrixFree ? convolutionOperator(rng, m, n) : hardMatrix(rng, m, n, kind);
  const truth = Float64Array.from({ length: n }, (_, j) => (j % 4 === 1 ? rng.normal() + rng.sign() : 0));
  const y = A.apply(truth, new Float64Array(m)).map((v) => v + 0.1 * rng.normal());
  const weights = weighted ? Float64Array.from({ length: n }, () => 0.3 + 2 * rng.uniform()) : undefined;
  const base = createProblem({ A, y, penalty: { l1: 1, ...(weights && { weights }) } });
  return { problem: withPenalty(base, { l1: frac * lambdaMax(base), l2 }), rng };
}

describe("certificate against oracles at perturbed points", () => {
  it("kktViolation = max_j dist(−∇_j f(x), ∂g_j(x_j)); objective, gap, margin and smallest |x_j| as defined", () => {
    fc.assert(
      fc.property(shapes, fc.double({ min: 1e-6, max: 1, noNaN: true }), ({ ...c }, size) => {
        const { problem, rng } = build(c);
        const n = problem.A.cols;
        const star = solve(problem, { tol: 1e-14 });
        // x* moved: some entries kept at 0, some active entries moved or zeroed, some inactive ones switched on
        const x = Float64Array.from(star.x, (v) => {
          const u = rng.uniform();
          if (u < 0.2) return 0;
          if (u < 0.5) return v + size * rng.normal();
          return v;
        });
        const { r, c: corr } = residualOracle(problem, x);
        const cert = certificate(problem, x, r, corr);
        const kkt = kktOracle(problem, x);
        // measured: 0 (kktViolation), ≤ 6e-16 (objective), ≤ 3.5e-15 (gap, a difference of O(‖y‖²) terms)
        expect(measure("kktViolation", Math.abs(cert.kktViolation - kkt) / Math.max(1e-300, kkt, problem.penalty.l1))).toBeLessThanOrEqual(1e-13);
        const P = primalOracle(problem, x);
        expect(measure("objective", Math.abs(cert.objective - P) / P)).toBeLessThanOrEqual(1e-13);
        const D = dualOracle(problem, r, corr).value;
        expect(measure("dualityGap", Math.abs(cert.dualityGap - Math.max(0, P - D)) / P)).toBeLessThanOrEqual(1e-13);
        // weak duality: the gap bounds the distance to the optimum (star is optimal to ~1e-14·‖y‖²)
        expect(cert.dualityGap).toBeGreaterThanOrEqual(P - star.objective - 1e-12 * P);
        const b = bounds(problem);
        let ratio = 0, smallest = Infinity;
        for (let j = 0; j < n; j++) {
          if (x[j] === 0) ratio = Math.max(ratio, Math.abs(corr[j]) / b[j]);
          else smallest = Math.min(smallest, Math.abs(x[j]));
        }
        expect(Math.abs(cert.complementarityMargin - (1 - ratio))).toBeLessThanOrEqual(1e-13 * Math.max(1, ratio));
        expect(cert.smallestActive).toBe(smallest);
      }),
      { numRuns: 150 },
    );
  });

  it("each term of the KKT violation on its own: an active coordinate off its stationarity, an inactive one above its bound", () => {
    const rng = new Rng(3);
    const A = hardMatrix(rng, 12, 6, "gaussian");
    const y = Float64Array.from({ length: 12 }, () => rng.normal());
    for (const l2 of [0, 0.7]) {
      const problem = createProblem({ A, y, penalty: { l1: 0.3, l2, weights: [1, 2, 0.5, 1, 3, 1] } });
      for (let trial = 0; trial < 20; trial++) {
        const x = Float64Array.from({ length: 6 }, (_, j) => (j % 2 === 0 ? rng.normal() : 0));
        const { r, c } = residualOracle(problem, x);
        expect(Math.abs(certificate(problem, x, r, c).kktViolation - kktOracle(problem, x))).toBeLessThanOrEqual(1e-14);
      }
    }
  });
});

/** Run coordinate descent recording (gap, screened mask) at each outer iteration. */
function screeningLog(problem: Problem, tol: number) {
  const log: { gap: number; screened: Uint8Array }[] = [];
  const sol = solveCoordinateDescent(problem, {
    tol,
    polish: false,
    onIteration: (p: CoordinateDescentProgress) => log.push({ gap: p.gap, screened: Uint8Array.from(p.screened) }),
  });
  return { sol, log };
}

/** Problems where screening has work to do, several right at its edge. */
const screenCase = fc.oneof(
  shapes.map((s) => ({ type: "random" as const, ...s })),
  fc.record({
    type: fc.constant("constructed" as const),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    m: fc.integer({ min: 10, max: 30 }),
    n: fc.integer({ min: 8, max: 60 }),
    k: fc.integer({ min: 1, max: 5 }),
    l2: fc.constantFrom(0, 0.1),
    level: fc.constantFrom(1, 0.999, 0.9),
    tiny: fc.constantFrom(undefined, 1e-3, 1e-6),
    weighted: fc.boolean(),
  }),
);

describe("gap-safe screening", () => {
  let checkedScreened = 0, checkedIterates = 0;
  afterAll(() => {
    // not vacuous: many features were screened and many intermediate iterates were checked
    measure("screened features checked", checkedScreened);
    measure("iterates checked", checkedIterates);
    expect(checkedScreened).toBeGreaterThan(100);
    // (291 measured: working sets that take in every violator need few outer iterations)
    expect(checkedIterates).toBeGreaterThan(250);
  });

  it("‖θ_t − θ*‖ ≤ √(2·gap_t) at intermediate iterates, the gap bounds P(x_t) − P*, the sphere test holds for every feature screened, and screened ⇒ x*_j = 0", () => {
    fc.assert(
      fc.property(screenCase, (c) => {
        let problem: Problem;
        if (c.type === "random") {
          problem = build(c).problem;
        } else {
          const rng = new Rng(c.seed);
          const A = hardMatrix(rng, c.m, c.n, "gaussian");
          const weights = c.weighted ? Float64Array.from({ length: c.n }, () => 0.5 + rng.uniform()) : undefined;
          const built = constructedProblem(rng, A, { k: Math.min(c.k, c.m - 1), l1: 0.5, l2: c.l2, weights, level: c.level, tiny: c.tiny });
          fc.pre(built !== null);
          problem = built!.problem;
        }
        const n = problem.A.cols;
        const star = solve(problem, { tol: 1e-15 });
        const { r: thetaStar } = residualOracle(problem, star.x); // θ* = y − Ax* (Lasso and elastic net)
        const { c: cStar } = residualOracle(problem, star.x);
        const { sol, log } = screeningLog(problem, 1e-12);
        expect(sol.converged).toBe(true);
        const b = bounds(problem);
        const M = denseOf(problem.A);
        const colNorm = Array.from({ length: n }, (_, j) => norm(M.getColumn(j)));
        const yy = problem.y.reduce((s, v) => s + v * v, 0);
        // the first iterates (where the gap is large and screening starts) and the last one
        for (let t = 0; t < log.length; t++) {
          if (t > 6 && t < log.length - 1) continue;
          // x_t: the same deterministic run stopped after t outer iterations
          const xt = t === log.length - 1 ? sol.x : solveCoordinateDescent(problem, { tol: 1e-12, polish: false, maxIter: t }).x;
          const before = t > 0 ? log[t - 1].screened : new Uint8Array(n);
          const alive = (j: number) => before[j] === 0 && colNorm[j] > 0;
          const { r, c: ct } = residualOracle(problem, xt);
          const { theta } = dualOracle(problem, r, ct, alive);
          const gap = log[t].gap, rho = Math.sqrt(2 * gap);
          // The gap is a difference of O(‖y‖²) terms: rounding ~1e-16‖y‖², so √(2·gap) is known
          // to ~1.5e-8‖y‖ only (it matters at the last iterates, where the gap is at that floor).
          const slack = 3e-8 * Math.sqrt(yy);
          // strong concavity of the dual: θ* lies in the ball B(θ_t, √(2 gap_t))
          expect(norm(theta.map((v, i) => v - thetaStar[i]))).toBeLessThanOrEqual(rho * (1 + 1e-9) + slack);
          // the reported gap bounds the suboptimality of x_t
          expect(primalOracle(problem, xt) - star.objective).toBeLessThanOrEqual(gap + 1e-14 * yy);
          checkedIterates++;
          for (let j = 0; j < n; j++) {
            if (log[t].screened[j] === 1 && before[j] === 0) {
              // screened now: the whole ball is strictly inside the feature's dual constraint
              const at = theta.reduce((s, v, i) => s + M.get(i, j) * v, 0);
              expect(Math.abs(at) + rho * colNorm[j]).toBeLessThanOrEqual(b[j] * (1 + 1e-12));
              // and so x*_j = 0 with |a_jᵀθ*| < l1 w_j
              expect(star.x[j]).toBe(0);
              expect(Math.abs(cStar[j])).toBeLessThan(b[j]);
              checkedScreened++;
            }
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});
