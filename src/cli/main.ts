#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { HeldOutMse } from "../criteria/heldout.js";
import { fixedPointHypergradient } from "../diff/fixed-point.js";
import { hypergradient } from "../diff/implicit.js";
import { InputError, NumericalError } from "../errors.js";
import { loadProblemFile } from "./load.js";
import { refuseBasisPursuit, type Problem } from "../problem.js";
import { SOLVERS, solve, type SolverName } from "../solvers/index.js";
import type { Solution } from "../solvers/solution.js";
import { OPTIMIZERS } from "../tune/optimizers.js";
import { CRITERIA } from "../tune/tune.js";
import { runTune, type TuneFlags } from "./tune-command.js";
import { runPath } from "./path-command.js";
import { runUnrolled, type UnrolledFlags } from "./unrolled-command.js";
import { MAX_UNROLLED_ITERATIONS } from "../diff/unrolled.js";
import { registerImageCommands } from "./image-commands.js";
import { registerExampleCommand } from "./example-command.js";
import { packageVersion } from "../version.js";
import { hypergradientSummary, scalarHypergradients, solutionReport, solutionSummary, toJson } from "./report.js";

interface SolveFlags {
  intercept?: boolean;
  solver?: SolverName;
  tol?: number;
  maxIter?: number;
  json?: boolean;
}

interface HypergradFlags extends SolveFlags, Omit<UnrolledFlags, "method" | "solver"> {
  method: "implicit" | "fixed-point" | UnrolledFlags["method"];
}

function positiveNumber() {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isFinite(v) || v <= 0) throw new InvalidArgumentError("expected a positive number");
    return v;
  };
}

function positiveInteger() {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(v) || v <= 0) throw new InvalidArgumentError("expected a positive integer");
    return v;
  };
}

function integerAtLeast(min: number, max = Infinity) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`expected an integer ≥ ${min}${max < Infinity ? ` and ≤ ${max}` : ""}`);
    return v;
  };
}

/** Tolerances are relative (gap / ‖y‖²): below 1e-16 rounding alone exceeds them, at 1 and above nothing is solved. */
function tolerance() {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isFinite(v) || !(v >= 1e-16 && v < 1)) throw new InvalidArgumentError("expected a relative tolerance in [1e-16, 1)");
    return v;
  };
}

function solveOptions(command: Command, maxIterHelp = "iteration cap of the solver (default: 1000 outer iterations for cd, 100000 for fista)"): Command {
  return command
    .addOption(new Option("--solver <name>", "solver (default: cd for l1/l2 problems with an explicit A, else the first that fits; see the README)").choices(Object.keys(SOLVERS)))
    .option("--tol <T>", "stop at duality gap <= T·‖y‖² (default 1e-8)", tolerance())
    .option("--max-iter <N>", maxIterHelp, positiveInteger())
    .option("--json", "print one JSON object on stdout")
    .option("--intercept", "fit an unpenalised intercept (centre A and y; as the problem file's \"intercept\": true)");
}

function runSolve(file: string, flags: SolveFlags): void {
  const problem = loadProblemFile(file, flags);
  const solution = solve(problem, { solver: flags.solver, tol: flags.tol, maxIter: flags.maxIter });
  process.stdout.write(flags.json ? toJson(solutionReport(solution)) + "\n" : solutionSummary(problem.name ?? file, solution) + "\n");
}

