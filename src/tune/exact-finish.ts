import type { HeldOutMse } from "../criteria/heldout.js";
import { NumericalError } from "../errors.js";
import { hasColumns } from "../operators/operator.js";
import type { Problem } from "../problem.js";
import { lassoPath } from "../solvers/homotopy.js";

/**
 * What the tuner's exact finish certifies: on [bracket[0], bracket[1]] the solution is affine in l1
 * between the listed breakpoints, so the held-out (or reference) criterion is an exact quadratic on
 * each piece and `minimiser` is its exact minimum over the bracket, not a sampled value.
 */
export interface PathCertificate {
  bracket: [number, number];
  breakpoints: number[];
  minimiser: { l1: number; criterion: number };
}

/**
 * Half-width of the bracket in l1, as a factor: one step of a 200-point grid over three decades
 * (10^(3/199)), so the bracket holds the fine grid's points next to the descent's best.
 */
export const BRACKET_FACTOR = 10 ** (3 / 199);

/**
 * Below this many multiply-adds, m·n·min(m, n) (about a full product Aᵀv per breakpoint, min(m, n)
 * breakpoints), the bracket is the whole range [lower, λ_max]: a few milliseconds buy the global
 * minimum, which catches the second basins of small noisy problems that a scan can miss.
 */
const GLOBAL_WORK = 5e7;

/** The exact finish applies: the Lasso or elastic net tuned in l1 alone, columns of A at hand. */
export function exactFinishApplies(problem: Problem, keys: readonly string[], criterion: string): boolean {
  return keys.length === 1 && keys[0] === "l1" && (criterion === "heldout" || criterion === "reference") &&
    !(problem.penalty.tv > 0) && !problem.constraints && !problem.bounds && !problem.basisPursuit && hasColumns(problem.A);
}

/**
 * The exact minimiser of the criterion over a bracket around the descent's best l1: the whole range
 * [lower, λ_max] on small problems (see GLOBAL_WORK; no solve needed, the walk starts at x = 0), else
 * [l1/F, l1·F] ∩ [lower, λ_max] (F = BRACKET_FACTOR) from one certified, warm-started solve at its top.
 * Null when the path cannot be walked there (dependent active columns): the caller keeps its answer.
 */
export interface ExactFinish {
  certificate: PathCertificate;
  /** The solution at the minimiser (exact on its piece): the final solve's warm start. */
  x: Float64Array;
  /** The certified solve at the bracket's top: its l1, criterion value and inner iterations. */
  start: { l1: number; criterion: number; solves: number; innerIterations: number };
}

export function exactFinish(problem: Problem, criterion: HeldOutMse, l1: number, lower: number, warmStart?: Float64Array): ExactFinish | null {
  const { rows: m, cols: n } = problem.A;
  const global = m * n * Math.min(m, n) <= GLOBAL_WORK;
  const from = global ? Infinity : l1 * BRACKET_FACTOR;
  const to = global ? lower : Math.max(lower, l1 / BRACKET_FACTOR);
  let path;
  try {
    path = lassoPath(problem, { from, to, criterion, warmStart });
  } catch (e) {
    if (e instanceof NumericalError) return null;
    throw e;
  }
  const { minimiser } = path;
  if (!minimiser) return null;
  return {
    certificate: { bracket: [path.end, path.from], breakpoints: path.breakpoints, minimiser: { l1: minimiser.l1, criterion: minimiser.criterion } },
    x: minimiser.x,
    start: { l1: path.from, criterion: path.pieces[0]?.quadratic?.[0] ?? minimiser.criterion, solves: path.solves, innerIterations: path.innerIterations },
  };
}
