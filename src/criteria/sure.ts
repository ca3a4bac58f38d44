import { InputError } from "../errors.js";
import { gradientSupport } from "./criterion.js";
import { addScaled, scalarNames } from "../diff/gradient-map.js";
import { tryImplicitHypergradient, type HyperGradient } from "../diff/implicit.js";
import { kktSystem } from "../kkt/index.js";
import { Random } from "../linalg/random.js";
import { dot } from "../linalg/vector.js";
import { scaledAdjoint } from "../operators/operator.js";
import { requireProblem, withPenalty, type Penalty, type Problem } from "../problem.js";
import type { Solver } from "../solvers/index.js";
import type { Solution } from "../solvers/solution.js";
import { SolutionsByL1, type EvaluateOptions, type Evaluation, type PathWalk, type TuningObjective } from "../tune/objective.js";
import { PathWalker } from "../tune/walk.js";
import { insetPieces, minimumOfPieces, type CriterionPiece } from "../tune/path-pieces.js";
import { polishOnSupport } from "../kkt/polish.js";
import { separablePenalty } from "../penalties/index.js";
import { HeldOutMse } from "./heldout.js";

/**
 * Stein's unbiased risk estimate for a known noise level σ (no validation data):
 *   SURE(λ) = ‖y − Ax‖² − mσ² + 2σ² df,   df = trace d(Ax)/dy.
 */
abstract class SureBase implements TuningObjective {
  abstract readonly name: string;
  protected readonly problem: Problem;
  protected readonly solver: Solver;
  protected readonly sigma: number;
  protected warm?: Float64Array;
  /** The latest solutions by their l1: a walk of the path starts from the closest. */
  protected readonly solved = new SolutionsByL1<Float64Array>();
  lastSolution?: Solution;
  protected readonly residual: Float64Array;
  /** SURE ≥ −mσ² (‖y − Ax‖² ≥ 0, df ≥ 0). */
  readonly floor: number;
  /** df = |S| jumps by one where a feature enters or leaves. */
  readonly jumps = true;

  constructor(problem: Problem, sigma: number, solver: Solver) {
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new InputError("sigma", `expected a positive noise level, got ${sigma}`);
    // SURE adds up m + 2·df ≤ m + 2(n + 1) multiples of σ²: each must be a finite, non-zero double.
    const s2 = sigma * sigma, terms = problem.A.rows + 2 * (problem.A.cols + 1);
    if (!(s2 > 0 && Number.isFinite(terms * s2))) throw new InputError("sigma", `expected a noise level whose σ² (up to ${terms}·σ²) is a non-zero finite double, got ${sigma}`);
    this.problem = problem;
    this.sigma = sigma;
    this.solver = solver;
    this.residual = new Float64Array(problem.A.rows);
    this.floor = -problem.A.rows * s2;
  }

  abstract evaluate(penalty: Penalty, tol: number, options?: EvaluateOptions): Evaluation;

  /** Solve at λ (warm-started from `warmStart` or the last solution); r ← y − Ax; returns the solution and ‖r‖². */
  protected solveAt(problem: Problem, tol: number, polish: boolean, warmStart = this.warm): { solution: Solution; rss: number } {
    const solution = this.solver(problem, { tol, warmStart, polish });
    this.warm = solution.x;
    this.solved.add(problem.penalty.l1, solution.x);
    this.lastSolution = solution;
    problem.A.apply(solution.x, this.residual);
    for (let i = 0; i < this.residual.length; i++) this.residual[i] = problem.y[i] - this.residual[i];
    return { solution, rss: dot(this.residual, this.residual) };
  }

  /** ∇ₓ‖y − Ax‖² = −2Aᵀr (r from the last solveAt); with `support`, only those entries (the adjoint needs no more). */
  protected rssGradient(support?: ArrayLike<number>): Float64Array {
    return scaledAdjoint(this.problem.A, this.residual, -2, new Float64Array(this.problem.A.cols), support);
  }
}

/**
 * SURE with the degrees of freedom read off the KKT system: df = tr(A_S H⁻¹ A_Sᵀ) with
 * H = A_SᵀA_S + l2 I, i.e. df = |S| − l2·tr(H⁻¹) (= |S| for the Lasso on generic data);
 * dSURE/dθ = dRSS/dθ (implicit) + 2σ² ∂df/∂θ (df is constant in l1 while S is).
 */
