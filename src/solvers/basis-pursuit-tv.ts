import { NumericalError } from "../errors.js";
import { basisPursuitTvCheck } from "../kkt/tv-certificate.js";
import { polishOnPieces } from "../kkt/tv-polish.js";
import { piecesOf, type Pieces } from "../kkt/tv-pieces.js";
import { PieceSystem } from "../kkt/tv-system.js";
import { norm2, normInf } from "../linalg/vector.js";
import type { GridDifferences } from "../operators/finite-differences.js";
import { hasColumns } from "../operators/operator.js";
import { penaltyTerms } from "../penalties/index.js";
import { tvMaxBound } from "../penalties/total-variation.js";
import type { Problem } from "../problem.js";
import { gapFields, type BpCandidate, type BregmanMethod } from "./bregman.js";
import { runSolver, tvStructure } from "./driver.js";
import { fista } from "./fista.js";
import type { IterativeSolver } from "./protocol.js";
import { splitBregman } from "./split-bregman.js";

/**
 * Basis pursuit with total variation, min R(x) = l1‖x‖₁ + tv‖Dx‖₁ subject to Ax = y (D the
 * grid's anisotropic differences; l1 = 0 is TV compressed sensing), by the Bregman iteration
 * (bregman.ts) with the sub-problems min t·R(x) + ½‖Ax − b^k‖² solved by Split Bregman
 * (warm-started from x^{k−1}), or by FISTA for tv alone on a 1-D grid (its exact 1-D prox makes
 * every iterate piecewise constant; measured on n = 2000, m = 400 Gaussian, 20 jumps: 0.9 s
 * against minutes for Split Bregman, whose x-update is CG there). R is a seminorm: the
 * minimiser depends on tv/l1 only.
 *
 * Exact finish: the constant pieces of x^k on the grid (fused at a few levels, kkt/tv-polish.ts;
 * with l1 > 0 the pieces at 0 stay 0), x = Pβ with P the indicator basis of the non-zero pieces
 * and β the least-squares solution of APβ = y (PᵀAᵀAPβ = PᵀAᵀy, kkt/tv-system.ts: p products with
 * a matrix-free A). Exact when the pieces are the solution's: y is then in the range of AP.
 *
 * Certificate: every g ∈ ∂R(x) has the same piece sums Pᵀg = h = l1·size∘sign + tv·PᵀD_Jᵀs_J
 * (the flat edges inside a piece cancel), so the dual point w_B = (b − Ax^k)/t is projected onto
 * {w : (AP)ᵀw = h}, w = w_B + AP (PᵀAᵀAP)⁻¹(h − PᵀAᵀw_B) (the minimum-norm point, w₀ = 0, as
 * basis-pursuit.ts also tries, certified no more of 80 small random problems), after
 * which yᵀw = xᵀAᵀw = βᵀh = R(x) for Ax = y. What is left, the flat edges and the zero pieces, is
 * the TV certificate's witness flow z (exact on a 1-D grid, Split Bregman's dual z/t corrected on
 * 2-D grids): Aᵀw = Dᵀz + v, s the smallest scale with |z/s| ≤ tv and |v/s| ≤ l1 (v = 0 without
 * l1), so w/s is dual feasible and the gap is R(x) − yᵀw/s (kkt/tv-certificate.ts, basisPursuitTvCheck).
 */
