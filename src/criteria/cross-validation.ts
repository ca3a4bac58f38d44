import { InputError } from "../errors.js";
import { gradientSupport, requireCriterion } from "./criterion.js";
import { tryImplicitHypergradient, type HyperGradient } from "../diff/implicit.js";
import { IdentityOperator } from "../operators/identity.js";
import { MaskOperator } from "../operators/mask.js";
import { selectRows } from "../operators/rows.js";
import { createProblem, requireProblem, withPenalty, type Measurements, type Penalty, type Problem } from "../problem.js";
import type { Solver } from "../solvers/index.js";
import { requireSolver } from "../solvers/solution.js";
import { requireVector } from "../linalg/vector.js";
import { requireObject } from "../optim/objective.js";
import { addScaled } from "../diff/gradient-map.js";
import { SolutionsByL1, type EvaluateOptions, type Evaluation, type PathWalk, type TuningObjective } from "../tune/objective.js";
import { meanOfPieces } from "../tune/path-pieces.js";
import { PathWalker } from "../tune/walk.js";
import { HeldOutMse } from "./heldout.js";

/** One fold: the problem on its training rows and its held-out rows (both dense, centred alike with an intercept). */
/** What each fold's solve is asked for (the folds keep their own warm starts). */
export type FoldOptions = Required<Pick<EvaluateOptions, "gradient" | "polish">>;

export interface CvFold {
  train: Problem;
  held: Measurements;
}

/** One fold's solve at some penalties: its held-out MSE, hypergradient (null when not asked) and x (the next warm start). */
export interface FoldResult {
  value: number;
  gradient: HyperGradient | null;
  x: Float64Array;
  iterations: number;
  converged: boolean;
  nearBreakpoint: boolean;
}

/**
 * Solves every fold at some penalties, fold k from warm[k]; returns the results in fold order.
 * The serial one runs in this thread; a pool of worker threads (sparsetune/node's tuneAsync) is another.
 */
export interface FoldEvaluator {
  evaluate(penalty: Penalty, tol: number, options: FoldOptions, warm: readonly (Float64Array | undefined)[]): FoldResult[];
  /** Each fold's held-out criterion along its exact path from l1 = `from` down to `to` (walkFold), fold k started from warm[k]. */
  walk(penalty: Penalty, from: number, to: number, warm: readonly (Float64Array | undefined)[]): (PathWalk | null)[];
}

/** Contiguous folds of the rows 0..m−1 (scikit-learn's KFold without shuffling): fold k's held-out rows. */
export function foldRows(m: number, folds: number): number[][] {
  if (!Number.isInteger(folds) || folds < 2) throw new InputError("folds", `expected an integer ≥ 2, got ${folds}`);
  if (folds > m) throw new InputError("folds", `expected at most ${m} folds (the rows of A), got ${folds}`);
  const out: number[][] = [];
  let start = 0;
  for (let k = 0; k < folds; k++) {
    const size = Math.floor(m / folds) + (k < m % folds ? 1 : 0);
    out.push(Array.from({ length: size }, (_, i) => start + i));
    start += size;
  }
  return out;
}

/** The K folds of a problem: training rows as a problem of their own, held-out rows as its measurements. */
export function crossValidationFolds(problem: Problem, folds: number): CvFold[] {
  requireProblem(problem);
  if (problem.A instanceof IdentityOperator || problem.A instanceof MaskOperator) {
    // Each row measures one feature: a fold's held-out features are measured by no training row,
    // so their predictions come from the penalty alone and the criterion cannot rank the penalties.
    throw new InputError("criterion", "expected a criterion other than cv when A = identity or a pixel mask (a fold's held-out rows measure features no training row measures); use heldout, sure or reference");
  }
  const m = problem.A.rows;
  return foldRows(m, folds).map((held) => {
    const heldSet = new Set(held);
    const trainRows = Array.from({ length: m }, (_, i) => i).filter((i) => !heldSet.has(i));
    const pick = (rows: number[]) => ({ A: selectRows(problem.A, rows), y: Float64Array.from(rows, (i) => problem.y[i]) });
    // With an intercept each fold centres its training rows by their own means (the held-out
    // rows by the same): re-centring rows of the centred A is centring the original rows.
    if (problem.intercept) {
      const train = createProblem({ ...pick(trainRows), penalty: problem.penalty, grid: problem.grid, intercept: true, validation: pick(held) });
      return { train, held: train.validation! };
    }
    return { train: createProblem({ ...pick(trainRows), penalty: problem.penalty, grid: problem.grid }), held: pick(held) };
  });
}

/** Fold k's solve from `warm`, its held-out MSE and (when asked) its hypergradient. */
export function evaluateFold(fold: CvFold, criterion: HeldOutMse, solver: Solver, penalty: Penalty, tol: number, options: FoldOptions, warm: Float64Array | undefined): FoldResult {
  requireFold("fold", fold);
  requireCriterion("criterion", criterion);
  requireSolver("solver", solver);
  requireObject("options", options, "fold options { gradient?, polish? }");
  if (warm !== undefined) requireVector("warm", warm, fold.train.A.cols);
  const { gradient, polish } = options;
  const problem = withPenalty(fold.train, penalty);
  const solution = solver(problem, { tol, warmStart: warm, polish });
  const h = gradient ? tryImplicitHypergradient(problem, solution, criterion.gradient(solution.x, new Float64Array(solution.x.length), gradientSupport(problem, solution))) : null;
  return { value: criterion.value(solution.x), gradient: h?.gradient ?? null, x: solution.x, iterations: solution.iterations, converged: solution.converged, nearBreakpoint: h?.nearBreakpoint ?? false };
}

