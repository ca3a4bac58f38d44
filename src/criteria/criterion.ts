/** An outer criterion L(x): its value and its gradient ∇ₓL, which the differentiation module turns into dL/dλ. */
export interface Criterion {
  readonly name: string;
  value(x: Float64Array): number;
  /**
   * out ← ∇ₓL(x) (length n). With `support`, only the entries j in support are computed (the
   * adjoint on the active set needs no more); the others are left as they are.
   */
  gradient(x: Float64Array, out: Float64Array, support?: ArrayLike<number>): Float64Array;
}
