import { GridDifferences } from "../operators/finite-differences.js";
import { IdentityOperator } from "../operators/identity.js";
import { Random } from "../linalg/random.js";
import { Adam } from "../optim/adam.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../optim/differentiate.js";
import { SmoothedTotalVariation } from "../optim/smoothed-tv.js";
import { centralDifferenceCheck } from "./derivative-check.js";
import type { Example, ExampleResult } from "./examples.js";

const STEPS = 60;
const N = 128;
const HYPERPARAMETERS = { alpha: 0.02, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/**
 * Smoothed-TV denoising of a 128-sample piecewise-constant signal (four levels, noise 0.1):
 * ½‖x − y‖² + 0.2·Σ √((Dx)² + 0.05²), from x₀ = y.
 */
export function smoothedTvDenoising(): { objective: SmoothedTotalVariation; x0: Float64Array } {
  const rng = new Random(7);
  const levels = [0, 1, -0.5, 0.5];
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) y[i] = levels[Math.floor((i * levels.length) / N)] + 0.1 * rng.normal();
  return { objective: new SmoothedTotalVariation(new IdentityOperator(N), y, new GridDifferences([N]), 0.2, 0.05), x0: Float64Array.from(y) };
}

/**
 * `sparsetune example adam`: the sensitivities of the loss after 60 Adam steps to α, β1, β2 (and
 * ε), by forward and reverse mode, each checked by a central difference.
 */
function run(): ExampleResult {
  const { objective, x0 } = smoothedTvDenoising();
  const optimiser = new Adam(objective, HYPERPARAMETERS);
  const reverse = reverseDerivatives(optimiser, x0, STEPS);
  const forward = forwardDerivatives(optimiser, x0, STEPS);
  const lossWith = (name: keyof typeof HYPERPARAMETERS) => (value: number) => runOptimiser(new Adam(objective, { ...HYPERPARAMETERS, [name]: value }), x0, STEPS).loss;
  // Steps well inside each domain: β2 = 0.999 is 1e-3 from its bound.
  const steps = { alpha: 1e-6, beta1: 1e-6, beta2: 1e-7 };
  const names = ["alpha", "beta1", "beta2", "epsilon"] as const;
  const checked = ["alpha", "beta1", "beta2"] as const;
  const checks = checked.map((name) => centralDifferenceCheck(`d(final loss)/d${name} (reverse mode)`, reverse.derivatives[name], lossWith(name), HYPERPARAMETERS[name], steps[name]));
  const forwardReverse = Math.max(...names.map((k) => Math.abs(forward.derivatives[k] - reverse.derivatives[k]) / Math.abs(reverse.derivatives[k])));
  return {
    name: "adam",
    lines: [
      `smoothed-TV denoising, ${N} samples (τ = 0.2, δ = 0.05), ${STEPS} Adam steps (α = ${HYPERPARAMETERS.alpha}, β1 = ${HYPERPARAMETERS.beta1}, β2 = ${HYPERPARAMETERS.beta2}, ε = ${HYPERPARAMETERS.epsilon}) from x = y`,
      `final loss ${reverse.loss.toPrecision(8)} (start ${objective.evaluate(x0, new Float64Array(N)).toPrecision(6)})`,
      ...names.map((k) => `  d(final loss)/d${k.padEnd(8)} ${reverse.derivatives[k].toPrecision(8)}`),
      `forward vs reverse mode: max relative difference ${forwardReverse.toExponential(1)}; reverse mode held ${reverse.storedStates} states for ${STEPS} steps`,
    ],
    data: { steps: STEPS, hyperparameters: HYPERPARAMETERS, loss: reverse.loss, sensitivities: reverse.derivatives, forwardReverseRelativeDifference: forwardReverse, storedStates: reverse.storedStates },
    checks,
  };
}

export const adamExample: Example = {
  name: "adam",
  description: "Adam's sensitivities to α, β1, β2 (and ε) on a smoothed-TV reconstruction, forward and reverse mode",
  run,
};
