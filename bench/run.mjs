// sparsetune benchmarks: `npm run bench [-- --only NAME] [-- --no-sklearn] [-- --section NAME]`.
//
// Runs after `npm run build` and imports the built package (dist/). The problems are generated
// into bench/data/ (gitignored) by bench/perf_problems.py (needs python3 with NumPy); scikit-learn's
// timings come from bench/sk_baseline.py, bench/sk_hypergrad.py and bench/sk_tune.py, run side by side in the same
// invocation (same machine state). perf_problems.py and sk_baseline.py are copies of the anchors
// in shared/bench (sk_hypergrad.py is the project's own), so a clone runs on its own. Each of our
// solver runs happens in a worker thread with a timeout, so a solver that does not finish cannot
// hang the bench.
//
// Environment: SPARSETUNE_PYTHON = the python to run (default /usr/bin/python3, else python3 on
// PATH); SPARSETUNE_BENCH_DATA = where the problems live (default bench/data).
//
// Exit status: 0 when every run completed (without scikit-learn, our side alone counts as
// complete: it says so); 1 with a one-line `bench: ...` message on stderr when it cannot run (no
// problems and no python/NumPy to generate them, dist/ not built) or when a run failed (a worker
// error or timeout, an anchor script that failed, a section that threw); 2 for a bad argument.
//
// Adding a benchmark = appending to SECTIONS below: { name, title, run(ctx) } where run prints
// its own table (use `table()`) and may read ctx.problems, ctx.sklearn, ctx.runSolver, ctx.args.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { tvSection } from "./tv.mjs";
import { constraintsSection } from "./constraints.mjs";
import { basisPursuitSection, basisPursuitTvSection } from "./basis-pursuit.mjs";
import { optimSection } from "./optim.mjs";
import { unrolledSection } from "./unrolled.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH = join(ROOT, "bench");
const DATA = process.env.SPARSETUNE_BENCH_DATA ? resolve(process.env.SPARSETUNE_BENCH_DATA) : join(BENCH, "data");
const PYTHON = process.env.SPARSETUNE_PYTHON || (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const PROBLEMS = ["cs-1000x5000", "cs-200x4000", "cs-500x2000", "enet-400x1500"];
const TOL = 1e-8;

// --- command line -------------------------------------------------------------------------------
function parseArgs(argv) {
  const args = { only: null, sklearn: true, section: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--only") args.only = argv[++i];
    else if (a.startsWith("--only=")) args.only = a.slice(7);
    else if (a === "--no-sklearn") args.sklearn = false;
    else if (a === "--section") args.section = argv[++i];
    else if (a.startsWith("--section=")) args.section = a.slice(10);
    else if (a === "--help" || a === "-h") {
      console.log("usage: npm run bench [-- --only NAME] [--no-sklearn] [--section NAME]");
      process.exit(0);
    } else {
      console.error(`bench: unknown argument ${a} (try --help)`);
      process.exit(2);
    }
  }
  return args;
}

// --- helpers ------------------------------------------------------------------------------------
/** Stop the bench: one line on stderr, non-zero exit. */
function fail(message, code = 1) {
  console.error(`bench: ${message}`);
  process.exit(code);
}

/** The last non-empty line of a child's stderr (or its spawn error), for one-line messages. */
function lastLine(res) {
  if (res.error) return res.error.code === "ENOENT" ? "not found" : res.error.message;
  const line = (res.stderr || "").trim().split("\n").pop();
  return line || (res.signal ? `killed by ${res.signal}` : `status ${res.status}`);
}

/** Print rows (arrays of cells) under a header, columns padded; numbers right-aligned. */
function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r) => r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join("  ");
  console.log(line(all[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of all.slice(1)) console.log(line(r));
}

const fmtMs = (ms) => (ms === undefined ? "-" : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtE = (v, d = 1) => (v === undefined || v === null ? "-" : Number(v).toExponential(d));

const PROBLEM_FILES = (n) => [`${n}.json`, `${n}.A.npy`, `${n}.y.npy`, `${n}.Aval.npy`, `${n}.yval.npy`];
const missingProblems = (names) => names.filter((n) => PROBLEM_FILES(n).some((f) => !existsSync(join(DATA, f))));

/** Make sure the problems exist in DATA, generating them with python + NumPy; fails otherwise. */
function ensureData(names) {
  const missing = missingProblems(names);
  if (missing.length === 0) return;
  const what = `${missing.join(", ")} missing from ${DATA}`;
  const script = join(BENCH, "perf_problems.py");
  if (!existsSync(script)) fail(`${what} and the problem generator ${script} is missing; cannot run.`);
  const probe = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? `cannot run ${PYTHON} (${lastLine(probe)})` : `${PYTHON} cannot import numpy (${lastLine(probe)})`;
    fail(`${what} and ${why}; cannot generate them: install python3 with NumPy (Debian: apt-get install python3-numpy) or set SPARSETUNE_PYTHON.`);
  }
  console.log(`bench: generating ${missing.join(", ")} into ${DATA} ...`);
  const res = spawnSync(PYTHON, [script, DATA], { encoding: "utf8", stdio: ["ignore", "inherit", "pipe"] });
  if (res.error || res.status !== 0) fail(`${PYTHON} ${script} failed (${lastLine(res)}); cannot run.`);
  const still = missingProblems(names);
  if (still.length > 0) fail(`${script} ran but ${still.join(", ")} still missing from ${DATA}; cannot run.`);
}

function sklearnAvailable() {
  const res = spawnSync(PYTHON, ["-c", "import sklearn"], { encoding: "utf8" });
  return res.status === 0 && ["sk_baseline.py", "sk_hypergrad.py", "sk_tune.py"].every((f) => existsSync(join(BENCH, f)));
}

/** scikit-learn's single solve (in-process timing, best of 3, one BLAS thread). */
function sklearnSolve(name) {
  const res = spawnSync(PYTHON, [join(BENCH, "sk_baseline.py"), DATA, name, String(TOL), "solve"], {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    timeout: 120_000,
  });
  if (res.error || res.status !== 0) return { error: lastLine(res) };
  const out = lastJson(res.stdout);
  if (out.error) return out;
  return { ms: out.solve_s * 1000, objective: out.objective, nnz: out.nnz, iterations: out.n_iter };
}

/** One of our solvers (an export of dist/index.js) in a worker with a timeout. */
function runSolver(name, solver, options = {}, { warmup = 3, reps = 15, budgetMs = 4000, timeoutMs = 30_000 } = {}) {
  return new Promise((resolvePromise) => {
    const worker = new Worker(new URL("./solve-worker.mjs", import.meta.url), {
      workerData: { problem: join(DATA, `${name}.json`), solver, options, warmup, reps, budgetMs },
    });
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.terminate();
      resolvePromise(result);
    };
    const timer = setTimeout(() => finish({ error: `timeout after ${timeoutMs / 1000} s` }), timeoutMs);
    worker.once("message", finish);
    worker.once("error", (e) => finish({ error: e.message.split("\n")[0] }));
    worker.once("exit", (code) => finish({ error: `worker exited (${code})` }));
  });
}

