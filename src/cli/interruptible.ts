/**
 * Long CLI work (tuning) in a worker thread, stoppable by Ctrl-C: a thread busy in synchronous
 * work never runs its signal handlers, so the main thread waits on the worker and, at the first
 * Ctrl-C, raises a flag in shared memory that the worker's `signal.aborted` reads between solves.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { InputError, NumericalError } from "../errors.js";
import type { CancelSignal } from "../tune/cancel.js";

type Message<T, E> = { kind: "event"; event: E } | { kind: "result"; result: T } | { kind: "error"; name: string; field?: string; message: string };

interface Envelope {
  /** Int32Array over a SharedArrayBuffer: [0] ≠ 0 once cancelled. */
  flag: Int32Array;
  events: boolean;
}

/**
 * Run `script` (a module calling serveInterruptible) with `data` as its workerData. The first
 * Ctrl-C asks it to stop (its result is then that of the work done so far); a second one quits
 * at once with exit code 130, writing nothing.
 */
export function runInterruptible<T, E>(script: URL, data: object, onEvent?: (event: E) => void): Promise<T> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const envelope: Envelope = { flag, events: onEvent !== undefined };
  const worker = new Worker(script, { workerData: { ...data, ...envelope } });
  const onSigint = () => {
    if (Atomics.load(flag, 0) !== 0) process.exit(130);
    Atomics.store(flag, 0, 1);
    process.stderr.write("\nsparsetune: stopping after the current solve with the best point so far (Ctrl-C again to quit without a report)\n");
  };
  process.on("SIGINT", onSigint);
  return new Promise<T>((resolveResult, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      process.off("SIGINT", onSigint);
      f();
    };
    worker.on("message", (m: Message<T, E>) => {
      if (m.kind === "event") onEvent?.(m.event);
      else if (m.kind === "result") settle(() => resolveResult(m.result));
      else settle(() => reject(m.name === "InputError" ? new InputError(m.field!, m.message.slice(m.field!.length + 2)) : m.name === "NumericalError" ? new NumericalError(m.message) : new Error(m.message)));
    });
    worker.on("error", (e) => settle(() => reject(e)));
    worker.on("exit", (code) => settle(() => reject(new Error(`the tuning thread stopped (exit code ${code})`))));
  });
}

/** The worker's side: run `work` with the shared flag as its signal and post its events, result or error. */
export async function serveInterruptible<D, T, E>(work: (data: D, signal: CancelSignal, onEvent?: (event: E) => void) => T | Promise<T>): Promise<void> {
  const data = workerData as D & Envelope;
  const post = (message: Message<T, E>) => parentPort!.postMessage(message);
  const signal = { get aborted() { return Atomics.load(data.flag, 0) !== 0; } };
  try {
    post({ kind: "result", result: await work(data, signal, data.events ? (event) => post({ kind: "event", event }) : undefined) });
  } catch (e) {
    if (e instanceof InputError) post({ kind: "error", name: e.name, field: e.field, message: e.message });
    else if (e instanceof NumericalError) post({ kind: "error", name: e.name, message: e.message });
    else post({ kind: "error", name: "Error", message: e instanceof Error ? e.message : String(e) });
  }
}
