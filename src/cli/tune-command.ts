import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SingleBar } from "cli-progress";
import { lineChartSvg, type Series } from "../io/svg.js";
import { InputError } from "../errors.js";
import { loadProblemFile } from "../io/problem-file.js";
import type { Problem } from "../problem.js";
import type { SolverName } from "../solvers/index.js";
import type { OptimizerName } from "../tune/optimizers.js";
import { tune, type CriterionName, type TuneEvent, type TuningReport } from "../tune/tune.js";
import { toJson } from "./report.js";

export interface TuneFlags {
  criterion: CriterionName;
  folds?: number;
  sigma?: number;
  optimizer?: OptimizerName;
  start?: number;
  grid?: boolean;
  out: string;
  json?: boolean;
  solver: SolverName;
  tol?: number;
  weights?: boolean;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(5) : String(v));

/** Progress on stderr: a line per outer iteration and a bar for the grid; silent off a TTY or with --json. */
function progressPrinter(enabled: boolean): (event: TuneEvent) => void {
  if (!enabled) return () => {};
  let bar: SingleBar | null = null;
  let best = Infinity;
  return (event) => {
    if (event.type === "iteration") {
      bar?.stop(); // the scan may stop early, short of its total
      bar = null;
      const lambda = Object.entries(event.lambda).map(([k, v]) => `${k}=${fmt(v)}`).join(" ");
      const grad = Object.entries(event.hypergradient).map(([k, v]) => `d/d${k}=${fmt(v)}`).join(" ");
      process.stderr.write(`  iter ${String(event.iteration).padStart(3)}  ${lambda}  criterion=${fmt(event.criterion)}  ${grad}  inner=${event.innerIterations}  ${event.elapsed.toFixed(2)}s\n`);
    } else {
      if (!bar) {
        bar = new SingleBar({ format: `  ${event.baseline} [{bar}] {value}/{total}  best={best}`, stream: process.stderr, hideCursor: true });
        bar.start(event.total, 0, { best: "-" });
        best = Infinity;
      }
      best = Math.min(best, event.point.value);
      bar.update(event.index + 1, { best: fmt(best) });
      if (event.index + 1 === event.total) {
        bar.stop();
        bar = null;
      }
    }
  };
}

function tuningChart(report: TuningReport): string {
  const key = report.lambda.l1 !== undefined ? "l1" : "weights";
  const series: Series[] = [];
  if (report.grid) {
    series.push({ label: `grid (${report.grid.points.length} λ)`, x: report.grid.points.map((p) => p.l1), y: report.grid.points.map((p) => p.value), style: "line" });
  }
  const iterates = report.trajectory.filter((p) => p.accepted);
  series.push({
    label: "tuner iterates",
    x: iterates.map((p) => p.lambda[key]),
    y: iterates.map((p) => p.criterion),
    style: "line+points",
    pointLabels: iterates.map((_, i) => String(i)),
  });
  return lineChartSvg(series, {
    title: `${report.criterionName} criterion against ${key === "l1" ? "l1" : "the per-feature thresholds (geometric mean)"}`,
    xLabel: key,
    yLabel: report.criterionName,
    xLog: true,
    yLog: true,
    markers: [{ x: report.lambda[key], label: `chosen ${key} = ${fmt(report.lambda[key])}` }],
  });
}

function reconstructionChart(x: Float64Array, truth: Float64Array): string {
  const index = Array.from(x, (_, i) => i);
  return lineChartSvg(
    [
      { label: "truth", x: index, y: truth, style: "stems" },
      { label: "reconstruction", x: index, y: x, style: "points" },
    ],
    { title: "reconstruction against the truth", xLabel: "index", yLabel: "value" },
  );
}

/** Write every output file under a temporary name first, then rename: no partial outputs. */
function writeOutputs(dir: string, files: Record<string, string>): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError("--out", `cannot create ${dir} (${(e as Error).message})`);
  }
  const written = Object.entries(files).map(([name, text]) => {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    return [tmp, join(dir, name)];
  });
  for (const [tmp, final] of written) renameSync(tmp, final);
}

function resultDocument(problem: Problem, report: TuningReport) {
  const { solution, x, ...rest } = report;
  return {
    ...rest,
    problem: problem.name,
    x,
    certificate: {
      objective: solution.objective, dualityGap: solution.dualityGap, kktViolation: solution.kktViolation,
      complementarityMargin: solution.complementarityMargin, converged: solution.converged, active: solution.active,
    },
  };
}

export function runTune(file: string, flags: TuneFlags): void {
  const problem = loadProblemFile(file);
  const showProgress = !flags.json && process.stderr.isTTY === true;
  if (flags.criterion === "heldout" && !problem.validation) {
    throw new InputError("validation", "the heldout criterion needs validation measurements in the problem file (or use --criterion cv|sure|reference)");
  }
  const report = tune(problem, {
    criterion: flags.criterion,
    folds: flags.folds,
    sigma: flags.sigma,
    optimizer: flags.optimizer,
    start: flags.start !== undefined ? { l1: flags.start } : undefined,
    keys: flags.weights ? (problem.penalty.l2 > 0 ? ["weights", "l2"] : ["weights"]) : undefined,
    grid: flags.grid,
    solver: flags.solver,
    tol: flags.tol,
    onEvent: progressPrinter(showProgress),
  });
  const files: Record<string, string> = { "result.json": toJson(resultDocument(problem, report)) + "\n", "tuning.svg": tuningChart(report) };
  if (problem.truth) files["reconstruction.svg"] = reconstructionChart(report.x, problem.truth);
  writeOutputs(flags.out, files);
  if (flags.json) {
    const { lambda, criterion, iterations, solves, seconds, x, converged, message } = report;
    process.stdout.write(toJson({ lambda, criterion, iterations, solves, seconds, x, converged, message, gridBest: report.grid?.best, out: flags.out }) + "\n");
    return;
  }
  const lambda = Object.entries(report.lambda).map(([k, v]) => `${k} = ${fmt(v)}`).join(", ");
  const lines = [
    `${problem.name ?? file}: tuned ${lambda} (λ_max ${fmt(report.lambdaMax)}) by ${report.optimizer} on the ${report.criterionName} criterion`,
    `  criterion ${fmt(report.criterion)} after ${report.iterations} iterations, ${report.solves} solves, ${report.seconds.toFixed(3)} s (${report.message})`,
  ];
  if (report.grid) {
    lines.push(`  grid of ${report.grid.points.length}: best ${fmt(report.grid.best.value)} at l1 = ${fmt(report.grid.best.l1)} (${report.grid.solves} solves, ${report.grid.seconds.toFixed(3)} s)`);
  }
  lines.push(`  active set: ${report.solution.active.length} features; wrote ${Object.keys(files).map((f) => join(flags.out, f)).join(", ")}`);
  process.stdout.write(lines.join("\n") + "\n");
}
