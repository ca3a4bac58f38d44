import { DenseMatrix } from "./dense.js";
import type { LinearOperator } from "./operator.js";

/** The rows `rows` of A as a dense matrix (a copy, in memory from `allocate`): folds of cross-validation. */
export function selectRows(A: LinearOperator, rows: ArrayLike<number>, allocate: (length: number) => Float64Array<ArrayBufferLike> = (length) => new Float64Array(length)): DenseMatrix {
  const k = rows.length, n = A.cols, m = A.rows;
  const data = allocate(k * n);
  if (A instanceof DenseMatrix) {
    // Runs of consecutive rows (a fold's training rows are at most two) copied as blocks.
    const runs: [number, number][] = [];
    for (let i = 0; i < k; i++) {
      const last = runs[runs.length - 1];
      if (last && rows[i] === rows[i - 1] + 1) last[1]++;
      else runs.push([i, 1]);
    }
    for (let j = 0; j < n; j++) {
      const col = A.column(j), base = j * k;
      for (const [i, length] of runs) data.set(col.subarray(rows[i], rows[i] + length), base + i);
    }
  } else {
    // Any operator: column j is A e_j.
    const e = new Float64Array(n), col = new Float64Array(m);
    for (let j = 0; j < n; j++) {
      e[j] = 1;
      A.apply(e, col);
      e[j] = 0;
      for (let i = 0; i < k; i++) data[j * k + i] = col[rows[i]];
    }
  }
  return new DenseMatrix(k, n, data);
}
