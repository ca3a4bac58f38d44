import { NumericalError } from "../errors.js";
import { PivotedCholesky } from "../linalg/pivoted-cholesky.js";
import { dot, norm2Robust, requireIndices, requireVector } from "../linalg/vector.js";
import { columnNormSquared } from "../operators/operator.js";
import type { SeparablePenalty } from "../penalties/index.js";
import { requireProblem, type Problem } from "../problem.js";
import { activeSetMatrix, requireKktPoint, type ActiveSetMatrix } from "./active-set.js";
import { lagrangianCorrelation } from "./certificate.js";
import type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";

/** Schur complement pivots below this fraction of its largest diagonal: C_F's rows are dependent. */
const SCHUR_RANK_TOL = 1e-12;

/**
 * Block elimination for the symmetric indefinite [H Bᵀ; B 0] given solves with H (B: p rows over
 * the k unknowns of H): u = H⁻¹(b − Bᵀw) with the Schur complement S = B H⁻¹ Bᵀ (p columns
 * H⁻¹B_aᵀ, one H solve each) factored by pivoted Cholesky; dependent rows of B get w = 0.
 */
export class SchurElimination {
  readonly columns: Float64Array[];
  private readonly schur: PivotedCholesky;

  constructor(
    private readonly solveH: (b: Float64Array) => Float64Array,
    private readonly rows: Float64Array[],
  ) {
    this.columns = rows.map((row) => solveH(row));
    const p = rows.length;
    const s = new Float64Array(p * p);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) s[b * p + a] = dot(rows[a], this.columns[b]);
    this.schur = PivotedCholesky.factor(s, p, SCHUR_RANK_TOL);
  }

  /** rank(B). */
  get rank(): number {
    return this.schur.rank;
  }

  /** [H Bᵀ; B 0]⁻¹[b; e] by block elimination: z = H⁻¹b, S w = Bz − e, u = z − H⁻¹Bᵀw. */
  solve(rhs: Float64Array, k: number): Float64Array {
    const p = this.rows.length;
    const z = this.solveH(rhs.subarray(0, k));
    const t = new Float64Array(p);
    for (let a = 0; a < p; a++) t[a] = dot(this.rows[a], z) - rhs[k + a];
    const w = this.schur.solve(t);
    const out = new Float64Array(k + p);
    out.set(z);
    for (let a = 0; a < p; a++) {
      if (w[a] === 0) continue;
      const col = this.columns[a];
      for (let b = 0; b < k; b++) out[b] -= w[a] * col[b];
    }
    out.set(w, k);
    return out;
  }
}

/**
 * SURE's df of a bordered system whose H = (data part) + diag(curvature) on k unknowns, with
 * P the top-left block of J⁻¹ (`solve`): df = base − Σ_a D_a P_aa (base = min(k, m) − rank(B)),
 * and with H' = D' (P' = −P D' P), d df/dθ = tr(P D' P D) − tr(P D').
 */
export function borderedDegreesOfFreedom(solve: (rhs: Float64Array) => Float64Array, size: number, base: number, curvature: Float64Array, curvatureDerivative: (name: string, a: number) => number): { df: number; derivative(name: string): number } {
  const k = curvature.length, D = curvature;
  if (D.every((v) => v === 0)) return { df: base, derivative: () => 0 };
  const columns: Float64Array[] = [];
  const e = new Float64Array(size);
  let df = base;
  for (let a = 0; a < k; a++) {
    e[a] = 1;
    columns.push(solve(e).subarray(0, k));
    e[a] = 0;
    df -= D[a] * columns[a][a];
  }
  return {
    df,
    derivative: (name: string) => {
      let total = 0;
      for (let a = 0; a < k; a++) {
        const dD = curvatureDerivative(name, a);
        if (dD === 0) continue;
        let quad = 0;
        for (let b = 0; b < k; b++) quad += columns[a][b] * columns[a][b] * D[b];
        total += dD * (quad - columns[a][a]);
      }
      return total;
    },
  };
}

/** The rows of C the solvers use: all but the redundant ones createProblem found. */
export function constraintRows(problem: Problem): Int32Array {
  const c = problem.constraints;
  if (!c) return new Int32Array(0);
  const dropped = new Set(c.redundant ?? []);
  return Int32Array.from({ length: c.C.rows }, (_, i) => i).filter((i) => !dropped.has(i));
}

