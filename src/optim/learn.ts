import { DivergenceError, InputError } from "../errors.js";
import { toVector } from "../problem.js";
import { reverseDerivatives, requireIterations, type RunOptions } from "./differentiate.js";
import { GradientDescent } from "./gradient-descent.js";
import { Momentum, requireMomentum } from "./momentum.js";
import { requireObject, type SmoothObjective } from "./objective.js";
import { inverseTimeSchedule, requirePositiveRate } from "./schedule.js";

export interface OuterOptions extends RunOptions {
  /** Accepted outer steps at most (default 30). */
  outerSteps?: number;
}

export interface OuterRun {
  /** The learned parameters (unconstrained coordinates). */
  parameters: number[];
  /** f(x_K) at the learned parameters. */
  loss: number;
  /** f(x_K) after each accepted outer step, the start first. */
  losses: number[];
  /** Inner runs (each a reverse-mode pass). */
  evaluations: number;
}

/** A positive final loss and its gradient in the unconstrained parameters. */
type LossAndGradient = (parameters: number[]) => { loss: number; gradient: number[] };

/**
 * Gradient descent on log f(x_K(p)) with an Armijo backtracking step (grown ×2 after each
 * accepted step): the final loss spans orders of magnitude, its logarithm much less. A trial that
 * diverges counts as rejected.
 */
export function descendLogLoss(initial: number[], evaluate: LossAndGradient, outerSteps = 30): OuterRun {
  if (!Number.isInteger(outerSteps) || outerSteps < 1) throw new InputError("outerSteps", `expected an integer ≥ 1, got ${outerSteps}`);
  if (typeof evaluate !== "function") throw new InputError("evaluate", "expected a function parameters ↦ { loss, gradient }");
  let p = Array.from(toVector(initial, "initial")), evaluations = 1;
  let current = evaluate(p);
  const losses = [current.loss];
  let step = 1;
  for (let k = 0; k < outerSteps; k++) {
    if (!(current.loss > 0)) break; // log f undefined: nothing below 0 to reach for a loss ≥ 0
    const g = current.gradient.map((v) => v / current.loss); // ∇ log f
    const slope = g.reduce((s, v) => s + v * v, 0);
    if (!(slope > 0)) break;
    let accepted = false;
    for (let tries = 0; tries < 40 && !accepted; tries++, step /= 2) {
      const trial = p.map((v, i) => v - step * g[i]);
      let next;
      try {
        evaluations++;
        next = evaluate(trial);
      } catch (e) {
        if (e instanceof DivergenceError) continue;
        throw e;
      }
      if (next.loss > 0 && Math.log(next.loss) <= Math.log(current.loss) - 1e-4 * step * slope) {
        [p, current, accepted] = [trial, next, true];
        losses.push(current.loss);
      }
    }
    if (!accepted) break;
    step *= 4; // undo the last halving, then double
  }
  return { parameters: p, loss: current.loss, losses, evaluations };
}

export interface LearnedSchedule extends OuterRun {
  theta0: number;
  theta1: number;
}

/**
 * The schedule η_t = e^{θ0}/(1 + t e^{θ1}) of K gradient-descent steps that minimises f(x_K),
 * by outer gradient steps on (θ0, θ1) with reverse-mode derivatives over the whole run.
 */
export function learnSchedule(objective: SmoothObjective, x0: Float64Array, K: number, start: { theta0: number; theta1: number }, options: OuterOptions = {}): LearnedSchedule {
  requireIterations(K);
  requireObject("start", start, "{ theta0, theta1 }");
  inverseTimeSchedule(start.theta0, start.theta1); // validates
  const run = descendLogLoss(
    [start.theta0, start.theta1],
    ([theta0, theta1]) => {
      const r = reverseDerivatives(new GradientDescent(objective, inverseTimeSchedule(theta0, theta1)), x0, K, options);
      return { loss: r.loss, gradient: [r.derivatives.theta0, r.derivatives.theta1] };
    },
    options.outerSteps,
  );
  return { ...run, theta0: run.parameters[0], theta1: run.parameters[1] };
}

export interface LearnedMomentum extends OuterRun {
  beta: number;
}

/**
 * The heavy-ball β in [0, 1) of K steps at rate η that minimises f(x_K): outer gradient steps on
 * ψ = logit β (β = 1/(1 + e^{−ψ}), dβ/dψ = β(1 − β)) with reverse-mode derivatives.
 */
export function learnMomentum(objective: SmoothObjective, x0: Float64Array, K: number, start: { rate: number; beta: number }, options: OuterOptions = {}): LearnedMomentum {
  requireIterations(K);
  requireObject("start", start, "{ rate, beta }");
  requirePositiveRate("rate", start.rate);
  requireMomentum("beta", start.beta);
  if (start.beta === 0) throw new InputError("beta", "expected a start in (0, 1) (β is learned through logit β)");
  const sigmoid = (psi: number) => 1 / (1 + Math.exp(-psi));
  const run = descendLogLoss(
    [Math.log(start.beta / (1 - start.beta))],
    ([psi]) => {
      const beta = sigmoid(psi);
      if (!(beta < 1)) return { loss: Infinity, gradient: [0] }; // ψ so large that β rounds to 1: a rejected trial
      const r = reverseDerivatives(new Momentum(objective, start.rate, beta), x0, K, options);
      return { loss: r.loss, gradient: [r.derivatives.beta * beta * (1 - beta)] };
    },
    options.outerSteps,
  );
  return { ...run, beta: sigmoid(run.parameters[0]) };
}
