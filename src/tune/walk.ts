import type { HeldOutMse } from "../criteria/heldout.js";
import { NumericalError } from "../errors.js";
import type { Problem } from "../problem.js";
import { lassoPath, PathBasis, type PathState } from "../solvers/homotopy.js";
import type { PathWalk } from "./objective.js";

/**
 * Walks of one problem's exact path with a held-out (or reference) criterion: a walk down from
 * where the previous one ended goes on with its support and factor (no start, no factorisation);
 * every walk reuses Aᵀy and the column norms (PathBasis) of the first.
 */
export class PathWalker {
  private state?: PathState;
  private basis?: PathBasis;

  constructor(private readonly criterion: HeldOutMse) {}

  /**
   * The criterion along the path of `problem` from l1 = `from` down to `to` (constant above the
   * problem's own λ_max), started (unless it goes on from the last walk) from the support of
   * `warmStart`, or a solve from it: the pieces,
   * breakpoints and own minimum. Null when the path cannot be walked there (dependent active
   * columns, a start that does not converge); a walk that stops early covers less than [to, from].
   */
  walk(problem: Problem, from: number, to: number, warmStart: Float64Array | undefined): PathWalk | null {
    // Above this problem's own λ_max (a fold's is below the whole problem's) x = 0: a constant piece.
    const basis = (this.basis = PathBasis.of(problem, this.basis));
    const lmax = basis.lambdaMax(problem);
    const zero = new Float64Array(problem.A.cols);
    const flat = from > lmax ? [{ hi: from, lo: Math.max(to, lmax), quadratic: [this.criterion.value(zero), 0, 0] as [number, number, number], size: 0 }] : [];
    if (to >= lmax) return { pieces: flat, breakpoints: [], complete: true, solves: 0, innerIterations: 0, minimiser: { l1: from, x: zero } };
    let path;
    try {
      path = lassoPath(problem, { from, to, criterion: this.criterion, warmStart, resume: this.state, basis });
    } catch (e) {
      if (e instanceof NumericalError) return null;
      throw e;
    }
    this.state = path.state;
    return {
      pieces: [...flat, ...path.pieces.map(({ hi, lo, quadratic, active, signs }) => ({ hi, lo, quadratic: quadratic!, size: active.length, support: { active, signs } }))],
      breakpoints: path.breakpoints,
      complete: path.message === undefined,
      solves: path.solves,
      innerIterations: path.innerIterations,
      ...(path.minimiser && { minimiser: { l1: path.minimiser.l1, x: path.minimiser.x } }),
    };
  }
}
