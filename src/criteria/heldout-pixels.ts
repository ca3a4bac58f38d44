import { InputError } from "../errors.js";
import { Random } from "../linalg/random.js";
import { ComposedOperator } from "../operators/combinators.js";
import { IdentityOperator } from "../operators/identity.js";
import { MaskOperator } from "../operators/mask.js";
import type { LinearOperator } from "../operators/operator.js";
import { createProblem, requireProblem, type Penalty, type Problem } from "../problem.js";

export interface HoldOutOptions {
  /** Fraction of the measured pixels (rows of A) kept out of the fit, in (0, 1); default 0.1. */
  fraction?: number;
  /** Seed of the random choice (default 1): the same seed holds out the same rows. */
  seed?: number;
}

/** A problem split into the rows fitted while tuning and the rows that validate the fit. */
export interface HeldOutSplit {
  /** The rows of A not held out, with the held-out rows as its validation measurements. */
  fit: Problem;
  /** The held-out rows of A, increasing. */
  heldOut: Int32Array;
  /** The rows of A in the fit, increasing. */
  kept: Int32Array;
  /**
   * The penalties for all the rows from penalties tuned on the fit: each scaled by m / m_fit
   * (= 1/(1 − fraction)). The data term ½‖Ax − y‖² has m/m_fit times as many rows as the fit's,
   * so the penalties grow by the same factor to keep the balance the criterion chose.
   */
  fullPenalty(fitted: Penalty): Penalty;
}

/**
 * The rows `rows` of A as an operator: a mask for the identity, a narrower mask for a mask
 * (inpainting: the kept pixels of the known ones), else mask ∘ A (matrix-free).
 */
function rowsOf(A: LinearOperator, rows: Int32Array): LinearOperator {
  if (A instanceof IdentityOperator) return new MaskOperator(indicator(rows, A.cols), A.cols);
  if (A instanceof MaskOperator) return new MaskOperator(indicator(rows.map((i) => A.kept[i]), A.cols), A.cols);
  return new ComposedOperator(new MaskOperator(indicator(rows, A.rows), A.rows), A);
}

function indicator(indices: Int32Array, n: number): Uint8Array {
  const mask = new Uint8Array(n);
  for (const i of indices) mask[i] = 1;
  return mask;
}

/**
 * Held-out pixels: a random `fraction` of the measured pixels (the rows of A) is kept out of the
 * fit and validates it: fit = those rows' complement, validation = the held-out rows (replacing
 * any validation the problem had). Tune on `fit`, then solve the whole problem at
 * `fullPenalty(tuned)`.
 */
export function holdOutPixels(problem: Problem, { fraction = 0.1, seed = 1 }: HoldOutOptions = {}): HeldOutSplit {
  requireProblem(problem);
  const m = problem.A.rows;
  if (typeof fraction !== "number" || !(fraction > 0 && fraction < 1)) throw new InputError("fraction", `expected a number in (0, 1), got ${String(fraction)}`);
  const held = Math.round(fraction * m);
  if (held < 1 || held > m - 1) {
    throw new InputError("fraction", `expected to hold out at least 1 and at most ${m - 1} of the ${m} measured pixels, got ${fraction}·${m} ≈ ${held}`);
  }
  const heldOut = Int32Array.from(new Random(seed).sample(m, held)).sort();
  const isHeld = indicator(heldOut, m);
  const kept = new Int32Array(m - held);
  for (let i = 0, k = 0; i < m; i++) if (!isHeld[i]) kept[k++] = i;
  const pick = (rows: Int32Array) => ({ A: rowsOf(problem.A, rows), y: Float64Array.from(rows, (i) => problem.y[i]) });
  const fit = createProblem({ ...pick(kept), validation: pick(heldOut), penalty: problem.penalty, grid: problem.grid, ...(problem.D && { D: problem.D }), ...(problem.name !== undefined && { name: problem.name }) });
  const scale = m / kept.length;
  return {
    fit, heldOut, kept,
    fullPenalty: (p) => ({ ...p, l1: p.l1 * scale, l2: p.l2 * scale, tv: p.tv * scale }),
  };
}
