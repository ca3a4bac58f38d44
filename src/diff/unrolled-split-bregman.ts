import { InputError, NumericalError } from "../errors.js";
import { dot } from "../linalg/vector.js";
import { penaltyTerms } from "../penalties/index.js";
import { requirePositivePenalty, type Problem } from "../problem.js";
import { checkProblemClass } from "../solvers/driver.js";
import { afterXUpdate, defaultMu, splitBregman, splitBregmanNormalSolver, xUpdateRhs, type SplitBregmanState } from "../solvers/split-bregman.js";
import type { UnrolledOptions, Unrolling } from "./unrolled.js";

/** A split's tangent or adjoint: (ḋ, ḃ) or (d̄, b̄). */
interface SplitPair {
  d: Float64Array;
  b: Float64Array;
}

interface SbTangent {
  x: Float64Array;
  tv: SplitPair;
  l1: SplitPair;
}

interface SbAdjoint extends SbTangent {
  // workspaces
  vTv: Float64Array;
  v1: Float64Array;
  q: Float64Array;
}

/**
 * Split Bregman (split-bregman.ts) with one fixed μ for every split (no residual balancing) and an
 * exact x-update, as an unrolled map on its state (d, b) per split, B = D (tv) or I (l1), τ = λw/μ:
 *
 *   x⁺ = M⁻¹(Aᵀy + Σ μBᵀ(d − b)),   M = AᵀA + μ_tv DᵀD + (l2 + μ_1)I,
 *   v = Bx⁺ + b,   d⁺ = shrink(v, τ),   b⁺ = v − d⁺.
 *
 * Tangent: ẋ⁺ = M⁻¹(Σ[μBᵀ(ḋ − ḃ) + μ̇Bᵀ(d − b)] − Ṁx⁺), Ṁ = μ̇_tv DᵀD + (l̇2 + μ̇_1)I;
 * v̇ = Bẋ⁺ + ḃ, ḋ⁺ = m(v̇ − sign(d⁺)τ̇) with the shrink's mask m = [d⁺ ≠ 0], ḃ⁺ = v̇ − ḋ⁺.
 * Adjoint, from (d̄⁺, b̄⁺) and x̄⁺ (∇L when x is the iterate): v̄ = b̄⁺ + m(d̄⁺ − b̄⁺),
 * τ̄ = −m·sign(d⁺)(d̄⁺ − b̄⁺), ρ = M⁻¹(x̄⁺ + ΣBᵀv̄) (M symmetric), then d̄ = μBρ, b̄ = v̄ − μBρ,
 * dL/dμ += ρᵀBᵀ(d − b) − ρᵀṀx⁺/μ̇ and dL/dl2 −= ρᵀx⁺. x is recomputed by every step, so it
 * carries no adjoint back. The iterate is d_1 with l1 (exactly sparse), else x. The start is
 * (d, b) = 0, free of θ, except where x = 0 is already optimal (split-bregman.ts startAtZero:
 * b_1 = Aᵀy/μ): there every shrink gives 0 at every step, so no derivative reaches d_1 anyway.
 */
