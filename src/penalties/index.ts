import { InputError } from "../errors.js";
import { requireObject } from "../optim/objective.js";
import { requireProblem, type Penalty, type Problem } from "../problem.js";
import { ElasticNet } from "./elastic-net.js";
import { L1Penalty } from "./l1.js";
import { L2Penalty } from "./l2.js";
import { boxed, BoxedPenalty } from "./box.js";
import type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";
import { noiseLevel, TotalVariation, tvMaxBound } from "./total-variation.js";
import { IdentityOperator } from "../operators/identity.js";
import { differencesOf, GridDifferences } from "../operators/finite-differences.js";

/**
 * The penalty object of a problem's hyperparameter values: L1 (optionally weighted), L2, or
 * their sum. TV joins here as a non-separable penalty.
 */
export function separablePenalty(values: Penalty): SeparablePenalty {
  requireObject("penalty", values, "penalty values { l1, l2, weights? }");
  const { l1, l2, weights } = values;
  if (l1 > 0 && l2 > 0) return new ElasticNet(new L1Penalty(l1, weights), new L2Penalty(l2));
  if (l1 > 0) return new L1Penalty(l1, weights);
  if (l2 > 0) return new L2Penalty(l2);
  throw new InputError("penalty", `expected a positive l1 or l2 (got l1 = ${l1}, l2 = ${l2}): without a penalty the least-squares solution may not be unique`);
}

/** The problem's separable penalty, restricted to its bounds when it has them (penalties/box.ts). */
export function penaltyOf(problem: Problem): SeparablePenalty {
  requireProblem(problem);
  return boxed(separablePenalty(problem.penalty), problem.bounds);
}

/**
 * The terms of a problem's penalty a solver works with: the separable part (null when l1 = l2 = 0)
 * and the total-variation term (null when tv = 0).
 */
export interface PenaltyTerms {
  separable: SeparablePenalty | null;
  tv: TotalVariation | null;
}

export function penaltyTerms(problem: Problem): PenaltyTerms {
  requireProblem(problem);
  const { l1, l2, tv } = problem.penalty;
  return {
    separable: l1 > 0 || l2 > 0 ? penaltyOf(problem) : null,
    tv: tv > 0 ? new TotalVariation(tv, differencesOf(problem)) : null,
  };
}

/** The names of the terms (SeparablePenalty.name, "tv"): what a solver's capabilities must list. */
export function termNames(terms: PenaltyTerms): string[] {
  requireObject("terms", terms, "penalty terms from penaltyTerms(problem)");
  return [...(terms.separable ? [terms.separable.name] : []), ...(terms.tv ? [terms.tv.name] : [])];
}

/**
 * The penalty with every hyperparameter the problem can move, those at 0 included (l2 = 0 in a
 * Lasso still has a derivative dL/dl2 there): l1·Σ w_j|x_j| + l2/2‖x‖². Differentiation and the
 * tuner read it; solvers use `penaltyOf`, which drops the zero terms.
 */
export function penaltyFamily(problem: Problem): ElasticNet {
  requireProblem(problem);
  return new ElasticNet(new L1Penalty(problem.penalty.l1, problem.penalty.weights), new L2Penalty(problem.penalty.l2));
}

/**
 * Every hyperparameter a problem's penalties declare, by name: l1, weights, l2, and tv for a
 * total-variation problem (tv > 0; per-feature weights are not combined with tv).
 */
export function declaredHyperparameters(problem: Problem): readonly HyperparameterSpec[] {
  const family = penaltyFamily(problem).hyperparameters;
  if (!(problem.penalty.tv > 0)) return family;
  return [...family.filter((h) => h.shape === "scalar"), { name: "tv", shape: "scalar" }];
}