// --- sections -----------------------------------------------------------------------------------
/** Our solver variants for the single-solve section: [label, export, options, limits]. */
const SOLVE_VARIANTS = [
  ["cd", "solveCoordinateDescent", {}],
  ["cd (no polish)", "solveCoordinateDescent", { polish: false }],
  // FISTA is much slower at this tolerance: one timed run, capped.
  ["fista", "solveFista", { maxIter: 20_000 }, { warmup: 0, reps: 1, budgetMs: 0, timeoutMs: 20_000 }],
];

async function solveSection(ctx) {
  const header = ["problem", "solver", "ours ms", "sklearn ms", "ratio", "Δobjective", "gap/‖y‖²", "outer it", "nnz (sk)", "note"];
  const rows = [];
  for (const name of ctx.problems) {
    const sk = ctx.sklearn ? sklearnSolve(name) : null;
    if (sk?.error) ctx.failed(`${name} sklearn solve`, sk.error);
    for (const [label, solver, options, limits] of SOLVE_VARIANTS) {
      if (!ctx.exports.has(solver)) continue;
      const r = await ctx.runSolver(name, solver, { tol: TOL, ...options }, limits);
      if (r.error) {
        ctx.failed(`${name} ${label}`, r.error);
        rows.push([name, label, "-", fmtMs(sk?.ms), "-", "-", "-", "-", "-", r.error]);
        continue;
      }
      const skOk = sk && !sk.error;
      const dObj = skOk ? (r.objective - sk.objective) / Math.abs(sk.objective) : undefined;
      rows.push([
        name,
        label,
        fmtMs(r.ms),
        skOk ? fmtMs(sk.ms) : "-",
        skOk ? (r.ms / sk.ms).toFixed(2) : "-",
        dObj === undefined ? "-" : `${dObj >= 0 ? "+" : ""}${fmtE(dObj)}`,
        fmtE(r.relGap),
        String(r.iterations),
        `${r.nnz}${skOk ? ` (${sk.nnz})` : ""}`,
        [r.converged ? "" : `NOT CONVERGED ${r.message}`, sk?.error ? `sklearn: ${sk.error}` : "", r.runs === 1 ? "1 run" : ""]
          .filter(Boolean)
          .join("; "),
      ]);
    }
  }
  table(header, rows);
  console.log("ratio = ours / sklearn, best of runs (ours after JIT warm-up runs; fista: one cold run); Δobjective relative to sklearn's.");
}

