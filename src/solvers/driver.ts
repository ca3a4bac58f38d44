import { InputError } from "../errors.js";
import { certify, meetsTolerance, penaltyScale, relativeInfeasibility, type Certificate } from "../kkt/certificate.js";
import { tvCertificate } from "../kkt/tv-certificate.js";
import { jumpSet } from "../kkt/tv-pieces.js";
import { polishOnPieces, polishOnPiecesConstrained } from "../kkt/tv-polish.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { IdentityOperator } from "../operators/identity.js";
import { polishOnSupport } from "../kkt/polish.js";
import { prefersCholesky } from "../kkt/active-set.js";
import { allFinite, dot, requireVector } from "../linalg/vector.js";
import { hasColumns } from "../operators/operator.js";
import { penaltyTerms, termNames, type PenaltyTerms, type SeparablePenalty } from "../penalties/index.js";
import { interceptOf, requireCertifiableScales, requirePositivePenalty, requireProblem, type Problem } from "../problem.js";
import type { IterativeSolver } from "./protocol.js";
import { constraintOutput, feasibilityTarget, finishConstrainedSolution, whyNotConverged } from "./finish-constrained.js";
import { DEFAULT_TOL, noteSolvedFor, type Solution, type SolveOptions, type StructurePart } from "./solution.js";

/**
 * Run an iterative solver to its stopping test or its iteration cap, then polish and certify:
 * the one place where options are validated, the Solution is built and `converged` is decided
 * from the final certificate (so it can never contradict it).
 */
export function runSolver<Context, State>(solver: IterativeSolver<Context, State>, problem: Problem, options: SolveOptions & Record<string, unknown> = {}): Solution {
  const started = performance.now();
  requireProblem(problem);
  const terms = checkCapabilities(solver, problem);
  const tol = options.tol ?? DEFAULT_TOL;
  if (typeof tol !== "number" || !(tol >= 0) || !Number.isFinite(tol)) throw new InputError("options.tol", `expected a non-negative number, got ${tol}`);
  const polish = options.polish ?? "auto";
  if (polish !== true && polish !== false && polish !== "auto") throw new InputError("options.polish", `expected true, false or "auto", got ${JSON.stringify(polish)}`);
  const maxIter = options.maxIter ?? solver.defaultMaxIter;
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new InputError("options.maxIter", `expected a non-negative integer, got ${maxIter}`);
  const n = problem.A.cols;
  const x0 = new Float64Array(n);
  if (options.warmStart !== undefined) {
    const w = options.warmStart;
    if (!(w instanceof Float64Array) && !Array.isArray(w)) throw new InputError("options.warmStart", "expected a Float64Array or an array of numbers");
    if (w.length !== n) throw new InputError("options.warmStart", `expected length ${n} (the columns of A), got ${w.length}`);
    if (!allFinite(w)) throw new InputError("options.warmStart", "expected finite numbers");
    x0.set(w);
  }
  const yy = dot(problem.y, problem.y);
  // y = 0: x = 0 is the solution; the relative tolerance would otherwise ask for a gap of exactly 0.
  if (yy === 0) x0.fill(0);
  const gapTarget = tol * yy;
  const constrained = problem.constraints || problem.bounds;
  // The polish of a support the solver proves exact is skipped (finishSolution): ask for the proof.
  const certifySupport = polish === "auto" && tol > TIGHT_TOL && !terms.tv && !constrained;
  const tvGap = terms.tv ? (x: Float64Array, zHint: Float64Array | null, nu?: Float64Array) => tvCertificate(problem, terms, x, zHint, { nu: nu ?? null }).dualityGap : undefined;
  const { context, state } = solver.setup(problem, terms, x0, { ...options, gapTarget, tvGap, feasibilityTarget: feasibilityTarget(tol), certifySupport });
  // After setup: its first sweep over A may have recorded the column norms the check needs.
  requireCertifiableScales(problem);
  let test = solver.test(context, state);
  const signal = options.signal;
  while (!test.done && solver.iterations(state) < maxIter && !signal?.aborted) {
    solver.step(context, state);
    test = solver.test(context, state);
  }
  const reason = test.done ? test.reason : signal?.aborted ? "cancelled" : `iteration cap ${maxIter} reached`;
  const nu = constrained && solver.multipliers ? solver.multipliers(context, state) : null;
  const report = { iterations: solver.iterations(state), solver: solver.name, started, reason, gapTarget };
  const done = (solution: Solution) => noteSolvedFor(withIntercept(solution, problem), problem);
  const own = solver.certificate ? solver.certificate(context, state) : null;
  if (terms.tv) {
    const zHint = solver.tvDual ? solver.tvDual(context, state) : null;
    return done(finishTvSolution(problem, terms, solver.iterate(state), zHint, report, { ...options, tol }, nu, own));
  }
  if (constrained) return done(finishConstrainedSolution(problem, solver.iterate(state), nu, report, { ...options, tol }));
  const supportCertain = certifySupport && solver.supportCertain !== undefined && solver.supportCertain(context, state);
  return done(finishSolution(problem, terms.separable!, solver.iterate(state), report, { ...options, tol }, own, supportCertain));
}

