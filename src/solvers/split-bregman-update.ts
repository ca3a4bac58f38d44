import { InputError } from "../errors.js";
import { Cholesky } from "../linalg/cholesky.js";
import { fastNormalSolver } from "../operators/normal-equations.js";
import { axpy, dot } from "../linalg/vector.js";
import { hasColumns, type ColumnOperator, type LinearOperator } from "../operators/operator.js";

/**
 * Split Bregman's x-update: a solver of (α·AᵀA + β·DᵀD + γ·I) v = b for the weights of the
 * current penalty parameters μ (set once per μ, the solve every iteration).
 */
export interface NormalSolver {
  /** Set α, β, γ ≥ 0. May be costly (a factorisation): called only when μ changes. */
  setWeights(alpha: number, beta: number, gamma: number): void;
  /** out ← (α·AᵀA + β·DᵀD + γ·I)⁻¹ b; out holds a warm start on entry (iterative solvers use it). */
  solve(b: Float64Array, out: Float64Array): void;
  /**
   * Inexact solvers only: stop when ‖b − H·out‖ ≤ atol (the outer iteration ties atol to its
   * residuals, so the inner solves tighten as the iterates settle).
   */
  setTolerance?(atol: number): void;
  /** Inner iterations done by the last solve (0 for a direct solve). */
  readonly lastIterations?: number;
  /** Optional, direct solvers: out1 ← H⁻¹b1 and out2 ← H⁻¹b2 sharing work (the DCT solver: the FFTs). */
  solvePair?(b1: Float64Array, out1: Float64Array, b2: Float64Array, out2: Float64Array): void;
}

/**
 * Largest n for the dense factorisation of AᵀA + μ_tv DᵀD + γI by default. Measured here (Node 20,
 * shared machine): forming AᵀA (m = n) and factoring take 0.15 + 0.11 s at n = 500, 1.05 + 0.7 s
 * at 1000, 2.5 + 2.1 s at 1500. Whole solves to tol 1e-8, direct against CG: 1-D deblurring
 * with tv (dense blur) 0.48 s / 2.9 s at n = 300, 1.6 / 6.9 s at 600, 5.7 / 44 s at 1000 (the
 * inexact CG steps cost 2–3× more outer steps on this ill-conditioned x-update); a Lasso with
 * m = n/3 at 0.1·λ_max 0.09 / 0.08 s at 300, 0.42 / 0.19 s at 600, 0.89 / 0.69 s at 1000. Up to
 * n = 1000 the factorisation wins by far where Split Bregman takes many steps (tv) and loses at
 * most 2× where it takes few (the Lasso, which coordinate descent solves anyway).
 */
export const DIRECT_MAX_COLUMNS = 1000;

/** CG iterations per x-update at most: the next outer step resumes from the warm start anyway. */
const CG_MAX_PER_SOLVE = 50;

/**
 * The exact dense solver: H = α·G + β·L + γ·I with G = AᵀA and L = DᵀD formed once, factored
 * by Cholesky whenever the weights change. O(n²) memory for G and L, O(n³/3) per
 * factorisation, O(n²) per solve.
 */
export class DenseNormalSolver implements NormalSolver {
  readonly lastIterations = 0;
  private readonly n: number;
  private readonly gram: Float64Array;
  private readonly laplacian: Float64Array | null;
  private readonly h: Float64Array;
  private factor: Cholesky | null = null;

  constructor(A: LinearOperator, D: LinearOperator | null) {
    const n = A.cols;
    this.n = n;
    this.gram = gramOf(A);
    this.laplacian = D ? normalOf(D) : null;
    this.h = new Float64Array(n * n);
  }

  setWeights(alpha: number, beta: number, gamma: number): void {
    const { h, gram, laplacian, n } = this;
    for (let k = 0; k < h.length; k++) h[k] = alpha * gram[k];
    if (laplacian && beta !== 0) axpy(beta, laplacian, h);
    for (let j = 0; j < n; j++) h[j * n + j] += gamma;
    this.factor = Cholesky.factor(h, n);
  }

  solve(b: Float64Array, out: Float64Array): void {
    out.set(b);
    this.factor!.solveInPlace(out);
  }
}

