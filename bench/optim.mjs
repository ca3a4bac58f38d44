// Differentiable-optimiser section of `npm run bench`: the cost of the hyperparameter derivatives
// of K steps of gradient descent, heavy-ball momentum and Adam on least squares, logistic regression
// and smoothed TV against the plain run (targets:
// forward mode ≤ 2× per hyperparameter, reverse mode ≤ 3×), and the memory of the checkpointed
// reverse mode (states held, and the process's array-buffer growth at its peak) against the
// K + 1 states a reverse mode that kept every iterate would hold. In-process timings: the best wall
// time of rounds that run the four in turn, after warm-up rounds (bench/timing.mjs).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { bestOfRounds } from "./timing.mjs";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

/**
 * The three objectives on one dense m×n matrix (column-major Gaussian / √m; b Gaussian, labels
 * its signs; smoothed TV on first differences, τ = 0.1, δ = 0.05), x₀ = 0, and for each 1/L, its
 * curvature bound by power iteration at x₀.
 */
function objectives(lib, m, n) {
  const rng = new lib.Random(2018);
  const data = new Float64Array(m * n);
  for (let k = 0; k < data.length; k++) data[k] = rng.normal() / Math.sqrt(m);
  const b = new Float64Array(m);
  for (let i = 0; i < m; i++) b[i] = rng.normal();
  const A = new lib.DenseMatrix(m, n, data);
  const x0 = new Float64Array(n);
  const curvature = (objective) => {
    let v = new Float64Array(n).fill(1 / Math.sqrt(n)), w = new Float64Array(n), L = 0;
    for (let k = 0; k < 50; k++) {
      objective.hessianVector(x0, v, w);
      L = Math.hypot(...w);
      for (let j = 0; j < n; j++) w[j] /= L;
      [v, w] = [w, v];
    }
    return L;
  };
  return [
    ["least squares", new lib.LeastSquares(A, b)],
    ["logistic", new lib.LogisticRegression(A, b.map(Math.sign), 0.01)],
    ["smoothed TV", new lib.SmoothedTotalVariation(A, b, new lib.GridDifferences([n]), 0.1, 0.05)],
  ].map(([name, objective]) => ({ name, objective, x0, L: curvature(objective) }));
}

/** A full GC, twice with a turn of the event loop between: array-buffer memory is released by a background sweeper. */
async function settle() {
  for (let k = 0; k < 2; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Peak growth of the typed-array memory (process.memoryUsage().arrayBuffers: every state buffer
 * lives there) during fn, after a full GC, sampled at every objective evaluation of `objective`.
 */
async function peakMemory(objective, fn) {
  const sample = () => process.memoryUsage().arrayBuffers;
  await settle();
  const base = sample();
  let peak = base;
  // Every evaluation: the forward pass calls evaluate, the interleaved reverse sweep evaluateWithHessianVectorAt.
  const methods = ["evaluate", "evaluateWithHessianVectorAt"].filter((name) => typeof objective[name] === "function");
  for (const name of methods) {
    const method = objective[name];
    objective[name] = (...args) => {
      peak = Math.max(peak, sample());
      return method.apply(objective, args);
    };
  }
  try {
    fn();
  } finally {
    for (const name of methods) delete objective[name]; // back to the prototype's methods
  }
  return peak - base;
}

const fmtRatio = (r) => r.toFixed(2);
const fmtKb = (bytes) => (bytes / 1024).toFixed(0);

export async function optimSection(ctx) {
  const { lib, table } = ctx;
  if (!lib.forwardDerivatives) throw new Error("dist/ has no forwardDerivatives: rebuild (npm run build)");
  const rows = [];
  for (const { name: objectiveName, objective, x0, L } of objectives(lib, 400, 200)) {
    const methods = [
      ["gd", () => new lib.GradientDescent(objective, 1 / L)],
      ["momentum", () => new lib.Momentum(objective, 0.5 / L, 0.9)],
      ["adam", () => new lib.Adam(objective, { alpha: 1e-3 })],
    ];
    // Least squares at three K; the other objectives at the largest and a middle one.
    const Ks = objectiveName === "least squares" ? [100, 400, 1600] : [400, 1600];
    for (const [name, make] of methods) {
      for (const K of Ks) {
        const optimiser = make();
        const p = optimiser.hyperparameters.length;
        const [plain, one, all, reverse] = bestOfRounds(
          [
            () => lib.runOptimiser(optimiser, x0, K),
            () => lib.forwardDerivatives(optimiser, x0, K, { parameters: [optimiser.hyperparameters[0]] }),
            () => lib.forwardDerivatives(optimiser, x0, K),
            () => lib.reverseDerivatives(optimiser, x0, K),
          ],
          K >= 1600 ? 4 : 7,
        ).map((r) => r.ms);
        const report = lib.reverseDerivatives(optimiser, x0, K);
        const stateBytes = (optimiser.auxiliaries + 2) * x0.length * 8 + 8;
        const heap = await peakMemory(objective, () => lib.reverseDerivatives(optimiser, x0, K));
        rows.push([
          objectiveName, name, String(K), plain.toFixed(1),
          `${one.toFixed(1)} (${fmtRatio(one / plain)}×)`,
          `${all.toFixed(1)} (${p} h: ${fmtRatio(all / plain / p)}× per h)`,
          `${reverse.toFixed(1)} (${fmtRatio(reverse / plain)}×)`,
          `${report.storedStates} (${(report.storedStates / Math.sqrt(K)).toFixed(1)}√K)`,
          fmtKb(report.storedStates * stateBytes),
          fmtKb(heap),
          fmtKb((K + 1) * stateBytes),
        ]);
      }
    }
  }
  table(["objective", "method", "K", "plain ms", "forward, 1 h ms", "forward, all h ms", "reverse ms", "states held", "states KiB", "peak buffers Δ KiB", "all K+1 states KiB"], rows);
  console.log("400×200 dense A (one gradient = two matrix-vector products; logistic's Hessian product at another point needs A·x there, one more). Targets: forward ≤ 2× the plain run per hyperparameter, reverse ≤ 3×.");
  console.log("ms = best wall time of rounds. peak buffers Δ = growth of the array-buffer memory during one reverse run after a full GC, sampled at every objective evaluation (states, adjoints, workspaces).");
}