/** The solution with its intercept b = ȳ − μᵀx when the problem has one. */
export function withIntercept(solution: Solution, problem: Problem): Solution {
  const b = interceptOf(problem, solution.x);
  if (b !== undefined) solution.intercept = b;
  return solution;
}

/** The problem's penalty terms, once the solver is known to handle them, its constraints and its operator. */
function checkCapabilities(solver: IterativeSolver<unknown, unknown>, problem: Problem): PenaltyTerms {
  checkProblemClass(solver, problem);
  requirePositivePenalty(problem);
  const terms = penaltyTerms(problem);
  for (const name of termNames(terms)) {
    if (!solver.capabilities.penalties.includes(name)) throw new InputError(name === "tv" ? "penalty.tv" : "penalty", `the ${solver.name} solver does not handle the ${name} penalty`);
  }
  return terms;
}

/** The solver handles the problem's class: its penalties' kinds, its constraints, its operator. */
export function checkProblemClass(solver: IterativeSolver<unknown, unknown>, problem: Problem): void {
  const who = `the ${solver.name} solver`;
  if (problem.basisPursuit) throw new InputError("basisPursuit", `${who} solves penalised problems; basis pursuit (Ax = y) is solver "basis-pursuit"`);
  if (problem.penalty.tv > 0 && !solver.capabilities.penalties.includes("tv")) throw new InputError("penalty.tv", `${who} handles l1/l2 penalties only (use solver "split-bregman" or "fista" for tv)`);
  if (problem.penalty.tv > 0 && (problem.constraints || problem.bounds) && !solver.capabilities.constrainedTv) {
    throw new InputError(problem.constraints ? "constraints" : "bounds", `${who} does not handle tv with constraints or bounds (use solver "split-bregman")`);
  }
  if (problem.constraints && !solver.capabilities.constraints) throw new InputError("constraints", `${who} handles unconstrained problems only (use solver "alm")`);
  if (problem.bounds && !solver.capabilities.bounds) throw new InputError("bounds", `${who} does not handle bounds (use solver "cd", "fista" or "alm")`);
  if (solver.capabilities.needsIdentity && !fitsDenoising(problem)) throw new InputError("A", `${who} handles denoising only (A = identity, tv on the grid's differences)`);
  if (solver.capabilities.needsColumns && !hasColumns(problem.A)) {
    throw new InputError("A", `${who} needs column access (columnDot, columnAxpy, ...); this operator is matrix-free: use solver "fista"`);
  }
}

/** A = identity with tv > 0 on the grid's differences: one prox solves it. */
export function fitsDenoising(problem: Problem): boolean {
  return problem.A instanceof IdentityOperator && problem.penalty.tv > 0 && problem.D === undefined;
}

interface SolverReport {
  iterations: number;
  solver: string;
  /** When the solve started (performance.now()). */
  started: number;
  /** Why the solver stopped, when it did not claim convergence (cap, stall). */
  reason?: string;
  /** The duality-gap target tol·‖y‖² (computed once, by runSolver). */
  gapTarget: number;
}

/** Tolerances at or below this ask for exactness: polish whatever the support's size. */
const TIGHT_TOL = 1e-10;

/**
 * Bundle x with its certificate (`own`: the solver's certificate of x, when it made the one
 * certify would). With `polish`, also try the Newton step onto x's support (kkt/polish.ts) and
 * keep it when it certifies at least as well; with polish "auto" (the default), not when the
 * support is proven exact (`supportCertain`) and its KKT system too large to factor: the step
 * would then cost tens of products with A_S and change x only below the tolerance.
 * `converged` is the final certificate's verdict (meetsTolerance: the duality gap within
 * tol·‖y‖², the KKT violation small).
 */
