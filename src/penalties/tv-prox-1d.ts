import { InputError } from "../errors.js";

/**
 * Exact 1-D total-variation denoising, the prox of λ·TV on a strided slice of an array:
 *
 *   u = argmin_u ½ Σ_k (u_k − v_k)² + λ Σ_k |u_{k+1} − u_k|,   v_k = v[start + k·stride], k < n,
 *
 * written to out[start + k·stride] (out may be v: rows and columns of a row-major image are solved
 * in place). Condat's direct algorithm ("A direct algorithm for 1D total variation denoising",
 * IEEE SPL 2013): sweep k forward keeping the current segment's range [vMin, vMax] of feasible
 * values and the dual running sums uMin, uMax (the dual z_k for a segment at vMin or vMax); when
 * a bound leaves [−λ, λ] the segment must end with a jump, its value is written, and the sweep
 * restarts after it. Writes stay behind the sweep, so in place is safe. Exact up to rounding, no
 * allocation; O(n²) in the worst case (restarts re-read samples), about 1.6 reads per sample on
 * noisy images.
 *
 * For λ ≥ λ_max = max_k |Σ_{i≤k} (v_i − v̄)| the answer is the mean v̄ (every partial sum of the
 * dual stays in the box) and the sweep ends with one segment: its value is then the mean computed
 * from v directly, v_0 + Σ(v_k − v_0)/n, not the sweep's running bound, so that λ ≫ |v| does not
 * swamp v in v ± λ. (A pass to test λ ≥ λ_max beforehand costs as much as a third of the sweep,
 * on every row and column of every 2-D iteration; one segment tells the same for free.)
 */
export function tvProx1d(v: Float64Array, lambda: number, out: Float64Array, n = v.length, start = 0, stride = 1): void {
  checkSlice(v, out, lambda, n, start, stride);
  if (n === 0) return;
  if (lambda === 0 || n === 1) {
    if (out !== v) for (let k = 0, i = start; k < n; k++, i += stride) out[i] = v[i];
    return;
  }
  condat(v, lambda, out, n, start, stride);
}

/** Condat's sweep (paper's steps 1–9); k0 starts the open segment, kMinus/kPlus its last pins. */
function condat(v: Float64Array, lambdaIn: number, out: Float64Array, n: number, start: number, stride: number): void {
  // A float64 local (V8 keeps the argument tagged, and mixing it into uMin/uMax boxes every update).
  const lambda = lambdaIn * 1;
  const last = n - 1;
  let k = 0, k0 = 0, kMinus = 0, kPlus = 0;
  let vMin = v[start] - lambda, vMax = v[start] + lambda;
  let uMin = lambda, uMax = -lambda;
  for (;;) {
    while (k === last) {
      // Right end: the dual must end at 0.
      if (uMin < 0) {
        // vMin is too high: the segment k0..kMinus ends with a negative jump.
        do out[start + k0++ * stride] = vMin; while (k0 <= kMinus);
        k = kMinus = k0;
        vMin = v[start + k * stride];
        uMin = lambda;
        uMax = vMin + lambda - vMax;
      } else if (uMax > 0) {
        // vMax is too low: positive jump after kPlus.
        do out[start + k0++ * stride] = vMax; while (k0 <= kPlus);
        k = kPlus = k0;
        vMax = v[start + k * stride];
        uMax = -lambda;
        uMin = vMax - lambda - vMin;
      } else if (k0 === 0) {
        // One segment, nothing written yet: the exact mean.
        writeMean(v, out, n, start, stride);
        return;
      } else {
        vMin += uMin / (k - k0 + 1);
        do out[start + k0++ * stride] = vMin; while (k0 <= k);
        return;
      }
    }
    const next = v[start + (k + 1) * stride];
    uMin += next - vMin;
    if (uMin < -lambda) {
      // Negative jump after kMinus; restart a segment there.
      do out[start + k0++ * stride] = vMin; while (k0 <= kMinus);
      k = kMinus = kPlus = k0;
      vMin = v[start + k * stride];
      vMax = vMin + 2 * lambda;
      uMin = lambda;
      uMax = -lambda;
      continue;
    }
    uMax += next - vMax;
    if (uMax > lambda) {
      // Positive jump after kPlus.
      do out[start + k0++ * stride] = vMax; while (k0 <= kPlus);
      k = kMinus = kPlus = k0;
      vMax = v[start + k * stride];
      vMin = vMax - 2 * lambda;
      uMin = lambda;
      uMax = -lambda;
      continue;
    }
    k++;
    if (uMin >= lambda) {
      // The lower bound rises to keep the dual in the box: vMin ← vMin + (uMin − λ)/length.
      kMinus = k;
      vMin += (uMin - lambda) / (k - k0 + 1);
      uMin = lambda;
    }
    if (uMax <= -lambda) {
      kPlus = k;
      vMax += (uMax + lambda) / (k - k0 + 1);
      uMax = -lambda;
    }
  }
}