function runHypergrad(file: string, flags: HypergradFlags): void {
  const problem = loadProblemFile(file, flags);
  refuseBasisPursuit(problem, "hypergradients");
  const criterion = HeldOutMse.of(problem);
  if (flags.method === "forward" || flags.method === "reverse") return runUnrolled(file, problem, criterion, { ...flags, method: flags.method });
  for (const option of ["iterations", "step", "extrapolation", "mu"] as const) {
    if (flags[option] !== undefined) throw new InputError(`--${option}`, "applies to --method forward or reverse only");
  }
  const solution = solve(problem, { solver: flags.solver, tol: flags.tol, maxIter: flags.maxIter });
  if (flags.method === "fixed-point") return runFixedPoint(file, problem, criterion, solution, flags);
  const started = performance.now();
  let grad;
  try {
    grad = hypergradient(problem, solution, criterion);
  } catch (e) {
    // An unconverged iterate has a spurious active set: its KKT system can be singular without
    // the Lasso being non-unique. Name the real cause.
    if (!(e instanceof NumericalError) || solution.converged) throw e;
    throw new NumericalError(
      `the solve did not converge (${solution.message ?? "iteration cap reached"}), so its ${solution.active.length} active features are not the solution's and the hypergradient cannot be computed there; raise --max-iter or loosen --tol`,
    );
  }
  const heldoutMse = criterion.value(solution.x);
  const hypergradientSeconds = (performance.now() - started) / 1000;
  if (flags.json) {
    const report = {
      ...solutionReport(solution),
      heldoutMse,
      hypergradient: scalarHypergradients(grad),
      nearBreakpoint: grad.nearBreakpoint,
      ...(grad.warning && { warning: grad.warning }),
      kktMethod: grad.method,
      seconds: solution.seconds + hypergradientSeconds,
      solveSeconds: solution.seconds,
      hypergradientSeconds,
    };
    process.stdout.write(toJson(report) + "\n");
  } else {
    process.stdout.write(`${solutionSummary(problem.name ?? file, solution)}\n${hypergradientSummary(heldoutMse, grad, hypergradientSeconds)}\n`);
  }
}

/**
 * hypergrad --method fixed-point: the reported solution as with the implicit method, the
 * hypergradient by differentiating Split Bregman's fixed point (its own solve to --tol, default
 * 1e-12), with the same hypergradient keys (l1, l2, and tv for a TV problem).
 */
function runFixedPoint(file: string, problem: Problem, criterion: HeldOutMse, solution: Solution, flags: HypergradFlags): void {
  const started = performance.now();
  const fp = fixedPointHypergradient(problem, criterion.gradient(solution.x, new Float64Array(problem.A.cols)), { tol: flags.tol });
  const hypergradientSeconds = (performance.now() - started) / 1000;
  const { tv, l1, l2 } = fp.gradient;
  const gradient = { l1, l2, ...(problem.penalty.tv > 0 && { tv }) };
  const heldoutMse = criterion.value(solution.x);
  if (flags.json) {
    const report = {
      ...solutionReport(solution),
      heldoutMse,
      hypergradient: gradient,
      ...(fp.message && { warning: fp.message }),
      method: "fixed-point",
      fixedPointIterations: fp.iterations,
      fixedPointResidual: fp.residual,
      splitBregmanIterations: fp.solverIterations,
      seconds: solution.seconds + hypergradientSeconds,
      solveSeconds: solution.seconds,
      hypergradientSeconds,
    };
    process.stdout.write(toJson(report) + "\n");
  } else {
    const lines = [
      `  held-out MSE     ${heldoutMse.toPrecision(6)}`,
      ...Object.entries(gradient).map(([name, v]) => `  dMSE/d${name.padEnd(13)}${v.toPrecision(6)}`),
      `  differentiation  ${(hypergradientSeconds * 1000).toFixed(2)} ms (fixed-point: ${fp.solverIterations} Split Bregman steps, ${fp.iterations} adjoint iterations)`,
      ...(fp.message ? [`  warning: ${fp.message}`] : []),
    ];
    process.stdout.write(`${solutionSummary(problem.name ?? file, solution)}\n${lines.join("\n")}\n`);
  }
}

