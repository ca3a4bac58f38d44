import { InputError } from "../errors.js";
import { Adam } from "./adam.js";
import { startRun, type RunOptions } from "./differentiate.js";
import { GradientDescent } from "./gradient-descent.js";
import { Momentum } from "./momentum.js";
import { requireObject, type SmoothObjective } from "./objective.js";
import type { Optimiser } from "./optimiser.js";
import { AdaptiveRate } from "./schedule.js";

export type HypergradientMethod = "gd" | "momentum" | "adam";

export interface HypergradientDescentOptions extends RunOptions {
  /** The base method (default "gd"). */
  method?: HypergradientMethod;
  /** The initial step size η₀ (α₀ for Adam), > 0. */
  rate: number;
  /** The hypergradient step β > 0 of the rate update. */
  hyperRate: number;
  /** Momentum's β in [0, 1) (default 0.9). */
  momentum?: number;
  /** Adam's β1, β2, ε (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface HypergradientDescentRun {
  x: Float64Array;
  /** f(x_K) */
  loss: number;
  /** f(x_t), t = 0 … K. */
  losses: Float64Array;
  /** The step size used at step t, t = 0 … K−1. */
  rates: Float64Array;
}

/**
 * Online learning-rate adaptation (Baydin et al. 2018, "Online learning rate adaptation with
 * hypergradient descent"). Every method here steps x_t = x_{t−1} − η_{t−1} u_{t−1} with a direction
 * u that does not depend on η (GD: ∇f; heavy ball: the velocity; Adam: m̂/(√v̂ + ε)), so
 * ∂f(x_t)/∂η_{t−1} = −∇f(x_t)ᵀu_{t−1} and the rate takes one gradient step on it before step t:
 *   η_t = η_{t−1} + β ∇f(x_t)ᵀu_{t−1},  u_{t−1} = (x_{t−1} − x_t)/η_{t−1}
 * (SGD-HD, SGDN-HD with heavy-ball instead of Nesterov momentum, Adam-HD). The rate is not clipped.
 */
export function hypergradientDescent(objective: SmoothObjective, x0: Float64Array, K: number, options: HypergradientDescentOptions): HypergradientDescentRun {
  requireObject("options", options, "{ rate, hyperRate, method?, ... }");
  const { method = "gd", hyperRate } = options;
  if (!Number.isFinite(hyperRate) || hyperRate <= 0) throw new InputError("hyperRate", `expected a finite number > 0, got ${hyperRate}`);
  const rate = new AdaptiveRate(options.rate, method === "adam" ? "alpha" : "eta");
  const optimiser = optimiserFor(method, objective, rate, options);
  const { state, recurrence } = startRun(optimiser, x0, K, options);
  const previous = new Float64Array(objective.dimension);
  const losses = new Float64Array(K + 1), rates = new Float64Array(K);
  losses[0] = state.loss;
  for (let t = 0; t < K; t++) {
    if (t > 0) {
      let slope = 0;
      for (let i = 0; i < previous.length; i++) slope += state.gradient[i] * (previous[i] - state.x[i]);
      rate.value += (hyperRate * slope) / rate.value;
    }
    rates[t] = rate.value;
    previous.set(state.x);
    recurrence.step(state, t);
    losses[t + 1] = state.loss;
  }
  return { x: Float64Array.from(state.x), loss: state.loss, losses, rates };
}

function optimiserFor(method: HypergradientMethod, objective: SmoothObjective, rate: AdaptiveRate, options: HypergradientDescentOptions): Optimiser {
  switch (method) {
    case "gd":
      return new GradientDescent(objective, rate);
    case "momentum":
      return new Momentum(objective, rate, options.momentum ?? 0.9);
    case "adam":
      return new Adam(objective, { alpha: rate, beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon });
    default:
      throw new InputError("method", `expected gd, momentum or adam, got ${String(method)}`);
  }
}
