import { Random } from "../src/linalg/random.js";

/**
 * Independent helpers of the basis-pursuit tests: explicit rows built entry by entry, products by
 * plain loops, and a linear-programming oracle (dense simplex) that knows nothing of the solvers.
 */

/** A as rows of standard normals (not scaled: the solver must not care). */
export function gaussianRows(rng: Random, m: number, n: number): number[][] {
  return Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal()));
}

export function times(rows: number[][], x: ArrayLike<number>): number[] {
  return rows.map((row) => row.reduce((s, a, j) => s + a * x[j], 0));
}

export function timesT(rows: number[][], v: ArrayLike<number>): number[] {
  return rows[0].map((_, j) => rows.reduce((s, row, i) => s + row[j] * v[i], 0));
}

export const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));

/** A k-sparse x with entries bounded away from 0 (|x_j| ≥ 0.5), its support sorted. */
export function sparseTruth(rng: Random, n: number, k: number): { x: number[]; support: number[] } {
  const x = new Array<number>(n).fill(0);
  const support = rng.sample(n, k).sort((a, b) => a - b);
  for (const j of support) x[j] = (0.5 + rng.uniform() * 2) * (rng.uniform() < 0.5 ? -1 : 1);
  return { x, support };
}

/**
 * Basis pursuit as a linear programme, min Σ w_j(u_j + v_j) subject to A(u − v) = y, u, v ≥ 0,
 * by a dense two-phase tableau simplex with Bland's rule (no cycling): the oracle.
 */
export function lpBasisPursuit(rows: number[][], y: number[], weights: number[]): { x: number[]; value: number } {
  const m = rows.length, n = rows[0].length, cols = 2 * n + m, EPS = 1e-11;
  // Tableau rows: [A, −A, I | y] with rows flipped so that y ≥ 0; artificials are columns 2n..2n+m.
  const T = rows.map((row, i) => {
    const s = y[i] < 0 ? -1 : 1;
    const r = new Array<number>(cols + 1).fill(0);
    row.forEach((a, j) => ((r[j] = s * a), (r[n + j] = -s * a)));
    r[2 * n + i] = 1;
    r[cols] = s * y[i];
    return r;
  });
  const basis = Array.from({ length: m }, (_, i) => 2 * n + i);
  const pivot = (r: number, c: number) => {
    const p = T[r][c];
    for (let j = 0; j <= cols; j++) T[r][j] /= p;
    for (let i = 0; i < m; i++) {
      if (i === r || T[i][c] === 0) continue;
      const f = T[i][c];
      for (let j = 0; j <= cols; j++) T[i][j] -= f * T[r][j];
    }
    basis[r] = c;
  };
  const optimise = (cost: number[], allowed: (j: number) => boolean) => {
    for (let iter = 0; iter < 10_000; iter++) {
      // Reduced costs c_j − c_Bᵀ T_j; Bland: the first improving column, the first tied row.
      let enter = -1;
      for (let j = 0; j < cols && enter < 0; j++) {
        if (!allowed(j) || basis.includes(j)) continue;
        let d = cost[j];
        for (let i = 0; i < m; i++) d -= cost[basis[i]] * T[i][j];
        if (d < -EPS) enter = j;
      }
      if (enter < 0) return;
      let leave = -1, best = Infinity;
      for (let i = 0; i < m; i++) {
        if (T[i][enter] <= EPS) continue;
        const ratio = T[i][cols] / T[i][enter];
        if (ratio < best - EPS || (Math.abs(ratio - best) <= EPS && basis[i] < basis[leave])) {
          best = ratio;
          leave = i;
        }
      }
      if (leave < 0) throw new Error("LP unbounded");
      pivot(leave, enter);
    }
    throw new Error("simplex did not terminate");
  };
  // Phase I: minimise the artificials; then drive the ones left in the basis (at 0) out.
  optimise(Array.from({ length: cols }, (_, j) => (j >= 2 * n ? 1 : 0)), () => true);
  for (let i = 0; i < m; i++) {
    if (basis[i] < 2 * n) continue;
    if (T[i][cols] > 1e-9) throw new Error("LP infeasible");
    const c = T[i].findIndex((v, j) => j < 2 * n && Math.abs(v) > 1e-9);
    if (c >= 0) pivot(i, c);
  }
  const cost = Array.from({ length: cols }, (_, j) => (j < 2 * n ? weights[j % n] : 0));
  optimise(cost, (j) => j < 2 * n);
  const x = new Array<number>(n).fill(0);
  basis.forEach((b, i) => {
    if (b < n) x[b] += T[i][cols];
    else if (b < 2 * n) x[b - n] -= T[i][cols];
  });
  return { x, value: x.reduce((s, v, j) => s + weights[j] * Math.abs(v), 0) };
}