/** A fold of crossValidationFolds: a training problem and held-out rows { A, y }. */
function requireFold(field: string, fold: CvFold): void {
  requireObject(field, fold, "a fold { train, held } from crossValidationFolds(problem, k)");
  requireProblem(fold.train, `${field}.train`);
  requireObject(`${field}.held`, fold.held, "held-out rows { A, y }");
}

/** Fold k's held-out criterion along the exact path of its training problem over [to, from] (null: it cannot be walked there), by its own walker. */
export function walkFold(fold: CvFold, walker: PathWalker, penalty: Penalty, from: number, to: number, warm: Float64Array | undefined): PathWalk | null {
  const walk = walker.walk(withPenalty(fold.train, penalty), from, to, warm);
  // The folds' solutions are not the answer (that is solved on all the data): not kept.
  return walk && { pieces: walk.pieces, breakpoints: walk.breakpoints, complete: walk.complete, solves: walk.solves, innerIterations: walk.innerIterations };
}

/** The folds solved one after the other in this thread. */
export function serialFolds(folds: readonly CvFold[], solver: Solver): FoldEvaluator {
  if (!Array.isArray(folds)) throw new InputError("folds", "expected an array of folds from crossValidationFolds(problem, k)");
  folds.forEach((fold, k) => requireFold(`folds[${k}]`, fold));
  requireSolver("solver", solver);
  const criteria = folds.map((f) => new HeldOutMse(f.held));
  const walkers = criteria.map((c) => new PathWalker(c));
  return {
    evaluate: (penalty, tol, options, warm) => folds.map((fold, k) => evaluateFold(fold, criteria[k], solver, penalty, tol, options, warm[k])),
    walk: (penalty, from, to, warm) => folds.map((fold, k) => walkFold(fold, walkers[k], penalty, from, to, warm[k])),
  };
}

/**
 * K-fold cross-validation over the rows of A: CV(λ) = mean_k MSE_k(x_k*(λ)), x_k* solved on the
 * other rows. Each fold has its own solve and KKT system; the hypergradient is the mean of the
 * folds' hypergradients, summed in fold order (the same sum whichever evaluator solved them).
 * Each fold warm-starts from its own previous solution.
 */
export class CrossValidation implements TuningObjective {
  readonly name = "cv";
  private readonly evaluator: FoldEvaluator;
  private readonly warm: (Float64Array | undefined)[];
  /** The folds' latest solutions by l1: a walk starts each fold from the closest. */
  private readonly solved = new SolutionsByL1<Float64Array[]>();

  /** `parallel`: an evaluator for the folds other than the serial one (a pool of worker threads). */
  constructor(problem: Problem, folds: number, solver: Solver, parallel?: (folds: CvFold[]) => FoldEvaluator) {
    const cvFolds = crossValidationFolds(problem, folds);
    this.evaluator = parallel ? parallel(cvFolds) : serialFolds(cvFolds, solver);
    this.warm = cvFolds.map(() => undefined);
  }

  evaluate(penalty: Penalty, tol: number, { gradient = true, polish = true }: EvaluateOptions = {}): Evaluation {
    const results = this.evaluator.evaluate(penalty, tol, { gradient, polish }, this.warm);
    this.solved.add(penalty.l1, results.map((r) => r.x));
    const out: Evaluation = { value: 0, gradient: gradient ? {} : null, solves: 0, innerIterations: 0, converged: true, nearBreakpoint: false };
    const K = results.length;
    results.forEach((r, k) => {
      this.warm[k] = r.x;
      out.value += r.value / K;
      if (out.gradient && r.gradient) addScaled(out.gradient, r.gradient, 1 / K);
      out.nearBreakpoint ||= r.nearBreakpoint;
      out.solves++;
      out.innerIterations += r.iterations;
      out.converged &&= r.converged;
    });
    return out;
  }

  /** The mean of the folds' solutions at the evaluated l1 closest to `l1`: a warm start for the solve on all the data. */
  meanSolution(l1: number): Float64Array | undefined {
    const xs = this.solved.closest(l1);
    if (!xs) return undefined;
    const mean = new Float64Array(xs[0].length);
    for (const x of xs) for (let j = 0; j < mean.length; j++) mean[j] += x[j] / xs.length;
    return mean;
  }

  /**
   * CV(l1) over [to, from] exactly: each fold's walk of its own path (from its warm start), the
   * mean of their pieces on the union of their breakpoints. Null when some fold cannot walk there
   * or the walks do not overlap.
   */
  walkPath(penalty: Penalty, from: number, to: number): PathWalk | null {
    const walks = this.evaluator.walk(penalty, from, to, this.solved.closest(from) ?? this.warm);
    if (walks.some((w) => w === null)) return null;
    const folds = walks as PathWalk[];
    const pieces = meanOfPieces(folds.map((w) => w.pieces));
    if (pieces.length === 0) return null;
    const breakpoints = [...new Set(folds.flatMap((w) => w.breakpoints))].sort((a, b) => b - a);
    const sum = (f: (w: PathWalk) => number) => folds.reduce((s, w) => s + f(w), 0);
    return { pieces, breakpoints, complete: folds.every((w) => w.complete), solves: sum((w) => w.solves), innerIterations: sum((w) => w.innerIterations) };
  }
}
