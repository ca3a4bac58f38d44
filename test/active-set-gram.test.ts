import { describe, expect, it } from "vitest";
import { activeSetMatrix } from "../src/kkt/active-set.js";
import { DenseMatrix } from "../src/operators/dense.js";

/** A (m × n) with entries built one by one from a small LCG: no library code in the oracle. */
function matrix(m: number, n: number, seed: number): DenseMatrix {
  const data = new Float64Array(m * n);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648 - 0.5;
  }
  return new DenseMatrix(m, n, data);
}

/** (A_SᵀA_S + D)u by explicit loops over the entries. */
function applyH(A: DenseMatrix, S: number[], curvature: Float64Array, u: Float64Array): Float64Array {
  const out = new Float64Array(S.length);
  for (let a = 0; a < S.length; a++) {
    let s = curvature[a] * u[a];
    for (let b = 0; b < S.length; b++) {
      let g = 0;
      for (let i = 0; i < A.rows; i++) g += A.get(i, S[a]) * A.get(i, S[b]);
      s += g * u[b];
    }
    out[a] = s;
  }
  return out;
}

describe("activeSetMatrix reusing the Gram of the previous support", () => {
  // Each support shares most columns with the one before (subsets, one new column, a shift):
  // the copied and the computed Gram entries must both land in the right places.
  const supports = [
    [0, 2, 3, 5, 7, 8, 11, 13, 14, 17, 19, 20],
    [0, 2, 5, 7, 8, 11, 13, 17, 19],
    [0, 1, 2, 5, 7, 8, 11, 13, 17, 19],
    [2, 5, 7, 8, 11, 13, 17, 19, 21, 22],
  ];
  it("solves H u = b for each support as the explicit H does", () => {
    const A = matrix(40, 24, 3);
    for (const [t, S] of supports.entries()) {
      const curvature = new Float64Array(S.length).fill(t % 2 === 0 ? 0 : 0.3);
      const b = Float64Array.from(S, (j, a) => Math.sin(j + a));
      const u = activeSetMatrix(A, Int32Array.from(S), curvature).solve(b);
      const back = applyH(A, S, curvature, u);
      for (let a = 0; a < S.length; a++) expect(back[a]).toBeCloseTo(b[a], 10);
    }
  });
});
