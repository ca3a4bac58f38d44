/**
 * Piecewise quadratic criteria along l1 (the exact path, solvers/homotopy.ts): on a piece [lo, hi]
 * the criterion is c0 + c1·τ + c2·τ², τ = hi − l1. Cross-validation's criterion is the mean of the
 * folds' curves, exact on the union of their breakpoints.
 */

/** The criterion on [lo, hi]: c0 + c1·τ + c2·τ², τ = hi − l1. */
export interface CriterionPiece {
  hi: number;
  lo: number;
  quadratic: readonly [number, number, number];
  /** Active features on the piece (one problem's walk; SURE's df = |S| there). */
  size?: number;
  /** The support and its signs on the piece (one problem's walk): the solution there is exact from them. */
  support?: { active: readonly number[]; signs: readonly number[] };
}

/** A curve's exact minimum over its pieces: where, the value, and the slope dC/dl1 there (0 inside a piece). */
export interface PieceMinimum {
  l1: number;
  criterion: number;
  slope: number;
}

/**
 * The same quadratic written from a lower top hi − d: with τ = τ' + d,
 *   c0 + c1 τ + c2 τ² = (c0 + c1 d + c2 d²) + (c1 + 2 c2 d) τ' + c2 τ'².
 */
function shifted([c0, c1, c2]: readonly [number, number, number], d: number): [number, number, number] {
  return [c0 + d * (c1 + d * c2), c1 + 2 * c2 * d, c2];
}

/**
 * Each piece without `fraction` of its width at either end, for a criterion that jumps at the
 * breakpoints (SURE: 2σ² per feature entering): its value at a breakpoint depends on the side, and
 * a minimum at a piece's end would hand the final solve a support it may not settle on; inside the
 * piece there is one support, and the value moves by at most |slope|·fraction·width.
 */
export function insetPieces(pieces: readonly CriterionPiece[], fraction: number): CriterionPiece[] {
  return pieces.map((p) => {
    const d = fraction * (p.hi - p.lo);
    return { ...p, hi: p.hi - d, lo: p.lo + d, quadratic: shifted(p.quadratic, d) };
  });
}

/**
 * The mean of several curves (each: contiguous pieces, descending) over their common range
 * [max of their ends, min of their tops], cut at the union of their breakpoints. Empty when the
 * ranges do not overlap.
 */
export function meanOfPieces(curves: readonly (readonly CriterionPiece[])[]): CriterionPiece[] {
  if (curves.length === 0 || curves.some((c) => c.length === 0)) return [];
  const top = Math.min(...curves.map((c) => c[0].hi));
  const bottom = Math.max(...curves.map((c) => c[c.length - 1].lo));
  const at = curves.map(() => 0);
  const out: CriterionPiece[] = [];
  let hi = top;
  while (hi > bottom) {
    let lo = bottom;
    const sum: [number, number, number] = [0, 0, 0];
    curves.forEach((curve, k) => {
      // The piece of curve k that holds (lo, hi]: the first whose lower end is below hi.
      while (at[k] < curve.length - 1 && curve[at[k]].lo >= hi) at[k]++;
      const piece = curve[at[k]];
      lo = Math.max(lo, piece.lo);
      const q = shifted(piece.quadratic, piece.hi - hi);
      for (let i = 0; i < 3; i++) sum[i] += q[i] / curves.length;
    });
    out.push({ hi, lo, quadratic: sum });
    hi = lo;
  }
  return out;
}

/**
 * The smallest value of the pieces and where (the first piece's, top down, among equal values);
 * values are clamped to the criterion's `floor` (0 for a mean squared error: rounding cannot make
 * it negative; −mσ² for SURE).
 */
export function minimumOfPieces(pieces: readonly CriterionPiece[], floor = 0): PieceMinimum | null {
  let best: PieceMinimum | null = null;
  for (const { hi, lo, quadratic: [c0, c1, c2] } of pieces) {
    const width = hi - lo;
    // The vertex −c1/(2 c2) when convex, else the better end of [0, width].
    const tau = c2 > 0 ? Math.min(width, Math.max(0, -c1 / (2 * c2))) : c0 + width * (c1 + width * c2) < c0 ? width : 0;
    const value = Math.max(floor, c0 + tau * (c1 + tau * c2));
    if (!best || value < best.criterion) best = { l1: hi - tau, criterion: value, slope: -(c1 + 2 * c2 * tau) };
  }
  return best;
}
