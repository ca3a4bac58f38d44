/**
 * The complex discrete Fourier transform of any length n. Power-of-two lengths go straight to
 * fft.js (radix-4); every other length goes through Bluestein's chirp-z transform, which turns
 * the length-n DFT into a circular convolution of power-of-two length M ≥ 2n − 1.
 */
import FFT from "fft.js";
import { InputError } from "../errors.js";

const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

/**
 * The longest transform: 2^24 (a row of a 16777216-pixel line). fft.js sizes are 32-bit and a
 * Bluestein plan holds ~10n doubles, so far longer lengths fail inside the allocator anyway.
 */
export const MAX_TRANSFORM_LENGTH = 2 ** 24;

export function requireTransformLength(n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= MAX_TRANSFORM_LENGTH)) {
    throw new InputError("size", `expected an integer transform length in [1, 2^24 = ${MAX_TRANSFORM_LENGTH}], got ${n}`);
  }
}

/**
 * A reusable DFT plan of length n on interleaved complex Float64Arrays [re₀, im₀, re₁, im₁, …]
 * (length 2n). All buffers are allocated once here; `forward` and `inverse` allocate nothing, and
 * their input and output may be the same array.
 */
export class FftPlan {
  readonly size: number;
  private readonly fft: FFT | null;
  /** Power of two: a copy of the input when it is also the output. Bluestein: the chirped input a. */
  private readonly scratch: Float64Array;
  /** Bluestein only: w_k = e^{−iπk²/n} (k < n), FFT_M of b_m = conj(w_|m|), and a second length-M buffer. */
  private readonly chirp: Float64Array;
  private readonly chirpSpectrum: Float64Array;
  private readonly spectrum: Float64Array;

  constructor(n: number) {
    requireTransformLength(n);
    this.size = n;
    const empty = new Float64Array(0);
    if (n === 1) {
      this.fft = null;
      this.scratch = this.chirp = this.chirpSpectrum = this.spectrum = empty;
    } else if (isPowerOfTwo(n)) {
      this.fft = new FFT(n);
      this.scratch = new Float64Array(2 * n);
      this.chirp = this.chirpSpectrum = this.spectrum = empty;
    } else {
      let m = 2;
      while (m < 2 * n - 1) m *= 2;
      this.fft = new FFT(m);
      this.scratch = new Float64Array(2 * m);
      this.spectrum = new Float64Array(2 * m);
      this.chirp = new Float64Array(2 * n);
      for (let k = 0; k < n; k++) {
        // k² mod 2n keeps the angle small and exact (e^{−iπk²/n} has period 2n in k²).
        const angle = (Math.PI * ((k * k) % (2 * n))) / n;
        this.chirp[2 * k] = Math.cos(angle);
        this.chirp[2 * k + 1] = -Math.sin(angle);
      }
      const b = new Float64Array(2 * m);
      for (let k = 0; k < n; k++) {
        b[2 * k] = this.chirp[2 * k];
        b[2 * k + 1] = -this.chirp[2 * k + 1];
        if (k > 0) {
          b[2 * (m - k)] = b[2 * k];
          b[2 * (m - k) + 1] = b[2 * k + 1];
        }
      }
      this.chirpSpectrum = new Float64Array(2 * m);
      this.fft.transform(this.chirpSpectrum, b);
    }
  }

  /** out_k ← Σ_j x_j e^{−2πijk/n} */
  forward(input: Float64Array, out: Float64Array): Float64Array {
    return this.run(input, out, false);
  }

  /** out_j ← (1/n) Σ_k X_k e^{+2πijk/n}, the inverse of `forward`. */
  inverse(input: Float64Array, out: Float64Array): Float64Array {
    return this.run(input, out, true);
  }

  private run(input: Float64Array, out: Float64Array, inverse: boolean): Float64Array {
    if (this.fft === null) {
      out[0] = input[0];
      out[1] = input[1];
    } else if (this.chirp.length === 0) {
      const source = input === out ? this.scratch : input;
      if (source === this.scratch) this.scratch.set(input);
      if (inverse) this.fft.inverseTransform(out, source);
      else this.fft.transform(out, source);
    } else {
      this.bluestein(input, out, inverse);
    }
    return out;
  }

  /**
   * X_k = w_k Σ_j (x_j w_j) conj(w_{k−j}) with w_m = e^{−iπm²/n} (from jk = (j² + k² − (k−j)²)/2):
   * a circular convolution of length M done with two FFTs of length M and the stored FFT of conj(w).
   * The inverse is conj(DFT(conj X))/n.
   */
  private bluestein(input: Float64Array, out: Float64Array, inverse: boolean): void {
    const n = this.size, fft = this.fft as FFT, a = this.scratch, A = this.spectrum, B = this.chirpSpectrum, w = this.chirp;
    const sign = inverse ? -1 : 1;
    a.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = input[2 * k], xi = sign * input[2 * k + 1], wr = w[2 * k], wi = w[2 * k + 1];
      a[2 * k] = xr * wr - xi * wi;
      a[2 * k + 1] = xr * wi + xi * wr;
    }
    fft.transform(A, a);
    for (let k = 0; k < A.length; k += 2) {
      const ar = A[k], ai = A[k + 1], br = B[k], bi = B[k + 1];
      A[k] = ar * br - ai * bi;
      A[k + 1] = ar * bi + ai * br;
    }
    fft.inverseTransform(a, A);
    const scale = inverse ? 1 / n : 1;
    for (let k = 0; k < n; k++) {
      const cr = a[2 * k], ci = a[2 * k + 1], wr = w[2 * k], wi = w[2 * k + 1];
      out[2 * k] = scale * (cr * wr - ci * wi);
      out[2 * k + 1] = sign * scale * (cr * wi + ci * wr);
    }
  }
}
