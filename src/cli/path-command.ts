import { HeldOutMse } from "../criteria/heldout.js";
import { InputError } from "../errors.js";
import { lassoPath } from "../solvers/homotopy.js";
import { loadProblemFile } from "./load.js";
import { toJson } from "./report.js";

export interface PathFlags {
  from?: number;
  to?: number;
  json?: boolean;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(6) : String(v));

/**
 * `sparsetune path FILE`: the exact Lasso / elastic-net path in l1 (the file's l2 and weights fixed)
 * from --from (default λ_max) down to --to (default 1e-3·from), every breakpoint, the held-out
 * criterion's exact quadratic on each piece and its exact minimiser over [to, from].
 */
export function runPath(file: string, flags: PathFlags): void {
  const problem = loadProblemFile(file);
  if (!problem.validation) throw new InputError("validation", "the path's held-out criterion needs validation measurements { A, y } in the problem file");
  if (flags.from !== undefined && flags.to !== undefined && !(flags.to < flags.from)) {
    throw new InputError("--to", `expected --to < --from, got --to ${flags.to} and --from ${flags.from}`);
  }
  const started = performance.now();
  const path = lassoPath(problem, { from: flags.from, to: flags.to, criterion: HeldOutMse.of(problem) });
  const seconds = (performance.now() - started) / 1000;
  const minimiser = path.minimiser!;
  const pieces = path.pieces.map((p) => ({ hi: p.hi, lo: p.lo, active: p.active, signs: p.signs, quadratic: p.quadratic, minimum: p.minimum }));
  if (flags.json) {
    const report = {
      lambdaMax: path.lambdaMax, from: path.from, to: path.end,
      breakpoints: path.breakpoints,
      minimiser: { l1: minimiser.l1, criterion: minimiser.criterion },
      x: minimiser.x,
      pieces,
      criterion: "heldout",
      curve: "criterion(l1) = c0 + c1·τ + c2·τ² on each piece, τ = hi − l1",
      ...(path.message && { message: path.message }),
      seconds,
    };
    process.stdout.write(toJson(report) + "\n");
    return;
  }
  const lines = [
    `${problem.name ?? file}: exact path from l1 = ${fmt(path.from)} down to ${fmt(path.end)} (λ_max ${fmt(path.lambdaMax)}), ${path.breakpoints.length} breakpoints, ${(seconds * 1000).toFixed(1)} ms`,
    `  minimiser        l1 = ${minimiser.l1.toPrecision(10)}, held-out MSE ${minimiser.criterion.toPrecision(10)} (exact)`,
    ...(path.message ? [`  note: ${path.message}`] : []),
    `  ${"l1 from".padEnd(13)} ${"to".padEnd(12)} ${"|S|".padStart(4)}  ${"MSE at top".padEnd(12)} ${"piece minimum".padEnd(12)} at l1`,
    ...path.pieces.map((p) => `  ${fmt(p.hi).padEnd(13)} ${fmt(p.lo).padEnd(12)} ${String(p.active.length).padStart(4)}  ${fmt(p.quadratic![0]).padEnd(12)} ${fmt(p.minimum!.criterion).padEnd(12)} ${fmt(p.minimum!.l1)}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
