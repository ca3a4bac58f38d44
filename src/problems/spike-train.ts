import { DenseMatrix } from "../operators/dense.js";
import { Random } from "../linalg/random.js";
import { lambdaMax } from "../penalties/index.js";
import { createProblem, type Problem } from "../problem.js";
import { requireObject } from "../optim/objective.js";

export interface SpikeTrainOptions {
  /** Signal length n. */
  length?: number;
  /** Measurements m (rows of A). */
  measurements?: number;
  /** Held-out measurements (rows of the validation operator). */
  validationMeasurements?: number;
  spikes?: number;
  /** Noise standard deviation on every measurement. */
  noise?: number;
  /** l1 as a fraction of λ_max. */
  l1Fraction?: number;
  seed?: number;
}

/**
 * Compressed sensing of a sparse spike train through a partial DCT: each measurement is one
 * randomly chosen orthonormal DCT-II frequency, A[i, j] = c_k cos(π k (j + ½) / n), with
 * c_0 = √(1/n), c_k = √(2/n). Validation rows are other frequencies of the same signal.
 */
/** The problem carries its `truth` (the clean spike train). */
export function spikeTrainProblem(options: SpikeTrainOptions = {}): Problem {
  requireObject("options", options, "spike-train options { length?, measurements?, ... }");
  const { length: n = 512, measurements: m = 128, validationMeasurements: mv = 64, spikes = 16 } = options;
  const { noise = 0.02, l1Fraction = 0.1, seed = 7 } = options;
  const rng = new Random(seed);
  const truth = new Float64Array(n);
  for (const j of rng.sample(n, spikes)) truth[j] = (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + rng.uniform());
  const frequencies = rng.sample(n, m + mv);
  const measure = (rows: number[]) => {
    const A = partialDct(n, rows);
    const y = A.apply(truth, new Float64Array(rows.length));
    for (let i = 0; i < y.length; i++) y[i] += noise * rng.normal();
    return { A, y };
  };
  const train = measure(frequencies.slice(0, m));
  const validation = measure(frequencies.slice(m));
  const unpenalised = createProblem({ name: "spike-train", ...train, validation });
  return createProblem({ name: "spike-train", ...train, validation, truth, penalty: { l1: l1Fraction * lambdaMax(unpenalised) } });
}

function partialDct(n: number, frequencies: number[]): DenseMatrix {
  const m = frequencies.length, data = new Float64Array(m * n);
  frequencies.forEach((k, i) => {
    const c = Math.sqrt((k === 0 ? 1 : 2) / n);
    for (let j = 0; j < n; j++) data[j * m + i] = c * Math.cos((Math.PI * k * (j + 0.5)) / n);
  });
  return new DenseMatrix(m, n, data);
}