/**
 * The KKT system of min ½‖Ax − y‖² + g(x) s.t. Cx = d (and bounds) on the free set F (features
 * active for g and strictly inside their bounds; the others stay fixed at 0 or at their bound),
 * with unknowns (x_F, ν) (math.md, "Linear equality constraints"; ν on the rows R the solvers use):
 *
 *   F(x_F, ν) = [ A_Fᵀ(Ax − y) + ∇g_F(x_F) + C_RFᵀν ]      J = [ H     C_RFᵀ ]   H = A_FᵀA_F + diag(g'')
 *               [ C_R x − d_R                       ]          [ C_RF  0     ]
 *
 * J is symmetric indefinite: solved by block elimination, u = H⁻¹(b − C_RFᵀw) with the Schur
 * complement S = C_RF H⁻¹ C_RFᵀ (p Schur columns, one H solve each) factored by pivoted Cholesky.
 * Rows of C_RF dependent on the others (C restricted to F loses rank) get w = 0: x_F is still
 * unique, those multipliers are not, and the zero one is reported.
 */
export class BorderedSystem implements KktSystem {
  readonly support: Int32Array;
  /** g_j''(x_j) on F: the diagonal of H beyond A_FᵀA_F. */
  readonly curvature: Float64Array;
  /**
   * Rows of C_R restricted to F (p × k, one array per row), each divided by its norm (cfNorms,
   * 1 for a row that is 0 on F): the Schur complement's rank test then sees rows of any scale alike.
   */
  private readonly cf: Float64Array[];
  private readonly cfNorms: Float64Array;
  private built: { matrix: ActiveSetMatrix; elimination: SchurElimination } | null = null;

  constructor(
    private readonly problem: Problem,
    private readonly penalty: SeparablePenalty,
    private readonly x: Float64Array,
    /** Multipliers, one per row of C (those of rows outside R are not read). */
    private readonly nu: Float64Array,
    readonly rows: Int32Array,
    support: ArrayLike<number>,
  ) {
    requireKktPoint(problem, penalty, x, support);
    const constraintCount = problem.constraints?.C.rows ?? 0;
    requireVector("nu", nu, constraintCount);
    requireIndices("rows", rows, constraintCount);
    this.support = Int32Array.from(support);
    this.curvature = Float64Array.from(this.support, (j) => penalty.supportCurvature(j));
    const C = problem.constraints?.C;
    this.cf = Array.from(rows, (i) => Float64Array.from(this.support, (j) => C!.get(i, j)));
    this.cfNorms = Float64Array.from(this.cf, (row) => norm2Robust(row) || 1);
    this.cf.forEach((row, a) => row.forEach((v, b) => (row[b] = v / this.cfNorms[a])));
  }

  private get parts(): NonNullable<BorderedSystem["built"]> {
    if (this.built) return this.built;
    const matrix = activeSetMatrix(this.problem.A, this.support, this.curvature);
    this.built = { matrix, elimination: new SchurElimination((b) => matrix.solve(b), this.cf) };
    return this.built;
  }

  /** Unknowns: |F| + |R|. */
  get size(): number {
    return this.support.length + this.rows.length;
  }

  get method(): KktMethod {
    return this.parts.matrix.method === "cholesky" ? "schur-cholesky" : "schur-cg";
  }

  /** rank(C_RF): the constraints that bind the free features independently. */
  get constraintRank(): number {
    return this.parts.elimination.rank;
  }

  restrict(gradX: Float64Array): Float64Array {
    const out = new Float64Array(this.size);
    this.support.forEach((j, a) => (out[a] = gradX[j]));
    return out;
  }

  expand(u: Float64Array, out: Float64Array): Float64Array {
    out.fill(0);
    this.support.forEach((j, a) => (out[j] = u[a]));
    return out;
  }

