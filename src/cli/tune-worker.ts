/** The tuner of `sparsetune tune`, in a worker thread that Ctrl-C can stop (interruptible.ts). */
import { loadProblemFile } from "./load.js";
import { serveInterruptible } from "./interruptible.js";
import { tuneAsync, type TuneAsyncOptions } from "../parallel/tune-async.js";
import type { TuneEvent, TuningReport } from "../tune/tune.js";

export interface TuneWorkerData {
  file: string;
  intercept?: boolean;
  options: Omit<TuneAsyncOptions, "signal" | "onEvent" | "parallelFolds">;
}

await serveInterruptible<TuneWorkerData, TuningReport, TuneEvent>(({ file, intercept, options }, signal, onEvent) =>
  tuneAsync(loadProblemFile(file, { intercept }), { ...options, signal, ...(onEvent && { onEvent }) }),
);