export function unrollSplitBregman(problem: Problem, options: UnrolledOptions): Unrolling<SplitBregmanState, SbTangent, SbAdjoint> {
  checkProblemClass(splitBregman, problem);
  requirePositivePenalty(problem);
  const mu = options.mu ?? defaultMu(problem.A);
  if (!(typeof mu === "number" && mu > 0 && Number.isFinite(mu))) throw new InputError("mu", `expected a positive number, got ${mu}`);
  // The derivatives divide by μ² (τ = λ/μ, dτ/dμ = −λ/μ²): μ² must be a normal number.
  if (!(mu >= 1e-150 && mu <= 1e150)) throw new InputError("mu", `expected a number in [1e-150, 1e150] (the derivatives divide by mu²), got ${mu}`);
  const n = problem.A.cols;
  const { context, state, solver } = exactSetup(problem, n, mu);
  const solvePair = solver.solvePair?.bind(solver);
  const secondRhs = new Float64Array(n); // the second tangent's right-hand side in tangentStepPair
  const { D, thresholds, tv } = context;
  const l1 = problem.penalty.l1;
  const p = D ? D.rows : 0;
  const parameters = [...(thresholds ? ["l1"] : []), "l2", ...(D ? ["tv"] : []), "mu"];
  const index = (name: string) => parameters.indexOf(name);
  const L1 = index("l1"), L2 = index("l2"), TV = index("tv"), MU = index("mu");
  const pair = (length: number): SplitPair => ({ d: new Float64Array(length), b: new Float64Array(length) });
  const iterateIsD1 = state.d1.length > 0;

  /** The shrink's tangent on one split: ḋ⁺, ḃ⁺ from v̇ = image + ḃ and τ̇_i = tauDot·weight_i. */
  const shrinkTangent = (dNew: Float64Array, image: Float64Array, t: SplitPair, tauDot: number, weight: Float64Array | null) => {
    for (let i = 0; i < dNew.length; i++) {
      const vDot = image[i] + t.b[i];
      const dDot = dNew[i] === 0 ? 0 : vDot - Math.sign(dNew[i]) * tauDot * (weight ? weight[i] : 1);
      t.d[i] = dDot;
      t.b[i] = vDot - dDot;
    }
  };

  /** The shrink's adjoint on one split: v̄ into vBar; returns Σ τ̄_i·weight_i (τ̄ = −m·sign(d⁺)(d̄⁺ − b̄⁺)). */
  const shrinkAdjoint = (dNew: Float64Array, a: SplitPair, vBar: Float64Array, weight: Float64Array | null): number => {
    let tauBar = 0;
    for (let i = 0; i < dNew.length; i++) {
      const diff = a.d[i] - a.b[i];
      if (dNew[i] === 0) {
        vBar[i] = a.b[i];
      } else {
        vBar[i] = a.b[i] + diff;
        tauBar -= Math.sign(dNew[i]) * diff * (weight ? weight[i] : 1);
      }
    }
    return tauBar;
  };

  return {
    parameters,
    values: { mu },
    initial: state,
    step: (s) => splitBregman.step(context, s),
    iterate: (s) => (iterateIsD1 ? s.d1 : s.x),
    createTangent: () => ({ x: new Float64Array(n), tv: pair(p), l1: pair(state.d1.length) }),
    tangentStep(before, after, tangent, k) {
      solver.solve(tangentRhs(before, after, tangent, k, context.rhs), tangent.x);
      tangentFinish(after, tangent, k);
    },
    ...(solvePair && {
      tangentStepPair(before: SplitBregmanState, after: SplitBregmanState, tangent: SbTangent, k: number, other: SbTangent, q: number) {
        solvePair(tangentRhs(before, after, tangent, k, context.rhs), tangent.x, tangentRhs(before, after, other, q, secondRhs), other.x);
        tangentFinish(after, tangent, k);
        tangentFinish(after, other, q);
      },
    }),
    tangentIterate: (tangent) => (iterateIsD1 ? tangent.l1.d : tangent.x),
    createAdjoint: () => ({
      x: new Float64Array(n), tv: pair(p), l1: pair(state.d1.length),
      vTv: new Float64Array(p), v1: new Float64Array(state.d1.length), q: new Float64Array(n),
    }),
    seedAdjoint(_final, adjoint, g) {
      for (const a of [adjoint.tv, adjoint.l1]) {
        a.d.fill(0);
        a.b.fill(0);
      }
      if (iterateIsD1) {
        adjoint.l1.d.set(g);
        adjoint.x.fill(0);
      } else {
        adjoint.x.set(g);
      }
    },
    adjointStep(before, after, adjoint, gradient) {
      solver.solve(adjointRhs(after, adjoint, gradient), adjoint.q);
      adjointFinish(before, after, adjoint, gradient);
    },
    // Where the solver pairs solves (the DCT solver: two right-hand sides share each FFT), both
    // x-updates, M⁻¹(x̄⁺ + ΣBᵀv̄) and the recomputed step's, go through one paired solve.
    ...(solvePair && {
      adjointStepWithStep(before: SplitBregmanState, after: SplitBregmanState, adjoint: SbAdjoint, gradient: Float64Array, next: SplitBregmanState) {
        const xBar = adjointRhs(after, adjoint, gradient);
        solvePair(xBar, adjoint.q, xUpdateRhs(context, next), next.x);
        afterXUpdate(context, next);
        adjointFinish(before, after, adjoint, gradient);
      },
    }),
  };

  /** The tangent x-update's right-hand side Σ[μBᵀ(ḋ − ḃ) + μ̇Bᵀ(d − b)] − Ṁx⁺ for θ_k, into rhs. */
  function tangentRhs(before: SplitBregmanState, after: SplitBregmanState, tangent: SbTangent, k: number, rhs: Float64Array): Float64Array {
    const muDot = k === MU ? 1 : 0, l2Dot = k === L2 ? 1 : 0;
    const x = after.x;
    const nWork = context.nWork, pWork = context.pWork;
    // Terms with a zero θ̇ are skipped, not multiplied by 0 (each reads whole state vectors).
    const xDot = -(l2Dot + (thresholds ? muDot : 0));
    if (xDot === 0) rhs.fill(0);
    else for (let j = 0; j < n; j++) rhs[j] = xDot * x[j];
    if (D) {
      const { d: dDot, b: bDot } = tangent.tv;
      if (muDot === 0) for (let i = 0; i < p; i++) pWork[i] = mu * (dDot[i] - bDot[i]);
      else for (let i = 0; i < p; i++) pWork[i] = mu * (dDot[i] - bDot[i]) + muDot * (before.dTv[i] - before.bTv[i]);
      if (muDot !== 0) {
        // − μ̇ DᵀD x⁺ joins the same Dᵀ product: Dᵀ(μ(ḋ − ḃ) + μ̇(d − b − Dx⁺)).
        D.apply(x, context.dx);
        for (let i = 0; i < p; i++) pWork[i] -= context.dx[i];
      }
      D.applyT(pWork, nWork);
      for (let j = 0; j < n; j++) rhs[j] += nWork[j];
    }
    if (thresholds) {
      const { d: dDot, b: bDot } = tangent.l1;
      if (muDot === 0) for (let j = 0; j < n; j++) rhs[j] += mu * (dDot[j] - bDot[j]);
      else for (let j = 0; j < n; j++) rhs[j] += mu * (dDot[j] - bDot[j]) + muDot * (before.d1[j] - before.b1[j]);
    }
    return rhs;
  }

  /** The shrinks' tangents from ẋ⁺ (in tangent.x). */
  function tangentFinish(after: SplitBregmanState, tangent: SbTangent, k: number): void {
    const muDot = k === MU ? 1 : 0;
    if (D) {
      D.apply(tangent.x, context.pWork);
      shrinkTangent(after.dTv, context.pWork, tangent.tv, (k === TV ? 1 : 0) / mu - (muDot * tv) / (mu * mu), null);
    }
    if (thresholds) shrinkTangent(after.d1, tangent.x, tangent.l1, (k === L1 ? 1 / l1 : 0) / mu - muDot / (mu * mu), thresholds);
  }

  /** The shrinks pulled back (τ's terms into the gradient); returns x̄⁺ + ΣBᵀv̄, the adjoint solve's right-hand side (in adjoint.x). */
  function adjointRhs(after: SplitBregmanState, adjoint: SbAdjoint, gradient: Float64Array): Float64Array {
    const { x: xBar, vTv, v1 } = adjoint;
    const nWork = context.nWork;
    if (D) {
      const tauBar = shrinkAdjoint(after.dTv, adjoint.tv, vTv, null);
      gradient[TV] += tauBar / mu;
      gradient[MU] -= (tauBar * tv) / (mu * mu);
      D.applyT(vTv, nWork);
      for (let j = 0; j < n; j++) xBar[j] += nWork[j];
    }
    if (thresholds) {
      const tauBar = shrinkAdjoint(after.d1, adjoint.l1, v1, thresholds);
      gradient[L1] += tauBar / (l1 * mu);
      gradient[MU] -= tauBar / (mu * mu);
      for (let j = 0; j < n; j++) xBar[j] += v1[j];
    }
    return xBar;
  }

  /** From ρ = adjoint.q, the split adjoints (d̄, b̄) and the l2 and μ terms of the gradient; x̄ back to 0. */
  function adjointFinish(before: SplitBregmanState, after: SplitBregmanState, adjoint: SbAdjoint, gradient: Float64Array): void {
    const { x: xBar, vTv, v1, q } = adjoint;
    gradient[L2] -= dot(q, after.x);
    if (D) {
      D.apply(q, context.pWork);
      gradient[MU] += splitAdjoint(context.pWork, before.dTv, after.dTv, after.bTv, vTv, adjoint.tv, mu);
    }
    if (thresholds) gradient[MU] += splitAdjoint(q, before.d1, after.d1, after.b1, v1, adjoint.l1, mu);
    xBar.fill(0);
  }
}

