import { InputError } from "../errors.js";
import { allFinite, axpy, dot, norm2Robust } from "./vector.js";

/** Relative size (to ‖J v_j‖) below which a pivot of the triangular factor counts as zero: J singular on the Krylov space. */
const BREAKDOWN = 1e-14;

export interface GmresResult {
  /** Matrix-vector products spent (the Krylov steps, plus one per restart for its residual). */
  iterations: number;
  /** ‖b − J x‖ / ‖b‖ at exit, recomputed from x (not the recurrence's estimate). */
  relativeResidual: number;
  converged: boolean;
}

/**
 * Restarted GMRES(m) for J x = b, J square and possibly non-symmetric, given only as a product
 * `apply(v, out)` (out ← J v). All workspaces are allocated once for a size n and restart length
 * m, and reused by every solve: no allocation per iteration.
 *
 * Each cycle builds an orthonormal Krylov basis V of span{r, Jr, …} by modified Gram–Schmidt
 * (J V_k = V_{k+1} H̄_k), reduces the Hessenberg H̄ to triangular form by Givens rotations, and
 * takes x ← x + V_k y with y = argmin ‖β e₁ − H̄_k y‖; the rotated right side's last entry is that
 * minimum residual. Saad and Schultz (1986).
 */
export class Gmres {
  private readonly basis: Float64Array[]; // (m + 1) columns of length n (views of one buffer)
  private readonly hessenberg: Float64Array; // (m + 1) × m, column-major
  private readonly cosines: Float64Array;
  private readonly sines: Float64Array;
  private readonly rhs: Float64Array; // β e₁, rotated
  private readonly coefficients: Float64Array; // y
  private readonly work: Float64Array;

  constructor(readonly size: number, readonly restart = Math.max(1, Math.min(size, 50))) {
    if (!Number.isInteger(size) || size < 0) throw new InputError("size", `expected a non-negative integer, got ${size}`);
    if (!Number.isInteger(restart) || restart < 1) throw new InputError("restart", `expected a positive integer, got ${restart}`);
    const m = restart;
    const buffer = new Float64Array((m + 1) * size);
    this.basis = Array.from({ length: m + 1 }, (_, j) => buffer.subarray(j * size, (j + 1) * size));
    this.hessenberg = new Float64Array((m + 1) * m);
    this.cosines = new Float64Array(m);
    this.sines = new Float64Array(m);
    this.rhs = new Float64Array(m + 1);
    this.coefficients = new Float64Array(m);
    this.work = new Float64Array(size);
  }

  /**
   * x ← J⁻¹b from the x given (zero it for a cold start). Stops when ‖b − Jx‖ ≤ tol·‖b‖, when
   * maxIter products are spent, or when a whole cycle does not lower the residual (stagnation,
   * e.g. a singular J): `converged` then says false and `relativeResidual` how far it got.
   */
  solve(apply: (v: Float64Array, out: Float64Array) => void, b: Float64Array, x: Float64Array, { tol = 1e-12, maxIter = 10 * this.size + 100 }: { tol?: number; maxIter?: number } = {}): GmresResult {
    const { size: n, restart: m, basis: V, hessenberg: H, cosines: cs, sines: sn, rhs: g, coefficients: y, work: w } = this;
    if (typeof apply !== "function") throw new InputError("apply", "expected a function (v, out) => void writing J v into out");
    if (!(b instanceof Float64Array) || b.length !== n || !allFinite(b)) throw new InputError("b", `expected a Float64Array of ${n} finite numbers`);
    if (!(x instanceof Float64Array) || x.length !== n) throw new InputError("x", `expected a Float64Array of length ${n} (the start, overwritten by the answer)`);
    const bNorm = norm2Robust(b);
    if (bNorm === 0) {
      x.fill(0);
      return { iterations: 0, relativeResidual: 0, converged: true };
    }
    const target = tol * bNorm;
    let iterations = 0;
    let previous = Infinity;
    for (;;) {
      // r = b − J x, the true residual, into the first basis column
      apply(x, w);
      iterations++;
      const r = V[0];
      for (let i = 0; i < n; i++) r[i] = b[i] - w[i];
      const beta = norm2Robust(r);
      if (beta <= target || iterations >= maxIter || !(beta < previous)) {
        return { iterations, relativeResidual: beta / bNorm, converged: beta <= target };
      }
      previous = beta;
      for (let i = 0; i < n; i++) r[i] /= beta;
      g.fill(0);
      g[0] = beta;
      let k = 0;
      while (k < m && iterations < maxIter) {
        const j = k;
        const vj = V[j];
        const next = V[j + 1];
        apply(vj, next);
        iterations++;
        const image = norm2Robust(next); // ‖J v_j‖: the scale for "numerically zero" below
        const column = j * (m + 1);
        for (let i = 0; i <= j; i++) {
          const vi = V[i];
          const h = dot(next, vi);
          H[column + i] = h;
          axpy(-h, vi, next);
        }
        const sub = norm2Robust(next);
        H[column + j + 1] = sub;
        if (sub > 0) for (let i = 0; i < n; i++) next[i] /= sub;
        // the earlier rotations on the new column, then the one that zeroes its subdiagonal
        for (let i = 0; i < j; i++) {
          const a = H[column + i], c = H[column + i + 1];
          H[column + i] = cs[i] * a + sn[i] * c;
          H[column + i + 1] = -sn[i] * a + cs[i] * c;
        }
        const a = H[column + j];
        const radius = Math.hypot(a, sub);
        if (!(radius > BREAKDOWN * image)) break; // J is singular on the Krylov space: v_j adds nothing
        cs[j] = a / radius;
        sn[j] = sub / radius;
        H[column + j] = radius;
        H[column + j + 1] = 0;
        g[j + 1] = -sn[j] * g[j];
        g[j] = cs[j] * g[j];
        k = j + 1;
        if (Math.abs(g[k]) <= target || sub === 0) break;
      }
      // y = R⁻¹ g (back substitution), x ← x + V y
      for (let i = k - 1; i >= 0; i--) {
        let s = g[i];
        for (let l = i + 1; l < k; l++) s -= H[l * (m + 1) + i] * y[l];
        y[i] = s / H[i * (m + 1) + i];
      }
      for (let i = 0; i < k; i++) axpy(y[i], V[i], x);
    }
  }
}