  residual(): Float64Array {
    const { problem, support: S, x, nu, penalty } = this;
    const k = S.length;
    const r = problem.A.apply(x, new Float64Array(problem.A.rows));
    for (let i = 0; i < r.length; i++) r[i] -= problem.y[i];
    const F = new Float64Array(this.size);
    const top = this.parts.matrix.applyColumnsT(r, new Float64Array(k));
    for (let a = 0; a < k; a++) {
      let s = top[a] + penalty.supportGradient(S[a], x[S[a]]);
      for (let i = 0; i < this.rows.length; i++) s += this.cf[i][a] * this.cfNorms[i] * nu[this.rows[i]];
      F[a] = s;
    }
    const { C, d } = problem.constraints ?? { C: null, d: null };
    this.rows.forEach((row, i) => {
      let s = -d![row];
      for (let j = 0; j < x.length; j++) s += C!.get(row, j) * x[j];
      F[k + i] = s;
    });
    return F;
  }

  /**
   * J⁻¹[b; e] by block elimination (SchurElimination) on the normalised rows N⁻¹C_F
   * (N = diag(cfNorms)): there e becomes N⁻¹e and w becomes N w.
   */
  solve(rhs: Float64Array): Float64Array {
    const k = this.support.length, p = this.rows.length;
    const scaled = Float64Array.from(rhs);
    for (let a = 0; a < p; a++) scaled[k + a] = rhs[k + a] / this.cfNorms[a];
    const out = this.parts.elimination.solve(scaled, k);
    for (let a = 0; a < p; a++) out[k + a] /= this.cfNorms[a];
    return out;
  }

  solveAdjoint(b: Float64Array): Float64Array {
    return this.solve(b); // J is symmetric
  }

  parameterJacobian(name: string): ParameterJacobian | null {
    const spec = this.penalty.hyperparameters.find((h) => h.name === name);
    if (!spec) return null;
    const { support: S, x, penalty } = this;
    if (spec.shape === "perFeature") return { shape: "perFeature", diagonal: Float64Array.from(S, (j) => penalty.supportGradientDerivative(name, j, x[j])) };
    const column = new Float64Array(this.size);
    S.forEach((j, a) => (column[a] = penalty.supportGradientDerivative(name, j, x[j])));
    return { shape: "scalar", column };
  }

  /**
   * df = tr(A_F P A_Fᵀ) with P the top-left block of J⁻¹ (x_F moves with y by P A_Fᵀ):
   * PH = I − H⁻¹C_FᵀS⁻¹C_F, so df = |F| − rank(C_F) − Σ_a D_a P_aa (D = diag(g'')), and with H' = D'
   * (P' = −P D' P), d df/dθ = tr(P D' P D) − tr(P D'): the Lasso's |S| − rank(C_S) when D = 0.
   */
  degreesOfFreedom(): { df: number; derivative(name: string): number } {
    const base = Math.min(this.support.length, this.problem.A.rows) - this.constraintRank;
    return borderedDegreesOfFreedom((e) => this.solve(e), this.size, base, this.curvature, (name, a) => this.penalty.supportCurvatureDerivative(name, this.support[a]));
  }
}

/** The free set of x: features active for the (boxed) penalty. */
export function freeSet(penalty: SeparablePenalty, x: Float64Array): number[] {
  const F: number[] = [];
  for (let j = 0; j < x.length; j++) if (penalty.isActive(j, x[j])) F.push(j);
  return F;
}

/** Times a free set may shed the coefficients that the Newton step carries across a kink or a bound. */
const PRUNE_ROUNDS = 3;

/**
 * Newton step onto the free set of x with its multipliers: F(x_F, ν) is affine on the piece,
 * so (x_F, ν) − J⁻¹F solves it exactly. A coefficient that the step carries across a kink of g
 * (a sign change) is set to 0, across a bound to that bound, and the step is redone. Returns
 * null when J is singular or the free set does not settle; the caller keeps whichever of the
 * two points certifies better. `nu` has one multiplier per row of C (0 stays 0 on redundant rows).
 */
