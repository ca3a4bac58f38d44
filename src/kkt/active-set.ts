import { NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { Cholesky } from "../linalg/cholesky.js";
import { requireIndices, requireVector } from "../linalg/vector.js";
import { hasColumns, requireOperator, type LinearOperator } from "../operators/operator.js";
import { DenseMatrix } from "../operators/dense.js";
import { applyOnSupport, applyTOnSupport } from "../operators/products.js";
import { requireSeparablePenalty, type SeparablePenalty } from "../penalties/penalty.js";
import { requireProblem, type Problem } from "../problem.js";
import type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";

/**
 * Cholesky (Gram k²m/2 + factor k³/6 flops, then exact) or CG (2km flops per iteration; 40-70
 * iterations to 1e-11 on Lasso supports with k/m between 0.1 and 0.4)? Factor when
 * k²m/2 + k³/6 ≤ 2km·CG_ITERATIONS_ESTIMATE·(Gram kernel speed-up ≈ 1.5). Measured: k = 93,
 * m = 1000: Cholesky 1.9 ms, CG 3.2 ms; k = 554, m = 400: Cholesky 58 ms, CG 11 ms.
 */
const CG_ITERATIONS_ESTIMATE = 50;
export function prefersCholesky(k: number, m: number): boolean {
  return k / 2 + (k * k) / (6 * m) <= 2 * 1.5 * CG_ITERATIONS_ESTIMATE;
}
/** CG relative residual accepted by `solve`; a stalled CG falls back to Cholesky. */
const CG_TOL = 1e-11;

/** Products with the columns A_S of any operator: column access when it has it, else A and Aᵀ on padded vectors. */
class SupportColumns {
  private readonly padded: Float64Array;
  private readonly full: Float64Array;

  constructor(
    private readonly A: LinearOperator,
    private readonly support: Int32Array,
  ) {
    this.padded = hasColumns(A) ? new Float64Array(0) : new Float64Array(A.cols);
    this.full = hasColumns(A) ? new Float64Array(0) : new Float64Array(A.cols);
  }

  /** out (length m) ← A_S v */
  apply(v: Float64Array, out: Float64Array): Float64Array {
    return applyOnSupport(this.A, this.support, v, out, this.padded);
  }

  /** out (length k) ← A_Sᵀ w */
  applyT(w: Float64Array, out: Float64Array): Float64Array {
    return applyTOnSupport(this.A, this.support, w, out, this.full);
  }

  /**
   * A_SᵀA_S (k×k, column-major): the operator's Gram kernel, column inner products, or k products.
   * With `known`, the Gram of another support of the same A sharing most of S, its entries are
   * copied and only the pairs with a column new to S are computed.
   */
  gram(known?: KnownGram): Float64Array {
    const A = this.A, S = this.support, k = S.length;
    if (known && hasColumns(A)) {
      const reused = gramFrom(known, S, A instanceof DenseMatrix && !A.resident ? denseInner(A) : (i, j) => A.columnInner(i, j));
      if (reused) return reused;
    }
    if (hasColumns(A) && A.gram) return A.gram(S);
    const g = new Float64Array(k * k);
    if (hasColumns(A)) {
      for (let b = 0; b < k; b++) for (let a = b; a < k; a++) g[b * k + a] = g[a * k + b] = A.columnInner(S[a], S[b]);
      return g;
    }
    const e = new Float64Array(k), col = new Float64Array(A.rows), out = new Float64Array(k);
    for (let b = 0; b < k; b++) {
      e[b] = 1;
      this.applyT(this.apply(e, col), out);
      e[b] = 0;
      g.set(out, b * k);
    }
    return g;
  }
}

/** A Gram matrix A_SᵀA_S with its support S (increasing, as free sets are: reuse finds fewer matches otherwise). */
interface KnownGram {
  support: Int32Array;
  gram: Float64Array;
}

/**
 * Reuse pays while few columns are new: q new columns cost q·k column inner products, against
 * k²/2 (register-blocked) for the whole Gram.
 */
const MAX_NEW_FRACTION = 0.25;

/**
 * a_iᵀa_j on a DenseMatrix's column-major data, summed in order as the scalar gram sums
 * (columnInner would take two subarrays per pair); a SIMD-resident matrix's gram sums as its
 * columnInner does.
 */
function denseInner(A: DenseMatrix): (i: number, j: number) => number {
  const d = A.data, m = A.rows;
  return (i, j) => {
    let s = 0;
    for (let t = 0, oi = i * m, oj = j * m; t < m; t++) s += d[oi + t] * d[oj + t];
    return s;
  };
}

/**
 * A_SᵀA_S from a known Gram of a support sharing most of S (both increasing): known pairs copied,
 * the others from `inner`; null when more than MAX_NEW_FRACTION of S is new.
 */
function gramFrom(known: KnownGram, S: Int32Array, inner: (i: number, j: number) => number): Float64Array | null {
  const k = S.length, K = known.support.length, at = new Int32Array(k);
  let fresh = 0;
  for (let a = 0, b = 0; a < k; a++) {
    while (b < K && known.support[b] < S[a]) b++;
    at[a] = b < K && known.support[b] === S[a] ? b : -1;
    if (at[a] < 0) fresh++;
  }
  if (fresh > MAX_NEW_FRACTION * k) return null;
  const g = new Float64Array(k * k), old = known.gram;
  for (let b = 0; b < k; b++) {
    for (let a = b; a < k; a++) {
      g[b * k + a] = g[a * k + b] = at[a] >= 0 && at[b] >= 0 ? old[at[b] * K + at[a]] : inner(S[a], S[b]);
    }
  }
  return g;
}

/**
 * The matrix of the Lasso / elastic-net KKT system on a support S,
 *   H = A_SᵀA_S + D,  D = diag(g_j''(x_j)) (l2·I for the elastic net, 0 for the Lasso),
 * factored by Cholesky for small S or applied matrix-free for CG on large S (Cholesky is the
 * fallback when CG stalls). It depends on (A, S, D) only, so a factorisation made to polish a
 * solution serves its differentiation (see `activeSetMatrix`).
 */
export class ActiveSetMatrix {
  readonly support: Int32Array;
  readonly curvature: Float64Array;
  method: KktMethod;
  private readonly columns: SupportColumns;
  private readonly forced: KktMethod | undefined;
  private factor: Cholesky | null = null;
  private readonly scratch: Float64Array;
  /** A_SᵀA_S once factored (a later support of the same A reuses it), else the Gram given to reuse. */
  private gramKnown: KnownGram | null;

  constructor(A: LinearOperator, support: ArrayLike<number>, curvature: Float64Array, method?: KktMethod, known?: KnownGram) {
    requireOperator("A", A);
    requireIndices("support", support, A.cols);
    requireVector("curvature", curvature, support.length);
    this.support = Int32Array.from(support);
    this.curvature = curvature;
    this.forced = method;
    this.gramKnown = known ?? null;
    this.columns = new SupportColumns(A, this.support);
    const k = this.support.length, m = A.rows;
    if (k > m && curvature.every((d) => d === 0)) {
      throw new NumericalError(
        `KKT system singular: ${k} active features but only ${m} measurements and l2 = 0, ` +
          `so the Lasso solution is not unique here; add l2 > 0 (elastic net) or increase l1`,
      );
    }
    this.scratch = new Float64Array(m);
    this.method = method ?? (prefersCholesky(k, m) ? "cholesky" : "cg");
    if (this.method === "cholesky") this.factorize();
  }

  get size(): number {
    return this.support.length;
  }

  /** A_SᵀA_S when this matrix was factored (null otherwise). */
  get knownGram(): KnownGram | undefined {
    return this.factor ? this.gramKnown! : undefined;
  }

  private factorize(): Cholesky {
    if (this.factor) return this.factor;
    const k = this.size;
    const g = this.columns.gram(this.gramKnown ?? undefined);
    this.gramKnown = { support: this.support, gram: g };
    const h = Float64Array.from(g);
    for (let a = 0; a < k; a++) h[a * k + a] += this.curvature[a];
    try {
      this.factor = Cholesky.factor(h, k);
      return this.factor;
    } catch (e) {
      if (!(e instanceof NumericalError)) throw e;
      throw new NumericalError(
        `KKT system singular: the ${k} active columns of A are linearly dependent and l2 = 0 on them (${e.message}); ` +
          `the Lasso solution is not unique; add l2 > 0`,
      );
    }
  }

  /** out ← H v */
  applyH(v: Float64Array, out: Float64Array): void {
    this.columns.applyT(this.columns.apply(v, this.scratch), out);
    for (let a = 0; a < v.length; a++) out[a] += this.curvature[a] * v[a];
  }

  /** out (length m) ← A_S v */
  applyColumns(v: Float64Array, out: Float64Array): Float64Array {
    return this.columns.apply(v, out);
  }

  /** out (length k) ← A_Sᵀ w */
  applyColumnsT(w: Float64Array, out: Float64Array): Float64Array {
    return this.columns.applyT(w, out);
  }

  /** H⁻¹ b (a new array; b is left untouched). */
  solve(b: Float64Array): Float64Array {
    if (this.method === "cg") {
      const k = this.size;
      const res = conjugateGradient((v, out) => this.applyH(v, out), b, { tol: CG_TOL, maxIter: Math.min(3 * k + 20, 300) });
      if (res.relativeResidual <= CG_TOL * 100) return res.x;
      if (this.forced === "cg") {
        throw new NumericalError(
          `KKT system on ${k} active features is (nearly) singular: conjugate gradients stalled at relative residual ${res.relativeResidual.toExponential(2)}`,
        );
      }
      this.method = "cholesky";
    }
    return this.factorize().solveInPlace(Float64Array.from(b));
  }
}

/**
 * The KKT system of ½‖Ax − y‖² + g(x), g separable, at x on its support S with H from
 * ActiveSetMatrix (math.md, Lasso / elastic net):
 *   F(x_S, θ) = A_Sᵀ(A_S x_S − y) + ∇g_S(x_S; θ),   ∂F/∂x_S = H (symmetric),
 *   ∂F/∂θ = ∂∇g_S/∂θ: w_S∘s for l1, x_S for l2, l1·s_j on the diagonal for the weights.
 */
export class ActiveSetSystem implements KktSystem {
  /** g_j''(x_j) on the support: the diagonal D of H. */
  readonly curvature: Float64Array;
  private built: ActiveSetMatrix | null = null;

  constructor(
    private readonly problem: Problem,
    private readonly penalty: SeparablePenalty,
    private readonly x: Float64Array,
    readonly support: Int32Array,
  ) {
    requireKktPoint(problem, penalty, x, support);
    this.curvature = Float64Array.from(support, (j) => penalty.supportCurvature(j));
  }

  /** H, built (and factored, for small supports) on first use: SURE's Lasso df needs none. */
  get matrix(): ActiveSetMatrix {
    this.built ??= activeSetMatrix(this.problem.A, this.support, this.curvature);
    return this.built;
  }

  get method(): KktMethod {
    return this.matrix.method;
  }

  get size(): number {
    return this.support.length;
  }

  restrict(gradX: Float64Array): Float64Array {
    return Float64Array.from(this.support, (j) => gradX[j]);
  }

  expand(u: Float64Array, out: Float64Array): Float64Array {
    out.fill(0);
    this.support.forEach((j, a) => (out[j] = u[a]));
    return out;
  }

  residual(): Float64Array {
    const { support: S, x, penalty } = this;
    const r = this.problem.A.apply(x, new Float64Array(this.problem.A.rows)); // x off S need not be 0 (bounds)
    const y = this.problem.y;
    for (let i = 0; i < r.length; i++) r[i] -= y[i];
    const F = this.matrix.applyColumnsT(r, new Float64Array(S.length));
    for (let a = 0; a < S.length; a++) F[a] += penalty.supportGradient(S[a], x[S[a]]);
    return F;
  }

  solve(b: Float64Array): Float64Array {
    return this.matrix.solve(b);
  }

  solveAdjoint(b: Float64Array): Float64Array {
    return this.matrix.solve(b); // H is symmetric
  }

  parameterJacobian(name: string): ParameterJacobian | null {
    const spec = this.penalty.hyperparameters.find((h) => h.name === name);
    if (!spec) return null;
    const { support: S, x, penalty } = this;
    const values = Float64Array.from(S, (j) => penalty.supportGradientDerivative(name, j, x[j]));
    return spec.shape === "scalar" ? { shape: "scalar", column: values } : { shape: "perFeature", diagonal: values };
  }

  /**
   * df = tr(A_S H⁻¹ A_Sᵀ) = tr(H⁻¹(H − D)) = |S| − Σ_a D_a (H⁻¹)_aa, and
   * d df/dθ = −tr(H⁻¹ D') + tr(H⁻¹ D' H⁻¹ D) (H' = D'), from |S| solves (one column of H⁻¹
   * each) when D ≠ 0; df = |S| for the Lasso.
   */
  degreesOfFreedom(): { df: number; derivative(name: string): number } {
    const k = this.support.length, D = this.curvature;
    // Lasso: df = rank(A_S), min(|S|, m) for A_S in general position (math.md), no solve needed.
    // (Its l2-derivative at l2 = 0, −tr((A_SᵀA_S)⁻¹), is not computed: l2 = 0 is not tuned.)
    if (D.every((d) => d === 0)) return { df: Math.min(k, this.problem.A.rows), derivative: () => 0 };
    const columns: Float64Array[] = [];
    const e = new Float64Array(k);
    let df = k;
    for (let a = 0; a < k; a++) {
      e[a] = 1;
      columns.push(this.matrix.solve(e));
      e[a] = 0;
      df -= D[a] * columns[a][a];
    }
    return {
      df,
      derivative: (name: string) => {
        const dD = Float64Array.from(this.support, (j) => this.penalty.supportCurvatureDerivative(name, j));
        let total = 0;
        for (let a = 0; a < k; a++) {
          if (dD[a] === 0) continue;
          // −(H⁻¹)_aa D'_a + Σ_b (H⁻¹)_ab D'_a (H⁻¹)_ba D_b  (H⁻¹ symmetric)
          let quad = 0;
          for (let b = 0; b < k; b++) quad += columns[a][b] * columns[a][b] * D[b];
          total += dD[a] * (quad - columns[a][a]);
        }
        return total;
      },
    };
  }
}

/**
 * The last matrix built on each operator, by (support, curvature): polishing a solution and
 * differentiating it need the same H, so the factorisation made for one serves the other.
 * A memo of a function of (problem, solution): which solver ran does not enter.
 */
const lastMatrix = new WeakMap<object, ActiveSetMatrix>();

export function activeSetMatrix(A: LinearOperator, support: Int32Array, curvature: Float64Array): ActiveSetMatrix {
  const cached = lastMatrix.get(A);
  if (cached && sameValues(cached.support, support) && sameValues(cached.curvature, curvature)) return cached;
  const matrix = new ActiveSetMatrix(A, support, curvature, undefined, cached?.knownGram);
  lastMatrix.set(A, matrix);
  return matrix;
}

/** The KKT system of x (a solution or a candidate) on a support. */
export function activeSetSystem(problem: Problem, penalty: SeparablePenalty, x: Float64Array, support: ArrayLike<number>): ActiveSetSystem {
  return new ActiveSetSystem(problem, penalty, x, Int32Array.from(support));
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}


/** The arguments every KKT system of a point shares: a problem, a separable penalty, x (length n) and a support of distinct features. */
export function requireKktPoint(problem: Problem, penalty: SeparablePenalty, x: Float64Array, support: ArrayLike<number>): void {
  requireProblem(problem);
  requireSeparablePenalty("penalty", penalty);
  requireVector("x", x, problem.A.cols);
  requireIndices("support", support, problem.A.cols);
}