/** AᵀA (n×n, column-major): the operator's Gram kernel when it has one, else normalOf(A). */
function gramOf(A: LinearOperator): Float64Array {
  const gram = (A as Partial<ColumnOperator>).gram;
  return gram ? gram.call(A, Array.from({ length: A.cols }, (_, j) => j)) : normalOf(A);
}

/** BᵀB (n×n, column-major) of any operator: column j is Bᵀ(B e_j), 2n products. */
function normalOf(B: LinearOperator): Float64Array {
  const n = B.cols;
  const out = new Float64Array(n * n), unit = new Float64Array(n), be = new Float64Array(B.rows);
  for (let j = 0; j < n; j++) {
    unit[j] = 1;
    B.applyT(B.apply(unit, be), out.subarray(j * n, (j + 1) * n));
    unit[j] = 0;
  }
  return out;
}

/**
 * Matrix-free conjugate gradients on H = α·AᵀA + β·DᵀD + γ·I, warm-started from `out` and
 * stopped at ‖b − Hv‖ ≤ atol or after CG_MAX_PER_SOLVE iterations: an inexact x-update whose
 * accuracy the outer loop raises as it converges. Changing the weights costs nothing.
 * (linalg/cg.ts starts from 0 and allocates per call; this one keeps its workspaces.)
 */
export class CgNormalSolver implements NormalSolver {
  lastIterations = 0;
  private alpha = 1;
  private beta = 0;
  private gamma = 0;
  private atol = 0;
  private readonly r: Float64Array;
  private readonly p: Float64Array;
  private readonly hp: Float64Array;
  private readonly av: Float64Array;
  private readonly dv: Float64Array | null;
  private readonly tmp: Float64Array;

  constructor(
    private readonly A: LinearOperator,
    private readonly D: LinearOperator | null,
    /** μ_c CᵀC joins H when the problem has constraints (Split Bregman's Bregman iteration on Cx = d). */
    private readonly constraint: ConstraintTerm | null = null,
  ) {
    const n = A.cols;
    this.r = new Float64Array(n);
    this.p = new Float64Array(n);
    this.hp = new Float64Array(n);
    this.tmp = new Float64Array(n);
    this.av = new Float64Array(A.rows);
    this.dv = D ? new Float64Array(D.rows) : null;
  }

  setWeights(alpha: number, beta: number, gamma: number): void {
    this.alpha = alpha;
    this.beta = beta;
    this.gamma = gamma;
  }

  setTolerance(atol: number): void {
    this.atol = atol;
  }

  /** out ← H v. */
  private applyH(v: Float64Array, out: Float64Array): void {
    this.A.applyT(this.A.apply(v, this.av), out);
    const n = v.length;
    if (this.alpha !== 1) for (let j = 0; j < n; j++) out[j] *= this.alpha;
    if (this.D && this.beta !== 0) {
      this.D.applyT(this.D.apply(v, this.dv!), this.tmp);
      axpy(this.beta, this.tmp, out);
    }
    if (this.gamma !== 0) axpy(this.gamma, v, out);
    if (this.constraint) addConstraintTerm(this.constraint, v, out);
  }

  solve(b: Float64Array, out: Float64Array): void {
    const { r, p, hp } = this;
    const n = b.length;
    this.applyH(out, r);
    for (let j = 0; j < n; j++) r[j] = b[j] - r[j];
    p.set(r);
    let rr = dot(r, r);
    const target = this.atol * this.atol;
    let it = 0;
    while (it < CG_MAX_PER_SOLVE && rr > target) {
      this.applyH(p, hp);
      const php = dot(p, hp);
      if (!(php > 0)) break; // H is singular along p: no descent left
      const step = rr / php;
      axpy(step, p, out);
      axpy(-step, hp, r);
      const rrNew = dot(r, r);
      const beta = rrNew / rr;
      rr = rrNew;
      for (let j = 0; j < n; j++) p[j] = r[j] + beta * p[j];
      it++;
    }
    this.lastIterations = it;
  }
}

/** μ_c CᵀC in the x-update: the rows of C (each of length n) and μ_c. */
export interface ConstraintTerm {
  rows: Float64Array[];
  mu: number;
}

/** out ← out + μ_c CᵀC v. */
function addConstraintTerm({ rows, mu }: ConstraintTerm, v: Float64Array, out: Float64Array): void {
  for (const row of rows) axpy(mu * dot(row, v), row, out);
}

