import type { HeldOutMse } from "../criteria/heldout.js";
import { unrolledForward, unrolledReverse, type UnrolledSolverName } from "../diff/unrolled.js";
import type { Problem } from "../problem.js";
import { toJson } from "./report.js";

export interface UnrolledFlags {
  method: "forward" | "reverse";
  solver?: string;
  iterations?: number;
  step?: number;
  extrapolation?: number;
  mu?: number;
  json?: boolean;
}

/** Unrolled steps when --iterations is not given. */
export const DEFAULT_UNROLLED_ITERATIONS = 100;

/**
 * hypergrad --method forward|reverse: the held-out MSE after K steps of one solver (no solve to
 * convergence) and its derivatives through those steps (diff/unrolled.ts): the penalties under
 * `hypergradient` (l1, l2, tv: the keys of the other methods), the solver's own parameters under
 * `algorithm` (fista: step, momentum; split-bregman: mu).
 */
export function runUnrolled(file: string, problem: Problem, criterion: HeldOutMse, flags: UnrolledFlags): void {
  const started = performance.now();
  const run = flags.method === "forward" ? unrolledForward : unrolledReverse;
  const u = run(problem, criterion, {
    solver: flags.solver as UnrolledSolverName | undefined,
    iterations: flags.iterations ?? DEFAULT_UNROLLED_ITERATIONS,
    step: flags.step, extrapolation: flags.extrapolation, mu: flags.mu,
  });
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    const report = {
      method: u.mode, solver: u.solver, iterations: u.iterations,
      x: Array.from(u.x),
      heldoutMse: u.value,
      hypergradient: u.gradient,
      algorithm: u.algorithm,
      algorithmValues: u.algorithmValues,
      steps: u.steps,
      ...(u.storedStates !== undefined && { storedStates: u.storedStates }),
      seconds,
    };
    process.stdout.write(toJson(report) + "\n");
    return;
  }
  const fmt = (v: number) => v.toPrecision(6);
  const lines = [
    `${problem.name ?? file}: ${u.iterations} unrolled ${u.solver} steps, ${u.mode} mode, ${(seconds * 1000).toFixed(1)} ms`,
    `  held-out MSE     ${fmt(u.value)} (at x_K)`,
    ...Object.entries(u.gradient).map(([name, v]) => `  dMSE/d${name.padEnd(13)}${fmt(v)}`),
    ...Object.entries(u.algorithm).map(([name, v]) => `  dMSE/d${name.padEnd(13)}${fmt(v)} (at ${name} = ${fmt(u.algorithmValues[name])})`),
    ...(u.storedStates !== undefined ? [`  memory           ${u.storedStates} stored states, ${u.steps} steps (checkpointed)`] : []),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
