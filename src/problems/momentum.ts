import { DenseMatrix } from "../operators/dense.js";
import { Random } from "../linalg/random.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../optim/differentiate.js";
import { learnMomentum } from "../optim/learn.js";
import { LeastSquares } from "../optim/least-squares.js";
import { Momentum } from "../optim/momentum.js";
import { centralDifferenceCheck } from "./derivative-check.js";
import type { DerivativeCheck, Example, ExampleResult } from "./examples.js";

const STEPS = 25;
const RATE = 1;
const START_BETA = 0.5;
const N = 20;

/** ½‖diag(√c)x − b‖²: a quadratic with curvatures c (log-spaced in [low, high]), b Gaussian, x₀ = 0. */
export function diagonalQuadratic(low: number, high: number, seed: number): { objective: LeastSquares; x0: Float64Array } {
  const rng = new Random(seed);
  const data = new Float64Array(N * N), b = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    data[j * N + j] = Math.sqrt(low * (high / low) ** (j / (N - 1)));
    b[j] = rng.normal();
  }
  return { objective: new LeastSquares(new DenseMatrix(N, N, data), b), x0: new Float64Array(N) };
}

interface Learned {
  label: string;
  low: number;
  high: number;
  beta: number;
  loss: number;
  startLoss: number;
  check: DerivativeCheck;
  forwardReverse: number;
}

function learnOn(label: string, low: number, high: number, seed: number): Learned {
  const { objective, x0 } = diagonalQuadratic(low, high, seed);
  const learned = learnMomentum(objective, x0, STEPS, { rate: RATE, beta: START_BETA }, { outerSteps: 40 });
  const at = new Momentum(objective, RATE, START_BETA);
  const reverse = reverseDerivatives(at, x0, STEPS).derivatives.beta;
  const forward = forwardDerivatives(at, x0, STEPS, { parameters: ["beta"] }).derivatives.beta;
  const check = centralDifferenceCheck(`d(final loss)/dβ on the ${label} quadratic (reverse mode, β = ${START_BETA})`, reverse, (beta) => runOptimiser(new Momentum(objective, RATE, beta), x0, STEPS).loss, START_BETA, 1e-6);
  return { label, low, high, beta: learned.beta, loss: learned.loss, startLoss: learned.losses[0], check, forwardReverse: Math.abs(forward - reverse) / Math.abs(reverse) };
}

/**
 * `sparsetune example momentum`: the heavy-ball β for 25 steps at η = 1, learned by reverse mode
 * (outer steps on logit β), on a flat quadratic (curvatures 1e-3 … 1e-2: plain steps crawl, momentum
 * carries) and a steep one (curvatures 0.1 … 1: a step at η = 1 nearly lands on the stiff
 * directions, where momentum overshoots). The learned β is higher on the flat one.
 */
function run(): ExampleResult {
  const flat = learnOn("flat", 1e-3, 1e-2, 1);
  const steep = learnOn("steep", 0.1, 1, 2);
  const describe = (r: Learned) =>
    `${r.label.padEnd(5)} quadratic (curvatures ${r.low} … ${r.high}): learned β = ${r.beta.toFixed(4)}, final loss ${r.loss.toPrecision(5)} (at β = ${START_BETA}: ${r.startLoss.toPrecision(5)})`;
  const data = (r: Learned) => ({ curvatures: [r.low, r.high], beta: r.beta, loss: r.loss, startLoss: r.startLoss, forwardReverseRelativeDifference: r.forwardReverse });
  return {
    name: "momentum",
    lines: [
      `heavy ball v ← βv + ∇f, x ← x − ηv: ${STEPS} steps at η = ${RATE}, β learned from ${START_BETA} by reverse mode`,
      describe(flat),
      describe(steep),
      `learned β ${flat.beta > steep.beta ? "higher" : "NOT higher"} on the flat quadratic (${flat.beta.toFixed(4)} vs ${steep.beta.toFixed(4)})`,
      `forward vs reverse mode: relative difference ${Math.max(flat.forwardReverse, steep.forwardReverse).toExponential(1)}`,
    ],
    data: { steps: STEPS, rate: RATE, startBeta: START_BETA, flat: data(flat), steep: data(steep) },
    checks: [flat.check, steep.check],
  };
}

export const momentumExample: Example = {
  name: "momentum",
  description: "the momentum β learned by reverse mode is higher on a flat quadratic than on a steep one",
  run,
};