export function polishBordered(problem: Problem, penalty: SeparablePenalty, x: Float64Array, nu: Float64Array): { x: Float64Array; nu: Float64Array } | null {
  requireProblem(problem);
  const rows = constraintRows(problem);
  const bounds = problem.bounds;
  let current = x, multipliers = nu;
  for (let round = 0; round < PRUNE_ROUNDS; round++) {
    const F = freeSet(penalty, current);
    // Everything pruned onto a kink or a bound: that point is the step's answer (ν as it was).
    if (F.length === 0) return round === 0 ? null : { x: current, nu: multipliers };
    let step: Float64Array;
    try {
      const system = new BorderedSystem(problem, penalty, current, multipliers, rows, F);
      step = system.solve(system.residual());
    } catch (e) {
      if (e instanceof NumericalError) return null;
      throw e;
    }
    const k = F.length;
    const out = Float64Array.from(current);
    let crossed = false;
    F.forEach((j, a) => {
      const before = current[j], after = before - step[a];
      if (penalty.samePiece(j, before, after)) {
        out[j] = after;
        return;
      }
      crossed = true;
      const lo = bounds ? bounds.lower[j] : -Infinity, up = bounds ? bounds.upper[j] : Infinity;
      // From before (strictly inside) towards after, the first kink met: g's kink at 0 on a sign
      // change when 0 is in the box (no bound lies between), else the bound.
      const atZero = penalty.threshold(j) > 0 && Math.sign(after) !== Math.sign(before) && lo <= 0 && up >= 0;
      out[j] = atZero ? 0 : Math.min(up, Math.max(lo, after));
    });
    const next = Float64Array.from(multipliers);
    rows.forEach((row, i) => (next[row] -= step[k + i]));
    if (!crossed) return { x: out, nu: next };
    current = out;
    multipliers = next;
  }
  return null;
}

/**
 * Times the violators may enter the free set in activeSetNewton (each costs a polish and two
 * products with A; cs-1000x5000 with x ≥ 0 and 5 constraints needs one).
 */
const ENTERING_ROUNDS = 3;

/**
 * Active-set Newton: polishBordered on x's free set, then, while `accept` refuses the point, the
 * features outside the free set whose KKT condition fails with the Newton ν (c_j = Aᵀ(y − Ax) − Cᵀν
 * outside ∂g_j(x_j), lagrangianCorrelation) enter it and the polish is redone (a feature the
 * step carries across a kink leaves again: polishBordered). `accept` may certify with
 * constrainedCertificate under the problem's own penalty: the violators then cost no product
 * with A. Returns the last polish and whether `accept` took it; null when the first polish fails.
 */
export function activeSetNewton(problem: Problem, penalty: SeparablePenalty, x: Float64Array, nu: Float64Array, accept: (x: Float64Array, nu: Float64Array) => boolean): { x: Float64Array; nu: Float64Array; accepted: boolean } | null {
  let current = polishBordered(problem, penalty, x, nu);
  for (let round = 0; current; round++) {
    if (accept(current.x, current.nu)) return { ...current, accepted: true };
    const entered = round < ENTERING_ROUNDS ? enterViolators(problem, penalty, current.x, current.nu) : null;
    const next = entered && polishBordered(problem, penalty, entered, current.nu);
    if (!next) break;
    current = next;
  }
  return current && { ...current, accepted: false };
}

/**
 * x with each feature outside the free set whose KKT condition fails moved by its coordinate
 * step x_j ← prox_{t g_j}(x_j + t c_j), t = 1/‖a_j‖²: onto the piece of g_j its violation points
 * to (the polish is exact on a piece whatever the start); null when none fails.
 */
function enterViolators(problem: Problem, penalty: SeparablePenalty, x: Float64Array, nu: Float64Array): Float64Array | null {
  const c = lagrangianCorrelation(problem, x, nu);
  let out: Float64Array | null = null;
  for (let j = 0; j < x.length; j++) {
    if (penalty.isActive(j, x[j]) || !(penalty.subdiffDistance(j, x[j], c[j]) > 0)) continue;
    const t = 1 / (columnNormSquared(problem.A, j) || 1);
    const step = penalty.proxCoordinate(j, x[j] + t * c[j], t);
    // A step onto the next kink or bound stops halfway there: on the free set, the polish decides.
    const moved = penalty.isActive(j, step) ? step : 0.5 * (x[j] + step);
    if (moved === x[j]) continue;
    out ??= Float64Array.from(x);
    out[j] = moved;
  }
  return out;
}