/**
 * An exact solver of M + μ_c CᵀC from one of M (DCT, Cholesky, a caller's) by the Woodbury
 * identity, C having few rows p:
 *   (M + μ_c CᵀC)⁻¹ b = v − W S⁻¹ C v,  v = M⁻¹ b,  W = M⁻¹Cᵀ,  S = I/μ_c + C W (p × p),
 * W and the factor of S computed once per weights (p solves with M).
 */
export class WoodburyNormalSolver implements NormalSolver {
  readonly lastIterations = 0;
  private readonly w: Float64Array[];
  private factor: Cholesky | null = null;
  private readonly t: Float64Array;

  constructor(
    private readonly inner: NormalSolver,
    private readonly constraint: ConstraintTerm,
  ) {
    const n = constraint.rows[0]?.length ?? 0;
    this.w = constraint.rows.map(() => new Float64Array(n));
    this.t = new Float64Array(constraint.rows.length);
  }

  setWeights(alpha: number, beta: number, gamma: number): void {
    this.inner.setWeights(alpha, beta, gamma);
    const { rows, mu } = this.constraint, p = rows.length;
    rows.forEach((row, i) => {
      this.w[i].fill(0);
      this.inner.solve(row, this.w[i]);
    });
    const s = new Float64Array(p * p);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) s[b * p + a] = dot(rows[a], this.w[b]) + (a === b ? 1 / mu : 0);
    this.factor = Cholesky.factor(s, p);
  }

  solve(b: Float64Array, out: Float64Array): void {
    this.inner.solve(b, out);
    const { t } = this, rows = this.constraint.rows;
    for (let i = 0; i < rows.length; i++) t[i] = dot(rows[i], out);
    this.factor!.solveInPlace(t);
    for (let i = 0; i < t.length; i++) axpy(-t[i], this.w[i], out);
  }
}

/** Names of the x-update strategies (options.normalSolver). */
export type NormalStrategy = "fast" | "direct" | "cg";

/** The chosen x-update and what a change of μ costs it, in x-updates (residual balancing spaces its changes by that). */
export interface XUpdate {
  solver: NormalSolver;
  strategy: NormalStrategy | "custom";
  reweightCost: number;
}

/**
 * Pick the x-update: the caller's (options.normalSolver: a strategy name, or a NormalSolver of
 * one's own, taken to be exact and cheap to reweight), else the exact transform solver when A
 * and D are diagonal in the DCT basis (operators/normal-equations.ts: A = I, a mirror-symmetric
 * blur, a subsampled DCT with grid differences), else the dense factorisation for an explicit A
 * (column access) with n ≤ DIRECT_MAX_COLUMNS, else warm-started CG.
 */
export function chooseXUpdate(problem: { A: LinearOperator; grid: readonly number[] }, D: LinearOperator | null, choice: NormalStrategy | NormalSolver | undefined, constraint: ConstraintTerm | null = null): XUpdate {
  const A = problem.A;
  // An exact solver of M gains μ_c CᵀC by Woodbury (p more solves per change of weights).
  const exact = (solver: NormalSolver): NormalSolver => (constraint ? new WoodburyNormalSolver(solver, constraint) : solver);
  const p = constraint ? constraint.rows.length : 0;
  if (typeof choice === "object") return { solver: exact(choice), strategy: "custom", reweightCost: p };
  const fast = (choice === undefined || choice === "fast") && D ? fastNormalSolver(A, D, problem.grid) : null;
  if (fast) return { solver: exact(fast), strategy: "fast", reweightCost: p };
  if (choice === "fast") throw new InputError("options.normalSolver", `"fast" needs A diagonal in the DCT basis (identity, mirror-symmetric blur, subsampled DCT) and tv on the grid's differences`);
  if (choice === "direct" || (choice === undefined && hasColumns(A) && A.cols <= DIRECT_MAX_COLUMNS)) {
    // A factorisation (n³/3) costs about n/6 solves (2n² each).
    return { solver: exact(new DenseNormalSolver(A, D)), strategy: "direct", reweightCost: Math.ceil(A.cols / 6) + p };
  }
  return { solver: new CgNormalSolver(A, D, constraint), strategy: "cg", reweightCost: 0 };
}

