import { DenseMatrix } from "../operators/dense.js";
import { Random } from "../linalg/random.js";
import { norm2 } from "../linalg/vector.js";
import { forwardDerivatives, reverseDerivatives, runOptimiser } from "../optim/differentiate.js";
import { GradientDescent } from "../optim/gradient-descent.js";
import { learnSchedule } from "../optim/learn.js";
import { LeastSquares } from "../optim/least-squares.js";
import { inverseTimeSchedule } from "../optim/schedule.js";
import { centralDifferenceCheck } from "./derivative-check.js";
import type { Example, ExampleResult } from "./examples.js";

const STEPS = 100;
const GRID = 40;

/**
 * ½‖Ax − b‖² with A 60×30 Gaussian, column j scaled by 10^(−1.5·j/29) (curvatures over about
 * three decades), b = A·x_true + 0.01·noise (so the optimum's loss is small), x₀ = 0.
 */
export function illConditionedLeastSquares(): { objective: LeastSquares; x0: Float64Array } {
  const rng = new Random(2018);
  const m = 60, n = 30;
  const data = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const scale = 10 ** ((-1.5 * j) / (n - 1)) / Math.sqrt(m);
    for (let i = 0; i < m; i++) data[j * m + i] = scale * rng.normal();
  }
  const A = new DenseMatrix(m, n, data);
  const truth = new Float64Array(n);
  for (let j = 0; j < n; j++) truth[j] = rng.normal();
  const b = A.apply(truth, new Float64Array(m));
  for (let i = 0; i < m; i++) b[i] += 0.01 * rng.normal();
  return { objective: new LeastSquares(A, b), x0: new Float64Array(n) };
}

/** λ_max(∇²f) by 100 power iterations (f quadratic: the Hessian does not depend on x). */
function largestCurvature(objective: LeastSquares): number {
  const n = objective.dimension;
  let v = new Float64Array(n).fill(1 / Math.sqrt(n)), w = new Float64Array(n), lambda = 0;
  for (let k = 0; k < 100; k++) {
    objective.hessianVector(v, v, w);
    lambda = norm2(w);
    for (let i = 0; i < n; i++) w[i] /= lambda;
    [v, w] = [w, v];
  }
  return lambda;
}

/**
 * `sparsetune example lr-schedule`: a decaying schedule η_t = e^{θ0}/(1 + t e^{θ1}) for 100 steps
 * of gradient descent on an ill-conditioned least-squares problem, learned by reverse mode, against
 * the best of 40 constant rates in [0.01, 2]/L (2/L: the stability limit).
 */
function run(): ExampleResult {
  const { objective, x0 } = illConditionedLeastSquares();
  const L = largestCurvature(objective);
  const grid = Array.from({ length: GRID }, (_, k) => (10 ** (-2 + (k * Math.log10(200)) / (GRID - 1))) / L);
  const constant = grid.map((rate) => ({ rate, loss: runOptimiser(new GradientDescent(objective, rate), x0, STEPS).loss }));
  const best = constant.reduce((a, c) => (c.loss < a.loss ? c : a));
  const start = { theta0: Math.log(best.rate), theta1: Math.log(1e-3) };
  const learned = learnSchedule(objective, x0, STEPS, start, { outerSteps: 40 });
  const lossAt = (theta0: number, theta1: number) => runOptimiser(new GradientDescent(objective, inverseTimeSchedule(theta0, theta1)), x0, STEPS).loss;
  // The derivatives checked at the start of the outer descent (at the learned point they are ≈ 0).
  const startOptimiser = new GradientDescent(objective, inverseTimeSchedule(start.theta0, start.theta1));
  const reverse = reverseDerivatives(startOptimiser, x0, STEPS).derivatives;
  const forward = forwardDerivatives(startOptimiser, x0, STEPS).derivatives;
  const checks = [
    centralDifferenceCheck("d(final loss)/dθ0 (reverse mode, at the start)", reverse.theta0, (v) => lossAt(v, start.theta1), start.theta0, 1e-6),
    centralDifferenceCheck("d(final loss)/dθ1 (reverse mode, at the start)", reverse.theta1, (v) => lossAt(start.theta0, v), start.theta1, 1e-5),
  ];
  const rateOf = (t: number) => Math.exp(learned.theta0) / (1 + t * Math.exp(learned.theta1));
  const forwardReverse = Math.max(...(["theta0", "theta1"] as const).map((k) => Math.abs(forward[k] - reverse[k]) / Math.abs(reverse[k])));
  return {
    name: "lr-schedule",
    lines: [
      `least squares 60×30 (largest curvature L = ${L.toPrecision(4)}), ${STEPS} gradient-descent steps from x = 0`,
      `best constant rate of ${GRID} in [0.01, 2]/L: η = ${best.rate.toPrecision(4)} (${(best.rate * L).toPrecision(3)}/L), final loss ${best.loss.toPrecision(6)}`,
      `learned schedule η_t = e^θ0/(1 + t·e^θ1): θ0 = ${learned.theta0.toPrecision(5)}, θ1 = ${learned.theta1.toPrecision(5)} (η_0 = ${rateOf(0).toPrecision(4)}, η_${STEPS - 1} = ${rateOf(STEPS - 1).toPrecision(4)}), final loss ${learned.loss.toPrecision(6)}`,
      `${learned.loss < best.loss ? "lower" : "NOT lower"} than the best constant rate by ${((1 - learned.loss / best.loss) * 100).toFixed(2)}% (${learned.losses.length - 1} outer steps, ${learned.evaluations} reverse-mode runs)`,
      `forward vs reverse mode at the start: max relative difference ${forwardReverse.toExponential(1)}`,
    ],
    data: {
      steps: STEPS,
      curvature: L,
      bestConstant: best,
      constantGrid: constant,
      learned: { theta0: learned.theta0, theta1: learned.theta1, loss: learned.loss, firstRate: rateOf(0), lastRate: rateOf(STEPS - 1), outerLosses: learned.losses },
      improvement: 1 - learned.loss / best.loss,
      forwardReverseRelativeDifference: forwardReverse,
    },
    checks,
  };
}

export const lrScheduleExample: Example = {
  name: "lr-schedule",
  description: "a learning-rate schedule learned by reverse mode on least squares beats the best constant rate of a grid",
  run,
};
