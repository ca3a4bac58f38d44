import { InputError, NumericalError } from "../errors.js";
import { tvCertificate } from "../kkt/tv-certificate.js";
import { allFinite, dot, norm2 } from "../linalg/vector.js";
import { IdentityOperator } from "../operators/identity.js";
import type { LinearOperator } from "../operators/operator.js";
import { penaltyTerms } from "../penalties/index.js";
import { refuseBasisPursuit, requireCertifiableScales, requirePositivePenalty, requireProblem, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { splitBregman, splitBregmanNormalSolver } from "../solvers/split-bregman.js";
import type { NormalSolver } from "../solvers/split-bregman-update.js";

/** Split Bregman's tolerance (duality gap ≤ tol·‖y‖²) for the fixed point, unless options.tol. */
const DEFAULT_SOLVE_TOL = 1e-12;
/**
 * The linear iterations stop when ‖w⁺ − w‖ ≤ LINEAR_TOL·‖(w⁺, u)‖: w the tangent or adjoint
 * state (in the units of Bx), u the vector of length n it gives (ẋ or q), which keeps the test
 * meaningful when w itself vanishes (dx/dθ constant on a tv-only problem: Dẋ = 0).
 */
const LINEAR_TOL = 1e-13;
/** Default cap on the linear iterations (each costs one solve with M, like a Split Bregman step). */
const DEFAULT_MAX_ITER = 100_000;

export interface FixedPointOptions {
  /** Split Bregman's tolerance: duality gap ≤ tol·‖y‖² (default 1e-12). */
  tol?: number;
  /** Cap on the iterations of the linear (tangent or adjoint) fixed-point iteration (default 100000). */
  maxIter?: number;
}

/** The hyperparameters the fixed-point route differentiates in. */
export type FixedPointParameter = "tv" | "l1" | "l2";

/** What both modes report about the fixed point they linearised at. */
interface FixedPointReport {
  /** Split Bregman's iterate at the fixed point (d_1 with l1, else x). */
  x: Float64Array;
  /** Split Bregman steps to the fixed point. */
  solverIterations: number;
  /** Split Bregman met its tolerance (when false, `message` says why: its pattern may not be the solution's). */
  converged: boolean;
  message?: string;
}

export interface FixedPointHypergradient extends FixedPointReport {
  /** dL/dθ (tv: 0 when the problem has no tv term; l1 at l1 = 0 and l2 at l2 = 0: the one-sided derivatives). */
  gradient: Record<FixedPointParameter, number>;
  /** Adjoint iterations. */
  iterations: number;
  /** The adjoint iteration's last relative change ‖ζ⁺ − ζ‖/‖(ζ⁺, q)‖. */
  residual: number;
}

export interface FixedPointDerivatives extends FixedPointReport {
  dxdtv: Float64Array;
  dxdl1: Float64Array;
  dxdl2: Float64Array;
  /** Tangent iterations, summed over the three hyperparameters. */
  iterations: number;
  /** The largest last relative change ‖w⁺ − w‖/‖(w⁺, ẋ)‖ of the three tangent iterations. */
  residual: number;
}

/**
 * One split of Split Bregman: d ≈ Bx (B = D for tv, the identity for l1) with threshold
 * t_i = λ·w_i/μ, linearised at the fixed point: `sign` is sign(d_i), ±1 where |Bx + b|_i > t_i
 * (shrink passes v through: ∂d/∂v = 1, ∂d/∂t = −sign), 0 where it shrinks to 0 (∂d/∂v = 0).
 */
interface Split {
  parameter: "tv" | "l1";
  B: LinearOperator;
  mu: number;
  sign: Int8Array;
  /** w_i: t_i = λ w_i/μ, so ∂t_i/∂λ = w_i/μ (1 for the tv rows, the l1 weights). */
  weight: Float64Array;
  // workspaces: the tangent state (ḋ, ḃ), the adjoint state ζ, B times a vector of length n
  d: Float64Array;
  b: Float64Array;
  zeta: Float64Array;
  image: Float64Array;
}

/**
 * The Split Bregman step z = (d, b) ↦ T(z) at its fixed point with the final μ's fixed:
 *
 *   x(z) = M⁻¹(Aᵀy + Σ_splits μ Bᵀ(d − b)),   M = AᵀA + μ_tv DᵀD + (l2 + μ_1) I,
 *   d⁺ = shrink(Bx + b, λw/μ),   b⁺ = b + Bx − d⁺            (per split).
 *
 * A hyperparameter enters through a threshold (tv, l1: ∂t/∂λ = w/μ) or through x directly:
 * ∂x/∂θ = −M⁻¹s_θ with s_l2 = x (M depends on l2), and, at l1 = 0 where there is no l1 split,
 * s_l1 = w∘sign(x) (l1‖x‖₁ is smooth around an x without zeros: the right derivative).
 */
class Linearization {
  private readonly rhs: Float64Array;
  private readonly work: Float64Array;

  constructor(
    private readonly solver: NormalSolver,
    private readonly splits: Split[],
    /** x at the fixed point (Split Bregman's iterate). */
    private readonly x: Float64Array,
    /** s_l1 when there is no l1 split. */
    private readonly l1Source: Float64Array,
  ) {
    this.rhs = new Float64Array(x.length);
    this.work = new Float64Array(x.length);
  }

  private source(theta: FixedPointParameter): Float64Array | null {
    if (theta === "l2") return this.x;
    if (theta === "l1" && !this.splits.some((s) => s.parameter === "l1")) return this.l1Source;
    return null;
  }

  /** rhs ← Σ μBᵀv_split + scale·s (s may be null); the x-update's right side without Aᵀy. */
  private gather(vectorOf: (split: Split) => Float64Array, s: Float64Array | null, scale: number): Float64Array {
    const { rhs, work } = this;
    if (s) for (let j = 0; j < rhs.length; j++) rhs[j] = scale * s[j];
    else rhs.fill(0);
    for (const split of this.splits) {
      split.B.applyT(vectorOf(split), work);
      for (let j = 0; j < rhs.length; j++) rhs[j] += split.mu * work[j];
    }
    return rhs;
  }

  /** out ← M⁻¹rhs, warm-started from out (an inexact CG x-update is asked for LINEAR_TOL). */
  private solveM(rhs: Float64Array, out: Float64Array): void {
    this.solver.setTolerance?.(0.1 * LINEAR_TOL * norm2(rhs));
    this.solver.solve(rhs, out);
  }

  /**
   * Forward mode: the tangent w = (ḋ, ḃ) = dz/dθ by w ← (∂T/∂z)w + ∂T/∂θ from w = 0, each step
   * the solver's own step differentiated:
   *   ẋ = M⁻¹(Σ μBᵀ(ḋ − ḃ) − s_θ),  v̇ = Bẋ + ḃ,  ḋ⁺ = sign ≠ 0 ? v̇ − sign·∂t/∂θ : 0,  ḃ⁺ = v̇ − ḋ⁺;
   * then dx/dθ = ẋ.
   */
  tangent(theta: FixedPointParameter, maxIter: number): { dx: Float64Array; iterations: number; residual: number } {
    const dx = new Float64Array(this.x.length);
    const source = this.source(theta);
    for (const split of this.splits) {
      split.d.fill(0);
      split.b.fill(0);
    }
    const run = this.iterate(maxIter, `dx/d${theta}`, () => {
      for (const split of this.splits) for (let i = 0; i < split.d.length; i++) split.image[i] = split.d[i] - split.b[i];
      this.solveM(this.gather((split) => split.image, source, -1), dx);
      let change = 0, size = 0;
      for (const split of this.splits) {
        const { d, b, sign, weight, image } = split;
        const rate = split.parameter === theta ? 1 / split.mu : 0;
        split.B.apply(dx, image);
        for (let i = 0; i < d.length; i++) {
          const v = image[i] + b[i];
          const dNext = sign[i] !== 0 ? v - sign[i] * rate * weight[i] : 0;
          const bNext = v - dNext;
          change += (dNext - d[i]) ** 2 + (bNext - b[i]) ** 2;
          size += dNext * dNext + bNext * bNext;
          d[i] = dNext;
          b[i] = bNext;
        }
      }
      return relativeChange(change, size + dot(dx, dx));
    });
    return { dx, ...run };
  }

  /**
   * Reverse mode for a criterion gradient g = ∇ₓL. With λ = (λ_d, λ_b) the adjoint of z,
   * dL/dθ = gᵀ∂x/∂θ + λᵀ∂T/∂θ where λ = (∂T/∂z)ᵀλ + (∂x/∂z)ᵀg. Transposing the step: the
   * shrinkage's adjoint gives η = sign ≠ 0 ? λ_d : λ_b per split, the x-update's (M symmetric)
   * q = M⁻¹(g + Σ Bᵀη), and λ_d⁺ = μBq, λ_b⁺ = η − μBq. λ enters only through η = μζ, so iterate
   *   q = M⁻¹(g + Σ_splits μBᵀζ),   ζ⁺ = Bq where sign ≠ 0, ζ − Bq elsewhere
   * (the method of multipliers for min ½qᵀ(AᵀA + l2 I)q − gᵀq subject to (Bq)_i = 0 where the
   * shrinkage gives 0: the KKT adjoint on the pieces). At the fixed point λ_b − λ_d = −μBq where
   * sign ≠ 0, so with ∂T/∂t = (−sign, +sign) there and ∂x/∂θ = −M⁻¹s_θ:
   *   dL/dθ = −qᵀs_θ − Σ_{splits of θ} Σ_i w_i sign_i (Bq)_i.
   * One adjoint iteration serves every θ.
   */
  gradient(g: Float64Array, maxIter: number): { gradient: Record<FixedPointParameter, number>; iterations: number; residual: number } {
    const q = new Float64Array(this.x.length);
    for (const split of this.splits) split.zeta.fill(0);
    const run = this.iterate(maxIter, "the adjoint", () => {
      this.solveM(this.gather((split) => split.zeta, g, 1), q);
      let change = 0, size = 0;
      for (const split of this.splits) {
        const { zeta, sign, image } = split;
        split.B.apply(q, image);
        for (let i = 0; i < zeta.length; i++) {
          const next = sign[i] !== 0 ? image[i] : zeta[i] - image[i];
          change += (next - zeta[i]) ** 2;
          size += next * next;
          zeta[i] = next;
        }
      }
      return relativeChange(change, size + dot(q, q));
    });
    const gradient = { tv: 0, l1: 0, l2: 0 };
    for (const theta of ["tv", "l1", "l2"] as const) {
      const s = this.source(theta);
      let total = 0;
      if (s) total -= dot(q, s);
      for (const split of this.splits) {
        if (split.parameter !== theta) continue;
        split.B.apply(q, split.image);
        for (let i = 0; i < split.sign.length; i++) total -= split.weight[i] * split.sign[i] * split.image[i];
      }
      gradient[theta] = total;
    }
    return { gradient, ...run };
  }

  /** Run step() until its relative change is ≤ LINEAR_TOL; a NumericalError naming the residual when it is not within maxIter. */
  private iterate(maxIter: number, what: string, step: () => number): { iterations: number; residual: number } {
    let residual = Infinity, iterations = 0;
    while (iterations < maxIter && !(residual <= LINEAR_TOL)) {
      residual = step();
      iterations++;
      if (Number.isNaN(residual) || residual === Infinity) throw new NumericalError(`the fixed-point iteration for ${what} diverged after ${iterations} iterations (relative change ${residual})`);
    }
    if (!(residual <= LINEAR_TOL)) {
      throw new NumericalError(`the fixed-point iteration for ${what} did not converge in ${maxIter} iterations (relative change ${residual.toExponential(2)} > ${LINEAR_TOL}): raise options.maxIter`);
    }
    return { iterations, residual };
  }
}

/** √(change/size), 0 when both vanish (a zero tangent or adjoint is exact). */
function relativeChange(change: number, size: number): number {
  return change === 0 ? 0 : Math.sqrt(change / size);
}

/**
 * dL/dtv, dL/dl1, dL/dl2 by differentiating the Split Bregman iteration at its fixed point
 * (math.md, "Fixed-point differentiation"): Split Bregman runs to tol (default 1e-12), then one
 * adjoint fixed-point iteration with the solver's own x-update. `gradX` is ∇ₓL at the solution
 * (from any solver's solution of this problem: it agrees with this fixed point to the solves'
 * accuracy). A second route beside the KKT system (diff/implicit.ts): it needs no piece
 * structure, so it also serves a user-given D. Needs tv > 0 or l1 > 0 (the splits).
 */
export function fixedPointHypergradient(problem: Problem, gradX: Float64Array, options: FixedPointOptions = {}): FixedPointHypergradient {
  requireProblem(problem);
  const n = problem.A.cols;
  if (!(gradX instanceof Float64Array) || gradX.length !== n || !allFinite(gradX)) throw new InputError("gradX", `expected a Float64Array of ${n} finite numbers (∇ₓL at the solution)`);
  const { tol, maxIter } = checkOptions(options);
  const point = fixedPoint(problem, tol);
  return { ...point.report, ...point.linearization.gradient(gradX, maxIter) };
}

/** dx/dtv, dx/dl1, dx/dl2 in forward mode: one tangent fixed-point iteration per hyperparameter. */
export function fixedPointDerivatives(problem: Problem, options: FixedPointOptions = {}): FixedPointDerivatives {
  requireProblem(problem);
  const { tol, maxIter } = checkOptions(options);
  const point = fixedPoint(problem, tol);
  const [tv, l1, l2] = (["tv", "l1", "l2"] as const).map((theta) => point.linearization.tangent(theta, maxIter));
  return {
    ...point.report,
    dxdtv: tv.dx, dxdl1: l1.dx, dxdl2: l2.dx,
    iterations: tv.iterations + l1.iterations + l2.iterations,
    residual: Math.max(tv.residual, l1.residual, l2.residual),
  };
}

function checkOptions(options: FixedPointOptions): { tol: number; maxIter: number } {
  const tol = options.tol ?? DEFAULT_SOLVE_TOL;
  if (typeof tol !== "number" || !(tol >= 0) || !Number.isFinite(tol)) throw new InputError("options.tol", `expected a non-negative number, got ${tol}`);
  const maxIter = options.maxIter ?? DEFAULT_MAX_ITER;
  if (!Number.isInteger(maxIter) || maxIter <= 0) throw new InputError("options.maxIter", `expected a positive integer, got ${maxIter}`);
  return { tol, maxIter };
}

/** Split Bregman run to tol by its own steps (the driver would polish x and drop the state), and its step linearised there. */
function fixedPoint(problem: Problem, tol: number): { linearization: Linearization; report: FixedPointReport } {
  refuseBasisPursuit(problem, "hypergradients");
  checkProblemClass(splitBregman, problem);
  if (problem.constraints || problem.bounds) throw new InputError(problem.constraints ? "constraints" : "bounds", "fixed-point differentiation handles unconstrained problems only; use the implicit method (the bordered KKT system)");
  requirePositivePenalty(problem);
  const { tv, l1 } = problem.penalty;
  if (!(tv > 0 || l1 > 0)) throw new InputError("penalty", `fixed-point differentiation needs tv > 0 or l1 > 0 (the splits of Split Bregman), got tv = ${tv}, l1 = ${l1}; use the implicit method`);
  const terms = penaltyTerms(problem);
  const n = problem.A.cols;
  // As the driver: the TV certificate decides when Split Bregman stops.
  const tvGap = terms.tv ? (x: Float64Array, zHint: Float64Array | null) => tvCertificate(problem, terms, x, zHint).dualityGap : undefined;
  const { context, state } = splitBregman.setup(problem, terms, new Float64Array(n), { gapTarget: tol * dot(problem.y, problem.y), tvGap });
  requireCertifiableScales(problem);
  let stop = splitBregman.test(context, state);
  while (!stop.done && state.iterations < splitBregman.defaultMaxIter) {
    splitBregman.step(context, state);
    stop = splitBregman.test(context, state);
  }
  const converged = stop.done && stop.reason === undefined;
  const weights = Float64Array.from({ length: n }, (_, j) => problem.penalty.weights?.[j] ?? 1);
  const splits: Split[] = [];
  const split = (parameter: "tv" | "l1", B: LinearOperator, mu: number, d: Float64Array, weight: Float64Array): Split => ({
    parameter, B, mu, sign: Int8Array.from(d, Math.sign), weight,
    d: new Float64Array(B.rows), b: new Float64Array(B.rows), zeta: new Float64Array(B.rows), image: new Float64Array(B.rows),
  });
  if (terms.tv) splits.push(split("tv", terms.tv.D, state.muTv, state.dTv, new Float64Array(terms.tv.D.rows).fill(1)));
  if (state.d1.length > 0) splits.push(split("l1", new IdentityOperator(n), state.mu1, state.d1, weights));
  const x = Float64Array.from(splitBregman.iterate(state));
  const l1Source = Float64Array.from(x, (v, j) => weights[j] * Math.sign(v));
  return {
    linearization: new Linearization(splitBregmanNormalSolver(context, state), splits, x, l1Source),
    report: {
      x,
      solverIterations: state.iterations,
      converged,
      ...(!converged && { message: `Split Bregman did not reach tol ${tol} (${stop.reason ?? `iteration cap ${splitBregman.defaultMaxIter} reached`}): its shrinkage pattern may not be the solution's` }),
    },
  };
}