export function tvMethod(problem: Problem, tol: number): BregmanMethod {
  const { A, y, grid } = problem;
  const { l1, tv } = problem.penalty;
  const terms = penaltyTerms(problem);
  const D = terms.tv!.D as GridDifferences;
  const m = A.rows, n = A.cols;
  const aty = A.applyT(y, new Float64Array(n));
  const yNorm = norm2(y);
  // The least-squares problem on pieces (no penalty) and the penalty R for the piece sums h.
  const leastSquares: Problem = { ...problem, penalty: { l1: 0, l2: 0, tv: 0 } };
  const subTol = Math.min(tol, SUB_TOL);
  const maxPieces = Math.min(m, Math.max(SMALL_PIECES, MAX_PIECES_RATIO * m));
  // The sub-solve's own polish (the penalised piece system) makes a 1-D x^k exact, cheaply; on a
  // 2-D grid it cost 2.5 s of a 5.5 s 32×32 phantom solve, and the exact finish fuses x^k anyway.
  const oneD = D.shape[0] === 1;
  const subSolver = (oneD && l1 === 0 ? fista : splitBregman) as IterativeSolver<unknown, unknown>;
  // Split Bregman's dual of the tv rows for the last sub-problem, scaled to R (z/t).
  let zHint: Float64Array | null = null;

  const certify = (x: Float64Array, w: Float64Array, exact = false): BpCandidate => {
    const c = A.applyT(w, new Float64Array(n));
    const check = basisPursuitTvCheck(problem, terms, x, w, c, zHint, exact);
    const objective = (terms.separable ? terms.separable.value(x) : 0) + terms.tv!.value(x);
    return { x, w, objective, ...gapFields(problem, x, w, objective, check.scale), kktViolation: check.kktViolation, complementarityMargin: check.complementarityMargin, smallestActive: check.smallestActive };
  };

  /** w₀ projected onto {w : (AP)ᵀw = h} for the given pieces (null when AP is rank-deficient). */
  const project = (pieces: Pieces, w0: Float64Array): Float64Array | null => {
    // The piece system of R with data w₀ at β = 0: its residual is h − PᵀAᵀw₀, its matrix PᵀAᵀAP.
    const system = new PieceSystem({ ...problem, y: w0 }, D, pieces, new Float64Array(pieces.count));
    let delta: Float64Array;
    try {
      delta = system.solve(system.residual());
    } catch (e) {
      if (e instanceof NumericalError) return null;
      throw e;
    }
    const w = A.apply(system.expand(delta, new Float64Array(n)), new Float64Array(m));
    for (let i = 0; i < m; i++) w[i] += w0[i];
    return w;
  };

  return {
    solver: "basis-pursuit",
    scaleMax: subScaleMax(problem, D, aty, yNorm),
    kinks: l1 + tv,
    columnScale: hasColumns(A) ? Math.sqrt(normInf(A.columnNormsSquared())) : normInf(aty) / yNorm,
    subSolve: (b, t, x) => {
      const sub: Problem = { A, y: b, grid, penalty: { l1: t * l1, l2: 0, tv: t * tv } };
      const sol = runSolver(subSolver, sub, { tol: subTol, polish: oneD, ...(x && { warmStart: x }) });
      zHint = sol.tvDual ? sol.tvDual.map((v) => v / t) : null;
      return sol.x;
    },
    finish: (x, wB, done) => {
      const candidates: BpCandidate[] = [];
      for (const candidate of polishOnPieces(leastSquares, D, x, l1 > 0, maxPieces)) {
        const w = project(piecesOf(D, candidate, 0, l1 > 0), wB);
        if (w) candidates.push(certify(candidate, w, true));
        if (done(candidates)) return candidates;
      }
      return candidates;
    },
    certify: (x, w) => certify(x, w),
    structure: (x) => tvStructure(terms, x),
  };
}

/**
 * The exact finish skips fusion levels that leave more than MAX_PIECES_RATIO·m pieces (but at
 * least SMALL_PIECES, never more than m): APβ = y needs p ≤ m to have one solution, recovery needs
 * far fewer (m ≳ 2p·log(n/p)), and the piece system costs O(m·p²): a 64×64 iterate fused at 1e-12
 * has thousands of pieces (measured: the finish took 1.4 s of a 5.5 s 32×32 solve before the cap).
 */
const MAX_PIECES_RATIO = 0.5;
const SMALL_PIECES = 64;
/**
 * The sub-problems' tolerance (at most the solve's own). The exact finish needs the pieces of
 * x^k and a dual estimate within the certificate's margin, not x^k itself.
 */
const SUB_TOL = 1e-10;

/**
 * t_max, the scale of the sub-problems' weight t: with l1, ‖Aᵀy‖∞/l1 (x = 0 from there on); with
 * tv, tv_max/tv (x constant from there on; tvMaxBound, an upper bound in 2-D); the smaller. When
 * y = c·A1 (tv_max = 0, the constant c·1 is the answer) ‖Aᵀy‖∞/tv keeps t positive.
 */
function subScaleMax(problem: Problem, D: GridDifferences, aty: Float64Array, yNorm: number): number {
  const { l1, tv } = problem.penalty;
  const tvMax = tvMaxBound(problem.A, problem.y, D);
  const scale = Math.min(l1 > 0 ? normInf(aty) / l1 : Infinity, (tvMax > 1e-14 * normInf(aty) * Math.sqrt(aty.length) ? tvMax : normInf(aty)) / tv);
  return yNorm > 0 ? scale : 0;
}
