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

/**
 * The pieces of x: connected components of the grid graph over the edges with
 * |x_to − x_from| ≤ fuse, by one row-major scan with union-find (each component's root is its
 * first pixel: a union links the later root under the earlier), then a second scan that numbers
 * the roots in order, so pieces are numbered in order of their first feature. (A flood fill took
 * 19 ms at 512×512, a tenth of a prox iteration; the tuner asks for the pieces at every step.)
 */
export function piecesOf(D: GridDifferences, x: Float64Array, fuse: number, zeroPieces: boolean): Pieces {
  const n = x.length, [h, w] = D.shape;
  const label = new Int32Array(n);
  const count = labelPieces(x, h, w, fuse, label);
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
  return { label, count, size, ...jumpsBetween(x, h, w, label), sign };
}

/** Union-find over the flat edges in one row-major scan, then the roots numbered in order; returns the count. */
function labelPieces(x: Float64Array, h: number, w: number, fuse: number, label: Int32Array): number {
  const n = x.length, parent = new Int32Array(n);
  for (let r = 0, p = 0; r < h; r++) {
    for (let c = 0; c < w; c++, p++) {
      const left = c > 0 && Math.abs(x[p] - x[p - 1]) <= fuse;
      const up = r > 0 && Math.abs(x[p] - x[p - w]) <= fuse;
      if (left && up) {
        const a = root(parent, p - 1), b = root(parent, p - w);
        parent[p] = a < b ? a : b;
        if (a !== b) parent[a < b ? b : a] = parent[p];
      } else if (left) {
        parent[p] = root(parent, p - 1);
      } else if (up) {
        parent[p] = root(parent, p - w);
      } else {
        parent[p] = p;
      }
    }
  }
  let count = 0;
  for (let p = 0; p < n; p++) label[p] = parent[p] === p ? count++ : label[root(parent, p)];
  return count;
}

/**
 * The edges between different pieces in D's row order (horizontal, then vertical) with the signs
 * of (Dx)_e there, in one pass into buffers of D's size (a counting pass first took twice as long).
 */
function jumpsBetween(x: Float64Array, h: number, w: number, label: Int32Array): { jumps: Int32Array; jumpSigns: Int8Array } {
  const n = x.length, jumps = new Int32Array(h * (w - 1) + (h - 1) * w), jumpSigns = new Int8Array(jumps.length);
  let e = 0, t = 0;
  for (let r = 0; r < h; r++) {
    for (let p = r * w, end = p + w - 1; p < end; p++, e++) {
      if (label[p] === label[p + 1]) continue;
      jumps[t] = e;
      jumpSigns[t++] = x[p + 1] > x[p] ? 1 : -1;
    }
  }
  for (let p = 0; p + w < n; p++, e++) {
    if (label[p] === label[p + w]) continue;
    jumps[t] = e;
    jumpSigns[t++] = x[p + w] > x[p] ? 1 : -1;
  }
  return { jumps: jumps.slice(0, t), jumpSigns: jumpSigns.slice(0, t) };
}

/** The root of p's tree, halving the path on the way (every other node points to its grandparent). */
function root(parent: Int32Array, p: number): number {
  while (parent[p] !== p) {
    const grand = parent[parent[p]];
    parent[p] = grand;
    p = grand;
  }
  return p;
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
