import { InputError } from "../errors.js";
import { checkImageSize } from "../imaging/image.js";
import { Dct2Plan } from "../transforms/dct.js";
import { allFinite } from "../linalg/vector.js";
import type { LinearOperator } from "./operator.js";

export interface ConvolutionOptions {
  /**
   * Divide the kernel by its sum (default true: a blur keeps the mean brightness). The entries must
   * then be non-negative with a positive sum. With false any finite kernel is taken as given.
   */
  normalise?: boolean;
}

/**
 * Mirror-symmetric kernels with more taps than this are applied in the DCT domain,
 * A x = Cᵀ(λ ⊙ C x): two 2-D DCTs (≈ 30 ms for 481×321 here) cost less than ~80 taps per pixel.
 */
const SPECTRAL_TAPS = 80;

/** Half-sample symmetric reflection of p into [0, n) for −n ≤ p < 2n: −1 → 0, n → n − 1. */
function reflect(p: number, n: number): number {
  return p < 0 ? -p - 1 : p >= n ? 2 * n - 1 - p : p;
}

/**
 * 2-D convolution of an h×w row-major image with a kh×kw kernel (odd sizes, centred, row-major):
 *
 *     (Ax)[r, c] = Σ_{i<kh, j<kw} g[i, j] · x̃[r − (i − ρ_h), c − (j − ρ_w)],   ρ = (size − 1)/2,
 *
 * a true convolution (the kernel flipped, as scipy.ndimage.convolve). Boundary rule: x̃ is the image
 * mirrored about its edges with the edge pixel repeated (half-sample symmetric: numpy.pad mode
 * "symmetric", scipy.ndimage mode "reflect"): x̃[−1] = x[0], x̃[−2] = x[1], x̃[n] = x[n − 1].
 * The kernel may be at most 2h − 1 by 2w − 1 (each tap reaches at most one mirror copy); a 1-D
 * signal is a 1×n image with a 1×kw kernel.
 *
 * A = V·P: P pads the image by reflection into a (h + 2ρ_h)×(w + 2ρ_w) buffer, V is the plain
 * ("valid") convolution on it. So Aᵀ = Pᵀ·Vᵀ: Vᵀ scatters y through the same taps into the
 * padded buffer (a correlation, i.e. convolution with the flipped kernel), and Pᵀ folds every
 * padded cell back onto the pixel it was mirrored from (adding). A large mirror-symmetric kernel
 * is applied through its DCT eigenvalues instead (see dctEigenvalues; then Aᵀ = A).
 */
