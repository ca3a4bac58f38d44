// Unrolled section of `npm run bench`: forward and reverse mode through K steps of FISTA,
// coordinate descent and Split Bregman (diff/unrolled.ts) against the plain K-step run, reverse
// mode's memory (stored states, the array-buffer memory at its peak), and the convergence of the unrolled
// hypergradient to the implicit one as K grows (an SVG in bench/out/, gitignored). The problems are
// generated here (seeded): no Python needed. In-process timings: best wall time of runs after warm-up.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { bestOfRounds } from "./timing.mjs";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

/** A seeded normal generator (Box–Muller on a 32-bit LCG): the same problems on every run. */
function normals(seed) {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** m × n Gaussian A (column-major), a k-sparse truth, noisy y and validation rows; penalties relative to λ_max. */
function gaussianProblem(lib, m, n, { l1Fraction, l2 }) {
  const normal = normals(m * 7919 + n);
  const truth = Float64Array.from({ length: n }, (_, j) => (j % 20 === 0 ? normal() + Math.sign(normal()) : 0));
  const measure = (rows) => {
    const A = new lib.DenseMatrix(rows, n, Float64Array.from({ length: rows * n }, () => normal() / Math.sqrt(m)));
    const y = A.apply(truth, new Float64Array(rows));
    for (let i = 0; i < rows; i++) y[i] += 0.05 * normal();
    return { A, y };
  };
  const train = measure(m);
  const lmax = lib.lambdaMax(lib.createProblem(train));
  return lib.createProblem({ ...train, validation: measure(Math.floor(m / 2)), penalty: { l1: l1Fraction * lmax, l2 } });
}

/** 1-D TV denoising of n samples: a piecewise-constant signal plus noise, validated against the clean signal. */
function tvProblem(lib, n) {
  const normal = normals(n);
  const clean = Float64Array.from({ length: n }, (_, i) => Math.floor((8 * i) / n) % 3);
  const y = clean.map((v) => v + 0.3 * normal());
  return lib.createProblem({ A: { identity: n }, y, validation: { A: { identity: n }, y: clean }, penalty: { tv: 0.5 } });
}

/** 2-D TV denoising of an h×w checkerboard of 16-pixel squares plus noise, validated against the clean image. */
function tvImageProblem(lib, h, w) {
  const n = h * w, normal = normals(n);
  const clean = Float64Array.from({ length: n }, (_, i) => (Math.floor((i % w) / 16) + Math.floor(i / w / 16)) % 2);
  const y = clean.map((v) => v + 0.3 * normal());
  return lib.createProblem({ A: { identity: n }, y, grid: [h, w], validation: { A: { identity: n }, y: clean }, penalty: { tv: 0.3 } });
}

/** Array-buffer memory in use right now (every state buffer of these sizes lives there, outside the JS heap). */
const inUse = () => process.memoryUsage().arrayBuffers;

/** A full GC, twice with a turn of the event loop between: array-buffer memory is released by a background sweeper. */
async function settle() {
  for (let k = 0; k < 2; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Reverse mode's peak memory: the criterion's gradient is asked for once, when the forward pass
 * has stored its checkpoints and the sweep has allocated its segment buffers (the seed), so the
 * array-buffer memory in use then, minus that after a collection before the run, is what the sweep adds.
 */
async function reversePeak(lib, problem, options) {
  const criterion = lib.HeldOutMse.of(problem);
  let peak = 0;
  const probe = { name: criterion.name, value: (x) => criterion.value(x), gradient: (x, out, s) => ((peak = inUse()), criterion.gradient(x, out, s)) };
  await settle();
  const before = inUse();
  const r = lib.unrolledReverse(problem, probe, options);
  return { delta: peak - before, storedStates: r.storedStates, stateBytes: r.stateBytes };
}

export async function unrolledSection(ctx) {
  const { lib, table } = ctx;
  const cases = [
    { name: "enet 300×1000", problem: gaussianProblem(lib, 300, 1000, { l1Fraction: 0.1, l2: 0.05 }), solver: "fista", K: 400 },
    { name: "enet 300×1000", problem: gaussianProblem(lib, 300, 1000, { l1Fraction: 0.1, l2: 0.05 }), solver: "cd", K: 40 },
    { name: "lasso 200×400", problem: gaussianProblem(lib, 200, 400, { l1Fraction: 0.1, l2: 0 }), solver: "split-bregman", K: 300 },
    { name: "tv1d denoise n=4096", problem: tvProblem(lib, 4096), solver: "split-bregman", K: 400 },
    { name: "tv1d denoise n=4096", problem: tvProblem(lib, 4096), solver: "fista", K: 400 },
    // 2-D: each image's DCT already pairs its own rows, so nothing is paired across steps here.
    { name: "tv2d denoise 64×64", problem: tvImageProblem(lib, 64, 64), solver: "split-bregman", K: 400 },
  ];
  const rows = [];
  // Every timing first, then the memory runs: their collections (settle) leave V8 background work
  // that would land in the next case's timings.
  const timings = cases.map((c) => {
    const criterion = lib.HeldOutMse.of(c.problem);
    const options = { solver: c.solver, iterations: c.K };
    const [plain, forward, reverse] = bestOfRounds([
      () => lib.unrolledValue(c.problem, criterion, options),
      () => lib.unrolledForward(c.problem, criterion, options),
      () => lib.unrolledReverse(c.problem, criterion, options),
    ]);
    return { plain, forward, reverse, options };
  });
  for (const [i, c] of cases.entries()) {
    const { plain, forward, reverse, options } = timings[i];
    const P = Object.keys(forward.result.gradient).length + Object.keys(forward.result.algorithm).length;
    // One hyperparameter's forward run = the plain run + one tangent: plain + (forward − plain)/P.
    const perParameter = (plain.ms + (forward.ms - plain.ms) / P) / plain.ms;
    const peak = await reversePeak(lib, c.problem, options);
    const bytes = peak.stateBytes;
    rows.push([
      `${c.name}, ${c.solver}`, String(c.K), String(P), plain.ms.toFixed(1), forward.ms.toFixed(1), `${perParameter.toFixed(2)}×`,
      reverse.ms.toFixed(1), `${(reverse.ms / plain.ms).toFixed(2)}×`,
      `${peak.storedStates} (${(peak.storedStates / Math.sqrt(c.K)).toFixed(1)}√K)`,
      `${((peak.storedStates * bytes) / 2 ** 20).toFixed(2)} MiB / ${(((c.K + 1) * bytes) / 2 ** 20).toFixed(1)} MiB`,
      `${(peak.delta / 2 ** 20).toFixed(2)} MiB`,
    ]);
  }
  table(
    ["problem, solver", "K", "θ", "plain ms", "forward ms (all θ)", "forward per θ / plain", "reverse ms", "reverse / plain", "stored states", "states: checkpointed / all K", "buffers at peak − before"],
    rows,
  );
  console.log("targets: forward per hyperparameter ≤ 2× the plain run, reverse ≤ 3×; memory ≈ 2√K + 1 states (3√K + 1 where recomputed steps ride with adjoint steps: Split Bregman with the DCT solver).");
  await convergencePlot(ctx);
}

/** |unrolled − implicit| / |implicit| against K (log-log) on the l1 and TV fixtures, written to bench/out/unrolled-convergence.svg. */
async function convergencePlot(ctx) {
  const { lib, BENCH } = ctx;
  const { lineChartSvg } = await import(pathToFileURL(join(BENCH, "..", "dist", "io", "svg.js")).href);
  const Ks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
  const series = [];
  const lines = [];
  const runs = [["lasso-small", "fista", "l1"], ["lasso-small", "cd", "l1"], ["lasso-small", "split-bregman", "l1"], ["tv1d-denoise", "split-bregman", "tv"], ["tv1d-denoise", "fista", "tv"]];
  for (const [file, solver, key] of runs) {
    const problem = lib.loadProblemFile(join(BENCH, "..", "fixtures", `${file}.json`));
    const criterion = lib.HeldOutMse.of(problem);
    const implicit = lib.hypergradient(problem, lib.solve(problem, { tol: 1e-14 }), criterion).gradient[key];
    const errors = Ks.map((K) => Math.abs(lib.unrolledReverse(problem, criterion, { solver, iterations: K }).gradient[key] - implicit) / Math.abs(implicit));
    series.push({ label: `${file}, ${solver}: dL/d${key}`, x: Ks, y: errors.map((e) => Math.max(e, 1e-16)), style: "line+points" });
    lines.push(`${file} ${solver} d/d${key} (implicit ${implicit.toPrecision(6)}): ${errors.map((e, i) => `K=${Ks[i]} ${e.toExponential(1)}`).join(", ")}`);
  }
  const svg = lineChartSvg(series, { title: "Unrolled hypergradient → implicit as K grows", xLabel: "K (unrolled steps)", yLabel: "relative difference from the implicit value", xLog: true, yLog: true });
  for (const line of lines) console.log(line);
  const out = join(BENCH, "out");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "unrolled-convergence.svg"), svg);
  console.log(`plot: ${join(out, "unrolled-convergence.svg")} (differences below 1e-16 drawn at 1e-16)`);
}
