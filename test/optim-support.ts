import { DenseMatrix } from "../src/operators/dense.js";
import { GridDifferences } from "../src/operators/finite-differences.js";
import { Random } from "../src/linalg/random.js";
import { LeastSquares } from "../src/optim/least-squares.js";
import { LogisticRegression } from "../src/optim/logistic.js";
import { SmoothedTotalVariation } from "../src/optim/smoothed-tv.js";
import type { SmoothObjective } from "../src/optim/objective.js";

export const KINDS = ["least-squares", "ridge", "logistic", "smoothed-tv"] as const;
export type Kind = (typeof KINDS)[number];

export interface RandomProblem {
  objective: SmoothObjective;
  x0: Float64Array;
  /** An upper bound on ‖∇²f‖ (Frobenius bounds), to pick stable step sizes. */
  curvature: number;
}

/** A Gaussian m×n matrix (column-major) with entries of standard deviation `scale`. */
export function gaussianMatrix(rng: Random, m: number, n: number, scale = 1): DenseMatrix {
  const data = new Float64Array(m * n);
  for (let k = 0; k < data.length; k++) data[k] = scale * rng.normal();
  return new DenseMatrix(m, n, data);
}

export function gaussianVector(rng: Random, n: number, scale = 1): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = scale * rng.normal();
  return v;
}

function frobeniusSquared(A: DenseMatrix): number {
  let s = 0;
  for (const a of A.data) s += a * a;
  return s;
}

/** A random instance of one objective kind, m rows and n unknowns, with a random start. */
export function randomProblem(kind: Kind, seed: number, m: number, n: number): RandomProblem {
  const rng = new Random(seed);
  const A = gaussianMatrix(rng, m, n, 1 / Math.sqrt(m));
  const b = gaussianVector(rng, m);
  const x0 = gaussianVector(rng, n, 0.5);
  const F = frobeniusSquared(A);
  switch (kind) {
    case "least-squares":
      return { objective: new LeastSquares(A, b), x0, curvature: F };
    case "ridge": {
      const lambda = 0.1 + rng.uniform();
      return { objective: new LeastSquares(A, b, lambda), x0, curvature: F + lambda };
    }
    case "logistic": {
      const labels = b.map((v) => (v >= 0 ? 1 : -1));
      const lambda = 0.01 + 0.1 * rng.uniform();
      return { objective: new LogisticRegression(A, labels, lambda), x0, curvature: F / 4 + lambda };
    }
    case "smoothed-tv": {
      const square = gaussianMatrix(rng, n, n, 1 / Math.sqrt(n));
      const tau = 0.05 + 0.2 * rng.uniform(), delta = 0.1 + rng.uniform();
      const y = gaussianVector(rng, n);
      // ‖D‖² ≤ 4 and δ²/ρ³ ≤ 1/δ.
      return { objective: new SmoothedTotalVariation(square, y, new GridDifferences([n]), tau, delta), x0, curvature: frobeniusSquared(square) + (4 * tau) / delta };
    }
  }
}
