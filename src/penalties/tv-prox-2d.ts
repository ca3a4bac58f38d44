import { InputError } from "../errors.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { clipInto } from "../linalg/vector.js";
import type { Certificate } from "../kkt/certificate.js";
import { denoisingCertificate } from "../kkt/denoising-certificate.js";
import { tvDual1d, tvProx1d } from "./tv-prox-1d.js";

/**
 * Anisotropic 2-D total-variation denoising of an h×w row-major image v, with a dual certificate:
 *
 *   x = argmin_x P(x) = ½‖x − v‖² + λ‖Dx‖₁,   D = [D_h; D_v] (GridDifferences' ordering:
 *   the h(w−1) horizontal differences, then the (h−1)w vertical ones).
 *
 * Dual: max over |z| ≤ λ of Dual(z) = ½‖v‖² − ½‖v − Dᵀz‖², with x = v − Dᵀz. Writing p = D_hᵀz_h,
 * q = D_vᵀz_v, it is min ½‖v − p − q‖² over p ∈ K_h = {D_hᵀz_h : |z_h| ≤ λ}, q ∈ K_v. For a fixed
 * p the best q is v − p − prox_C(v − p) (C = λ‖D_v·‖₁: exact 1-D solves down the columns), which
 * leaves a smooth function of p with a 1-Lipschitz gradient −prox_C(v − p); FISTA on p with
 * step 1 is then (Chambolle & Pock, "A remark on accelerated block coordinate descent for
 * computing the proximity operators of a sum of convex functions", 2015):
 *
 *   x_c = prox_C(v − p̄)          columns: q = v − p̄ − x_c = D_vᵀz_v
 *   x_r = prox_R(p̄ + x_c)        rows:    p = p̄ + x_c − x_r = D_hᵀz_h
 *   p̄ ← p + β(p − p_prev)        (β from FISTA's t, reset to 0 when p − p_prev turns against the step)
 *
 * and v − p − q = x_r: the row solve's output is the primal point of the dual pair z = (z_h, z_v),
 * read off the two 1-D solves by tvDual1d. The gap at x = v − Dᵀz is, term by term,
 *
 *   gap = P(x) − Dual(z) = Σ_e λ|(Dx)_e| − z_e (Dx)_e ≥ P(x) − P(x*) ≥ ½‖x − x*‖²,
 *
 * a rigorous bound (to rounding) on the suboptimality of the returned x. Without acceleration this
 * is proximal Dykstra / alternating projections (Barbero & Sra, "Modular proximal optimization for
 * multidimensional total-variation regularization"); the acceleration is what makes it fast.
 */
export interface TvProx2dOptions {
  /** Stop when gap ≤ tol·½‖v − v̄‖² (the objective at the constant image v̄, an upper bound on P(x*)). Default 1e-10. */
  tol?: number;
  /** Stop when gap ≤ gapTarget instead (an absolute target: no pass over v to scale tol). */
  gapTarget?: number;
  /** Iterations (one column pass and one row pass each). Default 10000. */
  maxIter?: number;
  /** Evaluate the certificate every this many iterations (a few passes over memory, no 1-D solve). Default 4. */
  checkEvery?: number;
  /** Buffers reused across calls (no allocation then); `result.dual` is its `dual`, overwritten by the next call. */
  workspace?: TvProx2dWorkspace;
  /** A previous dual (length h(w−1) + (h−1)w, e.g. at a nearby λ): its horizontal part, clipped to [−λ, λ], starts p. May be `workspace.dual`. */
  warmDual?: Float64Array;
}

export interface TvProx2dResult {
  iterations: number;
  /** P(out) − Dual(dual) ≥ P(out) − P(x*). */
  gap: number;
  /** The whole certificate of (out, dual): objective, gap, KKT violation, margins. */
  certificate: Certificate;
  /** z with |z_e| ≤ λ (horizontal edges, then vertical) and out = v − Dᵀz up to rounding. */
  dual: Float64Array;
  converged: boolean;
}

/** Images up to this many pixels share their scratch (below): 6 of them stay allocated, 48 MB at most. */
const SHARED_SCRATCH_PIXELS = 1 << 20;
let sharedScratch: { h: number; w: number; images: Float64Array[] } | null = null;

