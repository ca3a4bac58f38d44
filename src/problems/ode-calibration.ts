import { OdeCalibration } from "../ode/calibration.js";
import { DrivenDecayOde } from "../ode/driven-decay.js";
import type { DerivativeCheck, Example, ExampleResult } from "./examples.js";

/** The known input u(t) = 1 + sin(2t). */
const OMEGA = 2;
const input = (t: number) => 1 + Math.sin(OMEGA * t);

/**
 * x(t) = q e^{−t} + p ψ(t), ψ(t) = ∫₀ᵗ e^{−(t−s)} u(s) ds = 1 − e^{−t} + (sin ωt − ω cos ωt + ω e^{−t})/(1 + ω²):
 * the measurements come from the exact solution, not from the integrator.
 */
function exactState(t: number, p: number, q: number): number {
  const psi = 1 - Math.exp(-t) + (Math.sin(OMEGA * t) - OMEGA * Math.cos(OMEGA * t) + OMEGA * Math.exp(-t)) / (1 + OMEGA * OMEGA);
  return q * Math.exp(-t) + p * psi;
}

export const TRUE_P = 1.5;
export const TRUE_Q = 0.8;

/**
 * The example's setting: T = 4, RK4 with h = 0.01; p fitted on measurements at t = 0.5, 1, 1.5, 2;
 * q chosen on validation measurements at t = 2.5, 3, 3.5, 4 (both noise-free, from the exact solution).
 */
export function odeCalibrationSetting(steps = 400): OdeCalibration {
  const model = new DrivenDecayOde(input, 4, steps);
  const observe = (times: number[]) => model.observations(times, times.map((t) => exactState(t, TRUE_P, TRUE_Q)));
  return new OdeCalibration(model, observe([0.5, 1, 1.5, 2]), observe([2.5, 3, 3.5, 4]));
}

function check(what: string, derivative: number, f: (v: number) => number, at: number, h: number): DerivativeCheck {
  const finiteDifference = (f(at + h) - f(at - h)) / (2 * h);
  return { what, derivative, finiteDifference, relativeError: Math.abs(derivative - finiteDifference) / Math.max(Math.abs(finiteDifference), 1e-300) };
}

function run(): ExampleResult {
  const calibration = odeCalibrationSetting();
  const q0 = 0;
  const start = calibration.hypergradient(q0);
  const forward = calibration.hypergradient(q0, "forward");
  const inner = calibration.trainingMisfit(start.p + 0.1, q0);
  const checks = [
    check("dG/dp (inner misfit, discrete adjoint)", inner.gradient.p, (p) => calibration.trainingMisfit(p, q0).value, start.p + 0.1, 1e-5),
    check("dL/dq (outer hypergradient, implicit through dG/dp = 0)", start.gradient, (q) => calibration.value(q), q0, 1e-5),
  ];
  const result = calibration.calibrate(q0);
  const lines = [
    `x' = −x + p·u(t), u(t) = 1 + sin(2t), x(0) = q on [0, 4], RK4 with h = ${calibration.model.step}`,
    `inner: p*(q) by least squares on 4 measurements (t ≤ 2); outer: q by gradient steps on 4 later measurements`,
    `at q0 = ${q0}: p* = ${start.p.toPrecision(8)}, L = ${start.value.toExponential(4)}, dL/dq = ${start.gradient.toPrecision(10)} (reverse) / ${forward.gradient.toPrecision(10)} (forward, d(p*)/dq = ${forward.dpdq!.toPrecision(8)})`,
    `recovered q = ${result.q.toPrecision(10)} (true ${TRUE_Q}), p = ${result.p.toPrecision(10)} (true ${TRUE_P}) in ${result.steps} gradient steps, L = ${result.value.toExponential(2)}`,
    ...checks.map((c) => `${c.what}: ${c.derivative.toPrecision(10)} vs central difference ${c.finiteDifference.toPrecision(10)} (relative error ${c.relativeError.toExponential(1)})`),
  ];
  return {
    name: "ode-calibration",
    lines,
    data: {
      trueP: TRUE_P, trueQ: TRUE_Q, q0,
      q: result.q, p: result.p, loss: result.value, steps: result.steps, converged: result.converged,
      qError: Math.abs(result.q - TRUE_Q),
      hypergradientReverse: start.gradient, hypergradientForward: forward.gradient, dpdq: forward.dpdq,
    },
    checks,
  };
}

export const odeCalibrationExample: Example = {
  name: "ode-calibration",
  description: "x' = −x + p·u(t), x(0) = q: p fitted by the adjoint method, q recovered by implicit hypergradient steps",
  run,
};
