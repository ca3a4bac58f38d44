import { dot } from "./vector.js";

/** Whether some lower ≤ x ≤ upper satisfies Cx = d, with the evidence. */
export interface BoxFeasibility {
  verdict: "feasible" | "infeasible" | "undecided";
  /**
   * ‖Ĉx − d̂‖₂ at the best x found (rows of C and d divided by their norms): within 0.1% of the
   * smallest over the box when infeasible (it lies between the Farkas bound and this).
   */
  residual: number;
}

/** Row-relative residual at or below this: feasible (rounding of the sums leaves ~1e-16). */
const FEASIBLE_RELATIVE = 1e-11;
/** The Farkas bound F must exceed this fraction of the size of its terms to count (rounding). */
const FARKAS_RELATIVE = 1e-9;
/** Coordinate-descent sweeps before giving up (undecided: the solver's own stall test remains). */
const MAX_SWEEPS = 2000;
/** Work cap: sweeps × (entries of C). */
const MAX_WORK = 5e7;
/** The Farkas test runs every this many sweeps. */
const CHECK_EVERY = 5;
/** Once infeasible, sweeps go on until ‖Ĉx − d̂‖ is within this factor of the Farkas lower bound. */
const RESIDUAL_ACCURACY = 1e-3;

/**
 * Decides whether {x : lower ≤ x ≤ upper, Cx = d} is empty, by coordinate descent on
 * ½‖Ĉx − d̂‖² over the box (Ĉ, d̂: each row of C and d divided by the row's norm, so that rows of
 * any scale count alike; rows must be nonzero). Feasible once the row-relative residual is at
 * rounding level. Infeasible once λ = Ĉx − d̂ gives a Farkas certificate:
 *
 *   F(λ) = min_{x in box} λᵀ(Ĉx − d̂) = Σ_j min(g_j lo_j, g_j up_j) − λᵀd̂ > 0,  g = Ĉᵀλ,
 *
 * since then λᵀ(Ĉx − d̂) ≥ F > 0 for every x in the box, so Ĉx ≠ d̂ and ‖Ĉx − d̂‖ ≥ F/‖λ‖. At the
 * least-squares point over the box λ minimises exactly this way (g_j x_j is minimal over the
 * box at x_j: the optimality condition), so F = ‖λ‖² > 0 there whenever the system is infeasible.
 * An open side with g_j ≠ 0 makes F = −∞, except that g_j within rounding of 0 counts as 0.
 * C is column-major p×n (DenseMatrix layout).
 */
export function boxFeasibility(C: Float64Array, p: number, n: number, d: Float64Array, lower: Float64Array, upper: Float64Array, rowNorms: Float64Array): BoxFeasibility {
  const c = new Float64Array(p * n), dn = new Float64Array(p), colNorms = new Float64Array(n);
  for (let i = 0; i < p; i++) dn[i] = d[i] / rowNorms[i];
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < p; i++) {
      const v = C[j * p + i] / rowNorms[i];
      c[j * p + i] = v;
      s += v * v;
    }
    colNorms[j] = s;
  }
  const x = new Float64Array(n);
  for (let j = 0; j < n; j++) x[j] = Math.min(upper[j], Math.max(lower[j], 0));
  // r = Ĉx − d̂
  const r = Float64Array.from(dn, (v) => -v);
  for (let j = 0; j < n; j++) if (x[j] !== 0) for (let i = 0; i < p; i++) r[i] += c[j * p + i] * x[j];
  const sweeps = Math.min(MAX_SWEEPS, Math.max(CHECK_EVERY, Math.floor(MAX_WORK / Math.max(1, p * n))));
  let verdict: BoxFeasibility["verdict"] = "undecided";
  for (let sweep = 0; sweep <= sweeps; sweep++) {
    // The O(pn) row sizes only when the cheap bound says nothing, and not on every sweep.
    if (quickRelative(dn, r) <= FEASIBLE_RELATIVE || (sweep % CHECK_EVERY === 0 && rowRelative(c, p, n, dn, x, r) <= FEASIBLE_RELATIVE)) {
      verdict = "feasible";
      break;
    }
    if (sweep % CHECK_EVERY === 0) {
      const bound = farkasBound(c, p, n, dn, lower, upper, r);
      if (bound > 0) verdict = "infeasible";
      if (bound >= (1 - RESIDUAL_ACCURACY) * Math.sqrt(dot(r, r))) break;
    }
    if (sweep === sweeps) break;
    for (let j = 0; j < n; j++) {
      if (colNorms[j] === 0) continue;
      let g = 0;
      for (let i = 0; i < p; i++) g += c[j * p + i] * r[i];
      const next = Math.min(upper[j], Math.max(lower[j], x[j] - g / colNorms[j]));
      const delta = next - x[j];
      if (delta === 0) continue;
      x[j] = next;
      for (let i = 0; i < p; i++) r[i] += delta * c[j * p + i];
    }
  }
  return { verdict, residual: Math.sqrt(dot(r, r)) };
}

/** An upper bound on rowRelative in O(p): |d̂_i| + Σ_j |Ĉ_ij x_j| ≥ max(|d̂_i|, |ĉ_iᵀx| = |r_i + d̂_i|). */
function quickRelative(dn: Float64Array, r: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < r.length; i++) {
    if (r[i] === 0) continue;
    worst = Math.max(worst, Math.abs(r[i]) / Math.max(Math.abs(dn[i]), Math.abs(r[i] + dn[i])));
  }
  return worst;
}

/** max_i |r_i| / (|d̂_i| + Σ_j |Ĉ_ij x_j|). */
function rowRelative(c: Float64Array, p: number, n: number, dn: Float64Array, x: Float64Array, r: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < p; i++) {
    let size = Math.abs(dn[i]);
    for (let j = 0; j < n; j++) size += Math.abs(c[j * p + i] * x[j]);
    if (size > 0) worst = Math.max(worst, Math.abs(r[i]) / size);
  }
  return worst;
}

/** F(λ)/‖λ‖ at λ = r when F(λ) > 0 beyond rounding (a lower bound on ‖Ĉx − d̂‖ over the box), else 0 (see boxFeasibility). */
function farkasBound(c: Float64Array, p: number, n: number, dn: Float64Array, lower: Float64Array, upper: Float64Array, lambda: Float64Array): number {
  const norm = Math.sqrt(dot(lambda, lambda));
  if (norm === 0) return 0;
  let f = -dot(lambda, dn), size = 0;
  for (let i = 0; i < p; i++) size += Math.abs(lambda[i] * dn[i]);
  for (let j = 0; j < n; j++) {
    let g = 0, gAbs = 0;
    for (let i = 0; i < p; i++) {
      g += c[j * p + i] * lambda[i];
      gAbs += Math.abs(c[j * p + i] * lambda[i]);
    }
    // g_j within rounding of 0: no pull on x_j (an open side stays harmless).
    if (Math.abs(g) <= 1e-14 * gAbs) continue;
    const best = Math.min(g * lower[j], g * upper[j]);
    if (best === -Infinity) return 0;
    f += best;
    size += Math.abs(best);
  }
  return f > FARKAS_RELATIVE * size ? f / norm : 0;
}