/**
 * The six scratch images of a workspace. Workspaces of the latest size share them: tvProx2d runs
 * to completion and is never re-entered, and only the dual carries over between calls, while
 * fresh images cost a small solve page faults (about 0.5 ms of a 13 ms solve at 256×256).
 */
function scratchImages(h: number, w: number): Float64Array[] {
  const fresh = () => Array.from({ length: 6 }, () => new Float64Array(h * w));
  if (h * w > SHARED_SCRATCH_PIXELS) return fresh();
  if (sharedScratch?.h !== h || sharedScratch.w !== w) sharedScratch = { h, w, images: fresh() };
  return sharedScratch.images;
}

/** Scratch images (shared by workspaces of one size, see scratchImages) and the dual for one image size. */
export class TvProx2dWorkspace {
  readonly dual: Float64Array;
  readonly differences: GridDifferences;
  /** The row dual image p = D_hᵀz_h and its extrapolation p̄. */
  readonly p: Float64Array;
  readonly pBar: Float64Array;
  /** The column solve, in place: v − p̄ in, x_c out. */
  readonly columns: Float64Array;
  /** The row solve's input p̄ + x_c and output x_r. */
  readonly rowIn: Float64Array;
  readonly rowOut: Float64Array;
  /** x = v − Dᵀz, the certified point (of the last call on any workspace of this size). */
  readonly x: Float64Array;

  constructor(readonly h: number, readonly w: number) {
    this.differences = new GridDifferences([h, w]);
    this.dual = new Float64Array(this.differences.rows);
    [this.p, this.pBar, this.columns, this.rowIn, this.rowOut, this.x] = scratchImages(h, w);
  }
}

export function tvProx2d(v: Float64Array, h: number, w: number, lambda: number, out: Float64Array, options: TvProx2dOptions = {}): TvProx2dResult {
  const ws = options.workspace ?? new TvProx2dWorkspace(h, w);
  const n = h * w, horizontal = h * (w - 1);
  const tol = options.tol ?? 1e-10, maxIter = options.maxIter ?? 10000, checkEvery = options.checkEvery ?? 4;
  if (ws.h !== h || ws.w !== w) throw new InputError("workspace", `expected a workspace for ${h}×${w} (got ${ws.h}×${ws.w})`);
  if (v.length !== n || out.length !== n) throw new InputError("v", `expected v and out of length h·w = ${n} (got ${v.length}, ${out.length})`);
  if (!(lambda >= 0 && lambda < Infinity)) throw new InputError("lambda", `expected a finite number ≥ 0 (got ${lambda})`);
  if (!(tol >= 0)) throw new InputError("tol", `expected a number ≥ 0 (got ${tol})`);
  if (!(Number.isInteger(maxIter) && maxIter >= 1 && Number.isInteger(checkEvery) && checkEvery >= 1)) throw new InputError("maxIter", "expected integers maxIter ≥ 1 and checkEvery ≥ 1");
  const warm = options.warmDual;
  if (warm && warm.length !== ws.dual.length) throw new InputError("warmDual", `expected length ${ws.dual.length} (got ${warm.length})`);
  if (options.gapTarget !== undefined && !(options.gapTarget >= 0)) throw new InputError("gapTarget", `expected a number ≥ 0 (got ${options.gapTarget})`);
  const z = ws.dual, target = options.gapTarget ?? tol * halfSpread(v);

  if (h === 1 || w === 1) {
    // A single line: one exact 1-D solve, its dual is the whole certificate.
    tvProx1d(v, lambda, ws.rowOut);
    tvDual1d(v, ws.rowOut, lambda, z);
    return finish(certify(v, lambda, ws, target), out, ws, 1);
  }

  const { p, pBar, columns, rowIn, rowOut } = ws;
  if (warm) {
    // The warm dual, clipped to the box, may certify the answer already (a re-solve at the same
    // or a nearby λ): no iteration then. Otherwise its horizontal part starts p.
    clipInto(warm, lambda, z);
    const before = certify(v, lambda, ws, target);
    if (before.converged) return finish(before, out, ws, 0);
    z.fill(0, horizontal);
    ws.differences.applyT(z, p);
    pBar.set(p);
    for (let i = 0; i < n; i++) columns[i] = v[i] - p[i];
  } else {
    p.fill(0);
    pBar.fill(0);
    columns.set(v);
  }
  let t = 1, iter = 0;
  for (;;) {
    iter++;
    for (let c = 0; c < w; c++) tvProx1d(columns, lambda, columns, h, c, w);
    for (let i = 0; i < n; i++) rowIn[i] = pBar[i] + columns[i];
    for (let r = 0; r < h; r++) tvProx1d(rowIn, lambda, rowOut, w, r * w, 1);
    if (iter === maxIter || iter % checkEvery === 0) {
      // z_v from the column solve (its input v − p̄ rebuilt in x), z_h from the row solve.
      columnDuals(v, pBar, columns, lambda, z, h, w);
      for (let r = 0; r < h; r++) tvDual1d(rowIn, rowOut, lambda, z, w, r * w, 1, r * (w - 1), 1);
      const certificate = certify(v, lambda, ws, target);
      if (certificate.converged || iter === maxIter) return finish(certificate, out, ws, iter);
    }
    // p ← p̄ + x_c − x_r, p̄ ← p + β(p − p_prev) (β = 0 after a restart: when the step p − p̄ turns
    // against the momentum p − p_prev, O'Donoghue & Candès), and the next column input v − p̄.
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2, beta = (t - 1) / tNext;
    let against = 0;
    for (let i = 0; i < n; i++) {
      const pNew = rowIn[i] - rowOut[i], step = pNew - p[i];
      against += (pBar[i] - pNew) * step;
      p[i] = pNew;
      pBar[i] = pNew + beta * step;
      columns[i] = v[i] - pBar[i];
    }
    t = tNext;
    if (against > 0) {
      t = 1;
      pBar.set(p);
      for (let i = 0; i < n; i++) columns[i] = v[i] - p[i];
    }
  }
}

