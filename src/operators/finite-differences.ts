import { InputError } from "../errors.js";
import type { LinearOperator } from "./operator.js";

/**
 * The anisotropic finite differences D of a grid (sparsetune-problem/1's ordering):
 * - [n]: n − 1 rows, (Dx)_i = x[i+1] − x[i];
 * - [h, w] (x row-major, pixel (r, c) at r·w + c): first the h·(w−1) horizontal differences
 *   x[r, c+1] − x[r, c] in row-major order of (r, c), then the (h−1)·w vertical differences
 *   x[r+1, c] − x[r, c] in row-major order of (r, c).
 * Each row of D is an edge (from, to) of the grid graph: (Dx)_e = x[to] − x[from].
 */
export class GridDifferences implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  readonly grid: readonly number[];
  /** Rows of D that are horizontal differences (all rows for a 1-D grid). */
  readonly horizontal: number;

  constructor(grid: readonly number[]) {
    const ok = Array.isArray(grid) && (grid.length === 1 || grid.length === 2) && grid.every((g) => Number.isInteger(g) && g > 0);
    if (!ok) throw new InputError("grid", "expected [n] or [h, w] with positive integers");
    this.grid = [...grid];
    const [h, w] = grid.length === 1 ? [1, grid[0]] : grid;
    this.cols = h * w;
    this.horizontal = h * (w - 1);
    this.rows = this.horizontal + (h - 1) * w;
  }

  /** The grid's height and width (1 × n for a 1-D grid). */
  get shape(): [number, number] {
    return this.grid.length === 1 ? [1, this.grid[0]] : [this.grid[0], this.grid[1]];
  }

  /** Edge e of the grid graph as its two pixels [from, to]. */
  edge(e: number): [number, number] {
    return [this.from(e), this.to(e)];
  }

  /** The pixel edge e leaves: r·w + c for the horizontal edge (r, c) (r = ⌊e/(w−1)⌋), k for the vertical edge k. */
  from(e: number): number {
    const w = this.grid.length === 1 ? this.grid[0] : this.grid[1];
    return e < this.horizontal ? e + Math.floor(e / (w - 1)) : e - this.horizontal;
  }

  /** The pixel edge e points to: from + 1 (horizontal) or from + w (vertical). */
  to(e: number): number {
    const w = this.grid.length === 1 ? this.grid[0] : this.grid[1];
    return this.from(e) + (e < this.horizontal ? 1 : w);
  }

  apply(x: Float64Array, out: Float64Array): Float64Array {
    const [h, w] = this.shape;
    let e = 0;
    for (let r = 0; r < h; r++) {
      const row = r * w;
      for (let c = 0; c < w - 1; c++) out[e++] = x[row + c + 1] - x[row + c];
    }
    const vertical = (h - 1) * w;
    for (let k = 0; k < vertical; k++) out[e++] = x[k + w] - x[k];
    return out;
  }

  /** (Dᵀz)[p] = Σ_{edges into p} z_e − Σ_{edges out of p} z_e. */
  applyT(z: Float64Array, out: Float64Array): Float64Array {
    const [h, w] = this.shape;
    out.fill(0);
    let e = 0;
    for (let r = 0; r < h; r++) {
      const row = r * w;
      for (let c = 0; c < w - 1; c++, e++) {
        out[row + c + 1] += z[e];
        out[row + c] -= z[e];
      }
    }
    const vertical = (h - 1) * w;
    for (let k = 0; k < vertical; k++, e++) {
      out[k + w] += z[e];
      out[k] -= z[e];
    }
    return out;
  }
}

/** The problem's D: its own operator when it brings one, else the differences of its grid. */
export function differencesOf(problem: { grid: readonly number[]; D?: LinearOperator }): LinearOperator {
  if (typeof problem !== "object" || problem === null) throw new InputError("problem", `expected a problem (or { grid, D? }), got ${problem === null ? "null" : typeof problem}`);
  return problem.D ?? new GridDifferences(problem.grid);
}
