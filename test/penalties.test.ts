import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ElasticNet, L1Penalty, L2Penalty, penaltyFamily, separablePenalty, type SeparablePenalty } from "../src/penalties/index.js";
import { InputError } from "../src/errors.js";
import { createProblem } from "../src/problem.js";

/**
 * The penalty interface against independent facts: the prox's own optimality condition, the
 * Fenchel–Young inequality for the conjugate (equality on the subdifferential), and central
 * finite differences of value / gradient for the support pieces and their θ-derivatives.
 */
type Family = { kind: "l1" | "weighted" | "l2" | "enet"; l1: number; l2: number; w: Float64Array };

const N = 5;
const family: fc.Arbitrary<Family> = fc.record({
  kind: fc.constantFrom("l1" as const, "weighted" as const, "l2" as const, "enet" as const),
  l1: fc.double({ min: 0.01, max: 5, noNaN: true }),
  l2: fc.double({ min: 0.01, max: 5, noNaN: true }),
  w: fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: N, maxLength: N }).map((a) => Float64Array.from(a)),
});

function build(f: Family, tweak: { l1?: number; l2?: number; w?: Float64Array } = {}): SeparablePenalty {
  const l1 = tweak.l1 ?? f.l1, l2 = tweak.l2 ?? f.l2, w = tweak.w ?? f.w;
  switch (f.kind) {
    case "l1":
      return new L1Penalty(l1);
    case "weighted":
      return new L1Penalty(l1, w);
    case "l2":
      return new L2Penalty(l2);
    case "enet":
      return new ElasticNet(new L1Penalty(l1, w), new L2Penalty(l2));
  }
}

const coordinate = fc.double({ min: -4, max: 4, noNaN: true });
// Values that sit exactly on the kinks (x = 0) and on the thresholds (|z| = l1 w_j) matter most.
const value = fc.oneof(coordinate, fc.constant(0));

