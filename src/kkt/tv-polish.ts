import { NumericalError } from "../errors.js";
import { normInf, tabulate } from "../linalg/vector.js";
import type { GridDifferences } from "../operators/finite-differences.js";
import type { Problem } from "../problem.js";
import { constraintRows } from "./bordered.js";
import { piecesOf } from "./tv-pieces.js";
import { boundedPieceSystem, PieceSystem } from "./tv-system.js";

/** Fusion thresholds tried, relative to ‖x‖∞: the first that gives a consistent polish wins. */
const FUSE_LEVELS = [1e-12, 1e-10, 1e-8, 1e-6, 1e-4];

/**
 * Candidate solutions from the pieces of x: for each fusion level, fuse the edges with
 * |(Dx)_e| ≤ level·‖x‖∞, solve the piece system F(β) = 0 exactly (kkt/tv-system.ts) and keep
 * the answer when every jump keeps its sign and every non-zero piece its sign (otherwise the
 * pieces were not the solution's). The caller certifies the candidates and keeps the best.
 * `zeroPieces`: pieces with |value| ≤ the fusion level are held at 0 (default: with an l1 term;
 * basis pursuit passes its own l1 with a penalty-free problem, whose piece system is least squares).
 * `maxPieces`: levels that leave more pieces are skipped (their system is not worth solving).
 */
export function* polishOnPieces(problem: Problem, D: GridDifferences, x: Float64Array, zeroPieces = problem.penalty.l1 > 0, maxPieces = Infinity): Generator<Float64Array> {
  const scale = normInf(x);
  if (!(scale > 0)) return;
  let previous = -1;
  for (const level of FUSE_LEVELS) {
    const pieces = piecesOf(D, x, level * scale, zeroPieces);
    if (pieces.count === previous || pieces.count > maxPieces) continue; // same pieces as the last level, or too many
    previous = pieces.count;
    const candidate = solvePieces(problem, D, pieces);
    if (candidate) yield candidate;
  }
}

function solvePieces(problem: Problem, D: GridDifferences, pieces: ReturnType<typeof piecesOf>): Float64Array | null {
  const system = new PieceSystem(problem, D, pieces, new Float64Array(pieces.count));
  let beta: Float64Array;
  try {
    // F(0) = −(NᵀAᵀy − l1Nᵀσ − tv NᵀD_Jᵀs_J), so β = −H⁻¹F(0).
    beta = system.solve(system.residual());
  } catch (e) {
    if (e instanceof NumericalError) return null;
    throw e;
  }
  const values = new Float64Array(pieces.count);
  system.active.forEach((p, a) => (values[p] = -beta[a]));
  for (let p = 0; p < pieces.count; p++) if (pieces.sign[p] !== 0 && Math.sign(values[p]) !== pieces.sign[p] && problem.penalty.l1 > 0) return null;
  const { jumps, jumpSigns, label } = pieces;
  for (let t = 0; t < jumps.length; t++) {
    const from = D.from(jumps[t]), to = D.to(jumps[t]);
    if (Math.sign(values[label[to]] - values[label[from]]) !== jumpSigns[t]) return null;
  }
  return tabulate(label.length, (j) => values[label[j]]);
}

/**
 * As polishOnPieces for a problem with constraints or bounds: on x's pieces (those at a bound
 * held there), the bordered piece system (kkt/tv-system.ts, TvBorderedSystem) is affine in
 * (β, ν), so one Newton step from (x, ν) solves it; kept when jumps and non-zero pieces keep their
 * signs and the free pieces stay within the bounds. Yields x with its multipliers.
 */
export function* polishOnPiecesConstrained(problem: Problem, D: GridDifferences, x: Float64Array, nu: Float64Array): Generator<{ x: Float64Array; nu: Float64Array }> {
  const scale = normInf(x);
  if (!(scale > 0)) return;
  const rows = constraintRows(problem);
  let previous = -1;
  for (const level of FUSE_LEVELS) {
    const system = boundedPieceSystem(problem, D, x, level * scale, nu, rows);
    const { pieces } = system.pieces;
    if (pieces.count === previous) continue;
    previous = pieces.count;
    let step: Float64Array;
    try {
      step = system.solve(system.residual());
    } catch (e) {
      if (e instanceof NumericalError) continue;
      throw e;
    }
    const values = Float64Array.from(system.pieces.values);
    system.pieces.active.forEach((p, a) => (values[p] -= step[a]));
    const candidate = tabulate(pieces.label.length, (j) => values[pieces.label[j]]);
    if (!consistent(problem, D, pieces, values, candidate)) continue;
    const multipliers = Float64Array.from(nu);
    const k = system.pieces.size;
    rows.forEach((row, i) => (multipliers[row] -= step[k + i]));
    yield { x: candidate, nu: multipliers };
  }
}

/** The polished values keep x's structure: the pieces' signs (with l1), the jumps' signs, and the bounds. */
function consistent(problem: Problem, D: GridDifferences, pieces: ReturnType<typeof piecesOf>, values: Float64Array, candidate: Float64Array): boolean {
  if (problem.penalty.l1 > 0) for (let p = 0; p < pieces.count; p++) if (pieces.sign[p] !== 0 && values[p] !== 0 && Math.sign(values[p]) !== pieces.sign[p]) return false;
  const { jumps, jumpSigns, label } = pieces;
  for (let t = 0; t < jumps.length; t++) {
    if (Math.sign(values[label[D.to(jumps[t])]] - values[label[D.from(jumps[t])]]) !== jumpSigns[t]) return false;
  }
  const b = problem.bounds;
  if (b) for (let j = 0; j < candidate.length; j++) if (candidate[j] < b.lower[j] || candidate[j] > b.upper[j]) return false;
  return true;
}
