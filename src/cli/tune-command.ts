import { closeSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve as resolvePath, sep } from "node:path";
import { SingleBar } from "cli-progress";
import { lineChartSvg, type Series } from "../io/svg.js";
import { InputError } from "../errors.js";
import { runInterruptible } from "./interruptible.js";
import { loadProblemFile } from "./load.js";
import type { Problem } from "../problem.js";
import type { SolverName } from "../solvers/index.js";
import type { OptimizerName } from "../tune/optimizers.js";
import type { CriterionName, TuneEvent, TuningReport } from "../tune/tune.js";
import type { TuneWorkerData } from "./tune-worker.js";
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
  solver?: SolverName;
  tol?: number;
  maxIter?: number;
  weights?: boolean;
  intercept?: boolean;
  workers?: number;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(5) : String(v));

/** Progress on stderr: a line per outer iteration and a bar for the grid; silent off a TTY or with --json. */
export function progressPrinter(enabled: boolean): (event: TuneEvent) => void {
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
    // SURE can be negative (it estimates the risk up to −mσ²): a linear axis then, not one without those points.
    yLog: series.every((s) => Array.prototype.every.call(s.y, (v: number) => !(v <= 0))),
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

/** Pseudo file systems: writing there can block (some /proc files wait for input) or reach the kernel. */
const PSEUDO_FS = ["/proc", "/sys", "/dev"];

const fsReason = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "not writable";
  if (code === "ENOTDIR" || code === "EEXIST") return "a file is in the way";
  if (code === "ENOSPC") return "no space left";
  return code ?? (e as Error)?.message ?? String(e);
};

/** The deepest existing ancestor of `path`, through symbolic links (so /tmp/x -> /proc is caught). */
function existingRealAncestor(path: string): string {
  let p = path;
  for (;;) {
    try {
      return realpathSync(p);
    } catch {
      const parent = dirname(p);
      if (parent === p) return p;
      p = parent;
    }
  }
}

/** An output folder checked before the run: created, probed for writing, its targets free. */
export interface OutputDir {
  dir: string;
  /** Folders this run created (deepest first): removed again if the run fails before writing. */
  created: string[];
}

/**
 * Check --out before any work: not on a pseudo file system, creatable, writable (probed with a
 * new temporary file, never by writing to an existing path), and no output name taken by
 * something other than a regular file. Errors are InputErrors naming --out.
 */
export function prepareOutputDir(out: string, names: string[]): OutputDir {
  if (out.trim() === "") throw new InputError("--out", "expected a folder name, got an empty string");
  const dir = resolvePath(out);
  const real = existingRealAncestor(dir);
  for (const root of PSEUDO_FS) {
    if (real === root || real.startsWith(root + sep) || dir === root || dir.startsWith(root + sep)) {
      throw new InputError("--out", `expected a folder on a regular file system, got ${out} (under ${root})`);
    }
  }
  let first: string | undefined;
  try {
    first = mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError("--out", `cannot create the folder ${out} (${fsReason(e)})`);
  }
  const created: string[] = [];
  if (first !== undefined) {
    for (let p = dir; ; p = dirname(p)) {
      created.push(p);
      if (p === first || dirname(p) === p) break;
    }
  }
  const output: OutputDir = { dir, created };
  try {
    const probe = join(dir, `.sparsetune-probe-${process.pid}`);
    let fd: number;
    try {
      fd = openSync(probe, "wx");
    } catch (e) {
      throw new InputError("--out", `cannot write in ${out} (${fsReason(e)})`);
    }
    closeSync(fd);
    unlinkSync(probe);
    for (const name of names) {
      let stat;
      try {
        stat = lstatSync(join(dir, name));
      } catch {
        continue; // free
      }
      if (!stat.isFile()) throw new InputError("--out", `cannot write ${join(out, name)}: something other than a file is in the way`);
    }
  } catch (e) {
    removeCreated(output);
    throw e;
  }
  return output;
}

/** Remove the folders prepareOutputDir created, if they are still empty. */
export function removeCreated(output: OutputDir): void {
  for (const p of output.created) {
    try {
      rmdirSync(p);
    } catch {
      return; // not empty (or gone): leave it and its parents
    }
  }
}

/**
 * Write every output file under a temporary name first, then rename them into place: all or
 * nothing. On any failure the temporary files and the files already renamed are removed.
 */
export function writeOutputs(output: OutputDir, files: Record<string, string | Uint8Array>): void {
  const { dir } = output;
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const [name, text] of Object.entries(files)) {
      const tmp = join(dir, `.${name}.${process.pid}.tmp`);
      const fd = openSync(tmp, "wx");
      temps.push(tmp);
      try {
        const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      } finally {
        closeSync(fd);
      }
    }
    const names = Object.keys(files);
    for (let i = 0; i < names.length; i++) {
      const final = join(dir, names[i]);
      renameSync(temps[i], final);
      placed.push(final);
    }
  } catch (e) {
    for (const f of [...temps, ...placed]) {
      try {
        unlinkSync(f);
      } catch {
        // already renamed away, or never created
      }
    }
    if (e instanceof InputError) throw e;
    throw new InputError("--out", `cannot write the outputs in ${output.dir} (${fsReason(e)}); nothing was written`);
  }
}

