#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { HeldOutMse } from "../criteria/heldout.js";
import { hypergradient } from "../diff/implicit.js";
import { InputError, NumericalError } from "../errors.js";
import { loadProblemFile } from "../io/problem-file.js";
import { SOLVERS, solve, type SolverName } from "../solvers/index.js";
import { OPTIMIZERS } from "../tune/optimizers.js";
import { CRITERIA } from "../tune/tune.js";
import { runTune } from "./tune-command.js";
import { packageVersion } from "../version.js";
import { hypergradientSummary, solutionReport, solutionSummary, toJson } from "./report.js";

interface SolveFlags {
  solver: SolverName;
  tol?: number;
  maxIter?: number;
  json?: boolean;
}

function positiveNumber() {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError("expected a positive number");
    return v;
  };
}

function positiveInteger() {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError("expected a positive integer");
    return v;
  };
}

function solveOptions(command: Command): Command {
  return command
    .addOption(new Option("--solver <name>", "solver").choices(Object.keys(SOLVERS)).default("cd"))
    .option("--tol <T>", "stop at duality gap <= T·‖y‖² (default 1e-8)", positiveNumber())
    .option("--max-iter <N>", "iteration cap", positiveInteger())
    .option("--json", "print one JSON object on stdout");
}

function runSolve(file: string, flags: SolveFlags): void {
  const problem = loadProblemFile(file);
  const solution = solve(problem, { solver: flags.solver, tol: flags.tol, maxIter: flags.maxIter });
  process.stdout.write(flags.json ? toJson(solutionReport(solution)) + "\n" : solutionSummary(problem.name ?? file, solution) + "\n");
}

function runHypergrad(file: string, flags: SolveFlags): void {
  const problem = loadProblemFile(file);
  const criterion = HeldOutMse.of(problem);
  const solution = solve(problem, { solver: flags.solver, tol: flags.tol, maxIter: flags.maxIter });
  const started = performance.now();
  const grad = hypergradient(problem, solution, criterion);
  const heldoutMse = criterion.value(solution.x);
  const hypergradientSeconds = (performance.now() - started) / 1000;
  if (flags.json) {
    const report = {
      ...solutionReport(solution),
      heldoutMse,
      hypergradient: { l1: grad.l1, l2: grad.l2 },
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
    .description("solve, then print the held-out MSE and its exact hypergradient in l1 and l2")
    .action(runHypergrad);
  solveOptions(program.command("tune").argument("<file>", "problem file"))
    .description("tune the penalties by hypergradient steps against a validation criterion; writes DIR/result.json and plots")
    .addOption(new Option("--criterion <name>", "validation criterion").choices([...CRITERIA]).default("heldout"))
    .option("--folds <K>", "folds for --criterion cv (default 5)", positiveInteger())
    .option("--sigma <S>", "noise level for --criterion sure", positiveNumber())
    .addOption(new Option("--optimizer <name>", "outer optimiser (default: linesearch for one penalty, lbfgs for several)").choices(Object.keys(OPTIMIZERS)))
    .option("--start <L>", "starting l1 (absolute), in (0, λ_max]", positiveNumber())
    .option("--grid", "also run the 100-point grid baseline and plot it")
    .option("--weights", "tune one l1 threshold per feature (weighted Lasso) instead of a single l1")
    .option("--out <DIR>", "output folder", "sparsetune-out")
    .action(runTune);
  return program;
}

/** Exit codes: 0 success, 1 numerical failure (singular KKT system ...), 2 bad input or usage. */
function main(argv: string[]): number {
  try {
    buildProgram().parse(argv, { from: "user" });
    return 0;
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
      process.stderr.write(`sparsetune: ${e.message}\n`);
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`sparsetune: internal error: ${message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
