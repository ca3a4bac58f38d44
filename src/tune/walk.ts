import type { HeldOutMse } from "../criteria/heldout.js";
import { NumericalError } from "../errors.js";
import type { Problem } from "../problem.js";
import { lassoPath } from "../solvers/homotopy.js";
import type { PathWalk } from "./objective.js";

/**
 * The held-out (or reference) criterion along the exact path of `problem` from l1 = `from` down to
 * `to`, the walk started by a solve warm-started at `warmStart`: its pieces, breakpoints and own
 * minimum. Null when the path cannot be walked there (dependent active columns, a start that does
 * not converge); a walk that stops early covers less than [to, from].
 */
export function walkLassoPath(problem: Problem, criterion: HeldOutMse, from: number, to: number, warmStart: Float64Array | undefined): PathWalk | null {
  let path;
  try {
    path = lassoPath(problem, { from, to, criterion, warmStart });
  } catch (e) {
    if (e instanceof NumericalError) return null;
    throw e;
  }
  return {
    pieces: path.pieces.map(({ hi, lo, quadratic }) => ({ hi, lo, quadratic: quadratic! })),
    breakpoints: path.breakpoints,
    complete: path.message === undefined,
    solves: path.solves,
    innerIterations: path.innerIterations,
    ...(path.minimiser && { minimiser: { l1: path.minimiser.l1, x: path.minimiser.x } }),
  };
}
