import { conjugateGradient } from "../linalg/cg.js";
import { dot, norm1, normInf } from "../linalg/vector.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { IdentityOperator } from "../operators/identity.js";
import { boxed } from "../penalties/box.js";
import type { PenaltyTerms, SeparablePenalty } from "../penalties/index.js";
import { L1Penalty } from "../penalties/l1.js";
import type { TotalVariation } from "../penalties/total-variation.js";
import type { Problem } from "../problem.js";
import { feasibilityResidual, residualAndCorrelation, type Certificate } from "./certificate.js";
import { denoisingCertificate } from "./denoising-certificate.js";

/**
 * The certificate of x for ½‖Ax − y‖² + g(x) + tv‖Dx‖₁ (g separable, possibly absent; boxed
 * when the problem has bounds), subject to Cx = d when the problem has constraints, from the
 * (Lagrangian) Fenchel dual at the multipliers ν (`nu`, one per row of C)
 *
 *   max over θ, z:  yᵀθ − νᵀd − ½‖θ‖² − g*(Aᵀθ − Dᵀz − Cᵀν)   subject to |z_e| ≤ tv,
 *
 * at θ = y − Ax and a witness z for the tv rows: built exactly on a 1-D grid (D has full row
 * rank, so z follows from stationarity by a running sum), else the solver's dual estimate
 * `zHint` (Split Bregman's μb, the prox's dual) corrected so that Dᵀz = Aᵀθ when g is absent.
 * (θ, z) is scaled by the smallest s ≥ 1 that makes it feasible, so the gap is a true bound.
 * For denoising without g, θ = Dᵀz itself is feasible: the cheap classical dual unless `exact`.
 */
export function tvCertificate(problem: Problem, terms: PenaltyTerms, x: Float64Array, zHint: Float64Array | null = null, { exact = false, nu = null as Float64Array | null } = {}): Certificate {
  const tv = terms.tv!, D = tv.D, constraints = problem.constraints;
  // Bounds without l1/l2: g is the box's indicator alone.
  const sep = terms.separable ?? (problem.bounds ? boxed(new L1Penalty(0), problem.bounds) : null);
  const chain = D instanceof GridDifferences && D.shape[0] === 1 && !problem.bounds;
  const n = x.length;
  const multipliers = constraints ? (nu ?? new Float64Array(constraints.C.rows)) : null;
  const ctnu = multipliers ? constraints!.C.applyT(multipliers, new Float64Array(n)) : null;
  // (`exact`: a polished x whose hint was made for another point: correct the witness instead.)
  if (!sep && problem.A instanceof IdentityOperator && D instanceof GridDifferences && zHint && !chain && !exact) {
    const cert = denoisingCertificate(problem.y, tv.weight, D.shape, x, zHint, ctnu, multipliers ? dot(multipliers, constraints!.d) : 0).certificate;
    if (constraints) cert.feasibilityResidual = feasibilityResidual(problem, x);
    return cert;
  }
  const m = problem.A.rows;
  const r = new Float64Array(m), c = new Float64Array(n);
  residualAndCorrelation(problem, x, r, c);
  const objective = 0.5 * dot(r, r) + (sep ? sep.value(x) : 0) + tv.value(x);
  // c = Aᵀθ − Cᵀν and the dual's offset νᵀd (as constrainedCertificate).
  if (ctnu) for (let j = 0; j < n; j++) c[j] -= ctnu[j];
  const offset = multipliers ? dot(multipliers, constraints!.d) : 0;
  if (!sep) centreResidual(problem, r, c, ctnu);
  const z = witness(problem, tv, sep, x, c, zHint, exact);
  if (!terms.separable && sep) boxWitness(problem, D, sep, x, r, c, ctnu, z);
  const { v, scale: s, kktViolation: kkt } = dualScale(tv, sep, x, c, z);
  let conjugates = 0;
  if (sep) for (let j = 0; j < n; j++) conjugates += sep.conjugate(j, v[j] / s);
  const dual = (dot(problem.y, r) - offset) / s - (0.5 * dot(r, r)) / (s * s) - conjugates;
  const cert: Certificate = { ...margins(problem, tv, sep, x, z), objective, dualityGap: Math.max(0, objective - dual), kktViolation: kkt };
  if (constraints) cert.feasibilityResidual = feasibilityResidual(problem, x);
  return cert;
}

/**
 * v = c − Dᵀz (what g* sees, and what must vanish without g), the smallest s ≥ 1 with
 * |z_e| ≤ s·tv and v/s in the domain of g* (entries no scaling reaches are set to 0 in v: the
 * violation counts them), and the stationarity violation max(tv(s_z − 1), dist(v_j, ∂g_j(x_j))).
 */
