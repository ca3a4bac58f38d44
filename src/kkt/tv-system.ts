import { NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { Cholesky } from "../linalg/cholesky.js";
import { tabulate } from "../linalg/vector.js";
import type { GridDifferences } from "../operators/finite-differences.js";
import { IdentityOperator } from "../operators/identity.js";
import { MaskOperator } from "../operators/mask.js";
import type { LinearOperator } from "../operators/operator.js";
import { hasColumns } from "../operators/operator.js";
import type { Problem } from "../problem.js";
import { borderedDegreesOfFreedom, SchurElimination } from "./bordered.js";
import { piecesOf, type Pieces } from "./tv-pieces.js";
import type { KktMethod, KktSystem, ParameterJacobian } from "./system.js";

/** Above this many pieces the piece matrix is applied matrix-free (CG) instead of factored. */
const MAX_DENSE_PIECES = 1500;
const CG_TOL = 1e-12;

/**
 * The KKT system of ½‖Ax − y‖² + l1‖x‖₁ + l2/2‖x‖² + tv‖Dx‖₁ on its pieces (math.md, TV):
 * x = Nβ with N the indicator basis of the non-zero pieces (zero pieces stay at 0), and
 *
 *   F(β) = NᵀAᵀ(ANβ − y) + l2 NᵀNβ + l1 Nᵀσ + tv NᵀD_Jᵀ s_J = 0,
 *   ∂F/∂β = H = NᵀAᵀAN + l2 NᵀN,   ∂F/∂tv = NᵀD_Jᵀs_J,   ∂F/∂l1 = Nᵀσ,   ∂F/∂l2 = NᵀNβ,
 *
 * σ the pieces' signs, s_J the jump signs. For denoising (A = I) H is diagonal: O(n).
 */
export class PieceSystem implements KktSystem {
  readonly support: Int32Array;
  /** Index of each piece among the unknowns (−1 for a zero piece). */
  readonly unknown: Int32Array;
  /** The non-zero pieces, in unknown order. */
  readonly active: Int32Array;
  method: KktMethod;
  private factor: Cholesky | null = null;
  /**
   * AᵀA diagonal (A = I, a pixel mask): H is diagonal, H_aa = (measured pixels of piece a) +
   * l2·size_a. A piece with no measured pixel (l2 = 0) has H_aa = 0: data do not fix it (TV
   * inpainting is not unique there); solves hold it fixed (the minimum-norm solution, exact for
   * dx/dtv, whose right side vanishes on such a piece at a stationary point).
   */
  private readonly diagonal: Float64Array | null;
  private readonly measured: Float64Array | null;
  /** Scratch for products with A (x, Ax, Aᵀr), allocated on first use (A = I never needs them). */
  private scratch: { xFull: Float64Array; ax: Float64Array; grad: Float64Array } | null = null;

  constructor(
    private readonly problem: Problem,
    private readonly D: GridDifferences,
    readonly pieces: Pieces,
    /** The pieces' values (length pieces.count; 0 on zero pieces, the bound on fixed ones). */
    readonly values: Float64Array,
    /** Pieces held at a bound (1): not unknowns, like zero pieces, but their values enter Ax. */
    readonly fixed: Uint8Array | null = null,
  ) {
    const { label, sign, count } = pieces;
    this.unknown = new Int32Array(count).fill(-1);
    const active: number[] = [];
    for (let p = 0; p < count; p++) if (sign[p] !== 0 && !fixed?.[p]) this.unknown[p] = active.push(p) - 1;
    this.active = Int32Array.from(active);
    let inSupport = 0;
    for (let j = 0; j < label.length; j++) if (this.unknown[label[j]] >= 0) inSupport++;
    this.support = new Int32Array(inSupport);
    for (let j = 0, t = 0; j < label.length; j++) if (this.unknown[label[j]] >= 0) this.support[t++] = j;
    const k = this.active.length;
    const l2 = problem.penalty.l2;
    this.measured = measuredPerPiece(problem.A, pieces, this.unknown, k);
    this.diagonal = this.measured && tabulate(k, (a) => this.measured![a] + l2 * pieces.size[this.active[a]]);
    this.method = this.diagonal || k <= MAX_DENSE_PIECES ? "cholesky" : "cg";
  }

  private buffers(): { xFull: Float64Array; ax: Float64Array; grad: Float64Array } {
    const n = this.pieces.label.length;
    return (this.scratch ??= { xFull: new Float64Array(n), ax: new Float64Array(this.problem.A.rows), grad: new Float64Array(n) });
  }

  get size(): number {
    return this.active.length;
  }

  restrict(gradX: Float64Array): Float64Array {
    const out = new Float64Array(this.size);
    const { label } = this.pieces;
    for (let j = 0; j < gradX.length; j++) {
      const a = this.unknown[label[j]];
      if (a >= 0) out[a] += gradX[j];
    }
    return out;
  }

  expand(u: Float64Array, out: Float64Array): Float64Array {
    const { label } = this.pieces;
    for (let j = 0; j < out.length; j++) {
      const a = this.unknown[label[j]];
      out[j] = a >= 0 ? u[a] : 0;
    }
    return out;
  }

  /** out ← H v = NᵀAᵀANv + l2 NᵀNv. */
  applyH(v: Float64Array, out: Float64Array): Float64Array {
    const { A } = this.problem;
    const { xFull, ax, grad } = this.buffers();
    A.apply(this.expand(v, xFull), ax);
    const h = this.restrict(A.applyT(ax, grad));
    const l2 = this.problem.penalty.l2;
    for (let a = 0; a < h.length; a++) out[a] = h[a] + l2 * this.pieces.size[this.active[a]] * v[a];
    return out;
  }

  /** out ← x = Nβ plus the fixed pieces at their values. */
  point(out: Float64Array): Float64Array {
    const { label } = this.pieces;
    for (let j = 0; j < out.length; j++) {
      const p = label[j];
      out[j] = this.unknown[p] >= 0 || this.fixed?.[p] ? this.values[p] : 0;
    }
    return out;
  }

  residual(): Float64Array {
    const { A, y, penalty } = this.problem;
    const { xFull, ax, grad } = this.buffers();
    A.apply(this.point(xFull), ax);
    for (let i = 0; i < y.length; i++) ax[i] -= y[i];
    const F = this.restrict(A.applyT(ax, grad));
    const { size, sign } = this.pieces;
    const tvTerm = this.jumpTerm();
    this.active.forEach((p, a) => (F[a] += size[p] * (penalty.l2 * this.values[p] + penalty.l1 * sign[p]) + penalty.tv * tvTerm[a]));
    return F;
  }

  /** NᵀD_Jᵀ s_J: +s_e on the piece an edge points to, −s_e on the piece it leaves. */
  jumpTerm(): Float64Array {
    const out = new Float64Array(this.size);
    const { jumps, jumpSigns, label } = this.pieces;
    for (let t = 0; t < jumps.length; t++) {
      const from = this.D.from(jumps[t]), to = this.D.to(jumps[t]);
      const a = this.unknown[label[to]], b = this.unknown[label[from]];
      if (a >= 0) out[a] += jumpSigns[t];
      if (b >= 0) out[b] -= jumpSigns[t];
    }
    return out;
  }

  solve(b: Float64Array): Float64Array {
    const diagonal = this.diagonal;
    if (diagonal) return tabulate(b.length, (a) => (diagonal[a] > 0 ? b[a] / diagonal[a] : 0));
    if (this.method === "cg") {
      const res = conjugateGradient((v, out) => this.applyH(v, out), b, { tol: CG_TOL, maxIter: 10 * this.size + 100 });
      if (res.relativeResidual <= CG_TOL * 100) return res.x;
      throw new NumericalError(`the TV piece system (${this.size} pieces) is singular or ill-conditioned: CG stalled at relative residual ${res.relativeResidual.toExponential(2)}`);
    }
    return this.factorize().solveInPlace(Float64Array.from(b));
  }

  solveAdjoint(b: Float64Array): Float64Array {
    return this.solve(b); // H is symmetric
  }

  /** H = BᵀB + l2·diag(sizes), B = AN formed column by column (k products with A when matrix-free). */
  private factorize(): Cholesky {
    if (this.factor) return this.factor;
    const k = this.size, { A } = this.problem, m = A.rows;
    const B = new Float64Array(m * k);
    const { label } = this.pieces;
    if (hasColumns(A)) {
      for (let j = 0; j < label.length; j++) {
        const a = this.unknown[label[j]];
        if (a >= 0) A.columnAxpy(j, 1, B.subarray(a * m, (a + 1) * m));
      }
    } else {
      const e = new Float64Array(k);
      for (let a = 0; a < k; a++) {
        e[a] = 1;
        A.apply(this.expand(e, this.buffers().xFull), B.subarray(a * m, (a + 1) * m));
        e[a] = 0;
      }
    }
    const H = new Float64Array(k * k);
    for (let b = 0; b < k; b++) {
      const cb = B.subarray(b * m, (b + 1) * m);
      for (let a = b; a < k; a++) {
        const ca = B.subarray(a * m, (a + 1) * m);
        let s = 0;
        for (let i = 0; i < m; i++) s += ca[i] * cb[i];
        H[b * k + a] = H[a * k + b] = s;
      }
      H[b * k + b] += this.problem.penalty.l2 * this.pieces.size[this.active[b]];
    }
    try {
      this.factor = Cholesky.factor(H, k);
    } catch (e) {
      if (!(e instanceof NumericalError)) throw e;
      throw new NumericalError(`the TV piece system is singular: A does not separate the ${k} pieces (${e.message}) and l2 = 0; the solution is not unique, add l2 > 0`);
    }
    return this.factor;
  }

  parameterJacobian(name: string): ParameterJacobian | null {
    const { size, sign } = this.pieces;
    if (name === "tv") return { shape: "scalar", column: this.jumpTerm() };
    if (name === "l1") return { shape: "scalar", column: tabulate(this.size, (a) => size[this.active[a]] * sign[this.active[a]]) };
    if (name === "l2") return { shape: "scalar", column: tabulate(this.size, (a) => size[this.active[a]] * this.values[this.active[a]]) };
    return null;
  }

  /**
   * df = tr(AN H⁻¹ NᵀAᵀ) = tr(H⁻¹(H − l2 S)) = k − l2 tr(H⁻¹S), S = NᵀN: the number of
   * non-zero pieces without l2 (Tibshirani & Taylor 2011), and
   * d df/dl2 = −tr(H⁻¹S) + l2 tr(H⁻¹SH⁻¹S) (H' = S); piecewise constant in tv and l1.
   */
  degreesOfFreedom(): { df: number; derivative(name: string): number } {
    const k = this.size, l2 = this.problem.penalty.l2;
    if (l2 === 0) return { df: this.measured ? this.measured.reduce((n, g) => n + (g > 0 ? 1 : 0), 0) : Math.min(k, this.problem.A.rows), derivative: () => 0 };
    const S = tabulate(this.size, (a) => this.pieces.size[this.active[a]]);
    const measured = this.measured;
    if (measured) {
      // H = G + l2 S with G = diag(measured): df = Σ g_a/(g_a + l2 s_a), d df/dl2 = −Σ g_a s_a/(g_a + l2 s_a)².
      let df = 0, slope = 0;
      for (let a = 0; a < k; a++) {
        const h = measured[a] + l2 * S[a];
        df += measured[a] / h;
        slope -= (measured[a] * S[a]) / (h * h);
      }
      return { df, derivative: (name) => (name === "l2" ? slope : 0) };
    }
    if (this.method === "cg") throw new NumericalError(`SURE's degrees of freedom with l2 > 0 on ${k} pieces needs ${k} solves: use the Monte-Carlo SURE`);
    const cols: Float64Array[] = [];
    const e = new Float64Array(k);
    let trace = 0;
    for (let a = 0; a < k; a++) {
      e[a] = 1;
      cols.push(this.solve(e));
      e[a] = 0;
      trace += S[a] * cols[a][a];
    }
    return {
      df: k - l2 * trace,
      derivative: (name) => {
        if (name !== "l2") return 0;
        let quad = 0;
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) quad += S[a] * cols[a][b] * S[b] * cols[b][a];
        return -trace + l2 * quad;
      },
    };
  }
}

