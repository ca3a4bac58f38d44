import { NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { Cholesky } from "../linalg/cholesky.js";
import type { Problem } from "../problem.js";

/** Above this many active features the system is solved matrix-free by CG instead of Cholesky. */
export const DENSE_ACTIVE_LIMIT = 1500;

/**
 * The KKT system of the Lasso / Elastic Net on the active set S:
 *
 *   H = A_SᵀA_S + l2·I,   stationarity  H x_S = A_Sᵀy − l1 w_S∘s
 *
 * H is symmetric, so one `solve` serves both the forward (dx/dλ) and the adjoint (H v = g_S)
 * directions. Dense Cholesky for small S, conjugate gradients (matrix-free) for large S.
 */
export class ActiveSetSystem {
  readonly active: Int32Array;
  readonly method: "cholesky" | "cg";
  private readonly problem: Problem;
  private readonly factor: Cholesky | null;
  private readonly scratch: Float64Array;

  /** `method` forces a solver; by default Cholesky up to DENSE_ACTIVE_LIMIT active features, CG above. */
  constructor(problem: Problem, active: ArrayLike<number>, method?: "cholesky" | "cg") {
    this.problem = problem;
    this.active = Int32Array.from(active);
    const k = this.active.length, m = problem.A.rows, l2 = problem.penalty.l2;
    if (k > m && l2 === 0) {
      throw new NumericalError(
        `KKT system singular: ${k} active features but only ${m} measurements and l2 = 0, ` +
          `so the Lasso solution is not unique here; add l2 > 0 (elastic net) or increase l1`,
      );
    }
    this.scratch = new Float64Array(m);
    if ((method ?? (k <= DENSE_ACTIVE_LIMIT ? "cholesky" : "cg")) === "cholesky") {
      this.method = "cholesky";
      try {
        this.factor = Cholesky.factor(this.gram(), k);
      } catch (e) {
        if (!(e instanceof NumericalError)) throw e;
        throw new NumericalError(
          `KKT system singular: the ${k} active columns of A are linearly dependent and l2 = ${l2} (${e.message}); ` +
            `the Lasso solution is not unique; add l2 > 0`,
        );
      }
    } else {
      this.method = "cg";
      this.factor = null;
    }
  }

  get size(): number {
    return this.active.length;
  }

  /** H (k×k, column-major), from the column inner products a_iᵀa_j. */
  private gram(): Float64Array {
    const k = this.active.length, A = this.problem.A, l2 = this.problem.penalty.l2;
    const h = new Float64Array(k * k);
    for (let b = 0; b < k; b++) {
      for (let a = b; a < k; a++) {
        const v = A.columnInner(this.active[a], this.active[b]);
        h[b * k + a] = v;
        h[a * k + b] = v;
      }
      h[b * k + b] += l2;
    }
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
    if (this.factor) return this.factor.solveInPlace(Float64Array.from(b));
    const res = conjugateGradient((v, out) => this.applyH(v, out), b, { tol: 1e-13, maxIter: 20 * this.size });
    if (res.relativeResidual > 1e-8) {
      throw new NumericalError(
        `KKT system on ${this.size} active features is (nearly) singular: conjugate gradients stalled at relative residual ${res.relativeResidual.toExponential(2)}`,
      );
    }
    return res.x;
  }
}
