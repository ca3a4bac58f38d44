import { NumericalError } from "../errors.js";
import { Cholesky } from "../linalg/cholesky.js";

/**
 * Anderson extrapolation of a fixed-point iteration (here: coordinate-descent epochs on a
 * working set), in the offline form of skglm / Bertrand & Massias (2021):
 *
 *   keep the last K+1 iterates x₀ … x_K, U = [x₁ − x₀, …, x_K − x_{K−1}],
 *   z = (UᵀU)⁻¹ 1,  c = z / Σz,  x_acc = Σ_{i=1..K} c_i x_i.
 *
 * The residual r = y − Ax is affine in x and Σc = 1, so r_acc = Σ c_i r_i is extrapolated the
 * same way from stored residuals: O(K·(k + m)) per extrapolation, no product with A. The caller
 * accepts x_acc only when it lowers the objective. The memory is plain data (a solver state
 * can be copied with structuredClone), allocated once.
 */
export interface AndersonMemory {
  K: number;
  m: number;
  xs: Float64Array;
  rs: Float64Array;
  gram: Float64Array;
  z: Float64Array;
  /** Coordinates of the stored iterates. */
  dim: number;
  /** Iterates stored since the last extrapolation. */
  count: number;
}

/** K extrapolation memory, maxDim the largest working set, m the length of the residual. */
export function andersonMemory(K: number, maxDim: number, m: number): AndersonMemory {
  return { K, m, xs: new Float64Array((K + 1) * Math.max(1, maxDim)), rs: new Float64Array((K + 1) * m), gram: new Float64Array(K * K), z: new Float64Array(K), dim: 0, count: 0 };
}

/** Forget the stored iterates; the next ones have `dim` coordinates. */
export function andersonReset(mem: AndersonMemory, dim: number): void {
  mem.dim = dim;
  mem.count = 0;
}

/** K+1 iterates stored: `andersonExtrapolate` may be called. */
export function andersonReady(mem: AndersonMemory): boolean {
  return mem.count === mem.K + 1;
}

/** Store the iterate (x[ws[0]], …, x[ws[dim−1]]) and its residual r. */
export function andersonPush(mem: AndersonMemory, x: Float64Array, ws: Int32Array, r: Float64Array): void {
  if (mem.count > mem.K) mem.count = 0;
  const dim = mem.dim, xs = mem.xs, off = mem.count * dim;
  for (let t = 0; t < dim; t++) xs[off + t] = x[ws[t]];
  mem.rs.set(r, mem.count * mem.m);
  mem.count++;
}

/**
 * Write the extrapolated working-set coordinates into outX[0..dim) and the matching residual
 * into outR. Returns false (outputs untouched) when UᵀU is singular or the weights are not
 * finite. Either way the memory is emptied.
 */
export function andersonExtrapolate(mem: AndersonMemory, outX: Float64Array, outR: Float64Array): boolean {
  const { K, dim, m, xs, rs, gram: G, z } = mem;
  mem.count = 0;
  // G = UᵀU with U_i = x_{i+1} − x_i, without forming U.
  let trace = 0;
  for (let a = 0; a < K; a++) {
    const a0 = a * dim, a1 = (a + 1) * dim;
    for (let b = 0; b <= a; b++) {
      const b0 = b * dim, b1 = (b + 1) * dim;
      let s = 0;
      for (let t = 0; t < dim; t++) s += (xs[a1 + t] - xs[a0 + t]) * (xs[b1 + t] - xs[b0 + t]);
      G[a * K + b] = s;
      G[b * K + a] = s;
    }
    trace += G[a * K + a];
  }
  if (!(trace > 0) || !Number.isFinite(trace)) return false;
  // Solve G z = 1 (G is a Gram matrix: symmetric positive semi-definite, K×K).
  let factor: Cholesky;
  try {
    factor = Cholesky.factor(G, K, 1e-14);
  } catch (e) {
    if (e instanceof NumericalError) return false;
    throw e;
  }
  z.fill(1);
  factor.solveInPlace(z);
  let sum = 0;
  for (let a = 0; a < K; a++) sum += z[a];
  if (!Number.isFinite(sum) || Math.abs(sum) < 1e-300) return false;
  for (let a = 0; a < K; a++) z[a] /= sum;
  // x_acc = Σ_{i=1..K} c_i x_i, r_acc likewise.
  for (let t = 0; t < dim; t++) {
    let s = 0;
    for (let a = 0; a < K; a++) s += z[a] * xs[(a + 1) * dim + t];
    outX[t] = s;
  }
  const z0 = z[0];
  for (let i = 0; i < m; i++) outR[i] = z0 * rs[m + i];
  for (let a = 1; a < K; a++) {
    const za = z[a], off = (a + 1) * m;
    for (let i = 0; i < m; i++) outR[i] += za * rs[off + i];
  }
  return true;
}
