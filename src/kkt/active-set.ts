import { NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { Cholesky } from "../linalg/cholesky.js";
import type { Problem } from "../problem.js";

/**
 * Cholesky (Gram k²m/2 + factor k³/6 flops, then exact) or CG (2km flops per iteration; 40-70
 * iterations to 1e-11 on Lasso supports with k/m between 0.1 and 0.4)? Factor when
 * k²m/2 + k³/6 ≤ 2km·CG_ITERATIONS_ESTIMATE·(Gram kernel speed-up ≈ 1.5). Measured: k = 93,
 * m = 1000: Cholesky 1.9 ms, CG 3.2 ms; k = 554, m = 400: Cholesky 58 ms, CG 11 ms.
 */
const CG_ITERATIONS_ESTIMATE = 50;
export function prefersCholesky(k: number, m: number): boolean {
  return k / 2 + (k * k) / (6 * m) <= 2 * 1.5 * CG_ITERATIONS_ESTIMATE;
}
/** CG relative residual accepted by `solve`; a stalled CG falls back to Cholesky. */
const CG_TOL = 1e-11;

export type KktMethod = "cholesky" | "cg";

/**
 * The KKT system of the Lasso / Elastic Net on the active set S:
 *
 *   H = A_SᵀA_S + l2·I,   stationarity  H x_S = A_Sᵀy − l1 w_S∘s
 *
 * H is symmetric, so one `solve` serves both the forward (dx/dλ) and the adjoint (H v = g_S)
 * directions. By default: Cholesky for small S, matrix-free conjugate gradients for large S
 * with Cholesky as the fallback when CG stalls (ill-conditioned H).
 */
export class ActiveSetSystem {
  readonly active: Int32Array;
  /** How the last solve was done. */
  method: KktMethod;
  private readonly problem: Problem;
  private readonly forced: KktMethod | undefined;
  private factor: Cholesky | null = null;
  private readonly scratch: Float64Array;

  /** `method` forces a solver (no fallback); by default as described above. */
  constructor(problem: Problem, active: ArrayLike<number>, method?: KktMethod) {
    this.problem = problem;
    this.active = Int32Array.from(active);
    this.forced = method;
    const k = this.active.length, m = problem.A.rows, l2 = problem.penalty.l2;
    if (k > m && l2 === 0) {
      throw new NumericalError(
        `KKT system singular: ${k} active features but only ${m} measurements and l2 = 0, ` +
          `so the Lasso solution is not unique here; add l2 > 0 (elastic net) or increase l1`,
      );
    }
    this.scratch = new Float64Array(m);
    this.method = method ?? (prefersCholesky(k, m) ? "cholesky" : "cg");
    if (this.method === "cholesky") this.factorize();
  }

  private factorize(): Cholesky {
    if (this.factor) return this.factor;
    const k = this.active.length;
    try {
      this.factor = Cholesky.factor(this.gram(), k);
      return this.factor;
    } catch (e) {
      if (!(e instanceof NumericalError)) throw e;
      throw new NumericalError(
        `KKT system singular: the ${k} active columns of A are linearly dependent and l2 = ${this.problem.penalty.l2} (${e.message}); ` +
          `the Lasso solution is not unique; add l2 > 0`,
      );
    }
  }

  get size(): number {
    return this.active.length;
  }

  /** H (k×k, column-major): the operator's Gram kernel when it has one, else column inner products. */
  private gram(): Float64Array {
    const k = this.active.length, A = this.problem.A, l2 = this.problem.penalty.l2;
    let h: Float64Array;
    if (A.gram) {
      h = A.gram(this.active);
    } else {
      h = new Float64Array(k * k);
      for (let b = 0; b < k; b++) {
        for (let a = b; a < k; a++) h[b * k + a] = h[a * k + b] = A.columnInner(this.active[a], this.active[b]);
      }
    }
    for (let b = 0; b < k; b++) h[b * k + b] += l2;
    return h;
  }

  /** out ← H v */
  applyH(v: Float64Array, out: Float64Array): void {
    const A = this.problem.A, s = this.scratch, k = this.active.length;
    s.fill(0);
    for (let a = 0; a < k; a++) if (v[a] !== 0) A.columnAxpy(this.active[a], v[a], s);
    for (let a = 0; a < k; a++) out[a] = A.columnDot(this.active[a], s) + this.problem.penalty.l2 * v[a];
  }

  /** H⁻¹ b (a new array; b is left untouched). */
  solve(b: Float64Array): Float64Array {
    if (this.method === "cg") {
      const k = this.size;
      const res = conjugateGradient((v, out) => this.applyH(v, out), b, { tol: CG_TOL, maxIter: Math.min(3 * k + 20, 300) });
      if (res.relativeResidual <= CG_TOL * 100) return res.x;
      if (this.forced === "cg") {
        throw new NumericalError(
          `KKT system on ${k} active features is (nearly) singular: conjugate gradients stalled at relative residual ${res.relativeResidual.toExponential(2)}`,
        );
      }
      this.method = "cholesky";
    }
    return this.factorize().solveInPlace(Float64Array.from(b));
  }
}

/**
 * The last system built on each operator, by (active set, l2): polishing a solution and
 * differentiating it need the same H, so the factorisation made for one serves the other.
 * A memo of a function of (problem, solution): which solver ran does not enter.
 */
const lastSystem = new WeakMap<object, { l2: number; system: ActiveSetSystem }>();

export function activeSetSystem(problem: Problem, active: ArrayLike<number>): ActiveSetSystem {
  const cached = lastSystem.get(problem.A);
  if (cached && cached.l2 === problem.penalty.l2 && sameIndices(cached.system.active, active)) return cached.system;
  const system = new ActiveSetSystem(problem, active);
  lastSystem.set(problem.A, { l2: problem.penalty.l2, system });
  return system;
}

function sameIndices(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
