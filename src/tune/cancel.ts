import { InputError } from "../errors.js";
import type { Penalty } from "../problem.js";
import type { Solver } from "../solvers/index.js";
import type { Solution } from "../solvers/solution.js";
import type { EvaluateOptions, Evaluation, TuningObjective } from "./objective.js";

/**
 * What the tuner reads to learn it should stop: an AbortSignal, or anything with `aborted` (the
 * CLI's flag shared with a worker thread, which a blocked thread can still read).
 */
export interface CancelSignal {
  readonly aborted: boolean;
}

/** Thrown between solves once the signal is aborted; the tuner turns it into a report of the best point so far. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

export function checkSignal(signal: unknown): CancelSignal | undefined {
  if (signal === undefined) return undefined;
  if (typeof signal !== "object" || signal === null || typeof (signal as CancelSignal).aborted !== "boolean") {
    throw new InputError("signal", "expected an AbortSignal (or an object with a boolean `aborted`)");
  }
  return signal as CancelSignal;
}

/** The solver with the signal passed down: a long inner solve stops at its next iteration (unconverged). */
export function solverWithSignal(solver: Solver, signal: CancelSignal | undefined): Solver {
  return signal ? (problem, options = {}) => solver(problem, { ...options, signal }) : solver;
}

/** The best evaluation so far, with its solve when the criterion made one (not CV). */
export interface BestPoint {
  theta: Float64Array;
  value: number;
  solution?: Solution;
}

/**
 * The objective, checked against the signal before and after each evaluation. Once something is
 * recorded (`hasBest`), an aborted signal throws Cancelled; an evaluation that finished after the
 * abort is dropped (its inner solves may have stopped early). The first evaluation always counts.
 */
export function cancellable(objective: TuningObjective, signal: CancelSignal | undefined, hasBest: () => boolean): TuningObjective {
  if (!signal) return objective;
  const stop = () => {
    if (signal.aborted && hasBest()) throw new Cancelled();
  };
  // The objective itself underneath (its name, floor, lastSolution, …), the two calls checked.
  const checked: TuningObjective = Object.create(objective);
  checked.evaluate = (penalty: Penalty, tol: number, options?: EvaluateOptions): Evaluation => {
    stop();
    const ev = objective.evaluate(penalty, tol, options);
    stop();
    return ev;
  };
  if (objective.walkPath) {
    checked.walkPath = (penalty: Penalty, from: number, to: number) => {
      stop();
      const walk = objective.walkPath!(penalty, from, to);
      stop();
      return walk;
    };
  }
  return checked;
}
