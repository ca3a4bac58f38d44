/**
 * A worker of the fold pool (fold-pool.ts): started with the pool, it gets the shared data of
 * every fold in its first message (FoldInit) and builds its own folds (k ≡ id mod workers) when it
 * first runs them; each task it solves them with the same code as the serial evaluator
 * (evaluateFold) or walks their paths (walkFold), each fold's walker kept where its last walk ended.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { evaluateFold, walkFold, type CvFold } from "../criteria/cross-validation.js";
import { HeldOutMse } from "../criteria/heldout.js";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import { createProblem } from "../problem.js";
import { PathWalker } from "../tune/walk.js";
import { solverByName, type Solver, type SolverName } from "../solvers/index.js";
import { DONE, type FoldInit, type FoldReply, type FoldTask } from "./fold-protocol.js";

/** This worker's folds, built from its first message (FoldInit). */
interface BuiltFold {
  fold: CvFold;
  criterion: HeldOutMse;
  walker: PathWalker;
}

interface Assigned {
  init: FoldInit;
  solver: Solver;
  /** Fold k once this worker first ran it. */
  built: (BuiltFold | undefined)[];
}

const { reply } = workerData as { reply: MessagePort };
let assigned: Assigned | null = null;

function assign(init: FoldInit): Assigned {
  return { init, solver: solverByName(init.solver as SolverName), built: new Array(init.folds.length) };
}

/** The fold matrix in its shared SIMD memory (adopted: this worker is the only one running fold k), else a copy of its entries. */
function foldMatrix(rows: number, cols: number, data: Float64Array, memory: WebAssembly.Memory | undefined): DenseMatrix {
  return (memory && DenseMatrix.adopt(rows, cols, memory)) ?? new DenseMatrix(rows, cols, data);
}

/** Fold k of the shared data, as a problem of its own. */
function build(init: FoldInit, k: number): BuiltFold {
  const f = init.folds[k];
  const train = createProblem({ A: foldMatrix(f.rows, f.cols, f.A, f.memory), y: f.y, grid: f.grid });
  const held = { A: foldMatrix(f.heldRows, f.cols, f.heldA, f.heldMemory), y: f.heldY };
  const criterion = new HeldOutMse(held);
  return { fold: { train, held }, criterion, walker: new PathWalker(criterion) };
}

/** Fold k of the task, solved or walked; the reply posted and counted. */
function run({ init, solver, built }: Assigned, task: FoldTask, k: number): void {
  let message: FoldReply;
  try {
    const { fold, criterion, walker } = (built[k] ??= build(init, k));
    message = task.walk
      ? { k, walk: walkFold(fold, walker, task.penalty, task.walk.from, task.walk.to, task.warm[k]) }
      : { k, result: evaluateFold(fold, criterion, solver, task.penalty, task.tol, task.options, task.warm[k]) };
  } catch (e) {
    message = { k, error: { name: (e as Error).name ?? "Error", field: e instanceof InputError ? e.field : undefined, message: (e as Error).message ?? String(e) } };
  }
  reply.postMessage(message);
  Atomics.add(init.control, DONE, 1);
  Atomics.notify(init.control, DONE);
}

parentPort!.on("message", (message: { init: FoldInit } | { release: true } | FoldTask) => {
  if ("init" in message) {
    assigned = assign(message.init);
    return;
  }
  if ("release" in message) {
    assigned = null; // the run is over: its folds (and the shared memories they adopted) can go
    return;
  }
  const task = message, work = assigned!; // the pool sends the folds before any task
  const { id, workers } = work.init;
  for (let k = id; k < task.end - task.start; k += workers) run(work, task, k);
});