export class Sure extends SureBase {
  readonly name = "sure";
  /** Degrees of freedom at the last evaluation. */
  lastDf = 0;
  /** Walks of the Lasso path: ‖y − Ax‖²/m is the training rows' held-out MSE. */
  private walker?: PathWalker;

  evaluate(penalty: Penalty, tol: number, { gradient = true, polish = true, warmStart }: EvaluateOptions = {}): Evaluation {
    const problem = withPenalty(this.problem, penalty);
    const { solution, rss } = this.solveAt(problem, tol, polish, warmStart ?? this.warm);
    const s2 = this.sigma * this.sigma;
    const dof = degreesOfFreedom(problem, solution);
    const h = gradient ? tryImplicitHypergradient(problem, solution, this.rssGradient(gradientSupport(problem, solution))) : null;
    const grad = h && addScaled({ ...h.gradient }, Object.fromEntries(scalarNames(h.gradient).map((name) => [name, dof.derivative(name)])), 2 * s2);
    const df = dof.df + interceptDf(problem), near = h?.nearBreakpoint ?? false;
    this.lastDf = df;
    return {
      value: rss - problem.A.rows * s2 + 2 * s2 * df,
      gradient: grad,
      solves: 1,
      innerIterations: solution.iterations,
      converged: solution.converged,
      nearBreakpoint: near,
    };
  }

  /**
   * SURE along the Lasso path (l2 = 0): on a piece with support S, x is affine in l1 and
   * SURE = m·MSE_train(x) − mσ² + 2σ²(|S| + intercept), a quadratic plus a constant that jumps by
   * 2σ² where a feature enters or leaves. Null with l2 > 0 (df = |S| − l2·tr(H⁻¹) varies along a
   * piece's neighbours) or where the path cannot be walked.
   */
  walkPath(penalty: Penalty, from: number, to: number): PathWalk | null {
    const problem = withPenalty(this.problem, penalty);
    if (problem.penalty.l2 > 0) return null;
    this.walker ??= new PathWalker(new HeldOutMse({ A: problem.A, y: problem.y }, "training"));
    const walk = this.walker.walk(problem, from, to, this.solved.closest(from));
    if (walk === null) return null;
    const m = problem.A.rows, s2 = this.sigma * this.sigma, extra = interceptDf(problem);
    const pieces = insetPieces(
      walk.pieces.map((p) => ({ ...p, quadratic: [m * p.quadratic[0] - m * s2 + 2 * s2 * ((p.size ?? 0) + extra), m * p.quadratic[1], m * p.quadratic[2]] as const })),
      PIECE_INSET,
    );
    // The walk's own minimiser is the MSE's; SURE's, with its exact solution (the final solve then
    // only certifies it, on the piece's support: near a breakpoint a solve from elsewhere may not settle there).
    return { ...walk, pieces, minimiser: this.exactMinimiser(problem, pieces) };
  }

  /** SURE's minimum over the pieces and the Lasso solution there, exact from the piece's support and signs (a Newton step onto it). */
  private exactMinimiser(problem: Problem, pieces: readonly CriterionPiece[]): { l1: number; x: Float64Array } | undefined {
    const minimum = minimumOfPieces(pieces, this.floor);
    const piece = minimum && pieces.find((p) => p.lo <= minimum.l1 && minimum.l1 <= p.hi);
    if (!minimum || !piece?.support) return undefined;
    const seed = new Float64Array(problem.A.cols);
    piece.support.active.forEach((j, a) => (seed[j] = piece.support!.signs[a]));
    const at = withPenalty(problem, { ...problem.penalty, l1: minimum.l1 });
    if (piece.support.active.length === 0) return { l1: minimum.l1, x: seed };
    const x = polishOnSupport(at, separablePenalty(at.penalty), seed, true);
    return x ? { l1: minimum.l1, x } : undefined;
  }
}

/** Each SURE piece without this fraction of its width at either end (see insetPieces). */
const PIECE_INSET = 1e-6;

/** An intercept adds one degree of freedom: the fit Ax + b moves with ȳ (tr(11ᵀ/m) = 1). */
const interceptDf = (problem: Problem) => (problem.intercept ? 1 : 0);