/**
 * result.json: the report, x, and the certificate: the answer's solve (gap, KKT, margin) and, after
 * the exact finish, the bracket of breakpoints over which the answer is the criterion's exact minimiser.
 */
function resultDocument(problem: Problem, report: TuningReport) {
  const { solution, x, certificate: path, ...rest } = report;
  return {
    ...rest,
    problem: problem.name,
    x,
    ...(solution.intercept !== undefined && { intercept: solution.intercept }),
    certificate: {
      objective: solution.objective, dualityGap: solution.dualityGap, kktViolation: solution.kktViolation,
      complementarityMargin: solution.complementarityMargin, converged: solution.converged, active: solution.active,
      ...(path && { bracket: path.bracket, breakpoints: path.breakpoints, minimiser: path.minimiser }),
    },
  };
}

/** Tune FILE and write the outputs; returns true when Ctrl-C cancelled the run (the report is then of the best point so far). */
export async function runTune(file: string, flags: TuneFlags): Promise<boolean> {
  // Options of another criterion would be ignored: refused, as hypergrad refuses another method's.
  for (const [option, criteria] of [["folds", ["cv"]], ["workers", ["cv"]], ["sigma", ["sure", "sure-mc"]]] as const) {
    if (flags[option] !== undefined && !(criteria as readonly string[]).includes(flags.criterion)) {
      throw new InputError(`--${option}`, `applies to --criterion ${criteria.join(" or ")} only (this run tunes on ${flags.criterion})`);
    }
  }
  const problem = loadProblemFile(file, flags);
  const showProgress = !flags.json && process.stderr.isTTY === true;
  if (flags.criterion === "heldout" && !problem.validation) {
    throw new InputError("validation", "the heldout criterion needs validation measurements in the problem file (or use --criterion cv|sure|reference)");
  }
  const names = ["result.json", "tuning.svg", ...(problem.truth ? ["reconstruction.svg"] : [])];
  const output = prepareOutputDir(flags.out, names);
  let report: TuningReport;
  try {
    const options: TuneWorkerData["options"] = {
      criterion: flags.criterion,
      workers: flags.workers,
      folds: flags.folds,
      sigma: flags.sigma,
      optimizer: flags.optimizer,
      start: flags.start !== undefined ? { l1: flags.start } : undefined,
      keys: flags.weights ? (problem.penalty.l2 > 0 ? ["weights", "l2"] : ["weights"]) : undefined,
      grid: flags.grid,
      solver: flags.solver,
      tol: flags.tol,
      maxIter: flags.maxIter,
    };
    // In a worker thread: Ctrl-C stops it after the current solve with the best point so far.
    const data: TuneWorkerData = { file, intercept: flags.intercept, options };
    report = await runInterruptible<TuningReport, TuneEvent>(new URL("./tune-worker.js", import.meta.url), data, showProgress ? progressPrinter(true) : undefined);
  } catch (e) {
    removeCreated(output);
    throw e;
  }
  const files: Record<string, string> = { "result.json": toJson(resultDocument(problem, report)) + "\n", "tuning.svg": tuningChart(report) };
  if (problem.truth) files["reconstruction.svg"] = reconstructionChart(report.x, problem.truth);
  try {
    writeOutputs(output, files);
  } catch (e) {
    removeCreated(output);
    throw e;
  }
  if (flags.json) {
    const { lambda, criterion, iterations, solves, seconds, x, converged, message } = report;
    const intercept = report.solution.intercept;
    const bracket = report.certificate?.bracket;
    process.stdout.write(toJson({ lambda, criterion, iterations, solves, seconds, x, ...(intercept !== undefined && { intercept }), converged, message, cancelled: report.cancelled, gridBest: report.grid?.best, ...(bracket && { bracket }), out: flags.out }) + "\n");
    return report.cancelled;
  }
  const lambda = Object.entries(report.lambda).map(([k, v]) => `${k} = ${fmt(v)}`).join(", ");
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  // The exact finish walks the path (report.iterations counts its walks); the descent steps.
  const how = report.certificate ? `the exact path (${plural(report.iterations, "walk")})` : `${report.optimizer} (${plural(report.iterations, "iteration")})`;
  const lines = [
    `${problem.name ?? file}: tuned ${lambda} (λ_max ${fmt(report.lambdaMax)}) by ${how} on the ${report.criterionName} criterion`,
    `  criterion ${fmt(report.criterion)}, ${plural(report.solves, "solve")}, ${report.seconds.toFixed(3)} s (${report.message})`,
  ];
  if (report.grid) {
    lines.push(`  grid of ${report.grid.points.length}: best ${fmt(report.grid.best.value)} at l1 = ${fmt(report.grid.best.l1)} (${report.grid.solves} solves, ${report.grid.seconds.toFixed(3)} s)`);
  }
  if (report.certificate) {
    const { bracket, breakpoints } = report.certificate;
    lines.push(`  exact minimum over [${fmt(bracket[0])}, ${fmt(bracket[1])}] (${breakpoints.length} breakpoints: the criterion is an exact quadratic between them)`);
  }
  lines.push(`  active set: ${report.solution.active.length} features; wrote ${Object.keys(files).map((f) => join(flags.out, f)).join(", ")}`);
  process.stdout.write(lines.join("\n") + "\n");
  return report.cancelled;
}
