import { certificate } from "../kkt/certificate.js";
import { dot } from "../linalg/vector.js";
import { ElasticNetPenalty } from "../penalties/elastic-net.js";
import type { Problem } from "../problem.js";
import { DEFAULT_TOL, finishSolution, requireL1L2Problem, type Solution, type SolveOptions } from "./solution.js";

/** How often (in steps) the duality gap is evaluated: it costs one extra Aᵀ product. */
const GAP_EVERY = 10;

/**
 * FISTA for ½‖Ax − y‖² + g(x), g the elastic-net penalty, written as a state machine
 * (`step` one iteration) so that unrolled differentiation can drive it.
 *
 *   x⁺ = prox_{g/L}(z − Aᵀ(Az − y)/L),   L found by backtracking:
 *        f(x⁺) ≤ f(z) + ⟨∇f(z), x⁺ − z⟩ + L/2‖x⁺ − z‖²  ⇔  ‖A(x⁺ − z)‖² ≤ L‖x⁺ − z‖²
 *   t⁺ = (1 + √(1 + 4t²))/2,  z⁺ = x⁺ + (t − 1)/t⁺ · (x⁺ − x)
 * Adaptive (gradient) restart: t ← 1 when ⟨z − x⁺, x⁺ − x⟩ > 0 (O'Donoghue & Candès).
 * Products A z are not recomputed: A z = A x⁺ + β(A x⁺ − A x).
 */
export class FistaState {
  readonly problem: Problem;
  readonly x: Float64Array;
  /** Lipschitz estimate of ∇f; only grows. */
  lipschitz: number;
  iterations = 0;
  private readonly penalty: ElasticNetPenalty;
  private readonly xPrev: Float64Array;
  private readonly z: Float64Array;
  private readonly ax: Float64Array;
  private readonly axPrev: Float64Array;
  private readonly az: Float64Array;
  private readonly residual: Float64Array;
  private readonly grad: Float64Array;
  private momentum = 1;

  constructor(problem: Problem, warmStart?: Float64Array) {
    const { rows: m, cols: n } = problem.A;
    this.problem = problem;
    this.penalty = new ElasticNetPenalty(problem.penalty);
    this.x = warmStart ? Float64Array.from(warmStart) : new Float64Array(n);
    this.xPrev = Float64Array.from(this.x);
    this.z = Float64Array.from(this.x);
    this.ax = problem.A.apply(this.x, new Float64Array(m));
    this.axPrev = Float64Array.from(this.ax);
    this.az = Float64Array.from(this.ax);
    this.residual = new Float64Array(m);
    this.grad = new Float64Array(n);
    this.lipschitz = initialLipschitz(problem);
  }

  /** One FISTA step with backtracking and restart. */
  step(): void {
    const { A, y } = this.problem;
    const { x, xPrev, z, ax, axPrev, az, residual, grad } = this;
    const m = y.length, n = x.length;
    for (let i = 0; i < m; i++) residual[i] = az[i] - y[i];
    A.applyT(residual, grad);
    xPrev.set(x);
    axPrev.set(ax);
    for (;;) {
      const t = 1 / this.lipschitz;
      for (let j = 0; j < n; j++) x[j] = z[j] - t * grad[j];
      this.penalty.prox(x, t, x);
      A.apply(x, ax);
      // For f = ½‖A· − y‖², the sufficient-decrease test is exactly ‖A(x − z)‖² ≤ L‖x − z‖²
      // (free of the cancellation in f(x) − f(z)).
      let curvature = 0, dist = 0;
      for (let i = 0; i < m; i++) curvature += (ax[i] - az[i]) ** 2;
      for (let j = 0; j < n; j++) dist += (x[j] - z[j]) ** 2;
      // dist = 0: the prox returned z itself, there is no step to test (and L·0 would never pass).
      if (dist === 0 || curvature <= this.lipschitz * dist * (1 + 1e-10)) break;
      this.lipschitz *= 2;
    }
    let restart = 0;
    for (let j = 0; j < n; j++) restart += (z[j] - x[j]) * (x[j] - xPrev[j]);
    if (restart > 0) this.momentum = 1;
    const next = (1 + Math.sqrt(1 + 4 * this.momentum * this.momentum)) / 2;
    const beta = (this.momentum - 1) / next;
    this.momentum = next;
    for (let j = 0; j < n; j++) z[j] = x[j] + beta * (x[j] - xPrev[j]);
    for (let i = 0; i < m; i++) az[i] = ax[i] + beta * (ax[i] - axPrev[i]);
    this.iterations++;
  }

  /** Duality gap at the current x (uses the internal buffers; one Aᵀ product). */
  gap(): number {
    const { y, A } = this.problem;
    for (let i = 0; i < y.length; i++) this.residual[i] = y[i] - this.ax[i];
    A.applyT(this.residual, this.grad);
    return certificate(this.problem, this.x, this.residual, this.grad).dualityGap;
  }
}

/** A lower estimate of ‖A‖²: the largest squared column norm (backtracking raises it as needed). */
function initialLipschitz(problem: Problem): number {
  const norms = problem.A.columnNormsSquared();
  let L = 0;
  for (let j = 0; j < norms.length; j++) L = Math.max(L, norms[j]);
  return L > 0 ? L : 1;
}

export function solveFista(problem: Problem, options: SolveOptions = {}): Solution {
  requireL1L2Problem(problem, "the fista solver");
  const started = performance.now();
  const tol = (options.tol ?? DEFAULT_TOL) * dot(problem.y, problem.y);
  const maxIter = options.maxIter ?? 100_000;
  const state = new FistaState(problem, options.warmStart);
  let converged = false, gap = Infinity;
  while (state.iterations < maxIter) {
    state.step();
    if (state.iterations % GAP_EVERY === 0 || state.iterations === maxIter) {
      gap = state.gap();
      if (gap <= tol) {
        converged = true;
        break;
      }
    }
  }
  return finishSolution(
    problem,
    state.x,
    {
      iterations: state.iterations,
      converged,
      solver: "fista",
      started,
      message: `iteration cap ${maxIter} reached (duality gap ${gap.toExponential(2)} > ${tol.toExponential(2)})`,
    },
    options,
  );
}
