import { Matrix, inverse } from "ml-matrix";

/**
 * An independent dense oracle for min ½‖Ax − y‖² + l2/2‖x‖² + tv‖Dx‖₁ + l1‖x‖₁ (small n):
 * write the penalties as ‖D̃x‖₁ with D̃ = [tv·D; l1·I] and solve the dual box QP
 *   min over |z| ≤ 1 of ½(b − D̃ᵀz)ᵀM⁻¹(b − D̃ᵀz),  M = AᵀA + l2 I,  b = Aᵀy,  x = M⁻¹(b − D̃ᵀz)
 * by accelerated projected gradient with restarts (ml-matrix for M⁻¹: nothing from src).
 */
export function tvOracle(A: number[][], y: number[], edges: [number, number][], penalty: { tv: number; l1?: number; l2?: number }, iterations = 400_000): Float64Array {
  const n = A[0].length, { tv, l1 = 0, l2 = 0 } = penalty;
  const At = new Matrix(A).transpose();
  const M = At.mmul(new Matrix(A)).add(Matrix.eye(n).mul(l2));
  const Minv = inverse(M);
  const b = At.mmul(Matrix.columnVector(y)).to1DArray();
  // Rows of D̃ as sparse (index, value) lists.
  const rows: [number, number][][] = edges.map(([from, to]) => [[from, -tv], [to, tv]]);
  if (l1 > 0) for (let j = 0; j < n; j++) rows.push([[j, l1]]);
  const k = rows.length;
  const DtT = (z: Float64Array) => {
    const out = new Float64Array(n);
    rows.forEach((row, r) => row.forEach(([j, v]) => (out[j] += v * z[r])));
    return out;
  };
  const primal = (z: Float64Array) => {
    const rhs = DtT(z).map((v, j) => b[j] - v);
    return Minv.mmul(Matrix.columnVector(Array.from(rhs))).to1DArray();
  };
  // Lipschitz constant of the dual gradient: ‖D̃M⁻¹D̃ᵀ‖ ≤ ‖M⁻¹‖·‖D̃‖², bounded by Frobenius norms.
  let dNorm = 0;
  rows.forEach((row) => row.forEach(([, v]) => (dNorm += v * v)));
  const L = Minv.norm("frobenius") * dNorm;
  // Ascent direction at w: (D̃x)_r (the dual gradient is −D̃x).
  const z = acceleratedAscent(k, k, L, (w, grad) => {
    const x = primal(w);
    rows.forEach((row, r) => (grad[r] = row.reduce((g, [j, v]) => g + v * x[j], 0)));
  }, iterations);
  return Float64Array.from(primal(z));
}

/**
 * Accelerated projected gradient ascent with adaptive restarts (O'Donoghue & Candès) on a concave
 * dual with an L-Lipschitz gradient, from 0: the first `boxed` variables stay in [−1, 1], the
 * others are free; `direction(w, out)` writes the gradient at w. Stops when a step moves nothing.
 */
export function acceleratedAscent(size: number, boxed: number, L: number, direction: (w: Float64Array, out: Float64Array) => void, iterations: number): Float64Array {
  const z = new Float64Array(size), w = new Float64Array(size), prev = new Float64Array(size), grad = new Float64Array(size);
  let t = 1;
  for (let it = 0; it < iterations; it++) {
    direction(w, grad);
    let against = 0, moved = 0;
    for (let r = 0; r < size; r++) {
      prev[r] = z[r];
      const next = w[r] + grad[r] / L;
      z[r] = r < boxed ? Math.max(-1, Math.min(1, next)) : next;
      against += (w[r] - z[r]) * (z[r] - prev[r]);
      moved = Math.max(moved, Math.abs(z[r] - prev[r]));
    }
    if (moved === 0 && it > 10) break;
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const beta = against > 0 ? 0 : (t - 1) / tNext;
    t = against > 0 ? 1 : tNext;
    for (let r = 0; r < size; r++) w[r] = z[r] + beta * (z[r] - prev[r]);
  }
  return z;
}

/** The edges (from, to) of a grid in sparsetune-problem/1's order, written out independently. */
export function gridEdges(grid: number[]): [number, number][] {
  const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
  const edges: [number, number][] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) edges.push([r * w + c, r * w + c + 1]);
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) edges.push([r * w + c, (r + 1) * w + c]);
  return edges;
}

/** ½‖Ax − y‖² + l2/2‖x‖² + l1‖x‖₁ + tv‖Dx‖₁ written out. */
export function tvObjective(A: number[][], y: number[], edges: [number, number][], penalty: { tv: number; l1?: number; l2?: number }, x: ArrayLike<number>): number {
  let f = 0;
  A.forEach((row, i) => (f += 0.5 * (row.reduce((s, a, j) => s + a * x[j], 0) - y[i]) ** 2));
  for (let j = 0; j < x.length; j++) f += 0.5 * (penalty.l2 ?? 0) * x[j] ** 2 + (penalty.l1 ?? 0) * Math.abs(x[j]);
  for (const [a, b] of edges) f += penalty.tv * Math.abs(x[b] - x[a]);
  return f;
}
