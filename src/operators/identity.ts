import { requireInteger } from "../errors.js";
import { DenseMatrix } from "./dense.js";
import type { ColumnOperator } from "./operator.js";

/** The n×n identity: denoising problems. */
export class IdentityOperator implements ColumnOperator {
  readonly rows: number;
  readonly cols: number;

  constructor(n: number) {
    requireInteger("n", n, 1);
    this.rows = n;
    this.cols = n;
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    out.set(x);
    return out;
  }

  applyT(y: Float64Array, out: Float64Array): Float64Array {
    out.set(y);
    return out;
  }

  columnDot(j: number, v: Float64Array): number {
    return v[j];
  }

  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    v[j] += alpha;
  }

  columnInner(i: number, j: number): number {
    return i === j ? 1 : 0;
  }

  columnNormsSquared(): Float64Array {
    return new Float64Array(this.cols).fill(1);
  }
}

/** The n×n identity as a DenseMatrix (a constraint matrix C = I must be explicit). */
export function identityDense(n: number): DenseMatrix {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return new DenseMatrix(n, n, data);
}
