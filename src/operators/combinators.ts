import { InputError } from "../errors.js";
import { requireOperator, type LinearOperator } from "./operator.js";

/** B·A: apply A, then B (B.cols must equal A.rows). Matrix-free: one buffer between the two. */
export class ComposedOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  private readonly middle: Float64Array;

  constructor(
    readonly outer: LinearOperator,
    readonly inner: LinearOperator,
  ) {
    requireOperator("outer", outer, 0);
    requireOperator("inner", inner, 0);
    if (outer.cols !== inner.rows) throw new InputError("operator", `cannot compose: the outer operator takes ${outer.cols} inputs, the inner gives ${inner.rows}`);
    this.rows = outer.rows;
    this.cols = inner.cols;
    this.middle = new Float64Array(inner.rows);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    return this.outer.apply(this.inner.apply(x, this.middle), out);
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    return this.inner.applyT(this.outer.applyT(y, this.middle), out);
  }
}

/** Aᵀ as an operator of its own. */
export class AdjointOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;

  constructor(readonly base: LinearOperator) {
    requireOperator("base", base, 0);
    this.rows = base.cols;
    this.cols = base.rows;
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    return this.base.applyT(x, out);
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    return this.base.apply(y, out);
  }
}

/** [A₁; A₂; …]: the blocks' rows one after another (all blocks share the columns). */
export class StackedOperator implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  private readonly offsets: number[];
  private readonly scratch: Float64Array;

  constructor(readonly blocks: LinearOperator[]) {
    if (!Array.isArray(blocks) || blocks.length === 0) throw new InputError("operator", "expected a non-empty array of operators to stack");
    const cols = blocks[0]?.cols;
    this.offsets = [0];
    for (const [k, b] of blocks.entries()) {
      requireOperator(`operator[${k}]`, b, 0);
      if (b.cols !== cols) throw new InputError(`operator[${k}]`, `expected ${cols} columns to stack, got ${b.cols}`);
      this.offsets.push(this.offsets[k] + b.rows);
    }
    this.rows = this.offsets[blocks.length];
    this.cols = cols;
    this.scratch = new Float64Array(cols);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    this.blocks.forEach((b, k) => b.apply(x, out.subarray(this.offsets[k], this.offsets[k + 1])));
    return out;
  }

  /** Aᵀy = Σ_k A_kᵀ y_k. */
  applyT(y: Float64Array, out: Float64Array): Float64Array {
    out.fill(0);
    this.blocks.forEach((b, k) => {
      b.applyT(y.subarray(this.offsets[k], this.offsets[k + 1]), this.scratch);
      for (let j = 0; j < out.length; j++) out[j] += this.scratch[j];
    });
    return out;
  }
}