/** Run a python anchor script with one BLAS thread; its last stdout line is JSON. */
function python(script, args, timeoutMs = 600_000) {
  const res = spawnSync(PYTHON, [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    timeout: timeoutMs,
  });
  if (res.error || res.status !== 0) return { error: lastLine(res) };
  return lastJson(res.stdout);
}

/** The JSON object on the last stdout line of an anchor script, or { error }. */
function lastJson(stdout) {
  const line = stdout.trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    return { error: `unreadable output: ${line.slice(0, 80) || "(none)"}` };
  }
}

/** Solve + held-out hypergradient against scikit-learn's solve + a NumPy KKT solve. */
async function hypergradientSection(ctx) {
  const { lib } = ctx;
  const header = ["problem", "|S|", "solve ms", "hypergrad ms", "share", "total ms", "sk solve+KKT ms", "ratio", "dMSE/dl1", "sk dMSE/dl1"];
  const rows = [];
  for (const name of ctx.problems) {
    const problem = lib.loadProblemFile(join(DATA, `${name}.json`));
    const criterion = lib.HeldOutMse.of(problem);
    // Each round: a fresh operator object (no KKT factor cached from an earlier round), a solve,
    // then the hypergradient of that solution, as in use. Best of the rounds, after warm-up.
    const solve = { ms: Infinity, value: null }, grad = { ms: Infinity, value: null };
    for (let round = 0; round < 10; round++) {
      const fresh = { ...problem, A: new lib.DenseMatrix(problem.A.rows, problem.A.cols, problem.A.data) };
      let t = performance.now();
      const sol = lib.solve(fresh, { tol: TOL });
      const solveMs = performance.now() - t;
      t = performance.now();
      const g = lib.hypergradient(fresh, sol, criterion);
      const gradMs = performance.now() - t;
      if (round < 3) continue; // JIT warm-up
      if (solveMs < solve.ms) Object.assign(solve, { ms: solveMs, value: sol });
      if (gradMs < grad.ms) Object.assign(grad, { ms: gradMs, value: g });
    }
    const sk = ctx.sklearn ? python(join(BENCH, "sk_hypergrad.py"), [DATA, name, String(TOL)]) : null;
    if (sk?.error) ctx.failed(`${name} sk_hypergrad.py`, sk.error);
    const skOk = sk && !sk.error;
    const total = solve.ms + grad.ms;
    rows.push([
      name, String(solve.value.active.length), fmtMs(solve.ms), fmtMs(grad.ms), `${((100 * grad.ms) / solve.ms).toFixed(1)}%`, fmtMs(total),
      skOk ? fmtMs((sk.solve_s + sk.kkt_s) * 1000) : sk?.error ?? "-",
      skOk ? (total / ((sk.solve_s + sk.kkt_s) * 1000)).toFixed(2) : "-",
      grad.value.l1.toPrecision(8), skOk ? Number(sk.hypergradient_l1).toPrecision(8) : "-",
    ]);
  }
  table(header, rows);
  console.log("share = hypergradient time / solve time (target ≤ 10%, issue 9); ratio = our solve+hypergradient / scikit-learn's solve + NumPy KKT solve.");
}

/** Best wall-clock seconds of `reps` runs of f (after one warm-up run when `warmup`), with the last result. */
async function bestOf(reps, f, warmup = false) {
  if (warmup) await f();
  let seconds = Infinity, result;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    result = await f();
    seconds = Math.min(seconds, (performance.now() - t) / 1000);
  }
  return { seconds, result };
}