export function finishSolution(problem: Problem, penalty: SeparablePenalty, x: Float64Array, report: SolverReport, options: SolveOptions, own: Certificate | null = null, supportCertain = false): Solution {
  requireProblem(problem);
  requireVector("x", x, problem.A.cols);
  const tol = options.tol ?? DEFAULT_TOL;
  const target = report.gapTarget;
  let best = x, cert: Certificate | null = own;
  const mode = options.polish ?? "auto";
  const polish = mode === true || (mode === "auto" && !(supportCertain && !prefersCholesky(supportSize(penalty, x), problem.A.rows)));
  const polished = polish ? polishOnSupport(problem, penalty, x, tol <= TIGHT_TOL) : null;
  if (polished) {
    const pc = certify(problem, polished, penalty);
    // Within tol and stationary to rounding (relative to the penalty's scale): no need to
    // certify x as well to compare.
    const exact = pc.dualityGap <= target && pc.kktViolation <= 1e-9 * penaltyScale(penalty, polished);
    if (!exact) cert ??= certify(problem, x, penalty);
    if (exact || (pc.kktViolation <= cert!.kktViolation && pc.dualityGap <= cert!.dualityGap + 1e-14 * cert!.objective)) {
      best = polished;
      cert = pc;
    }
  }
  cert ??= certify(problem, x, penalty);
  const converged = meetsTolerance(cert, penalty, best, target);
  const support = supportOf(penalty, best);
  const sol: Solution = { ...runFields(problem, best, cert, converged, report), active: support.active, signs: support.signs, structure: [support] };
  if (!converged) sol.message = `${report.reason ?? "stopped"} (${whyNotConverged(cert, target, 0, 0)})`;
  return sol;
}

/**
 * As finishSolution for a problem with tv: try the polish on the pieces of x (kkt/tv-polish.ts)
 * and keep the candidate with the best TV certificate (kkt/tv-certificate.ts); the structure
 * adds the jump set, its signs and the number of pieces. With constraints or bounds, `nu` holds
 * the multipliers: the polish is the bordered one on the pieces, `converged` also asks for
 * Cx = d to feasibilityTarget(tol), and the solution adds what finishConstrainedSolution adds
 * (constraintOutput). `certificate`: the solver's own certificate of x (IterativeSolver.certificate).
 */
export function finishTvSolution(problem: Problem, terms: PenaltyTerms, x: Float64Array, zHint: Float64Array | null, report: SolverReport, options: SolveOptions, nu: Float64Array | null = null, certificate: Certificate | null = null): Solution {
  const tol = options.tol ?? DEFAULT_TOL;
  const target = report.gapTarget;
  const scale = tvPenaltyScale(problem, terms, x);
  const constrained = problem.constraints !== undefined || problem.bounds !== undefined;
  let best = x, bestNu = nu ?? new Float64Array(problem.constraints?.C.rows ?? 0);
  let cert = certificate ?? tvCertificate(problem, terms, x, zHint, { nu: bestNu });
  const D = terms.tv!.D;
  // On a 2-D grid the pieces of a loose iterate are not the solution's: polish tight solves only.
  const worthPolishing = D instanceof GridDifferences && (D.shape[0] === 1 || tol <= 1e-10);
  if ((options.polish ?? true) && worthPolishing) {
    const candidates = constrained ? polishOnPiecesConstrained(problem, D, x, bestNu) : polishOnPieces(problem, D, x);
    // The dual value of x's certificate bounds P* from below whatever the primal point, so
    // P(candidate) minus it is also a gap of the candidate (unconstrained: with Cx = d the
    // candidate's own multipliers differ). It certifies exact pieces whose witness, rebuilt
    // from x's dual on the flat edges, comes out loose (64×64 denoising: 4e-6 against 1e-14).
    const lowerBound = cert.objective - cert.dualityGap;
    for (const candidate of candidates) {
      const [cx, cnu] = candidate instanceof Float64Array ? [candidate, bestNu] : [candidate.x, candidate.nu];
      let pc = tvCertificate(problem, terms, cx, zHint, { exact: true, nu: cnu });
      if (!constrained && pc.objective - lowerBound < pc.dualityGap) {
        // Denoising: x's own dual at the candidate is that bound, with its margins and KKT residual.
        const hinted = zHint && tvCertificate(problem, terms, cx, zHint);
        pc = hinted && hinted.dualityGap <= pc.objective - lowerBound + 1e-14 * Math.abs(pc.objective) ? hinted : { ...pc, dualityGap: Math.max(0, pc.objective - lowerBound) };
      }
      const feasibleEnough = !constrained || relativeInfeasibility(problem, cx) <= Math.max(relativeInfeasibility(problem, best), 1e-15);
      // Exact pieces that certify win over an iterate whose own dual makes it stationary to
      // rounding (the 2-D prox's x = y − Dᵀz): only the pieces give the jump set.
      const certifies = pc.dualityGap <= target && pc.kktViolation <= 1e-9 * scale;
      const noWorseGap = pc.dualityGap <= cert.dualityGap + 1e-14 * Math.abs(cert.objective);
      const converges = pc.dualityGap <= target && pc.kktViolation <= 1e-2 * scale;
      if (feasibleEnough && (certifies || (noWorseGap && (converges || pc.kktViolation <= cert.kktViolation + 1e-12 * scale)))) {
        best = cx;
        bestNu = cnu;
        cert = pc;
      }
      if (cert.dualityGap <= target && cert.kktViolation <= 1e-9 * scale) break;
    }
  }
  const infeasibility = constrained ? relativeInfeasibility(problem, best) : 0;
  const feasTarget = feasibilityTarget(tol);
  const converged = cert.dualityGap <= target && cert.kktViolation <= 1e-2 * scale && infeasibility <= feasTarget;
  const output = constrained ? constraintOutput(problem, best, bestNu) : null;
  const sol = withLazyStructure(
    { ...runFields(problem, best, cert, converged, report), ...output?.fields, ...(zHint && { tvDual: zHint }) },
    Float64Array.from(best),
    (xs) => {
      const parts = tvStructure(terms, xs);
      return { support: parts[0] as Support, structure: output ? [...parts, ...output.parts] : parts };
    },
  );
  if (!converged) sol.message = `${report.reason ?? "stopped"} (${whyNotConverged(cert, target, infeasibility, feasTarget)})`;
  return sol;
}