/**
 * The vertical duals of the column solve (input v − p̄, output x_c = `columns`): down each column
 * z_k = clip(z_{k−1} + (x_c − v + p̄)_k) as tvDual1d computes, but row by row, reading memory in
 * order (a column at a time strides by w).
 */
function columnDuals(v: Float64Array, pBar: Float64Array, columns: Float64Array, lambda: number, z: Float64Array, h: number, w: number): void {
  const bound = lambda * 1, vertical = h * (w - 1);
  for (let r = 0; r + 1 < h; r++) {
    for (let c = 0, i = r * w; c < w; c++, i++) {
      const partial = (r > 0 ? z[vertical + i - w] : 0) + columns[i] - (v[i] - pBar[i]);
      z[vertical + i] = partial > bound ? bound : partial < -bound ? -bound : partial;
    }
  }
}

/**
 * The certificate of z = ws.dual at x = v − Dᵀz (left in ws.x): its gap Σ_e λ|(Dx)_e| − z_e(Dx)_e
 * (each term ≥ 0 as |z_e| ≤ λ; kkt/denoising-certificate.ts, which also gives the objective and
 * the margins the solve reports); converged: gap ≤ max(target, its rounding floor).
 */
function certify(v: Float64Array, lambda: number, ws: TvProx2dWorkspace, target: number): { gap: number; converged: boolean; certificate: Certificate } {
  const { x, dual: z } = ws;
  ws.differences.applyT(z, x);
  for (let i = 0; i < x.length; i++) x[i] = v[i] - x[i];
  const { certificate, roundingFloor } = denoisingCertificate(v, lambda, [ws.h, ws.w], x, z);
  return { gap: certificate.dualityGap, converged: certificate.dualityGap <= Math.max(target, roundingFloor), certificate };
}

function finish(checked: ReturnType<typeof certify>, out: Float64Array, ws: TvProx2dWorkspace, iterations: number): TvProx2dResult {
  out.set(ws.x);
  return { iterations, ...checked, dual: ws.dual };
}

/** ½‖v − v̄‖² = P(v̄): the scale of the objective (0 only for a constant image, solved by v itself). */
function halfSpread(v: Float64Array): number {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - mean) ** 2;
  return s / 2;
}
