import { Matrix, SingularValueDecomposition } from "ml-matrix";

/**
 * The exact solution of min ½‖Ax − y‖² + l1‖x‖₁ + l2/2‖x‖² s.t. Cx = d, lo ≤ x ≤ up for n ≤ 4,
 * by enumeration: every coordinate is fixed (at 0, lo or up) or free with a sign s; on each such
 * piece the objective is a quadratic, minimised under Cx = d by the KKT system
 *   [A_FᵀA_F + l2 I   C_Fᵀ] [x_F]   [A_Fᵀ(y − A x_fixed) − l1 s]
 *   [C_F              0   ] [ν  ] = [d − C x_fixed             ]
 * (solved by SVD: a singular but consistent system still gives the piece's minimiser). The
 * pieces' points that are feasible (signs, box, Cx = d) are candidates; the best one is the
 * optimum since the optimum lies on some piece and is that piece's minimiser.
 */
export function enumerate(A: number[][], y: number[], l1: number, l2: number, C: number[][], d: number[], lo: number[], up: number[]): { x: number[]; objective: number } {
  const m = A.length, n = A[0].length, p = C.length;
  const objective = (x: number[]) => {
    let f = 0;
    for (let i = 0; i < m; i++) f += 0.5 * (A[i].reduce((s, a, j) => s + a * x[j], 0) - y[i]) ** 2;
    return f + x.reduce((s, v) => s + l1 * Math.abs(v) + 0.5 * l2 * v * v, 0);
  };
  type State = "zero" | "lower" | "upper" | "plus" | "minus";
  const states: State[] = ["zero", "lower", "upper", "plus", "minus"];
  let best: { x: number[]; objective: number } = { x: [], objective: Infinity };
  for (let code = 0; code < 5 ** n; code++) {
    const pattern = Array.from({ length: n }, (_, j) => states[Math.floor(code / 5 ** j) % 5]);
    const fixed = pattern.map((s, j) => (s === "zero" ? 0 : s === "lower" ? lo[j] : s === "upper" ? up[j] : NaN));
    if (fixed.some((v) => v === Infinity || v === -Infinity)) continue;
    const F = pattern.flatMap((s, j) => (s === "plus" || s === "minus" ? [j] : []));
    const k = F.length;
    const base = fixed.map((v) => (Number.isNaN(v) ? 0 : v));
    const K = new Matrix(k + p, k + p), rhs = new Matrix(k + p, 1);
    F.forEach((j, a) => {
      F.forEach((l, b) => K.set(a, b, A.reduce((s, row) => s + row[j] * row[l], 0) + (a === b ? l2 : 0)));
      for (let i = 0; i < p; i++) K.set(a, k + i, C[i][j]).set(k + i, a, C[i][j]);
      const r = A.reduce((s, row, i) => s + row[j] * (y[i] - row.reduce((t, v, q) => t + v * base[q], 0)), 0);
      rhs.set(a, 0, r - l1 * (pattern[j] === "plus" ? 1 : -1));
    });
    for (let i = 0; i < p; i++) rhs.set(k + i, 0, d[i] - C[i].reduce((s, c, j) => s + c * base[j], 0));
    const u = new SingularValueDecomposition(K).solve(rhs);
    const x = base.slice();
    F.forEach((j, a) => (x[j] = u.get(a, 0)));
    const signOk = F.every((j) => (pattern[j] === "plus" ? x[j] >= 0 : x[j] <= 0));
    const boxOk = x.every((v, j) => v >= lo[j] - 1e-12 && v <= up[j] + 1e-12);
    const feasible = C.every((row, i) => Math.abs(row.reduce((s, c, j) => s + c * x[j], 0) - d[i]) <= 1e-9 * (1 + Math.abs(d[i])));
    if (!signOk || !boxOk || !feasible) continue;
    const f = objective(x);
    if (f < best.objective) best = { x, objective: f };
  }
  return best;
}

export type BoxKind = "none" | "nonnegative" | "box";

/**
 * A tiny constrained problem from a seed, entries rounded to one decimal (ties and kinks
 * happen): A (m × n) and y, p rows of C with d = C·(a point inside the box), the box lo ≤ x ≤ up
 * (none, x ≥ 0, or −0.5 ≤ x ≤ 0.7) and its problem-file form. A linear congruential stream, so a
 * fast-check seed replays the same case.
 */
export function tinyConstrainedCase(n: number, m: number, p: number, box: BoxKind, seed: number) {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1; // uniform in [−1, 1)
  const round1 = (v: number) => Math.round(v * 10) / 10;
  const A = Array.from({ length: m }, () => Array.from({ length: n }, () => round1(2 * next())));
  const y = Array.from({ length: m }, () => round1(3 * next()));
  const C = Array.from({ length: p }, () => Array.from({ length: n }, () => round1(1.5 * next())));
  const lo = Array<number>(n).fill(box === "none" ? -Infinity : box === "nonnegative" ? 0 : -0.5);
  const up = Array<number>(n).fill(box === "box" ? 0.7 : Infinity);
  const inside = Array.from({ length: n }, (_, j) => Math.min(up[j], Math.max(lo[j], round1(next()))));
  const d = C.map((row) => row.reduce((t, c, j) => t + c * inside[j], 0));
  const bounds = box === "none" ? {} : { bounds: { lower: lo[0], ...(box === "box" && { upper: up[0] }) } };
  return { A, y, C, d, lo, up, bounds };
}