/** df = tr(∂(Ax)/∂y) of a solution and its derivative by hyperparameter name, from the problem's KKT system. */
export function degreesOfFreedom(problem: Problem, solution: Solution): { df: number; derivative(name: string): number } {
  requireProblem(problem);
  if (problem.penalty.tv === 0 && solution.active.length === 0) return { df: 0, derivative: () => 0 };
  return kktSystem(problem, solution).system.degreesOfFreedom();
}

/**
 * Monte-Carlo SURE for any solver: df ≈ εᵀA(x(y + δε) − x(y))/δ averaged over probes ε ~ N(0, I),
 * δ = 1e-3·max(σ, rms(y)) by default. Its λ-derivative goes through the KKT systems of both
 * solutions: d/dλ εᵀA x(y + δε)/δ by the adjoint at the perturbed solution, minus the same at x(y).
 */
export class MonteCarloSure extends SureBase {
  readonly name = "sure-mc";
  private readonly probes: Float64Array[];
  private readonly delta: number;
  private readonly probeWarm: (Float64Array | undefined)[];
  lastDf = 0;

  constructor(problem: Problem, sigma: number, solver: Solver, { probes = 4, seed = 1, delta }: { probes?: number; seed?: number; delta?: number } = {}) {
    super(problem, sigma, solver);
    const rng = new Random(seed);
    const m = problem.A.rows;
    this.probes = Array.from({ length: probes }, () => Float64Array.from({ length: m }, () => rng.normal()));
    this.probeWarm = this.probes.map(() => undefined);
    this.delta = delta ?? 1e-3 * Math.max(sigma, Math.sqrt(dot(problem.y, problem.y) / m));
  }

  evaluate(penalty: Penalty, tol: number, { gradient = true, polish = true }: EvaluateOptions = {}): Evaluation {
    const problem = withPenalty(this.problem, penalty);
    const { solution, rss } = this.solveAt(problem, tol, polish);
    const s2 = this.sigma * this.sigma, R = this.probes.length, n = problem.A.cols;
    const gradX = this.rssGradient();
    const ax = problem.A.apply(solution.x, new Float64Array(problem.A.rows));
    const aTeps = new Float64Array(n);
    const probeGradient: HyperGradient = {};
    let df = 0, iterations = solution.iterations, converged = solution.converged, near = false;
    this.probes.forEach((eps, p) => {
      const perturbed: Problem = { ...problem, y: problem.y.map((v, i) => v + this.delta * eps[i]) };
      const sp = this.solver(perturbed, { tol, warmStart: this.probeWarm[p] ?? solution.x, polish });
      this.probeWarm[p] = sp.x;
      const axp = problem.A.apply(sp.x, new Float64Array(problem.A.rows));
      let d = 0;
      for (let i = 0; i < eps.length; i++) d += eps[i] * (axp[i] - ax[i]);
      df += d / (this.delta * R);
      iterations += sp.iterations;
      converged &&= sp.converged;
      if (!gradient) return;
      // (2σ²/(δR)) · d/dλ εᵀA x(y + δε): adjoint at the perturbed solution ...
      problem.A.applyT(eps, aTeps);
      const scale = (2 * s2) / (this.delta * R);
      for (let j = 0; j < n; j++) aTeps[j] *= scale;
      const hp = tryImplicitHypergradient(perturbed, sp, aTeps);
      addScaled(probeGradient, hp.gradient);
      // ... minus the same at x(y), folded into the base adjoint's right-hand side.
      for (let j = 0; j < n; j++) gradX[j] -= aTeps[j];
      near ||= hp.nearBreakpoint;
    });
    const h = gradient ? tryImplicitHypergradient(problem, solution, gradX) : null;
    // The probes see the centred problem: the intercept's own degree of freedom is added.
    df += interceptDf(problem);
    this.lastDf = df;
    return {
      value: rss - problem.A.rows * s2 + 2 * s2 * df,
      gradient: h && addScaled({ ...h.gradient }, probeGradient),
      solves: 1 + R,
      innerIterations: iterations,
      converged,
      nearBreakpoint: near || (h?.nearBreakpoint ?? false),
    };
  }
}
