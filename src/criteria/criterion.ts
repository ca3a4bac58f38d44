/** An outer criterion L(x): its value and its gradient ∇ₓL, which the differentiation module turns into dL/dλ. */
export interface Criterion {
  readonly name: string;
  value(x: Float64Array): number;
  /** out ← ∇ₓL(x) (length n) */
  gradient(x: Float64Array, out: Float64Array): Float64Array;
}
