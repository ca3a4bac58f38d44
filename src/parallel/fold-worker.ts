/**
 * A worker of the fold pool (fold-pool.ts): it rebuilds every fold over the shared data once,
 * then for each task claims folds from the shared counter until the round is done, solving them
 * with the same code as the serial evaluator (evaluateFold); walks of the path (walkFold) go to
 * fixed workers instead, each fold's walker kept where its last walk ended.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { evaluateFold, walkFold } from "../criteria/cross-validation.js";
import { HeldOutMse } from "../criteria/heldout.js";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import { createProblem } from "../problem.js";
import { PathWalker } from "../tune/walk.js";
import { solverByName, type SolverName } from "../solvers/index.js";
import { DONE, NEXT, type FoldReply, type FoldTask, type FoldWorkerData } from "./fold-protocol.js";

const { folds, solver: solverName, control, id, workers, reply } = workerData as FoldWorkerData & { reply: MessagePort };
const solver = solverByName(solverName as SolverName);
const built = folds.map((f) => {
  const train = createProblem({ A: new DenseMatrix(f.rows, f.cols, f.A), y: f.y, grid: f.grid });
  const held = { A: new DenseMatrix(f.heldRows, f.cols, f.heldA), y: f.heldY };
  const criterion = new HeldOutMse(held);
  return { fold: { train, held }, criterion, walker: new PathWalker(criterion) };
});

/** Fold k of the task, solved or walked; the reply posted and counted. */
function run(task: FoldTask, k: number): void {
  let message: FoldReply;
  try {
    const { fold, criterion, walker } = built[k];
    message = task.walk
      ? { k, walk: walkFold(fold, walker, task.penalty, task.walk.from, task.walk.to, task.warm[k]) }
      : { k, result: evaluateFold(fold, criterion, solver, task.penalty, task.tol, task.options, task.warm[k]) };
  } catch (e) {
    message = { k, error: { name: (e as Error).name ?? "Error", field: e instanceof InputError ? e.field : undefined, message: (e as Error).message ?? String(e) } };
  }
  reply.postMessage(message);
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
}

parentPort!.on("message", (task: FoldTask) => {
  if (task.walk) {
    for (let k = id; k < task.end - task.start; k += workers) run(task, k);
    return;
  }
  for (;;) {
    const index = Atomics.load(control, NEXT);
    if (index >= task.end) return;
    if (Atomics.compareExchange(control, NEXT, index, index + 1) !== index) continue; // another worker took it
    run(task, index - task.start);
  }
});