function buildProgram(): Command {
  const program = new Command("sparsetune")
    .description("Sparse reconstruction with exact hypergradients and self-tuning penalties")
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  solveOptions(program.command("solve").argument("<file>", "problem file (sparsetune-problem/1)"))
    .description("solve the problem in FILE and print x with its certificate")
    .action(runSolve);
  solveOptions(program.command("hypergrad").argument("<file>", "problem file with validation measurements"))
    .description("solve, then print the held-out MSE and its exact hypergradient in l1, l2 (and tv)")
    .addOption(
      new Option("--method <name>", "implicit (the KKT system on the solution's active set), fixed-point (differentiate Split Bregman's fixed point; needs tv or l1), or forward / reverse (unrolled: through --iterations steps of --solver fista, cd or split-bregman, also in the solver's own parameters)")
        .choices(["implicit", "fixed-point", "forward", "reverse"])
        .default("implicit"),
    )
    .option("--iterations <K>", `forward/reverse: the steps unrolled (default 100, at most ${MAX_UNROLLED_ITERATIONS})`, integerAtLeast(1, MAX_UNROLLED_ITERATIONS))
    .option("--step <eta>", "forward/reverse with fista: the step size (default 1/‖A‖², estimated)", positiveNumber())
    .option("--extrapolation <gamma>", "forward/reverse with fista: the factor on the momentum coefficient (default 1)", positiveNumber())
    .option("--mu <mu>", "forward/reverse with split-bregman: the fixed penalty parameter μ (default trace(AᵀA)/n)", positiveNumber())
    .action(runHypergrad);
  solveOptions(program.command("tune").argument("<file>", "problem file"), "outer iteration cap of each local descent of the tuner (default 50); inner solves keep their own cap")
    .description("tune the penalties by hypergradient steps against a validation criterion; writes DIR/result.json and plots")
    .addOption(new Option("--criterion <name>", "validation criterion").choices([...CRITERIA]).default("heldout"))
    .option("--folds <K>", "folds for --criterion cv, at least 2 (default 5)", integerAtLeast(2))
    .option("--workers <N>", "worker threads solving the folds of --criterion cv (default: the number of cores; 1: no threads)", positiveInteger())
    .option("--sigma <S>", "noise level for --criterion sure", positiveNumber())
    .addOption(new Option("--optimizer <name>", "outer optimiser (default: linesearch for one penalty, lbfgs for several)").choices(Object.keys(OPTIMIZERS)))
    .option("--start <L>", "starting l1 (absolute), in [1e-6·λ_max, λ_max] (up to 1e-12 relative above λ_max is clamped to it)", positiveNumber())
    .option("--grid", "also run the 100-point grid baseline and plot it")
    .option("--weights", "tune one l1 threshold per feature (weighted Lasso) instead of a single l1")
    .option("--out <DIR>", "output folder, checked (created and probed for writing) before tuning; outputs are written all or nothing", "sparsetune-out")
    .action(async (file: string, flags: TuneFlags) => {
      if (await runTune(file, flags)) cancelled = true;
    });
  program.command("path").argument("<file>", "problem file with validation measurements (Lasso or elastic net: l2 and weights are kept fixed)")
    .description("walk the exact Lasso/elastic-net path in l1: every breakpoint, the held-out criterion's exact quadratic on each piece and its exact minimiser")
    .option("--from <L>", "largest l1 (default λ_max, where x = 0; larger values start at λ_max)", positiveNumber())
    .option("--to <L>", "smallest l1 (default 1e-3·from), below --from", positiveNumber())
    .option("--json", "print one JSON object on stdout: breakpoints (descending), minimiser { l1, criterion }, pieces")
    .action(runPath);
  registerImageCommands(program, () => (cancelled = true));
  registerExampleCommand(program);
  return program;
}

/** Set by `tune` and the image commands when Ctrl-C stopped their tuning (their outputs hold the best point so far). */
let cancelled = false;

/** Exit codes: 0 success, 1 numerical failure (singular KKT system, a diverging iteration ...), 2 bad input or usage, 130 tuning cancelled by Ctrl-C. */
async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return cancelled ? 130 : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      if (e.code === "commander.help") return 2; // no command given: the usage went to stderr
      process.stderr.write(`sparsetune: ${e.message.replace(/^error: /, "")}\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`sparsetune: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NumericalError) {
      // DivergenceError is one: its message names the step where the loss blew up.
      process.stderr.write(`sparsetune: ${e.message}\n`);
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`sparsetune: internal error: ${message}\n`);
    return 1;
  }
}

/**
 * A reader that goes away (`sparsetune solve f --json | head -c 10`) is not an error of ours:
 * stop quietly with the exit code we had, no stack trace. Errors on stderr are dropped likewise.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    if (stream === process.stdout) {
      try {
        process.stderr.write(`sparsetune: cannot write the output (${e.code ?? e.message})\n`);
      } catch {
        // stderr gone as well
      }
    }
    process.exit(1);
  });
}

quietOnClosedPipe(process.stdout);
quietOnClosedPipe(process.stderr);
process.exitCode = await main(process.argv.slice(2));
