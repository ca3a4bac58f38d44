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
 * Pools kept between runs, by size: a later run in the same thread finds its workers started and
 * their code compiled (a first run pays both). Their threads are unref'd: they never keep the
 * process alive.
 */
const pools = new Map<number, FoldPool>();

/**
 * `tune` with the folds of cross-validation solved on a pool of worker threads (the same values
 * and hypergradients as the serial run, to rounding). Other criteria run as `tune` does. The
 * calling thread waits on the pool while the tune runs (the CLI calls it from a worker thread).
 * The pool stays for the next run (a run that fails closes it).
 */
export async function tuneAsync(problem: Problem, options: TuneAsyncOptions = {}): Promise<TuningReport> {
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected an object");
  const { workers = availableParallelism(), ...rest } = options;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new InputError("workers", `expected a positive integer, got ${String(workers)}`);
  if ((rest.criterion ?? "heldout") !== "cv" || workers === 1) return tune(problem, rest);
  let pool = pools.get(workers);
  if (pool === undefined) pools.set(workers, (pool = new FoldPool(workers)));
  try {
    const report = tune(problem, { ...rest, parallelFolds: (folds, solver) => pool.evaluator(folds, solver) });
    pool.release();
    return report;
  } catch (e) {
    pools.delete(workers);
    await pool.close();
    throw e;
  }
}

/** Stop the worker threads tuneAsync keeps between runs (a long-lived process done with cross-validation). */
export async function closeFoldPools(): Promise<void> {
  const open = [...pools.values()];
  pools.clear();
  await Promise.all(open.map((pool) => pool.close()));
}
