import { hasColumns } from "../operators/operator.js";
import type { Problem } from "../problem.js";
import type { PathWalk } from "./objective.js";
import { minimumOfPieces, type CriterionPiece, type PieceMinimum } from "./path-pieces.js";

/**
 * What the tuner's exact finish certifies: on [bracket[0], bracket[1]] the solution (of every fold,
 * for cross-validation) is affine in l1 between the listed breakpoints, so the criterion is an exact
 * quadratic on each piece and `minimiser` is its exact minimum over the bracket, not a sampled value.
 */
export interface PathCertificate {
  bracket: [number, number];
  breakpoints: number[];
  minimiser: { l1: number; criterion: number };
}

/**
 * One step of a 200-point grid over three decades (10^(3/199)) as a factor in l1: the first walk
 * spans [c/F, c·F²] around the scan's estimate c (more above: a walk goes down for free, going up
 * costs a new start), and each extension F² more, so the bracket holds the fine grid's points
 * next to the answer.
 */
export const BRACKET_FACTOR = 10 ** (3 / 199);

/** Walks added at most past the first, toward a minimum on the bracket's edge. */
const MAX_EXTENSIONS = 8;

/**
 * Below this many multiply-adds, m·n·min(m, n) (about a full product Aᵀv per breakpoint, min(m, n)
 * breakpoints), the bracket is the whole range [lower, λ_max] and no scan is needed: a few
 * milliseconds buy the global minimum, which catches the second basins of small noisy problems.
 */
const GLOBAL_WORK = 5e7;

/**
 * The exact finish applies: the Lasso or elastic net tuned in l1 alone, columns of A at hand, on a
 * held-out, reference or cross-validation criterion (cv: without an intercept, whose folds are
 * centred operators), or the Lasso on SURE (a quadratic plus 2σ²|S| on each piece).
 */
export function exactFinishApplies(problem: Problem, keys: readonly string[], criterion: string): boolean {
  // SURE's df is |S| on each piece only for the Lasso (with l2 it is |S| − l2·tr(H⁻¹)).
  const criterionFits = criterion === "heldout" || criterion === "reference" || (criterion === "cv" && !problem.intercept) || (criterion === "sure" && !(problem.penalty.l2 > 0));
  return keys.length === 1 && keys[0] === "l1" && criterionFits &&
    !(problem.penalty.tv > 0) && !problem.constraints && !problem.bounds && !problem.basisPursuit && hasColumns(problem.A);
}

/** The whole path is cheap enough to walk (see GLOBAL_WORK). */
export function walkWholePath(problem: Problem): boolean {
  const { rows: m, cols: n } = problem.A;
  return m * n * Math.min(m, n) <= GLOBAL_WORK;
}

export interface BracketMinimum {
  certificate: PathCertificate;
  minimum: PieceMinimum;
  /** The walks made (top down); the one holding the minimum may carry its exact solution. */
  walks: PathWalk[];
}

const covers = (pieces: readonly CriterionPiece[]) => ({ top: pieces[0].hi, bottom: pieces[pieces.length - 1].lo });

/**
 * The exact minimum of a piecewise quadratic criterion over a bracket around `centre`, found by
 * walks of the exact path: first [centre/F, centre·F²] ∩ [lower, upper] (the whole [lower, upper]
 * with `whole`), then, while the minimum sits on an edge of what was walked with the criterion
 * still falling outward, F² further that way (at most MAX_EXTENSIONS walks, never past [lower, upper]).
 * `walk(from, to)` walks [to, from] (null: the path cannot be walked there); `floor` bounds the
 * criterion below (see minimumOfPieces). Null when the first walk
 * fails or stops above its end; an extension that stops early ends the extensions.
 */
export function minimiseOnBracket(walk: (from: number, to: number) => PathWalk | null, centre: number, [lower, upper]: [number, number], whole = false, floor = 0): BracketMinimum | null {
  const F = BRACKET_FACTOR;
  const first = whole ? walk(upper, lower) : walk(Math.min(upper, centre * F * F), Math.max(lower, centre / F));
  // A first walk that stops early (dependent columns) leaves part of the bracket unknown: no finish.
  if (!first || first.pieces.length === 0 || !first.complete) return null;
  const walks = [first];
  let pieces = first.pieces.slice();
  let minimum = minimumOfPieces(pieces, floor)!;
  for (let extension = 0; extension < MAX_EXTENSIONS; extension++) {
    const { top, bottom } = covers(pieces);
    const edge = 1e-12 * minimum.l1;
    let next: PathWalk | null = null;
    if (minimum.l1 <= bottom + edge && minimum.slope > 0 && bottom > lower * (1 + 1e-12)) {
      // Still falling toward smaller l1: walk on down from where the last walk ended.
      next = walk(bottom, Math.max(lower, bottom / (F * F)));
      if (!next || next.pieces.length === 0) break;
      pieces = pieces.concat(next.pieces);
      walks.push(next);
      if (!next.complete) break;
    } else if (minimum.l1 >= top - edge && minimum.slope < 0 && top < upper * (1 - 1e-12)) {
      // Falling toward larger l1: a new walk above, kept only when it reaches down to the top.
      next = walk(Math.min(upper, top * F * F), top);
      if (!next || next.pieces.length === 0 || covers(next.pieces).bottom > top * (1 + 1e-12)) break;
      pieces = next.pieces.concat(pieces);
      walks.unshift(next);
    } else {
      break;
    }
    minimum = minimumOfPieces(pieces, floor)!;
  }
  const { top, bottom } = covers(pieces);
  const breakpoints = [...new Set(walks.flatMap((w) => w.breakpoints))].filter((b) => b >= bottom && b <= top).sort((a, b) => b - a);
  return { certificate: { bracket: [bottom, top], breakpoints, minimiser: { l1: minimum.l1, criterion: minimum.criterion } }, minimum, walks };
}
