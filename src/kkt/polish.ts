import { NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { l1Bound, type Problem } from "../problem.js";
import { activeSetSystem, type ActiveSetSystem } from "./active-set.js";

/** CG iterations allowed for the Newton correction; a well-posed support needs far fewer. */
const MAX_CG = 200;
/** Times a support may shed the coefficients whose signs the Newton step flips. */
const PRUNE_ROUNDS = 3;

/**
 * Newton step onto the support S of x with its signs s: the stationarity residual on S,
 *   F = A_Sᵀ(A_S x_S − y) + l1 w_S∘s + l2 x_S,
 * is affine in x_S with Jacobian H = A_SᵀA_S + l2 I, so x_S − H⁻¹F zeroes it exactly. The
 * correction is solved on the active-set system (factored for small supports, matrix-free CG
 * for large ones). Coefficients whose sign the step flips leave the support and the step is redone.
 * Returns null when the step is undefined (singular H, CG stalls) or the support does not
 * settle. The caller keeps whichever of x and the polished point certifies better.
 */
export function polishOnSupport(problem: Problem, x: Float64Array, tight = false): Float64Array | null {
  if (!tight && !worthPolishing(problem, x)) return null;
  let current = x;
  for (let round = 0; round < PRUNE_ROUNDS; round++) {
    const active: number[] = [];
    for (let j = 0; j < current.length; j++) if (current[j] !== 0) active.push(j);
    if (active.length === 0) return null;
    const step = newtonOnSupport(problem, current, active);
    if (!step) return null;
    // A coefficient whose sign flips was on its way out of the support: drop it and retry.
    let flipped = false;
    const out = new Float64Array(x.length);
    active.forEach((j, a) => {
      if (Math.sign(step[a]) === Math.sign(current[j])) out[j] = step[a];
      else flipped = true;
    });
    if (!flipped) return out;
    current = out;
  }
  return null;
}

/**
 * x_S − H⁻¹F on the given support (signs from x), or null when H is singular or CG stalls.
 * Small supports factor H (kept for differentiating the same solution); large ones run a capped
 * matrix-free CG, which gives up rather than fall back to a large factorisation.
 */
function newtonOnSupport(problem: Problem, x: Float64Array, active: number[]): Float64Array | null {
  let system: ActiveSetSystem;
  try {
    system = activeSetSystem(problem, active);
  } catch (e) {
    if (e instanceof NumericalError) return null;
    throw e;
  }
  const { A, y, penalty } = problem;
  const residual = Float64Array.from(y, (v) => -v); // A_S x_S − y
  for (const j of active) A.columnAxpy(j, x[j], residual);
  const F = Float64Array.from(active, (j) => A.columnDot(j, residual) + l1Bound(penalty, j) * Math.sign(x[j]) + penalty.l2 * x[j]);
  let step: Float64Array;
  if (system.method === "cholesky") {
    step = system.solve(F);
  } else {
    // F is small already (x is tol-accurate): aim at rounding level on the scale of the
    // stationarity terms |a_jᵀy| + l1 w_j, not at a fixed reduction of ‖F‖.
    let scale = 0;
    active.forEach((j) => (scale = Math.max(scale, Math.abs(A.columnDot(j, y)) + l1Bound(penalty, j))));
    const floor = 1e-14 * scale * Math.sqrt(active.length);
    const cg = conjugateGradient((v, out) => system.applyH(v, out), F, { tol: 0, atol: floor, maxIter: Math.min(MAX_CG, 4 * active.length + 20) });
    if (cg.residualNorm > 1e4 * floor) return null;
    step = cg.x;
  }
  return Float64Array.from(active, (j, a) => x[j] - step[a]);
}

/**
 * A Lasso (l2 = 0) whose support holds more than half as many features as there are
 * measurements is close to interpolation: H is ill-conditioned, CG needs hundreds of iterations
 * and the step is rarely kept. Measured on cs-1000x5000's 100-λ path: 7 s of polishing there
 * against 1.9 s of solving. The elastic net's H ⪰ l2 I stays well conditioned. Callers asking
 * for a tight tolerance (`tight`) get the polish whatever the support.
 */
function worthPolishing(problem: Problem, x: Float64Array): boolean {
  if (problem.penalty.l2 > 0) return true;
  let k = 0;
  for (let j = 0; j < x.length; j++) if (x[j] !== 0) k++;
  return k <= problem.A.rows / 2;
}
