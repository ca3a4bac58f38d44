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

/** The pieces of x: union-find over the edges with |x_to − x_from| ≤ fuse (path halving, union by smaller root). */
export function piecesOf(D: GridDifferences, x: Float64Array, fuse: number, zeroPieces: boolean): Pieces {
  const n = x.length, [h, w] = D.shape;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const unite = (a: number, b: number): void => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    while (parent[b] !== b) b = parent[b] = parent[parent[b]];
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
  };
  // Horizontal edges (r, c)–(r, c+1), then vertical ones k–(k + w): D's row order.
  for (let r = 0; r < h; r++) for (let p = r * w, end = p + w - 1; p < end; p++) if (Math.abs(x[p + 1] - x[p]) <= fuse) unite(p, p + 1);
  for (let p = 0; p + w < n; p++) if (Math.abs(x[p + w] - x[p]) <= fuse) unite(p, p + w);
  // Roots are the smallest index of their piece, so one forward pass labels every feature.
  const label = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    let root = i;
    while (parent[root] !== root) root = parent[root];
    label[i] = root === i ? count++ : label[root];
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
  // Jumps: the edges between different pieces, in D's row order.
  let jumpCount = 0;
  for (let r = 0; r < h; r++) for (let p = r * w, end = p + w - 1; p < end; p++) if (label[p] !== label[p + 1]) jumpCount++;
  for (let p = 0; p + w < n; p++) if (label[p] !== label[p + w]) jumpCount++;
  const jumps = new Int32Array(jumpCount), jumpSigns = new Int8Array(jumpCount);
  let e = 0, t = 0;
  const note = (from: number, to: number) => {
    if (label[from] !== label[to]) {
      jumps[t] = e;
      jumpSigns[t++] = x[to] > x[from] ? 1 : -1;
    }
    e++;
  };
  for (let r = 0; r < h; r++) for (let p = r * w, end = p + w - 1; p < end; p++) note(p, p + 1);
  for (let p = 0; p + w < n; p++) note(p, p + w);
  return { label, count, size, jumps, jumpSigns, sign };
}

/** The jump set of x exactly: {e : (Dx)_e ≠ 0} with signs, and the number of constant pieces. */
export function jumpSet(D: GridDifferences, x: Float64Array): { jumps: number[]; jumpSigns: number[]; segments: number } {
  const pieces = piecesOf(D, x, 0, false);
  const k = pieces.jumps.length;
  const jumps = new Array<number>(k), jumpSigns = new Array<number>(k);
  for (let t = 0; t < k; t++) {
    jumps[t] = pieces.jumps[t];
    jumpSigns[t] = pieces.jumpSigns[t];
  }
  return { jumps, jumpSigns, segments: pieces.count };
}
