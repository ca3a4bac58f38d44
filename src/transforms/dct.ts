/**
 * The orthonormal DCT-II and its inverse (the DCT-III) of any length, in 1-D and along the rows
 * and columns of a row-major image. Orthonormal:
 *
 *     X_k = s_k Σ_{n<N} x_n cos(πk(2n+1)/(2N)),   s_0 = √(1/N), s_k = √(2/N) (k ≥ 1),
 *
 * so the matrix C is orthogonal (C⁻¹ = Cᵀ) and ‖Cx‖ = ‖x‖ (scipy's dct(type=2, norm="ortho")).
 */
import { InputError, requireInteger } from "../errors.js";
import { FftPlan, requireTransformLength } from "./fft.js";

/**
 * A DCT plan of length N computed with Makhoul's reordering (one complex FFT of length N):
 * v_n = x_{2n}, v_{N−1−n} = x_{2n+1}, V = FFT(v), then X_k = s_k Re(e^{−iπk/(2N)} V_k).
 * Two real vectors go through one complex FFT at a time (z = v_a + i·v_b). Allocation-free after
 * construction.
 */
export class DctPlan {
  readonly size: number;
  private readonly fft: FftPlan;
  /** Interleaved complex work buffer of length 2N. */
  private readonly z: Float64Array;
  /** Forward twiddles s_k e^{−iπk/(2N)} and inverse twiddles e^{+iπk/(2N)}/s_k. */
  private readonly forwardRe: Float64Array;
  private readonly forwardIm: Float64Array;
  private readonly inverseRe: Float64Array;
  private readonly inverseIm: Float64Array;

  constructor(n: number) {
    requireTransformLength(n);
    this.size = n;
    this.fft = new FftPlan(n);
    this.z = new Float64Array(2 * n);
    this.forwardRe = new Float64Array(n);
    this.forwardIm = new Float64Array(n);
    this.inverseRe = new Float64Array(n);
    this.inverseIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const s = Math.sqrt((k === 0 ? 1 : 2) / n), angle = (Math.PI * k) / (2 * n);
      this.forwardRe[k] = s * Math.cos(angle);
      this.forwardIm[k] = -s * Math.sin(angle);
      this.inverseRe[k] = Math.cos(angle) / s;
      this.inverseIm[k] = Math.sin(angle) / s;
    }
  }

  /** out ← C x, both of length N (out may be x). */
  forward(x: Float64Array, out: Float64Array): Float64Array {
    if (out !== x) out.set(x);
    this.transformMany(out, 1, 0, 1, false);
    return out;
  }

  /** out ← Cᵀ X, the inverse, both of length N (out may be X). */
  inverse(X: Float64Array, out: Float64Array): Float64Array {
    if (out !== X) out.set(X);
    this.transformMany(out, 1, 0, 1, true);
    return out;
  }

  /**
   * Transform `count` vectors of `data` in place: vector v has its entries at
   * offset + v·vectorStep + i·elementStep (rows of a row-major image: (w, 1); its columns: (1, w)).
   */
  transformMany(data: Float64Array, count: number, vectorStep: number, elementStep: number, inverse: boolean, offset = 0): void {
    for (let v = 0; v < count; v += 2) {
      const second = v + 1 < count ? offset + (v + 1) * vectorStep : -1;
      if (inverse) this.inversePair(data, offset + v * vectorStep, second, elementStep);
      else this.forwardPair(data, offset + v * vectorStep, second, elementStep);
    }
  }

  /** The vectors at offsets a and b (b < 0: none) with entries `step` apart. */
  private forwardPair(data: Float64Array, a: number, b: number, step: number): void {
    const n = this.size, z = this.z;
    // z_j = v_a[j] + i·v_b[j], Makhoul's order: even entries forward, odd entries backward.
    for (let j = 0, i = 0; i < n; j++, i += 2) {
      z[2 * j] = data[a + i * step];
      z[2 * j + 1] = b >= 0 ? data[b + i * step] : 0;
    }
    for (let j = n - 1, i = 1; i < n; j--, i += 2) {
      z[2 * j] = data[a + i * step];
      z[2 * j + 1] = b >= 0 ? data[b + i * step] : 0;
    }
    this.fft.forward(z, z);
    // V_a = (Z_k + conj Z_{N−k})/2, V_b = (Z_k − conj Z_{N−k})/(2i); X_k = Re(s_k e^{−iπk/(2N)} V_k).
    for (let k = 0; k < n; k++) {
      const m = k === 0 ? 0 : n - k;
      const zr = z[2 * k], zi = z[2 * k + 1], yr = z[2 * m], yi = z[2 * m + 1];
      const wr = this.forwardRe[k], wi = this.forwardIm[k];
      data[a + k * step] = 0.5 * (wr * (zr + yr) - wi * (zi - yi));
      if (b >= 0) data[b + k * step] = 0.5 * (wr * (zi + yi) + wi * (zr - yr));
    }
  }

  /**
   * The inverse of forwardPair: V_k = (e^{iπk/(2N)}/s_k)(X_k − i X_{N−k}) (X_N = 0) is the FFT of
   * the reordered vector, so z = IFFT(V_a + i V_b) holds v_a in its real part and v_b in its
   * imaginary part.
   */
  private inversePair(data: Float64Array, a: number, b: number, step: number): void {
    const n = this.size, z = this.z;
    for (let k = 0; k < n; k++) {
      const m = n - k;
      const pa = data[a + k * step], qa = k === 0 ? 0 : data[a + m * step];
      const pb = b >= 0 ? data[b + k * step] : 0, qb = b >= 0 && k > 0 ? data[b + m * step] : 0;
      const cr = this.inverseRe[k], ci = this.inverseIm[k];
      // (cr + i·ci)(p − i·q) = (cr·p + ci·q) + i(ci·p − cr·q); Z = V_a + i V_b.
      z[2 * k] = cr * pa + ci * qa - (ci * pb - cr * qb);
      z[2 * k + 1] = ci * pa - cr * qa + (cr * pb + ci * qb);
    }
    this.fft.inverse(z, z);
    for (let j = 0, i = 0; i < n; j++, i += 2) {
      data[a + i * step] = z[2 * j];
      if (b >= 0) data[b + i * step] = z[2 * j + 1];
    }
    for (let j = n - 1, i = 1; i < n; j--, i += 2) {
      data[a + i * step] = z[2 * j];
      if (b >= 0) data[b + i * step] = z[2 * j + 1];
    }
  }
}

