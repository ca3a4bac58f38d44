import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { CvFold, FoldEvaluator, FoldResult } from "../criteria/cross-validation.js";
import { InputError, NumericalError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import type { LinearOperator } from "../operators/operator.js";
import type { PathWalk } from "../tune/objective.js";
import { DONE, type FoldInit, type FoldReply, type FoldTask, type SharedFold } from "./fold-protocol.js";

/** `a` in shared memory (the workers read it without copies of their own): itself when it is there already (the folds' matrices), else a copy. */
function shared(a: Float64Array): Float64Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

function denseData(A: LinearOperator, field: string): Float64Array {
  if (!(A instanceof DenseMatrix)) throw new InputError(field, "expected dense fold matrices for the worker pool");
  return A.data;
}

/** The shared SIMD memory of a matrix, when it has one (a worker adopts it instead of copying). */
function sharedMemory(A: LinearOperator): WebAssembly.Memory | undefined {
  const memory = A instanceof DenseMatrix ? A.resident?.memory : undefined;
  return memory?.buffer instanceof SharedArrayBuffer ? memory : undefined;
}

function sharedFold(fold: CvFold): SharedFold {
  const { train, held } = fold;
  return {
    rows: train.A.rows, cols: train.A.cols, A: shared(denseData(train.A, "A")), memory: sharedMemory(train.A), y: shared(train.y), grid: train.grid,
    heldRows: held.A.rows, heldA: shared(denseData(held.A, "validation.A")), heldMemory: sharedMemory(held.A), heldY: shared(held.y),
  };
}

function rethrow(error: { name: string; field?: string; message: string }): never {
  if (error.name === "InputError" && error.field !== undefined) throw new InputError(error.field, error.message.slice(error.field.length + 2));
  if (error.name === "NumericalError") throw new NumericalError(error.message);
  throw new Error(error.message);
}

/** A started worker and the port it replies on; `id` is given with its folds (FoldInit). */
interface PoolWorker {
  worker: Worker;
  reply: MessagePort;
}

/**
 * The folds of cross-validation solved on `size` worker threads, behind the synchronous
 * FoldEvaluator interface: the calling thread posts one task per round and blocks (Atomics.wait)
 * until every fold is done, then reads the replies synchronously (receiveMessageOnPort). Fold k
 * runs on worker k mod W: the worker that builds it keeps its solver's and walker's state (5 folds
 * on 2 workers split 3:2 either way, and claiming folds from a shared counter, tried before, lost
 * that state); each fold's warm start travels with the task. Fold data sit once in shared memory.
 * The first workers (up to the cores) start with the pool: they load their code while the caller
 * builds the folds.
 */
export class FoldPool {
  private readonly workers: PoolWorker[] = [];
  /** Started, not yet given folds. */
  private readonly idle: PoolWorker[] = [];
  private readonly size: number;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new InputError("workers", `expected a positive integer, got ${String(size)}`);
    this.size = size;
    // Started ahead only as many as the cores can run: an evaluator starts the rest it needs, at most its K folds.
    for (let i = Math.min(size, availableParallelism()); i > 0; i--) this.idle.push(this.start());
  }

  private start(): PoolWorker {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL("./fold-worker.js", import.meta.url), { workerData: { reply: port2 }, transferList: [port2] });
    worker.unref();
    const started = { worker, reply: port1 };
    this.workers.push(started);
    return started;
  }

  /** An evaluator of these folds on min(size, K) workers (the idle ones first, then new ones). */
  evaluator(folds: CvFold[], solver: string): FoldEvaluator {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const workers = Math.min(this.size, folds.length);
    const data: Omit<FoldInit, "id"> = { folds: folds.map(sharedFold), solver, control, workers };
    const ports = Array.from({ length: workers }, (_, id) => {
      const taken = this.idle.pop() ?? this.start();
      taken.worker.postMessage({ init: { ...data, id } });
      return taken;
    });
    const K = folds.length;
    let round = 0;
    /** Post one round to every worker, wait for all K folds, return their replies in fold order. */
    const run = (task: Omit<FoldTask, "start" | "end">): FoldReply[] => {
      const posted: FoldTask = { ...task, start: round * K, end: (round + 1) * K };
      round++;
      for (const { worker } of ports) worker.postMessage(posted);
      for (let done = Atomics.load(control, DONE); done < posted.end; done = Atomics.load(control, DONE)) Atomics.wait(control, DONE, done);
      const replies: (FoldReply | undefined)[] = new Array(K);
      let failure: FoldReply | undefined;
      for (const { reply } of ports) {
        for (let m = receiveMessageOnPort(reply); m; m = receiveMessageOnPort(reply)) {
          const r = m.message as FoldReply;
          if ("error" in r) failure ??= r;
          else replies[r.k] = r;
        }
      }
      if (failure && "error" in failure) rethrow(failure.error);
      if (replies.some((r) => r === undefined)) throw new Error("a fold worker finished without its reply");
      return replies as FoldReply[];
    };
    return {
      evaluate: (penalty, tol, options, warm): FoldResult[] => run({ penalty, tol, options, warm: [...warm] }).map((r) => (r as { result: FoldResult }).result),
      walk: (penalty, from, to, warm): (PathWalk | null)[] =>
        run({ penalty, tol: 0, options: { gradient: false, polish: false }, warm: [...warm], walk: { from, to } }).map((r) => (r as { walk: PathWalk | null }).walk),
    };
  }

  /**
   * Every started worker idle again, its folds dropped (the next evaluator gives it new ones): a
   * pool reused by later runs holds no fold data in between.
   */
  release(): void {
    for (const { worker } of this.workers) worker.postMessage({ release: true });
    this.idle.splice(0, this.idle.length, ...this.workers);
  }

  /** Stop every worker. */
  async close(): Promise<void> {
    this.idle.length = 0;
    await Promise.all(this.workers.splice(0).map(({ worker, reply }) => (reply.close(), worker.terminate())));
  }
}
