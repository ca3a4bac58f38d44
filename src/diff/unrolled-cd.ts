import { penaltyTerms } from "../penalties/index.js";
import { requirePositivePenalty, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { coordinateDescent, type CdState } from "../solvers/coordinate-descent.js";
import { proxAdjoint, proxTangent } from "./unrolled-prox.js";
import type { UnrolledOptions, Unrolling } from "./unrolled.js";

/** θ in order: the penalties (coordinate descent has no parameter of its own: its steps are 1/‖a_j‖²). */
const PARAMETERS = ["l1", "l2"] as const;

interface CdTangent {
  x: Float64Array;
  /** ṙ = −Aẋ, kept up to date coordinate by coordinate as the solver keeps r. */
  r: Float64Array;
}

interface CdAdjoint {
  x: Float64Array;
  r: Float64Array;
  sums: Float64Array;
}

/**
 * Coordinate descent (coordinate-descent.ts) as an unrolled map on its own state: one step is one
 * epoch over its working set, run here with every feature in the set (no screening, no Anderson
 * extrapolation: both are decisions on the iterates, not smooth maps). Per coordinate j of the
 * epoch, in the solver's order ws, with h_j = 1/‖a_j‖²:
 *
 *   u = x_j + h_j a_jᵀr,   x_j⁺ = prox(u),   r ← r − a_j(x_j⁺ − x_j).
 *
 * Each coordinate changes once per epoch, so x_j⁺ is read from the state after the step; the
 * tangent follows the same sweep (u̇ = ẋ_j + h_j a_jᵀṙ, ṙ −= a_j(ẋ_j⁺ − ẋ_j)), the adjoint sweeps
 * it backwards: with c = a_jᵀr̄, ū = ∂prox/∂u·(x̄_j − c), x̄_j ← ū + c, r̄ += h_j ū a_j. The
 * residual refreshes (r = y − Ax from scratch) agree with the incremental r, so the pair (x, r)
 * is differentiated as the solver updates it.
 */
export function unrollCoordinateDescent(problem: Problem, _options: UnrolledOptions): Unrolling<CdState, CdTangent, CdAdjoint> {
  checkProblemClass(coordinateDescent, problem);
  requirePositivePenalty(problem);
  const n = problem.A.cols, m = problem.A.rows;
  const { context, state } = coordinateDescent.setup(problem, penaltyTerms(problem), new Float64Array(n), {
    gapTarget: 0, screening: false, anderson: false, initialWorkingSet: n,
  });
  const { cols, step: h } = context;
  const { l1, l2 } = problem.penalty;
  const weights = problem.penalty.weights;
  const w = (j: number) => (weights ? weights[j] : 1);
  /** The step ran an epoch (not when the solver stopped at its outer test: then the step changes nothing). */
  const epochRan = (before: CdState, after: CdState) => after.epochs > before.epochs;

  return {
    parameters: PARAMETERS,
    values: {},
    initial: state,
    step: (s) => coordinateDescent.step(context, s),
    iterate: (s) => s.x,
    createTangent: () => ({ x: new Float64Array(n), r: new Float64Array(m) }),
    tangentStep(before, after, tangent, p) {
      if (!epochRan(before, after)) return;
      const l1Dot = p === 0 ? 1 : 0, l2Dot = p === 1 ? 1 : 0;
      const { x } = tangent;
      const { ws, k } = after;
      const r = cols.bind(tangent.r, 0);
      for (let t = 0; t < k; t++) {
        const j = ws[t];
        // At 0 the prox is flat in u (proxTangent returns 0): no a_jᵀṙ needed.
        if (after.x[j] === 0) {
          if (x[j] !== 0) {
            cols.axpy(j, x[j], r);
            x[j] = 0;
          }
          continue;
        }
        const uDot = x[j] + h[j] * cols.dot(j, r);
        const next = proxTangent(after.x[j], w(j), uDot, h[j], 0, l1, l1Dot, l2, l2Dot);
        if (next !== x[j]) {
          cols.axpy(j, x[j] - next, r);
          x[j] = next;
        }
      }
      cols.unbind(r, tangent.r);
    },
    tangentIterate: (tangent) => tangent.x,
    createAdjoint: () => ({ x: new Float64Array(n), r: new Float64Array(m), sums: new Float64Array(3) }),
    seedAdjoint(_final, adjoint, g) {
      adjoint.x.set(g);
      adjoint.r.fill(0);
    },
    adjointStep(before, after, adjoint, gradient) {
      if (!epochRan(before, after)) return;
      const { x, sums } = adjoint;
      const { ws, k } = after;
      sums.fill(0);
      const r = cols.bind(adjoint.r, 0);
      for (let t = k - 1; t >= 0; t--) {
        const j = ws[t];
        const c = cols.dot(j, r);
        const u = proxAdjoint(after.x[j], w(j), x[j] - c, h[j], l1, l2, sums);
        x[j] = u + c;
        if (u !== 0) cols.axpy(j, h[j] * u, r);
      }
      cols.unbind(r, adjoint.r);
      gradient[0] += sums[1];
      gradient[1] += sums[2];
    },
  };
}
