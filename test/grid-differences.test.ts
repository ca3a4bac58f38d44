import { describe, expect, it } from "vitest";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { dotTest } from "../src/operators/dot-test.js";

/** D written out entry by entry from sparsetune-problem/1's definition (the oracle). */
function explicitRows(grid: number[]): [number, number][] {
  if (grid.length === 1) return Array.from({ length: grid[0] - 1 }, (_, i) => [i, i + 1]);
  const [h, w] = grid, rows: [number, number][] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) rows.push([r * w + c, r * w + c + 1]);
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) rows.push([r * w + c, (r + 1) * w + c]);
  return rows;
}

describe("GridDifferences", () => {
  for (const grid of [[1], [2], [7], [1, 5], [5, 1], [3, 4], [6, 2]]) {
    it(`matches the format's ordering on ${JSON.stringify(grid)} and passes the dot test`, () => {
      const D = new GridDifferences(grid);
      const rows = explicitRows(grid);
      expect(D.rows).toBe(rows.length);
      const x = Float64Array.from({ length: D.cols }, (_, i) => Math.sin(3.1 * i + 0.7) + i * i * 0.01);
      const dx = D.apply(x, new Float64Array(D.rows));
      rows.forEach(([from, to], e) => {
        expect(dx[e]).toBe(x[to] - x[from]);
        expect(D.edge(e)).toEqual([from, to]);
      });
      const z = Float64Array.from({ length: D.rows }, (_, i) => Math.cos(1.3 * i));
      if (D.rows > 0) expect(dotTest(D, x, z)).toBeLessThan(1e-14);
    });
  }
  it("rejects grids that are not [n] or [h, w] of positive integers", () => {
    expect(() => new GridDifferences([0])).toThrow(/grid/);
    expect(() => new GridDifferences([2, 2, 2])).toThrow(/grid/);
    expect(() => new GridDifferences([2.5])).toThrow(/grid/);
  });
});
