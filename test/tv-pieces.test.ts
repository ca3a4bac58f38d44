import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { piecesOf } from "../src/kkt/tv-pieces.js";
import { GridDifferences } from "../src/operators/finite-differences.js";

/**
 * Oracle: every feature starts with its own index; each edge with |Δx| ≤ fuse pulls both ends to
 * the smaller label until nothing changes (the smallest index of each component), then labels are
 * renumbered in order of first appearance. Edges come from the dense D, entry by entry.
 */
function oracle(grid: number[], x: number[], fuse: number) {
  const D = new GridDifferences(grid), n = x.length;
  const rows: [number, number][] = [];
  for (let e = 0; e < D.rows; e++) {
    const row = D.applyT(Float64Array.from({ length: D.rows }, (_, k) => (k === e ? 1 : 0)), new Float64Array(n));
    rows.push([row.indexOf(-1), row.indexOf(1)]);
  }
  const root = x.map((_, i) => i);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [a, b] of rows) {
      if (Math.abs(x[b] - x[a]) > fuse) continue;
      const m = Math.min(root[a], root[b]);
      if (root[a] !== m || root[b] !== m) (root[a] = m), (root[b] = m), (changed = true);
    }
  }
  const order = [...new Set(root)];
  const label = root.map((r) => order.indexOf(r));
  const jumps = rows.flatMap(([a, b], e) => (label[a] !== label[b] ? [e] : []));
  return { label, count: order.length, jumps, jumpSigns: jumps.map((e) => Math.sign(x[rows[e][1]] - x[rows[e][0]])) };
}

describe("piecesOf", () => {
  it("labels the flat components of 1-D and 2-D grids, with ties and fused near-ties, as a label-propagation oracle does", () => {
    const grids = fc.oneof(fc.tuple(fc.integer({ min: 1, max: 12 })).map(([n]) => [n]), fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })).map(([h, w]) => [h, w]));
    fc.assert(
      fc.property(grids, fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 0.05), fc.integer(), (grid, levels, fuse, seed) => {
        const n = grid.reduce((a, b) => a * b, 1);
        // Few levels (ties everywhere) plus a jitter below the fuse level on some features.
        let s = seed >>> 0;
        const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
        const x = Array.from({ length: n }, () => Math.floor(rand() * levels) + (rand() < 0.3 ? 0.04 * rand() : 0));
        const want = oracle(grid, x, fuse);
        const got = piecesOf(new GridDifferences(grid), Float64Array.from(x), fuse, false);
        expect(Array.from(got.label)).toEqual(want.label);
        expect(got.count).toBe(want.count);
        expect(Array.from(got.jumps)).toEqual(want.jumps);
        expect(Array.from(got.jumpSigns)).toEqual(want.jumpSigns);
        const size = want.label.reduce((acc, l) => ((acc[l] = (acc[l] ?? 0) + 1), acc), [] as number[]);
        expect(Array.from(got.size)).toEqual(size);
      }),
      { numRuns: 400 },
    );
  });
});
