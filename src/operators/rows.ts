import { DenseMatrix } from "./dense.js";
import type { LinearOperator } from "./operator.js";

/** The rows `rows` of A as a dense matrix (a copy): folds of cross-validation. */
export function selectRows(A: LinearOperator, rows: ArrayLike<number>): DenseMatrix {
  return DenseMatrix.build(rows.length, A.cols, (data) => copyRows(A, rows, data));
}

/** data (column-major, |rows|×n) ← the rows `rows` of A. */
function copyRows(A: LinearOperator, rows: ArrayLike<number>, data: Float64Array): void {
  const k = rows.length, n = A.cols, m = A.rows;
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
}
