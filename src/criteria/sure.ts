import { InputError } from "../errors.js";
import { tryImplicitHypergradient } from "../diff/implicit.js";
import { activeSetSystem } from "../kkt/active-set.js";
import { Random } from "../linalg/random.js";
import { dot } from "../linalg/vector.js";
import { scaledAdjoint } from "../operators/operator.js";
import { withPenalty, type Penalty, type Problem } from "../problem.js";
import type { Solver } from "../solvers/path.js";
import type { Solution } from "../solvers/solution.js";
import type { Evaluation, TuningObjective } from "../tune/objective.js";

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
  lastSolution?: Solution;
  polish = true;
  protected readonly residual: Float64Array;

  constructor(problem: Problem, sigma: number, solver: Solver) {
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new InputError("sigma", `expected a positive noise level, got ${sigma}`);
    this.problem = problem;
    this.sigma = sigma;
    this.solver = solver;
    this.residual = new Float64Array(problem.A.rows);
  }

  abstract evaluate(penalty: Penalty, tol: number, withGradient?: boolean): Evaluation;

  /** Solve at λ (warm-started); r ← y − Ax; returns the solution and ‖r‖². */
  protected solveAt(problem: Problem, tol: number): { solution: Solution; rss: number } {
    const solution = this.solver(problem, { tol, warmStart: this.warm, polish: this.polish });
    this.warm = solution.x;
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
 * SURE with the degrees of freedom read off the active set: df = tr(A_S H⁻¹ A_Sᵀ) with
 * H = A_SᵀA_S + l2 I, i.e. df = |S| − l2·tr(H⁻¹) (= |S| for the Lasso on generic data).
 * df is constant in l1 while S is, and ∂df/∂l2 = −tr(H⁻¹) + l2·tr(H⁻²).
 */
export class Sure extends SureBase {
  readonly name = "sure";
  /** Degrees of freedom at the last evaluation. */
  lastDf = 0;

  evaluate(penalty: Penalty, tol: number, withGradient = true): Evaluation {
    const problem = withPenalty(this.problem, penalty);
    const { solution, rss } = this.solveAt(problem, tol);
    const { df, dDfDl2 } = degreesOfFreedom(problem, solution);
    this.lastDf = df;
    const s2 = this.sigma * this.sigma;
    const h = withGradient ? tryImplicitHypergradient(problem, solution, this.rssGradient(solution.active)) : null;
    return {
      value: rss - problem.A.rows * s2 + 2 * s2 * df,
      gradient: h && { l1: h.l1, l2: h.l2 + 2 * s2 * dDfDl2 },
      ...(h && { perFeature: h.perFeature }),
      solves: 1,
      innerIterations: solution.iterations,
      converged: solution.converged,
      nearBreakpoint: h?.nearBreakpoint ?? false,
    };
  }
}

/** df = |S| − l2·tr(H⁻¹) and its l2-derivative −tr(H⁻¹) + l2·‖H⁻¹‖_F², from |S| solves with H. */
export function degreesOfFreedom(problem: Problem, solution: Solution): { df: number; dDfDl2: number } {
  const k = solution.active.length, l2 = problem.penalty.l2;
  if (k === 0 || l2 === 0) return { df: k, dDfDl2: 0 };
  const system = activeSetSystem(problem, solution.active);
  let trace = 0, frobenius = 0;
  const e = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    e[a] = 1;
    const col = system.solve(e);
    e[a] = 0;
    trace += col[a];
    frobenius += dot(col, col);
  }
  return { df: k - l2 * trace, dDfDl2: -trace + l2 * frobenius };
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

  evaluate(penalty: Penalty, tol: number, withGradient = true): Evaluation {
    const problem = withPenalty(this.problem, penalty);
    const { solution, rss } = this.solveAt(problem, tol);
    const s2 = this.sigma * this.sigma, R = this.probes.length, n = problem.A.cols;
    const gradX = this.rssGradient();
    const ax = problem.A.apply(solution.x, new Float64Array(problem.A.rows));
    const aTeps = new Float64Array(n);
    let df = 0, dl1 = 0, dl2 = 0, iterations = solution.iterations, converged = solution.converged, near = false;
    this.probes.forEach((eps, p) => {
      const perturbed: Problem = { ...problem, y: problem.y.map((v, i) => v + this.delta * eps[i]) };
      const sp = this.solver(perturbed, { tol, warmStart: this.probeWarm[p] ?? solution.x, polish: this.polish });
      this.probeWarm[p] = sp.x;
      const axp = problem.A.apply(sp.x, new Float64Array(problem.A.rows));
      let d = 0;
      for (let i = 0; i < eps.length; i++) d += eps[i] * (axp[i] - ax[i]);
      df += d / (this.delta * R);
      iterations += sp.iterations;
      converged &&= sp.converged;
      if (!withGradient) return;
      // (2σ²/(δR)) · d/dλ εᵀA x(y + δε): adjoint at the perturbed solution ...
      problem.A.applyT(eps, aTeps);
      const scale = (2 * s2) / (this.delta * R);
      for (let j = 0; j < n; j++) aTeps[j] *= scale;
      const hp = tryImplicitHypergradient(perturbed, sp, aTeps);
      dl1 += hp.l1;
      dl2 += hp.l2;
      // ... minus the same at x(y), folded into the base adjoint's right-hand side.
      for (let j = 0; j < n; j++) gradX[j] -= aTeps[j];
      near ||= hp.nearBreakpoint;
    });
    const h = withGradient ? tryImplicitHypergradient(problem, solution, gradX) : null;
    this.lastDf = df;
    return {
      value: rss - problem.A.rows * s2 + 2 * s2 * df,
      gradient: h && { l1: h.l1 + dl1, l2: h.l2 + dl2 },
      solves: 1 + R,
      innerIterations: iterations,
      converged,
      nearBreakpoint: near || (h?.nearBreakpoint ?? false),
    };
  }
}
