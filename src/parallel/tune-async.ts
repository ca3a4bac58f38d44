import { availableParallelism } from "node:os";
import { InputError } from "../errors.js";
import type { Problem } from "../problem.js";
import { tune, type TuneOptions, type TuningReport } from "../tune/tune.js";
import { FoldPool } from "./fold-pool.js";

export interface TuneAsyncOptions extends TuneOptions {
  /** Worker threads for the folds of `cv` (default os.availableParallelism(); 1: the folds in this thread). */
  workers?: number;
}

/**
 * `tune` with the folds of cross-validation solved on a pool of worker threads (the same values
 * and hypergradients as the serial run, to rounding). Other criteria run as `tune` does. The
 * calling thread waits on the pool while the tune runs (the CLI calls it from a worker thread).
 */
export async function tuneAsync(problem: Problem, options: TuneAsyncOptions = {}): Promise<TuningReport> {
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected an object");
  const { workers = availableParallelism(), ...rest } = options;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new InputError("workers", `expected a positive integer, got ${String(workers)}`);
  if ((rest.criterion ?? "heldout") !== "cv" || workers === 1) return tune(problem, rest);
  const pool = new FoldPool(workers);
  try {
    return tune(problem, { ...rest, parallelFolds: (folds, solver) => pool.evaluator(folds, solver) });
  } finally {
    await pool.close();
  }
}