function dualScale(tv: TotalVariation, sep: SeparablePenalty | null, x: Float64Array, c: Float64Array, z: Float64Array): { v: Float64Array; scale: number; kktViolation: number } {
  const n = x.length;
  const dz = tv.D.applyT(z, new Float64Array(n));
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) v[j] = c[j] - dz[j];
  let s = Math.max(1, normInf(z) / tv.weight);
  let kkt = tv.weight * (s - 1);
  if (sep) {
    for (let j = 0; j < n; j++) {
      kkt = Math.max(kkt, sep.subdiffDistance(j, x[j], v[j]));
      // Signed: a box makes g_j* one-sided. No scaling reaches the domain of a cone's
      // indicator (a box side open, no l1): v_j leaves it by rounding only; take 0 there (KKT counts it).
      const scale = sep.dualScale(j, v[j]);
      if (scale === Infinity) v[j] = 0;
      else s = Math.max(s, scale);
    }
  } else {
    kkt = Math.max(kkt, normInf(v));
  }
  return { v, scale: s, kktViolation: kkt };
}

/**
 * Basis pursuit with tv, min g(x) + tv‖Dx‖₁ subject to Ax = y (g = l1‖·‖₁ or absent): how far
 * c = Aᵀw is from ∂(g + tv‖D·‖₁)(x), with the witness flow z of tvCertificate (exact on a 1-D
 * grid; from the hint, corrected without g, on 2-D grids). Returns the smallest s ≥ 1 that makes
 * w/s dual feasible (Aᵀw/s = Dᵀz/s + v/s with |z/s| ≤ tv, v/s ∈ dom g*: the ball of the penalty's
 * dual norm), the stationarity violation and the margins. Without g, w and c are first centred
 * (w ← w − α·A1, c ← Aᵀw: Aᵀw ∈ range(Dᵀ) needs Σ_j c_j = 0). `exact`: x is a polished
 * candidate, its jumps carry z_e = tv·sign((Dx)_e) whatever the hint says.
 */
export function basisPursuitTvCheck(problem: Problem, terms: PenaltyTerms, x: Float64Array, w: Float64Array, c: Float64Array, zHint: Float64Array | null, exact: boolean): { scale: number; kktViolation: number; complementarityMargin: number; smallestActive: number } {
  const tv = terms.tv!, sep = terms.separable;
  if (!sep) centreResidual(problem, w, c, null);
  const z = witness(problem, tv, sep, x, c, zHint, exact);
  const { scale, kktViolation } = dualScale(tv, sep, x, c, z);
  return { scale, kktViolation, ...margins(problem, tv, sep, x, z) };
}

/** 1 − max |z_e|/tv over the edges without a jump, and the smallest jump (or |x_j| on the support with l1). */
function margins(problem: Problem, tv: TotalVariation, sep: SeparablePenalty | null, x: Float64Array, z: Float64Array): { complementarityMargin: number; smallestActive: number } {
  const dx = tv.D.apply(x, new Float64Array(tv.D.rows));
  let maxFlat = 0, smallestActive = Infinity;
  for (let e = 0; e < dx.length; e++) {
    if (dx[e] === 0) maxFlat = Math.max(maxFlat, Math.abs(z[e]));
    else smallestActive = Math.min(smallestActive, Math.abs(dx[e]));
  }
  if (sep && problem.penalty.l1 > 0) for (let j = 0; j < x.length; j++) if (x[j] !== 0) smallestActive = Math.min(smallestActive, Math.abs(x[j]));
  return { complementarityMargin: 1 - maxFlat / tv.weight, smallestActive };
}

/**
 * Without g the dual needs c = Aᵀθ − Cᵀν ∈ range(Dᵀ), i.e. Σ_j c_j = 0 on a connected grid
 * (D1 = 0): θ ← r − α·A1 with α = Σ_j c_j/‖A1‖² (c updated to Aᵀθ − Cᵀν). At the solution α = 0.
 */
function centreResidual(problem: Problem, r: Float64Array, c: Float64Array, ctnu: Float64Array | null): void {
  const { A } = problem;
  const a1 = A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows));
  const aa = dot(a1, a1);
  if (aa === 0) return;
  let sum = 0;
  for (let j = 0; j < c.length; j++) sum += c[j];
  const alpha = sum / aa;
  for (let i = 0; i < r.length; i++) r[i] -= alpha * a1[i];
  A.applyT(r, c);
  if (ctnu) for (let j = 0; j < c.length; j++) c[j] -= ctnu[j];
}

