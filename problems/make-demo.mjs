// Writes problems/demo.json (+ .npy arrays): the built-in demo, a spike train measured through
// a partial DCT with held-out frequencies. Run after `npm run build`: node problems/make-demo.mjs
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spikeTrainProblem, writeNpy } from "../dist/node.js";

const dir = import.meta.dirname;
const problem = spikeTrainProblem({ length: 512, measurements: 128, validationMeasurements: 64, spikes: 16, noise: 0.02, seed: 7 });
// DenseMatrix data is column-major; .npy files here are written in C (row-major) order.
const save = (name, A) => {
  const rowMajor = new Float64Array(A.rows * A.cols);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) rowMajor[i * A.cols + j] = A.get(i, j);
  writeNpy(join(dir, `demo.${name}.npy`), rowMajor, [A.rows, A.cols]);
  return { npy: `demo.${name}.npy` };
};
const doc = {
  format: "sparsetune-problem/1",
  name: "demo-spike-train",
  description: "16 spikes in a length-512 signal, 128 noisy partial-DCT measurements, 64 held-out frequencies (noise 0.02)",
  A: save("A", problem.A),
  y: Array.from(problem.y),
  penalty: { l1: problem.penalty.l1 },
  validation: { A: save("Aval", problem.validation.A), y: Array.from(problem.validation.y) },
  truth: Array.from(problem.truth),
};
writeFileSync(join(dir, "demo.json"), JSON.stringify(doc, null, 1) + "\n");
console.log(`wrote ${join(dir, "demo.json")}`);