/**
 * The separable orthonormal 2-D DCT-II of an h×w row-major image: the 1-D DCT along every row,
 * then along every column. Coefficient (k, l) (vertical frequency k, horizontal l) sits at k·w + l.
 * Preallocated; `forward` and `inverse` (on arrays of length h·w) allocate nothing and may work in
 * place (out = input).
 */
export class Dct2Plan {
  readonly height: number;
  readonly width: number;
  private readonly rows: DctPlan;
  private readonly columns: DctPlan;

  constructor(height: number, width: number) {
    this.rows = new DctPlan(width);
    this.columns = height === width ? this.rows : new DctPlan(height);
    this.height = height;
    this.width = width;
  }

  /** out ← (C_h ⊗ C_w) image */
  forward(image: Float64Array, out: Float64Array): Float64Array {
    return this.run(image, out, false);
  }

  /** out ← (C_h ⊗ C_w)ᵀ coefficients */
  inverse(coefficients: Float64Array, out: Float64Array): Float64Array {
    return this.run(coefficients, out, true);
  }

  /**
   * The transform (or its inverse) of `images` images held back to back in `data`, in place. The
   * rows of all of them go through the FFT two at a time, so two 1-D signals (h = 1) share each FFT.
   */
  transformImages(data: Float64Array, images: number, inverse: boolean): void {
    const h = this.height, w = this.width;
    requireInteger("images", images, 1);
    requireSamples("data", data, images * h * w);
    if (w > 1) this.rows.transformMany(data, h * images, w, 1, inverse);
    if (h > 1) for (let i = 0; i < images; i++) this.columns.transformMany(data, w, 1, w, inverse, i * h * w);
  }

  private run(input: Float64Array, out: Float64Array, inverse: boolean): Float64Array {
    requireSamples(inverse ? "coefficients" : "image", input, this.height * this.width);
    requireSamples("out", out, this.height * this.width);
    if (out !== input) out.set(input);
    this.transformImages(out, 1, inverse);
    return out;
  }
}

/** A Float64Array of exactly n samples (an image, its coefficients, a grid's cells): checked once per call, O(1). */
export function requireSamples(field: string, v: Float64Array, n: number): void {
  if (!(v instanceof Float64Array && v.length === n)) throw new InputError(field, `expected a Float64Array of length ${n}, got ${v instanceof Float64Array ? `length ${v.length}` : typeof v}`);
}