/**
 * One split (d ≈ Bx with Bregman variable b) pulled back through the x-update, given w = Bq
 * (q the x-update's adjoint solve): d̄ ← μw, b̄ ← v̄ − μw, and the split's term of dL/dμ,
 * Σ_i w_i (d_i − b_i − (Bx⁺)_i). The step set v = Bx⁺ + b, d⁺ = shrink(v), b⁺ = v − d⁺, so
 * b + Bx⁺ = b⁺ + d⁺ and the term is Σ_i w_i (d_i − b⁺_i − d⁺_i): no product with B (to rounding).
 */
function splitAdjoint(w: Float64Array, d: Float64Array, dNew: Float64Array, bNew: Float64Array, vBar: Float64Array, out: { d: Float64Array; b: Float64Array }, mu: number): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i] * (d[i] - bNew[i] - dNew[i]);
    out.d[i] = mu * w[i];
    out.b[i] = vBar[i] - mu * w[i];
  }
  return s;
}

/**
 * Split Bregman's state at x = 0 with μ fixed and its exact x-update; a μ so small that the
 * x-update matrix is singular is named.
 */
function exactSetup(problem: Problem, n: number, mu: number) {
  try {
    const { context, state } = splitBregman.setup(problem, penaltyTerms(problem), new Float64Array(n), { gapTarget: 0, mu });
    if (context.xUpdate.strategy === "cg") {
      throw new InputError("A", `unrolled split-bregman needs an exact x-update (a matrix with at most 1000 columns, or an operator diagonal in the DCT basis); this one would use CG`);
    }
    return { context, state, solver: splitBregmanNormalSolver(context, state) };
  } catch (e) {
    if (!(e instanceof NumericalError)) throw e;
    throw new NumericalError(`split-bregman's x-update matrix AᵀA + (l2 + μ)I (+ μDᵀD) is singular at mu = ${mu} (${e.message}): take a larger mu`);
  }
}
