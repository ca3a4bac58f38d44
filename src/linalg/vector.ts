/** Float64Array kernels. All loops are allocation-free; callers own the output buffers. */
import { InputError } from "../errors.js";

export function dot(a: Float64Array, b: Float64Array, n = a.length): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

/** y ← y + alpha·x (unrolled by four: measured ~25% faster in coordinate descent) */
export function axpy(alpha: number, x: Float64Array, y: Float64Array, n = x.length): void {
  let i = 0;
  for (; i + 3 < n; i += 4) {
    y[i] += alpha * x[i];
    y[i + 1] += alpha * x[i + 1];
    y[i + 2] += alpha * x[i + 2];
    y[i + 3] += alpha * x[i + 3];
  }
  for (; i < n; i++) y[i] += alpha * x[i];
}

export function norm2Squared(a: Float64Array): number {
  return dot(a, a);
}

export function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** ‖a‖₂ without overflow or underflow: max|a_i|·‖a/max|a_i|‖₂ (entries near 1e±155 square out of range). */
export function norm2Robust(a: Float64Array): number {
  const big = normInf(a);
  if (big === 0 || !Number.isFinite(big)) return big;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] / big) ** 2;
  return big * Math.sqrt(s);
}

export function normInf(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * out ← v clipped to [−b, b] entrywise (out may be v). Ternaries on purpose: V8 runs a
 * Math.max/Math.min loop several times slower (measured 1.1 ms against 0.2 ms on 130k entries).
 */
export function clipInto(v: Float64Array, b: number, out: Float64Array): Float64Array {
  for (let i = 0; i < v.length; i++) {
    const u = v[i];
    out[i] = u > b ? b : u < -b ? -b : u;
  }
  return out;
}

/**
 * The array [f(0), …, f(length − 1)], by a plain loop: Float64Array.from with a map function goes
 * through the iterator protocol (measured 25× slower on 65536 entries).
 */
export function tabulate(length: number, f: (i: number) => number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = f(i);
  return out;
}

/** Σ a_i */
export function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

export function norm1(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s;
}

/** out ← a − b */
export function subtract(a: Float64Array, b: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i];
  return out;
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** A Float64Array of the given length with finite entries (an argument at the API edge). */
export function requireVector(field: string, v: Float64Array, length: number): void {
  if (!(v instanceof Float64Array) || v.length !== length) throw new InputError(field, `expected a Float64Array of length ${length}, got ${v instanceof Float64Array ? `length ${v.length}` : typeof v}`);
  if (!allFinite(v)) throw new InputError(field, "expected finite entries");
}

/** Distinct integers in [0, n) (a support, selected rows or coefficients), in any array-like. */
export function requireIndices(field: string, indices: ArrayLike<number>, n: number): void {
  if (typeof indices !== "object" || indices === null || !Number.isSafeInteger(indices.length)) throw new InputError(field, `expected an array of distinct integers in [0, ${n}), got ${indices === null ? "null" : typeof indices}`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new InputError(field, `expected integers in [0, ${n}), got ${k} at position ${i}`);
    if (seen[k]) throw new InputError(field, `expected distinct indices, ${k} is repeated`);
    seen[k] = 1;
  }
}

/** Soft thresholding, the prox of t|·|: sign(v)·max(|v| − t, 0). */
export function softThreshold(v: number, t: number): number {
  return v > t ? v - t : v < -t ? v + t : 0;
}