/** The best held-out MSE over a fine grid of l1 (count points, λ_max down to 1e-3·λ_max), read exactly off the whole exact path. */
function fineGridBest(lib, problem, count) {
  const path = lib.lassoPath(problem, { criterion: lib.HeldOutMse.of(problem) });
  let best = Infinity, k = 0;
  for (const l1 of lib.lambdaGrid(path.lambdaMax, count, 1e-3)) {
    while (k < path.pieces.length - 1 && path.pieces[k].lo > l1) k++;
    const { hi, quadratic: [c0, c1, c2] } = path.pieces[k];
    const tau = hi - l1;
    best = Math.min(best, c0 + tau * (c1 + tau * c2));
  }
  return best;
}

/**
 * The issue's tuning targets, like with like in one run: the whole `tune` run (default start to its
 * own convergence) against scikit-learn's 100-λ lasso_path, and its held-out MSE against the best of
 * a fine 200-point grid; our warm-started 100-point grid; `tune --criterion cv --folds 5` (serial and
 * on the worker pool) against LassoCV(cv=5) on the same contiguous folds and λ range, and the CV
 * error of both choices by the same exact-tolerance fold solves. Best of TUNE_REPS runs for the
 * tuner, the grid and lasso_path; one run each for the 5-fold runs (LassoCV takes ~30 s), ours
 * after a warm-up run.
 */
const TUNE_REPS = 3;

async function tuneSection(ctx) {
  const { lib } = ctx;
  const names = ctx.problems.filter((n) => !n.startsWith("enet"));
  const header = ["problem", "tuner s", "MSE vs fine grid", "sk path s", "tuner / sk path", "our grid s", "tuner / grid", "cv serial s", `cv pool s (${availableParallelism()} workers)`, "LassoCV s", "LassoCV / cv pool", "CV ours", "CV at LassoCV λ"];
  const rows = [];
  for (const name of names) {
    const problem = lib.loadProblemFile(join(DATA, `${name}.json`));
    const sk = ctx.sklearn ? python(join(BENCH, "sk_tune.py"), [DATA, name, String(TUNE_REPS), "1"]) : null;
    if (sk?.error) ctx.failed(`${name} sk_tune.py`, sk.error);
    const skOk = sk && !sk.error;
    const tuner = await bestOf(TUNE_REPS, () => lib.tune(problem), true);
    const fine = fineGridBest(lib, problem, 200);
    const excess = tuner.result.criterion / fine - 1;
    if (excess > 1e-3) ctx.failed(`${name} tune`, `held-out MSE ${tuner.result.criterion} is ${(100 * excess).toFixed(3)}% above the fine grid's best ${fine}`);
    const objective = new lib.SingleSolveObjective(problem, lib.HeldOutMse.of(problem), lib.SOLVERS.cd);
    const grid = await bestOf(TUNE_REPS, () => lib.gridSearch(objective, problem.penalty, lib.lambdaMax(problem), { tol: 1e-6 }));
    // One timed run each after a warm-up run: in-process like the rest (the pool's workers stay
    // between runs, so the timed run finds them started and compiled, as the serial run finds this thread).
    const cvSerial = await bestOf(1, () => lib.tune(problem, { criterion: "cv", folds: 5 }), true);
    const cvPool = await bestOf(1, () => lib.tuneAsync(problem, { criterion: "cv", folds: 5 }), true);
    if (cvPool.result.lambda.l1 !== cvSerial.result.lambda.l1) ctx.failed(`${name} cv pool`, `chose l1 = ${cvPool.result.lambda.l1}, the serial run ${cvSerial.result.lambda.l1}`);
    // Both choices' CV error by the same tight fold solves.
    const cv = new lib.CrossValidation(problem, 5, lib.SOLVERS.cd);
    const cvAt = (l1) => cv.evaluate({ ...problem.penalty, l1 }, 1e-12, { gradient: false }).value;
    const ours = cvAt(cvSerial.result.lambda.l1), theirs = skOk ? cvAt(sk.lassocv_lambda) : NaN;
    if (skOk && ours > theirs * (1 + 1e-9)) ctx.failed(`${name} cv`, `CV error ${ours} above LassoCV's choice ${theirs}`);
    rows.push([
      name, tuner.seconds.toFixed(3), `${excess >= 0 ? "+" : ""}${(100 * excess).toFixed(4)}%`,
      skOk ? sk.path100_s.toFixed(3) : sk?.error ?? "-", skOk ? (tuner.seconds / sk.path100_s).toFixed(3) : "-",
      grid.seconds.toFixed(3), (tuner.seconds / grid.seconds).toFixed(2),
      cvSerial.seconds.toFixed(2), cvPool.seconds.toFixed(2),
      skOk ? sk.lassocv_s.toFixed(2) : "-", skOk ? (sk.lassocv_s / cvPool.seconds).toFixed(1) : "-",
      ours.toPrecision(7), skOk ? theirs.toPrecision(7) : "-",
    ]);
  }
  table(header, rows);
  console.log(`tuner, our grid, sk path: best of ${TUNE_REPS} whole runs (the tuner after one warm-up run); 5-fold runs: one each (ours after a warm-up run). MSE vs fine grid = the tuned held-out MSE against the best of a 200-point grid read off the exact path.`);
  console.log("targets (issue 9): cs-1000x5000 tuner / sk path ≤ 0.10; LassoCV / cv pool ≥ 10 with CV ours ≤ CV at LassoCV λ; tuner / grid < 1 on cs-500x2000 and cs-200x4000.");
}