/** The objective ½‖Ax − y‖² + l1Σw_j|x_j| + l2/2‖x‖² + tv‖Dx‖₁ at x. */
export function objectiveValue(problem: Problem, x: Float64Array): number {
  const r = problem.A.apply(x, new Float64Array(problem.A.rows));
  let rr = 0;
  for (let i = 0; i < r.length; i++) rr += (problem.y[i] - r[i]) ** 2;
  const tv = problem.penalty.tv > 0 ? new TotalVariation(problem.penalty.tv, differencesOf(problem)).value(x) : 0;
  return 0.5 * rr + penaltyFamily(problem).value(x) + tv;
}

/** λ_max = max_j |a_jᵀy| / w_j: the smallest l1 for which x = 0 (with any l2), the l1 penalty's own. */
export function lambdaMax(problem: Problem): number {
  return penaltyFamily(problem).lambdaMax(problem.A.applyT(problem.y, new Float64Array(problem.A.cols)));
}

export type { HyperparameterSpec, SeparablePenalty } from "./penalty.js";
export { BoxedPenalty, ElasticNet, L1Penalty, L2Penalty, TotalVariation };

/** Where the tuner may move a hyperparameter and where it starts, in the problem's own scale. */
export interface TuningRange {
  range: [number, number];
  /** The default start (absolute). */
  start: number;
  /** The tuner's basin scan may move it along the regularisation path (λ_max downwards). */
  scannable: boolean;
  /** The range in words, for messages: "[1e-6·λ_max, λ_max]". */
  describe: string;
}

/**
 * Tuning ranges of the declared hyperparameters, scaled by λ_max: l1 in [1e-6, 1]·λ_max (x = 0
 * above), l2 in [1e-8, 1e4]·λ_max, per-feature thresholds in [1e-6, 10]·λ_max. Starts: the
 * problem's own value when usable, else 0.1·λ_max for l1 and 1e-3·λ_max for l2.
 */
export function tuningRanges(problem: Problem, lmax = lambdaMax(problem)): Record<string, TuningRange> {
  const { l1, l2, tv } = problem.penalty;
  const l1Start = l1 >= 1e-6 * lmax && l1 <= lmax ? l1 : 0.1 * lmax;
  const ranges: Record<string, TuningRange> = {
    l1: { range: [1e-6 * lmax, lmax], start: l1Start, scannable: true, describe: "[1e-6·λ_max, λ_max]" },
    l2: { range: [1e-8 * lmax, 1e4 * lmax], start: l2 > 0 ? l2 : 1e-3 * lmax, scannable: false, describe: "[1e-8·λ_max, 1e4·λ_max]" },
    weights: { range: [1e-6 * lmax, 10 * lmax], start: l1Start, scannable: true, describe: "[1e-6·λ_max, 10·λ_max]" },
  };
  if (!(tv > 0)) return ranges;
  // A TV problem declares l1, l2 and tv (no per-feature weights). tv_max from a spanning-tree
  // flow (an upper bound, exact in 1-D): x is constant above it.
  const D = differencesOf(problem);
  const tvmax = D instanceof GridDifferences ? tvMaxBound(problem.A, problem.y, D) : lmax;
  const { weights: _weights, ...scalar } = ranges;
  // tv_max grows with the grid (a spanning-tree flow sums the pixels), the useful tv with the
  // data's scale: the lower end is 1e-6 of the smaller of tv_max and λ_max = ‖Aᵀy‖∞ (for
  // denoising, the largest |y_j|). Relative to tv_max alone, a 1000×1000 photograph's noise
  // level fell below the range and the tuner started at 0.01·tv_max ≈ 1000.
  const lower = 1e-6 * Math.min(tvmax, lmax);
  const inRange = (v: number) => v >= lower && v <= tvmax;
  // Default start: for denoising the noise level (the best tv is of its order), else 1% of tv_max.
  let start = tv;
  if (!inRange(start)) {
    const sigma = problem.A instanceof IdentityOperator && D instanceof GridDifferences ? noiseLevel(problem.y, D) : 0;
    start = inRange(sigma) ? sigma : 0.01 * tvmax;
  }
  return { ...scalar, tv: { range: [lower, tvmax], start, scannable: true, describe: "[1e-6·min(tv_max, λ_max), tv_max]" } };
}
