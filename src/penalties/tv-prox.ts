import { softThreshold } from "../linalg/vector.js";
import type { GridDifferences } from "../operators/finite-differences.js";
import type { Certificate } from "../kkt/certificate.js";
import type { Penalty } from "../problem.js";
import { tvDual1d, tvProx1d } from "./tv-prox-1d.js";
import { tvProx2d, TvProx2dWorkspace } from "./tv-prox-2d.js";

/** How a prox evaluation went: its certified gap (0 for the exact 1-D solve) and its iterations. */
export interface ProxReport {
  gap: number;
  iterations: number;
  converged: boolean;
  /** 2-D: the whole certificate of (out, dual) for ½‖out − v‖² + λ‖D·out‖₁. */
  certificate?: Certificate;
}

/** The 2-D prox's stopping rule (tv-prox-2d.ts): a relative tol or an absolute gapTarget; iterations; warm start from `dual`. */
export interface ProxOptions {
  tol?: number;
  gapTarget?: number;
  maxIter?: number;
  warm?: boolean;
  checkEvery?: number;
}

/**
 * The prox of λ‖D·‖₁ on a grid, with its dual: exact in 1-D (Condat), certified in 2-D
 * (tv-prox-2d.ts). `dual` holds z with out = v − Dᵀz, |z| ≤ λ, and warm-starts the next call.
 */
export class GridTvProx {
  readonly dual: Float64Array;
  private readonly workspace: TvProx2dWorkspace | null;

  constructor(readonly D: GridDifferences) {
    const [h, w] = D.shape;
    this.workspace = h > 1 && w > 1 ? new TvProx2dWorkspace(h, w) : null;
    this.dual = this.workspace ? this.workspace.dual : new Float64Array(D.rows);
  }

  /** out ← prox_{λ‖D·‖₁}(v) (out ≠ v); 2-D: to the gap options ask for, warm-started from `dual` when `warm`. */
  apply(v: Float64Array, lambda: number, out: Float64Array, options: ProxOptions = {}): ProxReport {
    if (!this.workspace) {
      tvProx1d(v, lambda, out);
      tvDual1d(v, out, lambda, this.dual);
      return { gap: 0, iterations: 1, converged: true };
    }
    const [h, w] = this.D.shape;
    const result = tvProx2d(v, h, w, lambda, out, {
      tol: options.tol, gapTarget: options.gapTarget, maxIter: options.maxIter, workspace: this.workspace, warmDual: options.warm ? this.dual : undefined, checkEvery: options.checkEvery,
    });
    return { gap: result.gap, iterations: result.iterations, converged: result.converged, certificate: result.certificate };
  }
}

/**
 * The prox of t·(l1‖·‖₁ + l2/2‖·‖² + tv‖D·‖₁) on a grid:
 *   with l2: prox_{t(h + l2/2‖·‖²)}(v) = prox_{t'h}(v/(1 + t·l2)), t' = t/(1 + t·l2) (h positively homogeneous);
 *   with l1: prox_{t'(l1‖·‖₁ + tv‖D·‖₁)} = soft_{t'l1} ∘ prox_{t'tv‖D·‖₁} (the fused-lasso
 *   property: soft-thresholding keeps the pieces' order, Friedman et al. 2007, any graph).
 * `dualEstimate()` is the tv dual of the last call divided by t': at a fixed point of a
 * proximal-gradient step it is the z of Aᵀ(Ax − y) + l1u + l2x + Dᵀz = 0.
 */
export class CompositeTvProx {
  private readonly tvProx: GridTvProx;
  /** v/(1 + t·l2) when l2 > 0 (allocated on first need). */
  private scaled: Float64Array | null = null;
  private lastScale = 1;

  constructor(D: GridDifferences, private penalty: Penalty) {
    this.tvProx = new GridTvProx(D);
  }

  /** The same workspaces (and dual, the next warm start) for other penalty values. */
  withPenalty(penalty: Penalty): this {
    this.penalty = penalty;
    return this;
  }

  apply(v: Float64Array, t: number, out: Float64Array, options: ProxOptions = {}): ProxReport {
    const { l1, l2, tv } = this.penalty;
    const shrink = 1 / (1 + t * l2), tPrime = t * shrink;
    let input = v;
    if (shrink !== 1) {
      input = this.scaled ??= new Float64Array(v.length);
      for (let j = 0; j < v.length; j++) input[j] = v[j] * shrink;
    }
    const report = this.tvProx.apply(input, tPrime * tv, out, options);
    if (l1 > 0) for (let j = 0; j < out.length; j++) out[j] = softThreshold(out[j], tPrime * l1);
    this.lastScale = tPrime;
    return report;
  }

  /** z/t' for the tv rows: the prox's own dual when t' = 1 (read it before the next apply), else a new array. */
  dualEstimate(): Float64Array {
    const s = 1 / this.lastScale, dual = this.tvProx.dual;
    if (s === 1) return dual;
    const out = new Float64Array(dual.length);
    for (let e = 0; e < dual.length; e++) out[e] = dual[e] * s;
    return out;
  }

  /** The raw dual of the last call (to warm-start from, or restore into). */
  get dual(): Float64Array {
    return this.tvProx.dual;
  }
}