/** A dual point z for the tv rows: Dᵀz + (∇g or l1·u) = c as closely as the grid allows. */
function witness(problem: Problem, tv: TotalVariation, sep: SeparablePenalty | null, x: Float64Array, c: Float64Array, zHint: Float64Array | null, exact: boolean): Float64Array {
  const D = tv.D;
  if (D instanceof GridDifferences && D.shape[0] === 1 && !problem.bounds) return chainWitness(problem, x, c); // exact
  const z = new Float64Array(D.rows);
  const dx = D.apply(x, new Float64Array(D.rows));
  // The solver's dual where it has one; on the exact pieces of a polished x (or without a
  // dual), the jumps carry z_e = tv·sign((Dx)_e) and only the flat edges keep the solver's dual.
  const flat = new Uint8Array(D.rows);
  for (let e = 0; e < z.length; e++) {
    flat[e] = dx[e] === 0 ? 1 : 0;
    const hinted = zHint ? Math.max(-tv.weight, Math.min(tv.weight, zHint[e])) : 0;
    z[e] = dx[e] !== 0 && (exact || !zHint) ? tv.weight * Math.sign(dx[e]) : hinted;
  }
  // With g, g* absorbs what Dᵀz misses. Without it, correct z by least-squares steps
  // z ← z + M Dδ, (MD)ᵀ(MD)δ = c − Dᵀz: first on the flat edges only (M masks the jumps; on the
  // pieces of a solution the system is consistent: the pieces' stationarity), then on all edges
  // for whatever is left (consistent: Σc = 0 after centring).
  if (!sep) {
    correctWitness(D, z, c, flat);
    correctWitness(D, z, c, null);
  }
  return z;
}

/**
 * Bounds without l1/l2, a side open: g* is infinite where v = c − Dᵀz points out of the box's
 * normal cones on an open side (v_j > 0 with no upper bound, v_j < 0 with no lower one), and no
 * scaling reaches it. Beyond rounding, target v̂ = v with those entries 0, centre θ so that
 * Σ(c − v̂) = 0, and correct z towards Dᵀz = c − v̂ as without g (first on the flat edges, then on
 * all): the right side is the offending entries alone. (At a rounding level the caller zeroes them.)
 */
function boxWitness(problem: Problem, D: TotalVariation["D"], box: SeparablePenalty, x: Float64Array, r: Float64Array, c: Float64Array, ctnu: Float64Array | null, z: Float64Array): void {
  const n = x.length;
  const dz = D.applyT(z, new Float64Array(n));
  const target = new Float64Array(n);
  let offending = 0;
  for (let j = 0; j < n; j++) {
    const v = c[j] - dz[j];
    if (box.dualScale(j, v) === Infinity) offending = Math.max(offending, Math.abs(v));
    else target[j] = v;
  }
  if (offending <= ROUNDING * Math.max(normInf(c), normInf(z))) return;
  for (let j = 0; j < n; j++) c[j] -= target[j];
  centreResidual(problem, r, c, ctnu ? Float64Array.from(ctnu, (v, j) => v + target[j]) : target);
  const dx = D.apply(x, new Float64Array(D.rows));
  const flat = Uint8Array.from(dx, (v) => +(v === 0));
  correctWitness(D, z, c, flat);
  correctWitness(D, z, c, null);
  for (let j = 0; j < n; j++) c[j] += target[j];
}

/** Relative size of a dual residual left by rounding alone. */
const ROUNDING = 1e-12;

/** CG iterations allowed for the witness correction: beyond that the witness stays approximate (the gap stays valid). */
const MAX_CORRECTION_CG = 300;

function correctWitness(D: TotalVariation["D"], z: Float64Array, c: Float64Array, free: Uint8Array | null): void {
  const n = c.length;
  const rhs = D.applyT(z, new Float64Array(n));
  for (let j = 0; j < n; j++) rhs[j] = c[j] - rhs[j];
  const scale = norm1(c) / n + Number.MIN_VALUE;
  if (normInf(rhs) <= 1e-15 * scale) return;
  const dz = new Float64Array(D.rows);
  const masked = (v: Float64Array): Float64Array => {
    D.apply(v, dz);
    if (free) for (let e = 0; e < dz.length; e++) if (!free[e]) dz[e] = 0;
    return dz;
  };
  // An absolute floor: a rounding-level right side needs no iterations.
  const cg = conjugateGradient((v, out) => D.applyT(masked(v), out), rhs, { tol: 1e-13, atol: 1e-14 * scale * Math.sqrt(n), maxIter: MAX_CORRECTION_CG });
  masked(cg.x);
  // CG on a singular system whose right side is rounding noise can diverge: keep the step only
  // when it lowers the residual ‖c − Dᵀz‖∞.
  const next = new Float64Array(z.length);
  for (let e = 0; e < z.length; e++) next[e] = z[e] + dz[e];
  const after = D.applyT(next, new Float64Array(n));
  for (let j = 0; j < n; j++) after[j] = c[j] - after[j];
  if (normInf(after) < normInf(rhs)) z.set(next);
}

