import { InputError } from "../errors.js";
import { gradientSupport } from "./criterion.js";
import { tryImplicitHypergradient } from "../diff/implicit.js";
import { selectRows } from "../operators/rows.js";
import { createProblem, withPenalty, type Penalty, type Problem } from "../problem.js";
import type { Solver } from "../solvers/index.js";
import { addScaled } from "../diff/gradient-map.js";
import type { EvaluateOptions, Evaluation, TuningObjective } from "../tune/objective.js";
import { HeldOutMse } from "./heldout.js";

interface Fold {
  train: Problem;
  criterion: HeldOutMse;
  warm?: Float64Array;
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

/**
 * K-fold cross-validation over the rows of A: CV(λ) = mean_k MSE_k(x_k*(λ)), x_k* solved on the
 * other rows. Each fold has its own solve and KKT system; the hypergradient is the mean of the
 * folds' hypergradients.
 */
export class CrossValidation implements TuningObjective {
  readonly name = "cv";
  private readonly folds: Fold[];
  private readonly solver: Solver;

  constructor(problem: Problem, folds: number, solver: Solver) {
    const m = problem.A.rows;
    this.solver = solver;
    this.folds = foldRows(m, folds).map((held) => {
      const heldSet = new Set(held);
      const trainRows = Array.from({ length: m }, (_, i) => i).filter((i) => !heldSet.has(i));
      const pick = (rows: number[]) => ({ A: selectRows(problem.A, rows), y: Float64Array.from(rows, (i) => problem.y[i]) });
      // With an intercept each fold centres its training rows by their own means (the held-out
      // rows by the same): re-centring rows of the centred A is centring the original rows.
      if (problem.intercept) {
        const train = createProblem({ ...pick(trainRows), penalty: problem.penalty, grid: problem.grid, intercept: true, validation: pick(held) });
        return { train, criterion: HeldOutMse.of(train) };
      }
      const train = createProblem({ ...pick(trainRows), penalty: problem.penalty, grid: problem.grid });
      return { train, criterion: new HeldOutMse(pick(held)) };
    });
  }

  evaluate(penalty: Penalty, tol: number, { gradient = true, polish = true }: EvaluateOptions = {}): Evaluation {
    const out: Evaluation = { value: 0, gradient: gradient ? {} : null, solves: 0, innerIterations: 0, converged: true, nearBreakpoint: false };
    const K = this.folds.length;
    for (const fold of this.folds) {
      const problem = withPenalty(fold.train, penalty);
      const solution = this.solver(problem, { tol, warmStart: fold.warm, polish });
      fold.warm = solution.x;
      out.value += fold.criterion.value(solution.x) / K;
      if (out.gradient) {
        const h = tryImplicitHypergradient(problem, solution, fold.criterion.gradient(solution.x, new Float64Array(solution.x.length), gradientSupport(problem, solution)));
        addScaled(out.gradient, h.gradient, 1 / K);
        out.nearBreakpoint ||= h.nearBreakpoint;
      }
      out.solves++;
      out.innerIterations += solution.iterations;
      out.converged &&= solution.converged;
    }
    return out;
  }
}