export class ConvolutionOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  readonly height: number;
  readonly width: number;
  /** The kernel as used (normalised unless asked not to), kh×kw row-major. */
  readonly kernel: Float64Array;
  readonly kh: number;
  readonly kw: number;
  private readonly padded: Float64Array;
  private readonly paddedWidth: number;
  private readonly spectral: { plan: Dct2Plan; eigenvalues: Float64Array } | null;

  constructor(height: number, width: number, kernel: ArrayLike<number>, kh: number, kw: number, options: ConvolutionOptions = {}) {
    checkImageSize(height, width);
    const oddSize = (s: number) => Number.isSafeInteger(s) && s >= 1 && s % 2 === 1;
    if (!oddSize(kh) || !oddSize(kw)) throw new InputError("kernel", `expected odd positive sizes (a centred kernel), got ${kh}×${kw}`);
    if (kh > 2 * height - 1 || kw > 2 * width - 1) {
      throw new InputError("kernel", `expected at most ${2 * height - 1}×${2 * width - 1} entries for a ${height}×${width} image (one mirror copy each side), got ${kh}×${kw}`);
    }
    if (kernel?.length !== kh * kw) throw new InputError("kernel", `expected ${kh}×${kw} = ${kh * kw} entries, got ${kernel?.length}`);
    const g = Float64Array.from(kernel);
    if (!allFinite(g)) throw new InputError("kernel", "expected finite entries (found NaN or Infinity)");
    if (options.normalise ?? true) {
      let sum = 0;
      for (let k = 0; k < g.length; k++) sum += g[k];
      if (g.some((v) => v < 0) || !(sum > 0)) throw new InputError("kernel", "expected non-negative entries summing to a positive number");
      for (let k = 0; k < g.length; k++) g[k] /= sum;
    }
    this.height = height;
    this.width = width;
    this.rows = this.cols = height * width;
    this.kernel = g;
    this.kh = kh;
    this.kw = kw;
    this.paddedWidth = width + kw - 1;
    this.spectral = kh * kw > SPECTRAL_TAPS && this.mirrorSymmetric ? { plan: new Dct2Plan(height, width), eigenvalues: this.dctEigenvalues(new Float64Array(this.cols)) } : null;
    this.padded = new Float64Array(this.spectral ? 0 : (height + kh - 1) * this.paddedWidth);
  }

  /** True when g[i, j] = g[kh−1−i, j] = g[i, kw−1−j] exactly: then the DCT-II diagonalises A. */
  get mirrorSymmetric(): boolean {
    const { kernel: g, kh, kw } = this;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const v = g[i * kw + j];
        if (v !== g[(kh - 1 - i) * kw + j] || v !== g[i * kw + (kw - 1 - j)]) return false;
      }
    }
    return true;
  }

  /**
   * For a mirror-symmetric kernel, A = Cᵀ diag(λ) C with C the orthonormal 2-D DCT-II and
   *
   *     λ[k, l] = Σ_{i,j} g[i, j] cos(πk(i − ρ_h)/h) cos(πl(j − ρ_w)/w):
   *
   * the mirrored, 2n-periodic extension of the DCT basis vector cos(πk(2p+1)/(2n)) is that same
   * cosine on all integers p, and convolving it with an even kernel multiplies it by Σ g_j cos(πkj/n)
   * (the sine part cancels). Fills out (length h·w, index k·w + l).
   */
  dctEigenvalues(out: Float64Array): Float64Array {
    const { height: h, width: w, kernel: g, kh, kw } = this;
    const rh = (kh - 1) / 2, rw = (kw - 1) / 2;
    // rowSums[i·w + l] = Σ_j g[i, j] cos(πl(j − ρ_w)/w), then λ[k, l] = Σ_i cos(πk(i − ρ_h)/h) rowSums[i·w + l].
    const rowSums = new Float64Array(kh * w);
    for (let i = 0; i < kh; i++) {
      for (let l = 0; l < w; l++) {
        let s = 0;
        for (let j = 0; j < kw; j++) s += g[i * kw + j] * Math.cos((Math.PI * l * (j - rw)) / w);
        rowSums[i * w + l] = s;
      }
    }
    out.fill(0);
    for (let k = 0; k < h; k++) {
      for (let i = 0; i < kh; i++) {
        const c = Math.cos((Math.PI * k * (i - rh)) / h);
        for (let l = 0; l < w; l++) out[k * w + l] += c * rowSums[i * w + l];
      }
    }
    return out;
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    if (this.spectral) return applySpectral(this.spectral, x, out);
    const { height: h, width: w, kh, kw, padded: u, paddedWidth: pw } = this;
    const rh = (kh - 1) / 2, rw = (kw - 1) / 2;
    for (let pr = 0; pr < h + kh - 1; pr++) {
      const source = reflect(pr - rh, h) * w;
      for (let pc = 0; pc < pw; pc++) u[pr * pw + pc] = x[source + reflect(pc - rw, w)];
    }
    out.fill(0, 0, h * w);
    // out[r, c] += g[i, j]·u[r + kh−1−i, c + kw−1−j] (x̃[r − (i − ρ_h)] is u[r − i + 2ρ_h]), row by row.
    for (let r = 0; r < h; r++) {
      const to = r * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const gij = this.kernel[i * kw + j];
          if (gij === 0) continue;
          const from = (r + kh - 1 - i) * pw + kw - 1 - j;
          for (let c = 0; c < w; c++) out[to + c] += gij * u[from + c];
        }
      }
    }
    return out;
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    if (this.spectral) return applySpectral(this.spectral, y, out);
    const { height: h, width: w, kh, kw, padded: u, paddedWidth: pw } = this;
    const rh = (kh - 1) / 2, rw = (kw - 1) / 2;
    u.fill(0);
    // Vᵀ: scatter through the taps of apply, row by row.
    for (let r = 0; r < h; r++) {
      const from = r * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const gij = this.kernel[i * kw + j];
          if (gij === 0) continue;
          const to = (r + kh - 1 - i) * pw + kw - 1 - j;
          for (let c = 0; c < w; c++) u[to + c] += gij * y[from + c];
        }
      }
    }
    // Pᵀ: fold the padded cells back onto the pixels they mirror.
    out.fill(0, 0, h * w);
    for (let pr = 0; pr < h + kh - 1; pr++) {
      const target = reflect(pr - rh, h) * w;
      for (let pc = 0; pc < pw; pc++) out[target + reflect(pc - rw, w)] += u[pr * pw + pc];
    }
    return out;
  }
}

/** out ← Cᵀ(λ ⊙ C x), A of a mirror-symmetric kernel (a symmetric matrix, so also Aᵀ). */
function applySpectral({ plan, eigenvalues }: { plan: Dct2Plan; eigenvalues: Float64Array }, x: Float64Array, out: Float64Array): Float64Array {
  plan.forward(x, out);
  for (let k = 0; k < eigenvalues.length; k++) out[k] *= eigenvalues[k];
  return plan.inverse(out, out);
}
