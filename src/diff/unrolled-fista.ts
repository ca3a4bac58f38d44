import { InputError } from "../errors.js";
import { dot } from "../linalg/vector.js";
import { Random } from "../linalg/random.js";
import type { LinearOperator } from "../operators/operator.js";
import { penaltyTerms } from "../penalties/index.js";
import { requirePositivePenalty, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { fista, type FistaState } from "../solvers/fista.js";
import { proxAdjoint, proxTangent } from "./unrolled-prox.js";
import type { UnrolledOptions, Unrolling } from "./unrolled.js";

/** Power iterations for the default step, and the margin above the estimate of ‖A‖² (it converges from below). */
const POWER_ITERATIONS = 100;
const POWER_MARGIN = 1.05;

/** θ in order: the penalties, then FISTA's step η and its extrapolation factor γ (reported as "momentum"). */
const PARAMETERS = ["l1", "l2", "step", "momentum"] as const;
const STEP = 2, MOMENTUM = 3;

interface FistaTangent {
  x: Float64Array;
  z: Float64Array;
  // workspaces
  az: Float64Array;
  gramZ: Float64Array;
  grad: Float64Array;
}

interface FistaAdjoint {
  x: Float64Array;
  xPrev: Float64Array;
  z: Float64Array;
  // workspaces
  u: Float64Array;
  au: Float64Array;
  gramU: Float64Array;
  sums: Float64Array;
}

/**
 * FISTA with a fixed step η = 1/L (fista.ts, `lipschitz` = 1/η: no backtracking) as an unrolled map
 * on its own state. One step, with g = Aᵀ(Az − y), u = z − ηg, c = γβ_k (β_k read from the state):
 *
 *   x⁺ = prox_{ηg}(u),   z⁺ = x⁺ + c(x⁺ − x).
 *
 * Tangent: ż⁺ from ġ = AᵀAż, u̇ = ż − ηġ − η̇g, ẋ⁺ by the prox's derivative (unrolled-prox.ts),
 * ż⁺ = ẋ⁺ + c(ẋ⁺ − ẋ) + γ̇β_k(x⁺ − x). Adjoint, from (x̄⁺, x̄⁻⁺, z̄⁺) of the state after:
 * x̄⁺ + (1 + c)z̄⁺ pulled through the prox gives ū, then z̄ = ū − ηAᵀAū, x̄ = −cz̄⁺ + x̄⁻⁺,
 * and dL/dη −= ūᵀg = (Aū)ᵀ(Az − y), dL/dγ += β_k z̄⁺ᵀ(x⁺ − x). The restart test and β_k are
 * piecewise constant in θ: they carry no derivative.
 */
export function unrollFista(problem: Problem, options: UnrolledOptions): Unrolling<FistaState, FistaTangent, FistaAdjoint> {
  checkProblemClass(fista, problem);
  requirePositivePenalty(problem);
  if (problem.penalty.tv > 0) throw new InputError("penalty.tv", "unrolled fista differentiates l1/l2 problems (its tv prox is an inner iteration); use solver \"split-bregman\" for tv");
  const { A, y } = problem;
  const n = A.cols, m = A.rows;
  const eta = options.step ?? 1 / (POWER_MARGIN * normSquaredEstimate(A));
  if (!(typeof eta === "number" && eta > 0 && Number.isFinite(eta))) throw new InputError("step", `expected a positive number, got ${eta}`);
  const gamma = options.extrapolation ?? 1;
  if (!(typeof gamma === "number" && gamma > 0 && Number.isFinite(gamma))) throw new InputError("extrapolation", `expected a positive number, got ${gamma}`);
  const { l1, l2 } = problem.penalty;
  const weights = problem.penalty.weights;
  const w = (j: number) => (weights ? weights[j] : 1);
  const { context, state } = fista.setup(problem, penaltyTerms(problem), new Float64Array(n), { gapTarget: 0, lipschitz: 1 / eta, extrapolation: gamma });

  /** out ← Aᵀ(Az − y) at the state (its az is Az). */
  const gradientAt = (s: FistaState, work: Float64Array, out: Float64Array) => {
    for (let i = 0; i < m; i++) work[i] = s.az[i] - y[i];
    A.applyT(work, out);
  };

  return {
    parameters: PARAMETERS,
    values: { step: eta, momentum: gamma },
    initial: state,
    step: (s) => fista.step(context, s),
    iterate: (s) => s.x,
    createTangent: () => ({ x: new Float64Array(n), z: new Float64Array(n), az: new Float64Array(m), gramZ: new Float64Array(n), grad: new Float64Array(n) }),
    initialTangent: () => {},
    tangentStep(before, after, tangent, p) {
      const l1Dot = p === 0 ? 1 : 0, l2Dot = p === 1 ? 1 : 0, etaDot = p === STEP ? 1 : 0, gammaDot = p === MOMENTUM ? 1 : 0;
      const { x, z, az, gramZ, grad } = tangent;
      A.apply(z, az);
      A.applyT(az, gramZ);
      if (etaDot !== 0) gradientAt(before, az, grad);
      const beta = after.beta, c = gamma * beta;
      for (let j = 0; j < n; j++) {
        const uDot = z[j] - eta * gramZ[j] - (etaDot !== 0 ? grad[j] : 0);
        const xNext = proxTangent(after.x[j], w(j), uDot, eta, etaDot, l1, l1Dot, l2, l2Dot);
        z[j] = xNext + c * (xNext - x[j]) + gammaDot * beta * (after.x[j] - after.xPrev[j]);
        x[j] = xNext;
      }
    },
    tangentIterate: (tangent) => tangent.x,
    createAdjoint: () => ({
      x: new Float64Array(n), xPrev: new Float64Array(n), z: new Float64Array(n),
      u: new Float64Array(n), au: new Float64Array(m), gramU: new Float64Array(n), sums: new Float64Array(3),
    }),
    seedAdjoint(_final, adjoint, g) {
      adjoint.x.set(g);
      adjoint.xPrev.fill(0);
      adjoint.z.fill(0);
    },
    adjointStep(before, after, adjoint, gradient) {
      const { x, xPrev, z, u, au, gramU, sums } = adjoint;
      const beta = after.beta, c = gamma * beta;
      sums.fill(0);
      let dGamma = 0;
      for (let j = 0; j < n; j++) {
        dGamma += z[j] * (after.x[j] - after.xPrev[j]);
        u[j] = proxAdjoint(after.x[j], w(j), x[j] + (1 + c) * z[j], eta, l1, l2, sums);
        x[j] = -c * z[j] + xPrev[j];
        xPrev[j] = 0;
      }
      A.apply(u, au);
      let uTg = 0;
      for (let i = 0; i < m; i++) uTg += au[i] * (before.az[i] - y[i]);
      A.applyT(au, gramU);
      for (let j = 0; j < n; j++) z[j] = u[j] - eta * gramU[j];
      gradient[0] += sums[1];
      gradient[1] += sums[2];
      gradient[STEP] += sums[0] - uTg;
      gradient[MOMENTUM] += beta * dGamma;
    },
    initialAdjoint: () => {},
  };
}

/** ‖A‖² = λ_max(AᵀA) by power iteration from a fixed pseudo-random start (an estimate from below). */
function normSquaredEstimate(A: LinearOperator): number {
  const random = new Random(1);
  const v = Float64Array.from({ length: A.cols }, () => random.normal());
  const av = new Float64Array(A.rows);
  let estimate = 0;
  for (let k = 0; k < POWER_ITERATIONS; k++) {
    const norm = Math.sqrt(dot(v, v));
    if (!(norm > 0)) break;
    for (let j = 0; j < v.length; j++) v[j] /= norm;
    A.apply(v, av);
    estimate = dot(av, av);
    A.applyT(av, v);
  }
  return estimate > 0 && Number.isFinite(estimate) ? estimate : 1;
}
