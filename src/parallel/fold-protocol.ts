import type { FoldOptions, FoldResult } from "../criteria/cross-validation.js";
import type { Penalty } from "../problem.js";
import type { PathWalk } from "../tune/objective.js";

/**
 * A fold's data in shared memory: the training rows (column-major) and the held-out rows; a
 * matrix in a shared SIMD memory comes as that memory (`memory`, `heldMemory`: the worker adopts
 * it, no copy), any other as its entries.
 */
export interface SharedFold {
  rows: number;
  cols: number;
  A: Float64Array;
  memory?: WebAssembly.Memory;
  y: Float64Array;
  grid: number[];
  heldRows: number;
  heldA: Float64Array;
  heldMemory?: WebAssembly.Memory;
  heldY: Float64Array;
}

/**
 * control (Int32Array over a SharedArrayBuffer): [DONE] the folds finished, over all rounds (round
 * r is done when it reaches end = (r + 1)·K).
 */
export const DONE = 0;

/** A worker's first message (`{ init }`): its folds, the solver, the shared counters and its place among the workers. */
export interface FoldInit {
  folds: SharedFold[];
  solver: string;
  control: Int32Array;
  /** This worker's number among `workers`: fold k runs on worker k mod workers. */
  id: number;
  workers: number;
}

/**
 * One round: solve the folds k = 0..K−1 (K = end − start), fold k from warm[k]; with `walk`, walk
 * each fold's exact path from l1 = walk.from down to walk.to instead. Fold k always runs on worker
 * k mod workers, the one that holds where its last solve stopped and its last walk ended (the same
 * warm starts, so the same rounding, whatever the timing; only that worker builds the fold).
 */
export interface FoldTask {
  start: number;
  end: number;
  penalty: Penalty;
  tol: number;
  options: FoldOptions;
  warm: (Float64Array | undefined)[];
  walk?: { from: number; to: number };
}

export type FoldReply =
  | { k: number; result: FoldResult }
  | { k: number; walk: PathWalk | null }
  | { k: number; error: { name: string; field?: string; message: string } };
