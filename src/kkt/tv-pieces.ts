import type { GridDifferences } from "../operators/finite-differences.js";

/**
 * The TV active set of x on a grid: its constant pieces (connected components of the grid
 * graph whose edges have |(Dx)_e| ≤ fuse), the jump set J (edges between different pieces)
 * with the signs of (Dx)_e there, and, with an l1 term, which pieces are zero.
 */
export interface Pieces {
  /** The piece of every feature, 0..count−1 (numbered in order of first feature). */
  label: Int32Array;
  count: number;
  /** Features per piece. */
  size: Float64Array;
  /** Edges of D between different pieces, increasing. */
  jumps: Int32Array;
  /** sign((Dx)_e) on the jumps. */
  jumpSigns: Int8Array;
  /** sign of each piece's value: 0 for a zero piece (only with l1, where |value| ≤ fuse), else ±1. */
  sign: Int8Array;
}

/** The pieces of x: union-find over the edges with |x_to − x_from| ≤ fuse. */
export function piecesOf(D: GridDifferences, x: Float64Array, fuse: number, zeroPieces: boolean): Pieces {
  const n = x.length, [h, w] = D.shape;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const unite = (a: number, b: number): void => {
    const ra = find(a), rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  // Horizontal edges (r, c)–(r, c+1), then vertical ones k–(k + w): D's row order.
  for (let r = 0; r < h; r++) for (let p = r * w, end = p + w - 1; p < end; p++) if (Math.abs(x[p + 1] - x[p]) <= fuse) unite(p, p + 1);
  for (let p = 0; p + w < n; p++) if (Math.abs(x[p + w] - x[p]) <= fuse) unite(p, p + w);
  const label = new Int32Array(n);
  const rootLabel = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const root = find(i);
    if (rootLabel[root] < 0) rootLabel[root] = count++;
    label[i] = rootLabel[root];
  }
  const size = new Float64Array(count), sum = new Float64Array(count);
  for (let i = 0; i < n; i++) {
    size[label[i]]++;
    sum[label[i]] += x[i];
  }
  const sign = new Int8Array(count);
  for (let p = 0; p < count; p++) {
    const mean = sum[p] / size[p];
    sign[p] = zeroPieces && Math.abs(mean) <= fuse ? 0 : mean >= 0 ? 1 : -1;
  }
  const jumps: number[] = [], jumpSigns: number[] = [];
  const note = (e: number, from: number, to: number) => {
    if (label[from] !== label[to]) {
      jumps.push(e);
      jumpSigns.push(x[to] > x[from] ? 1 : -1);
    }
  };
  let e = 0;
  for (let r = 0; r < h; r++) for (let p = r * w, end = p + w - 1; p < end; p++) note(e++, p, p + 1);
  for (let p = 0; p + w < n; p++) note(e++, p, p + w);
  return { label, count, size, jumps: Int32Array.from(jumps), jumpSigns: Int8Array.from(jumpSigns), sign };
}

/** The jump set of x exactly: {e : (Dx)_e ≠ 0} with signs, and the number of constant pieces. */
export function jumpSet(D: GridDifferences, x: Float64Array): { jumps: number[]; jumpSigns: number[]; segments: number } {
  const pieces = piecesOf(D, x, 0, false);
  return { jumps: Array.from(pieces.jumps), jumpSigns: Array.from(pieces.jumpSigns), segments: pieces.count };
}