describe("separable penalties (l1, weighted l1, l2, elastic net)", () => {
  it("prox: (v − p)/t lies in ∂g_j(p), and the vector prox equals the coordinate prox", () => {
    fc.assert(
      fc.property(family, fc.array(value, { minLength: N, maxLength: N }), fc.double({ min: 0.01, max: 3, noNaN: true }), (f, v, t) => {
        const g = build(f);
        const vv = Float64Array.from(v);
        const p = g.prox(vv, t, new Float64Array(N));
        for (let j = 0; j < N; j++) {
          expect(p[j]).toBe(g.proxCoordinate(j, v[j], t));
          expect(g.subdiffDistance(j, p[j], (v[j] - p[j]) / t)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(v[j]) / t));
        }
      }),
    );
  });

  it("prox minimises g_j(z) + (z − v)²/(2t): no nearby point does better", () => {
    fc.assert(
      fc.property(family, fc.integer({ min: 0, max: N - 1 }), value, fc.double({ min: 0.01, max: 3, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (f, j, v, t, d) => {
        const g = build(f);
        const obj = (z: number) => g.valueAt(j, z) + ((z - v) * (z - v)) / (2 * t);
        const p = g.proxCoordinate(j, v, t);
        expect(obj(p)).toBeLessThanOrEqual(obj(p + d * 1e-3) + 1e-12);
        expect(obj(p)).toBeLessThanOrEqual(obj(0) + 1e-12);
      }),
    );
  });

  it("value is the sum of valueAt; subdiffDistance is 0 exactly on the subdifferential", () => {
    fc.assert(
      fc.property(family, fc.array(value, { minLength: N, maxLength: N }), (f, x) => {
        const g = build(f);
        const xv = Float64Array.from(x);
        const sum = x.reduce((s, xj, j) => s + g.valueAt(j, xj), 0);
        expect(g.value(xv)).toBeCloseTo(sum, 12);
        for (let j = 0; j < N; j++) {
          // A point of ∂g_j(x_j): the support gradient when active, the threshold's interior at 0.
          const sub = g.isActive(j, x[j]) ? g.supportGradient(j, x[j]) : 0.5 * g.threshold(j);
          expect(g.subdiffDistance(j, x[j], sub)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(sub)));
          // a point 1 beyond the subdifferential's far end is at distance 1
          const outside = sub + (g.isActive(j, x[j]) ? 0 : 0.5 * g.threshold(j)) + 1;
          expect(g.subdiffDistance(j, x[j], outside)).toBeCloseTo(1, 9);
        }
      }),
    );
  });

  it("Fenchel–Young: g_j(x) + g_j*(z) ≥ x·z in the dual domain, with equality for z ∈ ∂g_j(x)", () => {
    fc.assert(
      fc.property(family, fc.integer({ min: 0, max: N - 1 }), coordinate, coordinate, (f, j, x, z) => {
        const g = build(f);
        fc.pre(g.dualScale(j, Math.abs(z)) <= 1);
        expect(g.valueAt(j, x) + g.conjugate(j, Math.abs(z))).toBeGreaterThanOrEqual(x * z - 1e-10 * (1 + Math.abs(x * z)));
        if (x !== 0) {
          const s = g.supportGradient(j, x);
          if (g.dualScale(j, Math.abs(s)) <= 1 + 1e-12) {
            expect(g.valueAt(j, x) + g.conjugate(j, Math.abs(s))).toBeCloseTo(x * s, 9);
          }
        }
      }),
    );
  });

  it("support pieces: gradient, curvature and θ-derivatives match central differences", () => {
    fc.assert(
      fc.property(family, fc.integer({ min: 0, max: N - 1 }), coordinate.filter((x) => Math.abs(x) > 0.05), (f, j, x) => {
        const g = build(f);
        const h = 1e-6;
        const fd = (g.valueAt(j, x + h) - g.valueAt(j, x - h)) / (2 * h);
        expect(g.supportGradient(j, x)).toBeCloseTo(fd, 6);
        const fd2 = (g.supportGradient(j, x + h) - g.supportGradient(j, x - h)) / (2 * h);
        expect(g.supportCurvature(j)).toBeCloseTo(fd2, 5);
        expect(g.samePiece(j, x, x + Math.sign(x) * 0.01)).toBe(true);
        for (const name of g.hyperparameters.map((p) => p.name)) {
          const eps = 1e-6;
          let plus: SeparablePenalty, minus: SeparablePenalty;
          if (name === "weights") {
            const wp = Float64Array.from(f.w), wm = Float64Array.from(f.w);
            wp[j] += eps;
            wm[j] -= eps;
            plus = build({ ...f, kind: f.kind === "l1" ? "weighted" : f.kind }, { w: wp });
            minus = build({ ...f, kind: f.kind === "l1" ? "weighted" : f.kind }, { w: wm });
            // d/dw_j of the l1 (unweighted) family evaluated at w = 1
            if (f.kind === "l1") {
              const ones = new Float64Array(N).fill(1);
              const op = Float64Array.from(ones), om = Float64Array.from(ones);
              op[j] += eps;
              om[j] -= eps;
              plus = new L1Penalty(f.l1, op);
              minus = new L1Penalty(f.l1, om);
            }
          } else {
            const base = name === "l1" ? f.l1 : f.l2;
            plus = build(f, { [name]: base + eps });
            minus = build(f, { [name]: base - eps });
          }
          const dGrad = (plus.supportGradient(j, x) - minus.supportGradient(j, x)) / (2 * eps);
          expect(g.supportGradientDerivative(name, j, x)).toBeCloseTo(dGrad, 5);
          const dCurv = (plus.supportCurvature(j) - minus.supportCurvature(j)) / (2 * eps);
          expect(g.supportCurvatureDerivative(name, j)).toBeCloseTo(dCurv, 5);
        }
      }),
    );
  });

  it("a sign change crosses the l1 kink; l2 alone has no kink", () => {
    const l1 = new L1Penalty(1), l2 = new L2Penalty(1);
    expect(l1.samePiece(0, 1, -1)).toBe(false);
    expect(l1.samePiece(0, 1, 0)).toBe(false);
    expect(l2.samePiece(0, 1, -1)).toBe(true);
    expect(new ElasticNet(l1, l2).samePiece(0, 2, -0.5)).toBe(false);
  });

  it("a problem's penalty object drops zero terms; no penalty at all is bad input", () => {
    const problem = createProblem({ A: [[1, 0], [0, 1]], y: [1, 2], penalty: { l1: 0.1 } });
    expect(separablePenalty({ l1: 0.1, l2: 0, tv: 0 })).toBeInstanceOf(L1Penalty);
    expect(separablePenalty({ l1: 0, l2: 0.1, tv: 0 })).toBeInstanceOf(L2Penalty);
    expect(separablePenalty({ l1: 0.1, l2: 0.1, tv: 0 })).toBeInstanceOf(ElasticNet);
    expect(() => separablePenalty({ l1: 0, l2: 0, tv: 0 })).toThrow(InputError);
    // the family keeps every hyperparameter, zero or not, for differentiation
    expect(penaltyFamily(problem).hyperparameters.map((h) => h.name)).toEqual(["l1", "weights", "l2"]);
  });
});

describe("λ_max", () => {
  it("at l1 = λ_max the subgradient condition holds at x = 0 and fails just below", () => {
    fc.assert(
      fc.property(family, fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: N, maxLength: N }), (f, c) => {
        const aty = Float64Array.from(c);
        const g = build(f);
        const lmax = g.lambdaMax(aty);
        if (f.kind === "l2") {
          expect(lmax).toBe(Infinity);
          return;
        }
        fc.pre(lmax > 0);
        const at = build(f, { l1: lmax }), below = build(f, { l1: 0.999 * lmax });
        // x = 0 is optimal iff every |a_jᵀy| ≤ l1 w_j: dist(c_j, ∂g_j(0)) = 0
        for (let j = 0; j < N; j++) expect(at.subdiffDistance(j, 0, aty[j])).toBeLessThanOrEqual(1e-12 * lmax);
        expect(Math.max(...c.map((cj, j) => below.subdiffDistance(j, 0, cj)))).toBeGreaterThan(0);
      }),
    );
  });
});
