/**
 * The tuner of `sparsetune tune`, in a worker thread: the main thread stays free to receive
 * Ctrl-C (a thread busy in a synchronous tune never runs its signal handlers) and raises the
 * shared flag that this thread's tune reads between solves.
 */
import { parentPort, workerData } from "node:worker_threads";
import { InputError, NumericalError } from "../errors.js";
import { loadProblemFile } from "./load.js";
import { tuneAsync, type TuneAsyncOptions } from "../parallel/tune-async.js";
import type { TuneOptions, TuningReport } from "../tune/tune.js";

export interface TuneWorkerData {
  file: string;
  intercept?: boolean;
  options: Omit<TuneAsyncOptions, "signal" | "onEvent" | "parallelFolds">;
  /** Int32Array over a SharedArrayBuffer: [0] ≠ 0 once cancelled. */
  flag: Int32Array;
  events: boolean;
}

export type TuneWorkerMessage =
  | { kind: "event"; event: Parameters<NonNullable<TuneOptions["onEvent"]>>[0] }
  | { kind: "report"; report: TuningReport }
  | { kind: "error"; name: string; field?: string; message: string };

const { file, intercept, options, flag, events } = workerData as TuneWorkerData;
const post = (message: TuneWorkerMessage) => parentPort!.postMessage(message);
try {
  const problem = loadProblemFile(file, { intercept });
  const signal = { get aborted() { return Atomics.load(flag, 0) !== 0; } };
  const report = await tuneAsync(problem, { ...options, signal, ...(events && { onEvent: (event) => post({ kind: "event", event }) }) });
  post({ kind: "report", report });
} catch (e) {
  if (e instanceof InputError) post({ kind: "error", name: e.name, field: e.field, message: e.message });
  else if (e instanceof NumericalError) post({ kind: "error", name: e.name, message: e.message });
  else post({ kind: "error", name: "Error", message: e instanceof Error ? e.message : String(e) });
}
