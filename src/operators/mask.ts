import { InputError } from "../errors.js";
import type { LinearOperator } from "./operator.js";

/**
 * Inpainting's measurement: keep the pixels where mask = 1. Rows are the kept pixels in
 * increasing pixel order, so (Ax)_i = x[kept_i]; Aᵀ scatters them back, zeros elsewhere.
 */
export class MaskOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** The kept pixel indices, increasing. */
  readonly kept: Int32Array;

  constructor(mask: Uint8Array | readonly boolean[], n: number) {
    if (!Number.isSafeInteger(n) || n < 1) throw new InputError("mask", `expected a positive pixel count, got ${n}`);
    if (mask?.length !== n) throw new InputError("mask", `expected ${n} entries (one per pixel), got ${mask?.length}`);
    const kept: number[] = [];
    for (let p = 0; p < n; p++) {
      const v: unknown = mask[p];
      if (v === 1 || v === true) kept.push(p);
      else if (v !== 0 && v !== false) throw new InputError("mask", `expected 0/1 (or boolean) entries, got ${String(v)} at pixel ${p}`);
    }
    if (kept.length === 0) throw new InputError("mask", "expected at least one measured pixel (the mask is all zeros)");
    this.kept = Int32Array.from(kept);
    this.rows = kept.length;
    this.cols = n;
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    const kept = this.kept;
    for (let i = 0; i < kept.length; i++) out[i] = x[kept[i]];
    return out;
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    const kept = this.kept;
    out.fill(0, 0, this.cols);
    for (let i = 0; i < kept.length; i++) out[kept[i]] = y[i];
    return out;
  }
}