/**
 * The exact witness on a 1-D grid, where (Dᵀz)_i = z_{i−1} − z_i (z_{−1} = z_{n−1} = 0):
 * stationarity z_{i−1} − z_i + w_i = c_i with w_i = l2x_i + l1 sign(x_i) gives z by a running
 * sum. On a run of zeros (l1 > 0) w_i = l1·u_i with u_i ∈ [−1, 1] free, the run entered at the
 * running sum and left at the next edge's value tv·sign(Dx) (0 at the end): u constant on the run
 * when that is feasible (uniformRun), else zeroRun finds z on the run with |z| ≤ tv and every
 * |u_i| ≤ 1 whenever such z exists.
 */
function chainWitness(problem: Problem, x: Float64Array, c: Float64Array): Float64Array {
  const n = x.length, { l1, l2, tv } = problem.penalty;
  const z = new Float64Array(Math.max(0, n - 1));
  let prev = 0;
  for (let i = 0; i < n; ) {
    if (l1 > 0 && x[i] === 0) {
      let end = i;
      while (end + 1 < n && x[end + 1] === 0) end++;
      const last = end + 1 < n ? tv * Math.sign(x[end + 1] - x[end]) : 0;
      if (!uniformRun(z, c, i, end, prev, last, l1, tv)) zeroRun(z, c, i, end, prev, last, l1, tv);
      prev = last;
      i = end + 1;
      continue;
    }
    const w = l2 * x[i] + (l1 > 0 ? l1 * Math.sign(x[i]) : 0);
    prev = prev + w - c[i];
    if (i < n - 1) z[i] = prev;
    i++;
  }
  return z;
}

/**
 * z on a run of zeros i..end with u constant on the run, chosen so that the run ends at `leave`:
 * Σ (z_{k−1} − z_k + l1·u) over the run = enter − leave + l1·u·len = Σc. Written into z; false
 * when that u or some z leaves its bound (then zeroRun searches the whole box).
 */
function uniformRun(z: Float64Array, c: Float64Array, i: number, end: number, enter: number, leave: number, l1: number, tv: number): boolean {
  let sum = 0;
  for (let k = i; k <= end; k++) sum += c[k];
  const lu = (sum - enter + leave) / (end - i + 1);
  let feasible = Math.abs(lu) <= l1, prev = enter;
  for (let k = i; k <= end; k++) {
    prev = prev + lu - c[k];
    if (k < z.length) z[k] = prev;
    if (k < end && Math.abs(prev) > tv) feasible = false;
  }
  return feasible;
}

/**
 * z on the edges inside a run of zeros i..end (z_{i−1} = `enter`, z_end = `leave`):
 * z_k = z_{k−1} − c_k + l1·u_k with |u_k| ≤ 1 and |z_k| ≤ tv. Forward, the values z_k can reach
 * form an interval [lo_k, hi_k] (the previous one widened by ±l1 after the shift −c_k, cut to
 * [−tv, tv]; an empty cut keeps the nearest point: the violation then shows in u). Backward from
 * z_end = leave, z_{k−1} is z_k + c_k (u_k = 0) clamped into [lo_{k−1}, hi_{k−1}].
 */
function zeroRun(z: Float64Array, c: Float64Array, i: number, end: number, enter: number, leave: number, l1: number, tv: number): void {
  const len = end - i;
  const lo = new Float64Array(len), hi = new Float64Array(len);
  let a = enter, b = enter;
  for (let k = i; k < end; k++) {
    a = Math.max(-tv, a - c[k] - l1);
    b = Math.min(tv, b - c[k] + l1);
    if (a > b) a = b = a > 0 ? b : a; // empty: above tv (keep tv = b) or below −tv (keep −tv = a)
    lo[k - i] = a;
    hi[k - i] = b;
  }
  let next = leave;
  for (let k = end; k > i; k--) {
    next = Math.min(hi[k - 1 - i], Math.max(lo[k - 1 - i], next + c[k]));
    z[k - 1] = next;
  }
  if (end < z.length) z[end] = leave;
}
