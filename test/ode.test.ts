/**
 * The driven decay x' = −x + p·u(t), x(0) = q, its discrete adjoint, and the bilevel calibration.
 * Oracles: the closed form x(t) = q e^{−t} + p ψ(t) for u(t) = a + sin(ωt), central differences.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NumericalError } from "../src/errors.js";
import { OdeCalibration } from "../src/ode/calibration.js";
import { DrivenDecayOde } from "../src/ode/driven-decay.js";
import { EXAMPLES } from "../src/problems/examples.js";
import { inputError, relErr } from "./support.js";

/** ψ(t) = ∫₀ᵗ e^{−(t−s)} (a + sin ωs) ds, integrated by hand. */
function psi(t: number, a: number, w: number): number {
  return a * (1 - Math.exp(-t)) + (Math.sin(w * t) - w * Math.cos(w * t) + w * Math.exp(-t)) / (1 + w * w);
}

function exact(t: number, p: number, q: number, a: number, w: number): number {
  return q * Math.exp(-t) + p * psi(t, a, w);
}

const T = 4;
const input = (a: number, w: number) => (t: number) => a + Math.sin(w * t);

describe("RK4 on x' = −x + p·u(t)", () => {
  it("matches the closed form at every grid point, to RK4's O(h⁴)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), fc.integer({ min: 200, max: 800 }),
        (p, q, a, w, steps) => {
          const model = new DrivenDecayOde(input(a, w), T, steps);
          const x = model.solve(p, q);
          const h = T / steps;
          // RK4's global error is O(h⁴·max|x⁽⁵⁾|): measured ≤ 0.0061·h⁴ per unit of |p|(1 + ω⁴) + |q|
          const bound = 0.01 * h ** 4 * (Math.abs(p) * (1 + w ** 4) + Math.abs(q)) + 1e-14 * (1 + Math.abs(p) + Math.abs(q));
          for (let k = 0; k <= steps; k++) expect(Math.abs(x[k] - exact(k * h, p, q, a, w))).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("is fourth order: halving h divides the error by about 16", () => {
    const error = (steps: number) => {
      const x = new DrivenDecayOde(input(1, 2), T, steps).solve(1.5, 0.8);
      return Math.max(...Array.from(x, (v, k) => Math.abs(v - exact((k * T) / steps, 1.5, 0.8, 1, 2))));
    };
    const ratio = error(40) / error(80);
    expect(ratio).toBeGreaterThan(14);
    expect(ratio).toBeLessThan(18);
  });
});

describe("the discrete adjoint of G = Σ (x(t_i) − d_i)²", () => {
  const cases = fc.record({
    p: fc.double({ min: -3, max: 3, noNaN: true }),
    q: fc.double({ min: -3, max: 3, noNaN: true }),
    a: fc.double({ min: -2, max: 2, noNaN: true }),
    w: fc.double({ min: 0, max: 3, noNaN: true }),
    // observation grid indices (repeats allowed: two measurements at one time), and data
    obs: fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.double({ min: -3, max: 3, noNaN: true })), { minLength: 1, maxLength: 8 }),
  });

  const setting = ({ a, w, obs }: { a: number; w: number; obs: [number, number][] }) => {
    const model = new DrivenDecayOde(input(a, w), T, 400);
    const at = model.observations(obs.map(([k]) => k * model.step), obs.map(([, d]) => d));
    return { model, at, calibration: new OdeCalibration(model, at, at) };
  };

  it("matches the closed form's gradient 2Σ r_i ψ(t_i), 2Σ r_i e^{−t_i} (to the O(h⁴) of the grid)", () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { calibration } = setting(c);
        const { gradient } = calibration.trainingMisfit(c.p, c.q);
        let dp = 0, dq = 0, scaleP = 0, scaleQ = 0;
        for (const [k, d] of c.obs) {
          const t = k * 0.01, r = exact(t, c.p, c.q, c.a, c.w) - d;
          dp += 2 * r * psi(t, c.a, c.w);
          dq += 2 * r * Math.exp(-t);
          scaleP += Math.abs(2 * r * psi(t, c.a, c.w)) + 1;
          scaleQ += Math.abs(2 * r * Math.exp(-t)) + 1;
        }
        // sums of terms of either sign: the error is relative to the terms' size; h⁴ = 1e-8, measured ≤ 5.5e-11 (p)
        expect(Math.abs(gradient.p - dp)).toBeLessThanOrEqual(1e-9 * scaleP * (1 + Math.abs(c.p) + c.w ** 4));
        expect(Math.abs(gradient.q - dq)).toBeLessThanOrEqual(1e-9 * scaleQ * (1 + Math.abs(c.p) + c.w ** 4));
      }),
      { numRuns: 100 },
    );
  });

  it("is the exact gradient of the discrete G: central differences agree to rounding (G is quadratic)", () => {
    fc.assert(
      fc.property(cases, (c) => {
        const { calibration } = setting(c);
        const { gradient } = calibration.trainingMisfit(c.p, c.q);
        const h = 1e-3, G = (p: number, q: number) => calibration.trainingMisfit(p, q).value;
        const fdP = (G(c.p + h, c.q) - G(c.p - h, c.q)) / (2 * h);
        const fdQ = (G(c.p, c.q + h) - G(c.p, c.q - h)) / (2 * h);
        const size = 1 + G(c.p, c.q) + Math.abs(gradient.p) + Math.abs(gradient.q);
        expect(Math.abs(gradient.p - fdP)).toBeLessThanOrEqual(1e-9 * size / h);
        expect(Math.abs(gradient.q - fdQ)).toBeLessThanOrEqual(1e-9 * size / h);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the bilevel calibration", () => {
  /** Noise-free measurements from the closed form: p fitted on t ≤ 2, q judged on 2 < t ≤ 4. */
  const calibrationFor = (p: number, q: number, a = 1, w = 2, trainTimes = [0.5, 1, 1.5, 2], validationTimes = [2.5, 3, 3.5, 4]) => {
    const model = new DrivenDecayOde(input(a, w), T, 400);
    const observe = (times: number[]) => model.observations(times, times.map((t) => exact(t, p, q, a, w)));
    return new OdeCalibration(model, observe(trainTimes), observe(validationTimes));
  };
  const truth = fc.record({
    p: fc.double({ min: -3, max: 3, noNaN: true }),
    q: fc.double({ min: -3, max: 3, noNaN: true }),
    at: fc.double({ min: -5, max: 5, noNaN: true }),
    a: fc.double({ min: 0.5, max: 2, noNaN: true }),
    w: fc.double({ min: 0.5, max: 3, noNaN: true }),
  });

  it("the inner fit zeroes ∂G/∂p; d(p*)/dq matches a central difference of the fit", () => {
    fc.assert(
      fc.property(truth, ({ p, q, at, a, w }) => {
        const c = calibrationFor(p, q, a, w);
        const fit = c.fit(at);
        const scale = 1 + Math.abs(c.trainingMisfit(fit.p + 1, at).gradient.p);
        expect(Math.abs(c.trainingMisfit(fit.p, at).gradient.p)).toBeLessThanOrEqual(1e-12 * scale);
        const h = 1e-3, fd = (c.fit(at + h).p - c.fit(at - h).p) / (2 * h);
        const { dpdq } = c.hypergradient(at, "forward");
        expect(Math.abs(dpdq! - fd)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(fd)));
      }),
      { numRuns: 60 },
    );
  });

  it("dL/dq through the inner optimality condition matches a central difference; forward and reverse agree to 1e-10", () => {
    fc.assert(
      fc.property(truth, ({ p, q, at, a, w }) => {
        const c = calibrationFor(p, q, a, w);
        const reverse = c.hypergradient(at), forward = c.hypergradient(at, "forward");
        expect(relErr(reverse.gradient, forward.gradient)).toBeLessThanOrEqual(1e-10);
        expect(reverse.solve.method).toBe("cg");
        expect(reverse.solve.residual).toBeLessThanOrEqual(1e-12);
        // L is quadratic in q (x is affine in (p, q) and p*(q) affine): the central difference is exact to rounding
        const h = 1e-3, fd = (c.value(at + h) - c.value(at - h)) / (2 * h);
        expect(Math.abs(reverse.gradient - fd)).toBeLessThanOrEqual(1e-12 * (1 + reverse.value) / h + 1e-9 * Math.abs(fd));
      }),
      { numRuns: 60 },
    );
  });

  it("gradient steps on L recover the true q (and with it p) to 1e-8 from noise-free data", () => {
    const c = calibrationFor(1.5, 0.8);
    const run = c.calibrate(0);
    expect(run.converged).toBe(true);
    expect(Math.abs(run.q - 0.8)).toBeLessThanOrEqual(1e-8);
    expect(Math.abs(run.p - 1.5)).toBeLessThanOrEqual(1e-8);
    expect(run.path[0]).toBe(0);
    expect(run.path.length).toBe(run.steps + 1);
  });

  it("... for random true (p, q), inputs and starting points, to 1e-6", () => {
    fc.assert(
      fc.property(truth, ({ p, q, at, a, w }) => {
        const run = calibrationFor(p, q, a, w).calibrate(at);
        expect(run.converged).toBe(true);
        expect(Math.abs(run.q - q)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(q)));
      }),
      { numRuns: 25 },
    );
  });

  it("the `ode-calibration` example: its checks agree, and it recovers q", () => {
    const example = EXAMPLES["ode-calibration"];
    expect(example.name).toBe("ode-calibration");
    const result = example.run();
    expect(result.checks.length).toBe(2);
    for (const check of result.checks) expect(check.relativeError).toBeLessThanOrEqual(1e-7);
    expect(result.data.converged).toBe(true);
    expect(result.data.qError).toBeLessThanOrEqual(1e-8);
    expect(relErr(result.data.hypergradientReverse as number, result.data.hypergradientForward as number)).toBeLessThanOrEqual(1e-10);
    expect(result.lines.join("\n")).toMatch(/recovered q = 0\.8000000/);
  });

  it("p not identifiable (u = 0): a NumericalError, not NaN", () => {
    const model = new DrivenDecayOde(() => 0, T, 100);
    const at = model.observations([1, 2], [0.1, 0.2]);
    expect(() => new OdeCalibration(model, at, at).hypergradient(0)).toThrow(NumericalError);
  });
});

describe("bad input", () => {
  const model = new DrivenDecayOde(input(1, 2), T, 400);
  const at = model.observations([1, 2], [0.5, 0.4]);

  it("names the field in one line", () => {
    inputError(() => new DrivenDecayOde(null as never, T, 10), /^input: /);
    inputError(() => new DrivenDecayOde(() => NaN, T, 10), /^input: /);
    inputError(() => new DrivenDecayOde(input(1, 2), 0, 10), /^horizon: /);
    inputError(() => new DrivenDecayOde(input(1, 2), Infinity, 10), /^horizon: /);
    inputError(() => new DrivenDecayOde(input(1, 2), T, 0), /^steps: /);
    inputError(() => new DrivenDecayOde(input(1, 2), T, 2.5), /^steps: /);
    inputError(() => model.observations([1.005], [0]), /^times: .*1\.005/);
    inputError(() => model.observations([5], [0]), /^times: /);
    inputError(() => model.observations([-1], [0]), /^times: /);
    inputError(() => model.observations(null as never, [0]), /^times: /);
    inputError(() => model.observations([1], [0, 1]), /^values: /);
    inputError(() => model.observations([1], [NaN]), /^values: /);
    inputError(() => model.solve(NaN, 0), /^p: /);
    inputError(() => model.solve(0, Infinity), /^q: /);
    inputError(() => model.solve(0, 0, new Float64Array(3)), /^out: /);
    inputError(() => model.adjoint(at, new Float64Array(3)), /^seeds: /);
    inputError(() => model.adjoint({ index: Int32Array.of(401), values: Float64Array.of(0) }, new Float64Array(1)), /^at: /);
    inputError(() => new OdeCalibration({} as never, at, at), /^model: /);
    inputError(() => new OdeCalibration(model, { index: new Int32Array(0), values: new Float64Array(0) }, at), /^train: /);
    inputError(() => new OdeCalibration(model, at, { index: Int32Array.of(401), values: Float64Array.of(0) }), /^validation: /);
    const c = new OdeCalibration(model, at, at);
    inputError(() => c.hypergradient(NaN), /^q: /);
    inputError(() => c.hypergradient(0, "sideways" as never), /^mode: /);
    inputError(() => c.calibrate(NaN), /^q0: /);
    inputError(() => c.calibrate(0, { maxSteps: 0 }), /^maxSteps: /);
    inputError(() => c.calibrate(0, { gtol: -1 }), /^gtol: /);
  });
});