/** Per unknown piece, Σ_j (AᵀA)_jj over its features when AᵀA is diagonal (A = I: the sizes; a mask: the kept pixels), else null. */
function measuredPerPiece(A: LinearOperator, pieces: Pieces, unknown: Int32Array, k: number): Float64Array | null {
  const kept = A instanceof IdentityOperator ? null : A instanceof MaskOperator ? A.kept : undefined;
  if (kept === undefined) return null;
  const out = new Float64Array(k);
  const { label } = pieces;
  if (kept === null) {
    for (let j = 0; j < label.length; j++) if (unknown[label[j]] >= 0) out[unknown[label[j]]]++;
  } else {
    for (let t = 0; t < kept.length; t++) if (unknown[label[kept[t]]] >= 0) out[unknown[label[kept[t]]]]++;
  }
  return out;
}

/**
 * The piece system bordered with the constraints (math.md, "Linear equality constraints", on
 * pieces): unknowns (β, ν) over the free pieces (non-zero, not at a bound) and the rows R of C,
 *
 *   F(β, ν) = [ F_pieces(β) + (C_R N)ᵀν ]      J = [ H      (C_R N)ᵀ ]
 *             [ C_R x − d_R               ]          [ C_R N  0        ]
 *
 * solved by block elimination on the Schur complement (kkt/bordered.ts, SchurElimination) with H
 * from the piece system.
 */
