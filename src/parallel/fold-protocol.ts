import type { FoldOptions, FoldResult } from "../criteria/cross-validation.js";
import type { Penalty } from "../problem.js";
import type { PathWalk } from "../tune/objective.js";

/** A fold's data in shared memory: the training rows (column-major) and the held-out rows. */
export interface SharedFold {
  rows: number;
  cols: number;
  A: Float64Array;
  y: Float64Array;
  grid: number[];
  heldRows: number;
  heldA: Float64Array;
  heldY: Float64Array;
}

/**
 * control (Int32Array over a SharedArrayBuffer): [NEXT] the next fold index to claim, [DONE] the
 * folds finished. Both only grow: round r covers the indices [start, end) = [r·K, (r + 1)·K), so a
 * worker still finishing round r − 1 can never claim a fold of round r with r − 1's task.
 */
export const NEXT = 0;
export const DONE = 1;

/** A worker's first message (`{ init }`): its folds, the solver, the shared counters and its place among the workers. */
export interface FoldInit {
  folds: SharedFold[];
  solver: string;
  control: Int32Array;
  /** This worker's number among `workers`: walks of fold k run on worker k mod workers. */
  id: number;
  workers: number;
}

/**
 * One round: solve folds (index − start) for index in [start, end), fold k from warm[k]; with
 * `walk`, walk each fold's exact path from l1 = walk.from down to walk.to instead, fold k always on
 * worker k mod workers (the one that holds where its last walk ended: the same walks, and so the
 * same rounding, whatever the timing), NEXT moved past the round beforehand by the pool.
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