/** out ← v̄ = v_0 + Σ(v_k − v_0)/n on the slice: exact for constant signals, no cancellation with a large offset. */
function writeMean(v: Float64Array, out: Float64Array, n: number, start: number, stride: number): void {
  let shifted = 0;
  for (let k = 0, i = start; k < n; k++, i += stride) shifted += v[i] - v[start];
  const mean = v[start] + shifted / n;
  for (let k = 0, i = start; k < n; k++, i += stride) out[i] = mean;
}

/**
 * The dual of a 1-D solution: z (length n − 1, z_k at z[zStart + k·zStride]) with
 *
 *   u = v − Dᵀz,  (Dx)_k = x_{k+1} − x_k,  (Dᵀz)_i = z_{i−1} − z_i  (z_{−1} = z_{n−1} = 0),
 *
 * so z_k = Σ_{i≤k} (u_i − v_i). At the optimum |z_k| ≤ λ and z_k = λ·sign(u_{k+1} − u_k) where
 * u jumps (the KKT conditions u − v + Dᵀz = 0, z ∈ λ∂‖·‖₁(Du)). The running sum is clipped to
 * [−λ, λ] so that z is always dual feasible, whatever rounding did.
 */
export function tvDual1d(
  v: Float64Array, u: Float64Array, lambda: number, z: Float64Array,
  n = v.length, start = 0, stride = 1, zStart = 0, zStride = 1,
): void {
  checkSlice(v, u, lambda, n, start, stride);
  if (n > 1 && !(Number.isInteger(zStart) && zStart >= 0 && Number.isInteger(zStride) && zStride >= 1 && zStart + (n - 2) * zStride < z.length)) throw new InputError("z", `expected room for ${n - 1} dual values from ${zStart} by ${zStride}`);
  const bound = lambda * 1; // float64, as in condat
  let partial = 0;
  for (let k = 0, i = start, j = zStart; k < n - 1; k++, i += stride, j += zStride) {
    partial += u[i] - v[i];
    partial = partial > bound ? bound : partial < -bound ? -bound : partial;
    z[j] = partial;
  }
}

function checkSlice(v: Float64Array, out: Float64Array, lambda: number, n: number, start: number, stride: number): void {
  if (!(lambda >= 0 && lambda < Infinity)) throw new InputError("lambda", `expected a finite number ≥ 0 (got ${lambda})`);
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(start) && start >= 0 && Number.isInteger(stride) && stride >= 1)) {
    throw new InputError("slice", `expected integers n ≥ 0, start ≥ 0, stride ≥ 1 (got ${n}, ${start}, ${stride})`);
  }
  const end = start + (n - 1) * stride;
  if (n > 0 && (end >= v.length || end >= out.length)) throw new InputError("slice", `expected ${n} values from ${start} by ${stride} inside arrays of length ${v.length} and ${out.length}`);
}
