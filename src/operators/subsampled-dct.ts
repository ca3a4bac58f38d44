import { InputError } from "../errors.js";
import { checkImageSize } from "../imaging/image.js";
import { Random } from "../linalg/random.js";
import { requireIndices } from "../linalg/vector.js";
import { Dct2Plan } from "../transforms/dct.js";
import type { LinearOperator } from "./operator.js";

/**
 * Compressed sensing in the DCT domain: (Ax)_i = (C x)[indices_i], with C the orthonormal 2-D
 * DCT-II of the h×w row-major image (coefficient (k, l) at k·w + l). Aᵀy is the inverse DCT of the
 * coefficients y put back at their indices, zeros elsewhere. The rows of A are orthonormal
 * (AAᵀ = I) and AᵀA = Cᵀ diag(selected) C.
 */
export class SubsampledDctOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  readonly height: number;
  readonly width: number;
  readonly indices: Int32Array;
  private readonly plan: Dct2Plan;
  private readonly coefficients: Float64Array;

  constructor(height: number, width: number, indices: ArrayLike<number>) {
    checkImageSize(height, width);
    const n = height * width;
    if (!(indices?.length >= 1 && indices.length <= n)) throw new InputError("indices", `expected 1 to ${n} DCT coefficient indices, got ${indices?.length}`);
    requireIndices("indices", indices, n);
    this.height = height;
    this.width = width;
    this.indices = Int32Array.from(indices);
    this.rows = indices.length;
    this.cols = n;
    this.plan = new Dct2Plan(height, width);
    this.coefficients = new Float64Array(n);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    const c = this.plan.forward(x, this.coefficients), idx = this.indices;
    for (let i = 0; i < idx.length; i++) out[i] = c[idx[i]];
    return out;
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    const c = this.coefficients, idx = this.indices;
    c.fill(0);
    for (let i = 0; i < idx.length; i++) c[idx[i]] = y[i];
    return this.plan.inverse(c, out);
  }
}

/** m distinct coefficient indices of an h×w image drawn uniformly with the seeded RNG, increasing. */
export function randomDctIndices(height: number, width: number, m: number, seed: number): Int32Array {
  checkImageSize(height, width);
  const n = height * width;
  if (!Number.isSafeInteger(m) || m < 1 || m > n) throw new InputError("measurements", `expected an integer number of coefficients in [1, ${n}], got ${m}`);
  return Int32Array.from(new Random(seed).sample(n, m)).sort();
}
