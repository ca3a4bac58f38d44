import { NumericalError } from "../errors.js";
import { l1Bound, type Problem } from "../problem.js";
import { ActiveSetSystem } from "./active-set.js";

/**
 * Newton step onto the support of x: x_S = H⁻¹(A_Sᵀy − l1 w_S∘s), zero elsewhere, with the signs s
 * of x. Returns null when the step is not defined (singular H) or flips a sign, i.e. when the
 * support or signs of x are not yet those of the solution. The caller keeps whichever of x and
 * the polished point certifies better.
 */
export function polishOnSupport(problem: Problem, x: Float64Array): Float64Array | null {
  const active: number[] = [];
  for (let j = 0; j < x.length; j++) if (x[j] !== 0) active.push(j);
  if (active.length === 0) return null;
  let system: ActiveSetSystem;
  try {
    system = new ActiveSetSystem(problem, active);
  } catch (e) {
    if (e instanceof NumericalError) return null;
    throw e;
  }
  const rhs = new Float64Array(active.length);
  active.forEach((j, a) => {
    rhs[a] = problem.A.columnDot(j, problem.y) - l1Bound(problem.penalty, j) * Math.sign(x[j]);
  });
  const xs = system.solve(rhs);
  const out = new Float64Array(x.length);
  for (let a = 0; a < active.length; a++) {
    const j = active[a];
    if (Math.sign(xs[a]) !== Math.sign(x[j])) return null;
    out[j] = xs[a];
  }
  return out;
}