export class TvBorderedSystem implements KktSystem {
  readonly support: Int32Array;
  /** Rows of C_R N: entry a sums row i of C over piece active[a]'s features. */
  private readonly cn: Float64Array[];
  private elimination: SchurElimination | null = null;

  constructor(
    readonly pieces: PieceSystem,
    private readonly problem: Problem,
    /** Multipliers, one per row of C. */
    private readonly nu: Float64Array,
    readonly rows: Int32Array,
  ) {
    this.support = pieces.support;
    const C = problem.constraints?.C, { label } = pieces.pieces;
    this.cn = Array.from(rows, (i) => {
      const row = new Float64Array(pieces.size);
      for (let j = 0; j < label.length; j++) {
        const a = pieces.unknown[label[j]];
        if (a >= 0) row[a] += C!.get(i, j);
      }
      return row;
    });
  }

  private get parts(): SchurElimination {
    return (this.elimination ??= new SchurElimination((b) => this.pieces.solve(b), this.cn));
  }

  get size(): number {
    return this.pieces.size + this.rows.length;
  }

  get method(): KktMethod {
    return this.pieces.method === "cg" ? "schur-cg" : "schur-cholesky";
  }

  restrict(gradX: Float64Array): Float64Array {
    const out = new Float64Array(this.size);
    out.set(this.pieces.restrict(gradX));
    return out;
  }