/** The fields every finished Solution has: x, the penalty values, the certificate and the run. */
function runFields(problem: Problem, x: Float64Array, cert: Certificate, converged: boolean, report: SolverReport) {
  return { x, penalty: { ...problem.penalty }, ...cert, iterations: report.iterations, converged, solver: report.solver, seconds: (performance.now() - report.started) / 1000 };
}

/** tv + max_j(l1·w_j + l2|x_j|): the size of the penalty's subgradients at x. */
function tvPenaltyScale(problem: Problem, terms: PenaltyTerms, x: Float64Array): number {
  return problem.penalty.tv + (terms.separable ? penaltyScale(terms.separable, x) : 0);
}

type Support = Extract<StructurePart, { kind: "support" }>;

/**
 * A TV solution's active, signs and structure, computed from (a copy of) x on first read and then
 * kept as plain properties: O(n) arrays over an image's pixels and edges that a tuner never reads.
 */
function withLazyStructure(sol: Omit<Solution, "active" | "signs" | "structure">, x: Float64Array, compute: (x: Float64Array) => { support: Support; structure: StructurePart[] }): Solution {
  let parts: { support: Support; structure: StructurePart[] } | undefined;
  const keep = (key: string, value: unknown): void => void Object.defineProperty(sol, key, { value, enumerable: true, writable: true, configurable: true });
  const lazy = (key: "active" | "signs" | "structure", read: (p: NonNullable<typeof parts>) => unknown): void => {
    Object.defineProperty(sol, key, {
      enumerable: true,
      configurable: true,
      get() {
        parts ??= compute(x);
        const value = read(parts);
        keep(key, value);
        return value;
      },
      set(value: unknown) {
        keep(key, value);
      },
    });
  };
  lazy("active", (p) => p.support.active);
  lazy("signs", (p) => p.support.signs);
  lazy("structure", (p) => p.structure);
  return sol as Solution;
}

/** A TV solution's structure: its support (active features and signs) first, then its pieces on a grid. */
export function tvStructure(terms: PenaltyTerms, x: Float64Array): StructurePart[] {
  const support = terms.separable ? supportOf(terms.separable, x) : nonZeros(x);
  const D = terms.tv!.D;
  return D instanceof GridDifferences ? [support, { kind: "pieces", ...jumpSet(D, x) }] : [support];
}

function nonZeros(x: Float64Array): Support {
  const active: number[] = [], signs: number[] = [];
  for (let j = 0; j < x.length; j++) {
    if (x[j] !== 0) {
      active.push(j);
      signs.push(Math.sign(x[j]));
    }
  }
  return { kind: "support", active, signs };
}

function supportSize(penalty: SeparablePenalty, x: Float64Array): number {
  let k = 0;
  for (let j = 0; j < x.length; j++) if (penalty.isActive(j, x[j])) k++;
  return k;
}

/** The support of x for a penalty (its active features) with their signs. */
export function supportOf(penalty: SeparablePenalty, x: Float64Array): Support {
  const active: number[] = [], signs: number[] = [];
  for (let j = 0; j < x.length; j++) {
    if (penalty.isActive(j, x[j])) {
      active.push(j);
      signs.push(Math.sign(x[j]));
    }
  }
  return { kind: "support", active, signs };
}
