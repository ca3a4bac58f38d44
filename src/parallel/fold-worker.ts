/**
 * A worker of the fold pool (fold-pool.ts): it rebuilds every fold over the shared data once,
 * then for each task claims folds from the shared counter until the round is done, solving them
 * with the same code as the serial evaluator (evaluateFold).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { evaluateFold, walkFold } from "../criteria/cross-validation.js";
import { HeldOutMse } from "../criteria/heldout.js";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import { createProblem } from "../problem.js";
import { solverByName, type SolverName } from "../solvers/index.js";
import { DONE, NEXT, type FoldReply, type FoldTask, type FoldWorkerData } from "./fold-protocol.js";

const { folds, solver: solverName, control, reply } = workerData as FoldWorkerData & { reply: MessagePort };
const solver = solverByName(solverName as SolverName);
const built = folds.map((f) => {
  const train = createProblem({ A: new DenseMatrix(f.rows, f.cols, f.A), y: f.y, grid: f.grid });
  const held = { A: new DenseMatrix(f.heldRows, f.cols, f.heldA), y: f.heldY };
  return { fold: { train, held }, criterion: new HeldOutMse(held) };
});

parentPort!.on("message", (task: FoldTask) => {
  for (;;) {
    const index = Atomics.load(control, NEXT);
    if (index >= task.end) return;
    if (Atomics.compareExchange(control, NEXT, index, index + 1) !== index) continue; // another worker took it
    const k = index - task.start;
    let message: FoldReply;
    try {
      const { fold, criterion } = built[k];
      message = task.walk
        ? { k, walk: walkFold(fold, criterion, task.penalty, task.walk.from, task.walk.to, task.warm[k]) }
        : { k, result: evaluateFold(fold, criterion, solver, task.penalty, task.tol, task.options, task.warm[k]) };
    } catch (e) {
      message = { k, error: { name: (e as Error).name ?? "Error", field: e instanceof InputError ? e.field : undefined, message: (e as Error).message ?? String(e) } };
    }
    reply.postMessage(message);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
});
