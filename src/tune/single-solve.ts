import { gradientSupport, requireCriterion, type Criterion } from "../criteria/criterion.js";
import { tryImplicitHypergradient } from "../diff/implicit.js";
import { requireProblem, withPenalty, type Penalty, type Problem } from "../problem.js";
import type { Solver } from "../solvers/index.js";
import { requireSolver, type Solution } from "../solvers/solution.js";
import { HeldOutMse } from "../criteria/heldout.js";
import { SolutionsByL1, type EvaluateOptions, type Evaluation, type PathWalk, type TuningObjective } from "./objective.js";
import { PathWalker } from "./walk.js";

/** A criterion of one solution x*(λ) of the problem (held-out, reference error): one solve, one adjoint solve. */
export class SingleSolveObjective implements TuningObjective {
  readonly name: string;
  private readonly problem: Problem;
  private readonly criterion: Criterion;
  private readonly solver: Solver;
  private readonly gradX: Float64Array;
  private warm?: Float64Array;
  /** The latest solutions by their l1: a walk of the path starts from the closest. */
  private readonly solved = new SolutionsByL1<Float64Array>();
  /** Walks of the path (held-out and reference criteria). */
  private readonly walker?: PathWalker;
  lastSolution?: Solution;

  constructor(problem: Problem, criterion: Criterion, solver: Solver) {
    requireProblem(problem);
    requireCriterion("criterion", criterion);
    requireSolver("solver", solver);
    this.name = criterion.name;
    this.problem = problem;
    this.criterion = criterion;
    this.solver = solver;
    this.gradX = new Float64Array(problem.A.cols);
    if (criterion instanceof HeldOutMse) this.walker = new PathWalker(criterion);
  }

  evaluate(penalty: Penalty, tol: number, { gradient = true, polish = true, warmStart }: EvaluateOptions = {}): Evaluation {
    const problem = withPenalty(this.problem, penalty);
    const solution = this.solver(problem, { tol, warmStart: warmStart ?? this.warm, polish });
    this.warm = solution.x;
    this.solved.add(penalty.l1, solution.x);
    this.lastSolution = solution;
    const h = gradient ? tryImplicitHypergradient(problem, solution, this.criterion.gradient(solution.x, this.gradX, gradientSupport(problem, solution))) : null;
    return {
      value: this.criterion.value(solution.x),
      gradient: h?.gradient ?? null,
      solves: 1,
      innerIterations: solution.iterations,
      converged: solution.converged,
      nearBreakpoint: h?.nearBreakpoint ?? false,
    };
  }

  walkPath(penalty: Penalty, from: number, to: number): PathWalk | null {
    return this.walker?.walk(withPenalty(this.problem, penalty), from, to, this.solved.closest(from)) ?? null;
  }
}
