import { InputError } from "../errors.js";
import { dot } from "../linalg/vector.js";
import { Random } from "../linalg/random.js";
import type { LinearOperator } from "../operators/operator.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { penaltyTerms } from "../penalties/index.js";
import { requirePositivePenalty, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { fista, type FistaState } from "../solvers/fista.js";
import { proxAdjoint, proxTangent } from "./unrolled-prox.js";
import { TvProxDerivative } from "./unrolled-tv-prox.js";
import type { UnrolledOptions, Unrolling } from "./unrolled.js";

/** Power iterations for the default step, and the margin above the estimate of ‖A‖² (it converges from below). */
const POWER_ITERATIONS = 100;
const POWER_MARGIN = 1.05;

/** The prox's derivative at x⁺ = prox_{ηg}(u): the tangent ẋ⁺ from u̇, the adjoint ū from x̄ (sums: x̄·∂x⁺/∂(η, l1, l2, tv)). */
interface ProxDerivative {
  tangent(xNew: Float64Array, uDot: Float64Array, out: Float64Array, etaDot: number, l1Dot: number, l2Dot: number, tvDot: number): void;
  adjoint(xNew: Float64Array, xBar: Float64Array, uBar: Float64Array, sums: Float64Array): void;
}

/** The separable (elastic-net) prox, coordinate by coordinate (unrolled-prox.ts). */
function separableProxDerivative(eta: number, l1: number, l2: number, weights: Float64Array | undefined): ProxDerivative {
  const w = (j: number) => (weights ? weights[j] : 1);
  return {
    tangent(xNew, uDot, out, etaDot, l1Dot, l2Dot) {
      for (let j = 0; j < xNew.length; j++) out[j] = proxTangent(xNew[j], w(j), uDot[j], eta, etaDot, l1, l1Dot, l2, l2Dot);
    },
    adjoint(xNew, xBar, uBar, sums) {
      for (let j = 0; j < xNew.length; j++) uBar[j] = proxAdjoint(xNew[j], w(j), xBar[j], eta, l1, l2, sums);
    },
  };
}

interface FistaTangent {
  x: Float64Array;
  z: Float64Array;
  // workspaces
  az: Float64Array;
  gramZ: Float64Array;
  grad: Float64Array;
  u: Float64Array;
}

interface FistaAdjoint {
  x: Float64Array;
  xPrev: Float64Array;
  z: Float64Array;
  // workspaces
  xTotal: Float64Array;
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
 * piecewise constant in θ: they carry no derivative. With tv (1-D grids, where the prox is exact)
 * the prox's derivative works on its pieces (unrolled-tv-prox.ts).
 */
export function unrollFista(problem: Problem, options: UnrolledOptions): Unrolling<FistaState, FistaTangent, FistaAdjoint> {
  checkProblemClass(fista, problem);
  requirePositivePenalty(problem);
  const terms = penaltyTerms(problem);
  const D = terms.tv?.D;
  if (D && !(D instanceof GridDifferences && Math.min(...D.shape) === 1)) {
    throw new InputError("penalty.tv", "unrolled fista differentiates tv on a 1-D grid only (elsewhere its tv prox is an inner iteration); use solver \"split-bregman\"");
  }
  const { A, y } = problem;
  const n = A.cols, m = A.rows;
  const eta = options.step ?? 1 / (POWER_MARGIN * normSquaredEstimate(A));
  if (!(typeof eta === "number" && eta > 0 && Number.isFinite(eta))) throw new InputError("step", `expected a positive number, got ${eta}`);
  const gamma = options.extrapolation ?? 1;
  if (!(typeof gamma === "number" && gamma > 0 && Number.isFinite(gamma))) throw new InputError("extrapolation", `expected a positive number, got ${gamma}`);
  const { l1, l2, tv } = problem.penalty;
  const prox: ProxDerivative = D ? new TvProxDerivative(eta, l1, l2, tv) : separableProxDerivative(eta, l1, l2, problem.penalty.weights);
  // θ in order: the penalties, then the step η and the extrapolation factor γ (reported as "momentum").
  const parameters = ["l1", "l2", ...(D ? ["tv"] : []), "step", "momentum"];
  const L1 = parameters.indexOf("l1"), L2 = parameters.indexOf("l2"), TV = parameters.indexOf("tv"), STEP = parameters.indexOf("step"), MOMENTUM = parameters.indexOf("momentum");
  const { context, state } = fista.setup(problem, terms, new Float64Array(n), { gapTarget: 0, lipschitz: 1 / eta, extrapolation: gamma });

  /** out ← Aᵀ(Az − y) at the state (its az is Az). */
  const gradientAt = (s: FistaState, work: Float64Array, out: Float64Array) => {
    for (let i = 0; i < m; i++) work[i] = s.az[i] - y[i];
    A.applyT(work, out);
  };

  return {
    parameters,
    values: { step: eta, momentum: gamma },
    initial: state,
    step: (s) => fista.step(context, s),
    iterate: (s) => s.x,
    createTangent: () => ({ x: new Float64Array(n), z: new Float64Array(n), az: new Float64Array(m), gramZ: new Float64Array(n), grad: new Float64Array(n), u: new Float64Array(n) }),
    tangentStep(before, after, tangent, p) {
      const etaDot = p === STEP ? 1 : 0, gammaDot = p === MOMENTUM ? 1 : 0;
      const { x, z, az, gramZ, grad, u } = tangent;
      A.apply(z, az);
      A.applyT(az, gramZ);
      if (etaDot !== 0) gradientAt(before, az, grad);
      for (let j = 0; j < n; j++) u[j] = z[j] - eta * gramZ[j] - (etaDot !== 0 ? grad[j] : 0);
      prox.tangent(after.x, u, u, etaDot, p === L1 ? 1 : 0, p === L2 ? 1 : 0, p === TV ? 1 : 0);
      const beta = after.beta, c = gamma * beta;
      for (let j = 0; j < n; j++) {
        const xNext = u[j];
        z[j] = xNext + c * (xNext - x[j]) + gammaDot * beta * (after.x[j] - after.xPrev[j]);
        x[j] = xNext;
      }
    },
    tangentIterate: (tangent) => tangent.x,
    createAdjoint: () => ({
      x: new Float64Array(n), xPrev: new Float64Array(n), z: new Float64Array(n),
      xTotal: new Float64Array(n), u: new Float64Array(n), au: new Float64Array(m), gramU: new Float64Array(n), sums: new Float64Array(4),
    }),
    seedAdjoint(_final, adjoint, g) {
      adjoint.x.set(g);
      adjoint.xPrev.fill(0);
      adjoint.z.fill(0);
    },
    adjointStep(before, after, adjoint, gradient) {
      const { x, xPrev, z, xTotal, u, au, gramU, sums } = adjoint;
      const beta = after.beta, c = gamma * beta;
      sums.fill(0);
      let dGamma = 0;
      for (let j = 0; j < n; j++) {
        dGamma += z[j] * (after.x[j] - after.xPrev[j]);
        xTotal[j] = x[j] + (1 + c) * z[j];
        x[j] = -c * z[j] + xPrev[j];
        xPrev[j] = 0;
      }
      prox.adjoint(after.x, xTotal, u, sums);
      A.apply(u, au);
      let uTg = 0;
      for (let i = 0; i < m; i++) uTg += au[i] * (before.az[i] - y[i]);
      A.applyT(au, gramU);
      for (let j = 0; j < n; j++) z[j] = u[j] - eta * gramU[j];
      gradient[L1] += sums[1];
      gradient[L2] += sums[2];
      if (TV >= 0) gradient[TV] += sums[3];
      gradient[STEP] += sums[0] - uTg;
      gradient[MOMENTUM] += beta * dGamma;
    },
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