const SECTIONS = [
  { name: "solve", title: `Single solve: Lasso / elastic net to duality gap ≤ ${TOL}·‖y‖²`, run: solveSection },
  { name: "hypergradient", title: "Solve + exact held-out hypergradient", run: hypergradientSection },
  { name: "tune", title: "Tuning l1 on held-out MSE vs grid search and LassoCV", run: tuneSection },
  { name: "tv", title: "TV denoising and tuning (tv256) vs scikit-image", run: tvSection },
  { name: "constraints", title: "Equality constraints and bounds: cs-1000x5000 (non-negative signal), 5 equalities and x ≥ 0", run: constraintsSection },
  { name: "basis-pursuit", title: "Basis pursuit by the Bregman iteration: exact recovery (1000×5000, Gaussian)", run: basisPursuitSection },
  { name: "unrolled", title: "Unrolled differentiation (forward / checkpointed reverse) through K steps of FISTA, CD, Split Bregman vs the plain run", run: unrolledSection },
  { name: "basis-pursuit-tv", title: "Basis pursuit with total variation: exact recovery of piecewise-constant signals (1-D Gaussian, 64×64 phantom from DCT)", run: basisPursuitTvSection },
  { name: "optim", title: "Differentiable optimisers: forward and reverse hyperparameter derivatives vs the plain run, reverse-mode memory", run: optimSection },
];

// --- main ---------------------------------------------------------------------------------------
const args = parseArgs(process.argv.slice(2));
const problems = args.only ? PROBLEMS.filter((p) => p === args.only) : PROBLEMS;
if (problems.length === 0) {
  console.error(`bench: unknown problem ${args.only}; expected one of ${PROBLEMS.join(", ")}`);
  process.exit(2);
}
if (args.section && !SECTIONS.some((s) => s.name === args.section)) {
  fail(`unknown section ${args.section}; expected one of ${SECTIONS.map((s) => s.name).join(", ")}`, 2);
}
/** CPU seconds (user + system, every thread of this process) since `since` = process.cpuUsage(). */
const cpuSeconds = (since) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
};
const DIST = join(ROOT, "dist", "node.js");
if (!existsSync(DIST)) fail(`${DIST} is missing: build first (npm run build; npm run bench does it).`);
ensureData(problems);
let sklearn = args.sklearn;
if (sklearn && !sklearnAvailable()) {
  console.log(`bench: scikit-learn is not importable by ${PYTHON} (or one of bench/sk_*.py is missing): the anchor is missing, running ours only.`);
  sklearn = false;
}
let lib;
try {
  lib = await import(pathToFileURL(DIST).href);
} catch (e) {
  fail(`cannot load ${DIST}: ${String(e?.message ?? e).split("\n")[0]}`);
}
const failures = [];
const failed = (what, message) => failures.push({ what, message });
const ctx = { args, problems, sklearn, runSolver, exports: new Set(Object.keys(lib)), lib, table, DATA, BENCH, python, failed };
const started = performance.now();
console.log(`node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} threads); scikit-learn anchor: ${sklearn ? "yes" : "no"}`);
for (const section of SECTIONS) {
  if (args.section && section.name !== args.section) continue;
  console.log(`\n== ${section.title}`);
  try {
    await section.run(ctx);
  } catch (e) {
    const message = String(e?.message ?? e).split("\n")[0];
    console.log(`section ${section.name} stopped: ${message}`);
    failed(`section ${section.name}`, message);
  }
}
console.log(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (failures.length > 0) {
  const list = failures.map((f) => f.what).join(", ");
  console.error(`bench: ${failures.length} run(s) failed (${list}); first error: ${failures[0].message}`);
  process.exitCode = 1;
}