  expand(u: Float64Array, out: Float64Array): Float64Array {
    return this.pieces.expand(u.subarray(0, this.pieces.size), out);
  }

  residual(): Float64Array {
    const k = this.pieces.size, out = new Float64Array(this.size);
    out.set(this.pieces.residual());
    const x = this.pieces.point(new Float64Array(this.pieces.pieces.label.length));
    const { C, d } = this.problem.constraints ?? { C: null, d: null };
    this.rows.forEach((row, i) => {
      const nu = this.nu[row];
      for (let a = 0; a < k; a++) out[a] += this.cn[i][a] * nu;
      let s = -d![row];
      for (let j = 0; j < x.length; j++) s += C!.get(row, j) * x[j];
      out[k + i] = s;
    });
    return out;
  }

  solve(b: Float64Array): Float64Array {
    return this.parts.solve(b, this.pieces.size);
  }

  solveAdjoint(b: Float64Array): Float64Array {
    return this.solve(b); // J is symmetric
  }

  parameterJacobian(name: string): ParameterJacobian | null {
    const jac = this.pieces.parameterJacobian(name);
    if (jac?.shape !== "scalar") return jac;
    const column = new Float64Array(this.size);
    column.set(jac.column);
    return { shape: "scalar", column };
  }

  /** As BorderedSystem's, with H = NᵀAᵀAN + l2·NᵀN: the curvature is l2 times the pieces' sizes. */
  degreesOfFreedom(): { df: number; derivative(name: string): number } {
    const { pieces } = this, k = pieces.size, l2 = this.problem.penalty.l2;
    const sizes = tabulate(k, (a) => pieces.pieces.size[pieces.active[a]]);
    const base = Math.min(k, this.problem.A.rows) - this.parts.rank;
    return borderedDegreesOfFreedom((e) => this.solve(e), this.size, base, sizes.map((v) => l2 * v), (name, a) => (name === "l2" ? sizes[a] : 0));
  }
}

/**
 * The bordered piece system of x for a problem with constraints or bounds: x's pieces at fusion
 * level `fuse` (tv-pieces.ts), a piece held at a bound when every feature of it lies within
 * `fuse` of the same bound value (lower or upper), and the multipliers ν (one per row of C).
 */
export function boundedPieceSystem(problem: Problem, D: GridDifferences, x: Float64Array, fuse: number, nu: Float64Array, rows: Int32Array): TvBorderedSystem {
  const pieces = piecesOf(D, x, fuse, problem.penalty.l1 > 0);
  const { label, count, size } = pieces;
  const values = new Float64Array(count);
  for (let j = 0; j < x.length; j++) values[label[j]] += x[j] / size[label[j]];
  const fixed = new Uint8Array(count);
  const bounds = problem.bounds;
  if (bounds) {
    // Per piece: the common bound every feature sits at (NaN once the features disagree).
    const at = new Float64Array(count).fill(Infinity);
    const join = (p: number, value: number): void => void (at[p] = at[p] === Infinity || at[p] === value ? value : NaN);
    for (let j = 0; j < x.length; j++) {
      const p = label[j];
      if (Math.abs(x[j] - bounds.lower[j]) <= fuse) join(p, bounds.lower[j]);
      else if (Math.abs(x[j] - bounds.upper[j]) <= fuse) join(p, bounds.upper[j]);
      else at[p] = NaN;
    }
    for (let p = 0; p < count; p++) {
      if (Number.isFinite(at[p])) {
        fixed[p] = 1;
        values[p] = at[p];
      }
    }
  }
  for (let p = 0; p < count; p++) if (pieces.sign[p] === 0 && !fixed[p]) values[p] = 0;
  return new TvBorderedSystem(new PieceSystem(problem, D, pieces, values, fixed), problem, nu, rows);
}
