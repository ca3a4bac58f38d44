/**
 * Outer optimisers over θ = log λ in a box. Each takes an `OuterProblem` (evaluate value and
 * gradient, project onto the box, report accepted iterates) and returns where it stopped.
 * Steps are capped at `maxStep` in log space (a factor e^maxStep in λ), so no step overflows.
 */
import { InputError } from "../errors.js";
import { requireVector } from "../linalg/vector.js";
import { requireObject } from "../optim/objective.js";

export interface OuterPoint {
  value: number;
  /** dC/dθ; entries are NaN when the hypergradient is not available there. */
  gradient: Float64Array;
}

export interface OuterProblem {
  evaluate(theta: Float64Array): OuterPoint;
  project(theta: Float64Array): Float64Array;
  /** Called at every accepted iterate (progress, trajectory). */
  accept(theta: Float64Array, point: OuterPoint): void;
}

export interface OuterOptions {
  maxIter: number;
  /** Stop when an accepted step moves every log λ by less than this. */
  xtol: number;
  /** Stop when an accepted step lowers the criterion by less than ftol·|C|. */
  ftol: number;
  /** Largest step in log λ. */
  maxStep: number;
  /** Adam's learning rate in log λ. */
  learningRate: number;
}

export interface OuterResult {
  theta: Float64Array;
  point: OuterPoint;
  iterations: number;
  converged: boolean;
  message: string;
}

export type OuterOptimizer = (problem: OuterProblem, theta0: Float64Array, options: OuterOptions) => OuterResult;

const ARMIJO = 1e-4;
/** Probe step (log λ) when the gradient is zero or unavailable: a factor of 10. */
const PROBE = Math.log(10);

const infNorm = (v: Float64Array) => v.reduce((m, t) => Math.max(m, Math.abs(t)), 0);
const finite = (v: Float64Array) => v.every(Number.isFinite);

/**
 * When the gradient says nothing (x = 0 above λ_max gives an exactly flat criterion; a singular
 * KKT system gives none), try moving each coordinate by ±PROBE and keep the best improvement.
 */
function probe(f: OuterProblem, theta: Float64Array, point: OuterPoint): { theta: Float64Array; point: OuterPoint } | null {
  let best: { theta: Float64Array; point: OuterPoint } | null = null;
  for (let i = 0; i < theta.length; i++) {
    for (const sign of [-1, 1]) {
      const trial = Float64Array.from(theta);
      trial[i] += sign * PROBE;
      f.project(trial);
      if (trial[i] === theta[i]) continue;
      const p = f.evaluate(trial);
      if (p.value < (best?.point.value ?? point.value)) best = { theta: trial, point: p };
    }
  }
  return best;
}

const FLAT = "flat criterion: no probe improved it";
/** No usable gradient here: zero (flat) or NaN (singular KKT system). */
const stuck = (point: OuterPoint) => !finite(point.gradient) || infNorm(point.gradient) === 0;

/** Probe from a stuck point; the improved point is accepted as an iterate. */
function unstick(f: OuterProblem, theta: Float64Array, point: OuterPoint) {
  const moved = probe(f, theta, point);
  if (moved) f.accept(moved.theta, moved.point);
  return moved;
}

/**
 * Backtracking (Armijo) line search along a descent direction d, projected on the box:
 * accept C(P(θ + t d)) ≤ C(θ) + c·∇Cᵀ(P(θ + t d) − θ); otherwise shrink t to the minimiser of
 * the quadratic through C(θ), its slope and C(θ + t d), kept within [0.1t, 0.5t]; give up when
 * the step falls below xtol.
 */
function lineSearch(f: OuterProblem, theta: Float64Array, point: OuterPoint, d: Float64Array, t0: number, xtol: number) {
  let t = t0;
  for (;;) {
    const trial = f.project(theta.map((v, i) => v + t * d[i]));
    let slope = 0, move = 0;
    for (let i = 0; i < trial.length; i++) {
      slope += point.gradient[i] * (trial[i] - theta[i]);
      move = Math.max(move, Math.abs(trial[i] - theta[i]));
    }
    if (move < xtol) return null;
    const p = f.evaluate(trial);
    if (Number.isFinite(p.value) && p.value <= point.value + ARMIJO * slope) return { theta: trial, point: p, t };
    const curvature = p.value - point.value - slope; // φ(1) − φ(0) − φ'(0) in units of this trial
    const fraction = Number.isFinite(curvature) && curvature > 0 ? -slope / (2 * curvature) : 0.5;
    t *= Math.min(0.5, Math.max(0.1, fraction));
  }
}

function stalled(prev: OuterPoint, next: OuterPoint, step: number, options: OuterOptions): boolean {
  return step < options.xtol || prev.value - next.value <= options.ftol * Math.abs(prev.value);
}

/** The direction shortened, if needed, so that its largest entry is at most maxStep. */
function cap(d: Float64Array, maxStep: number): Float64Array {
  const norm = infNorm(d);
  return norm > maxStep ? d.map((v) => (v * maxStep) / norm) : d;
}

/**
 * The length (largest |Δ log λ|) of the first trial step; later trials start at twice the last
 * accepted length. Lengths, not multiples of the gradient, keep the search scale-free: the
 * log-space gradient λ·dC/dλ is tiny at small λ.
 */
const FIRST_MOVE = 0.25;

/** Records every evaluated point, for the final secant refinement. */
function recording(f: OuterProblem): OuterProblem & { history: { theta: Float64Array; point: OuterPoint }[] } {
  const history: { theta: Float64Array; point: OuterPoint }[] = [];
  return {
    history,
    evaluate(theta) {
      const point = f.evaluate(theta);
      history.push({ theta: Float64Array.from(theta), point });
      return point;
    },
    project: (theta) => f.project(theta),
    accept: (theta, point) => f.accept(theta, point),
  };
}

/**
 * One hyperparameter: finish with secant steps on dC/dλ between the best point and its nearest
 * evaluated neighbour on the other side of the minimum. While the active set is fixed the Lasso's
 * x is affine in λ and a quadratic criterion's derivative is affine, so one step lands on the
 * minimum of the piece exactly (finer than any xtol).
 */
function secantRefine(f: ReturnType<typeof recording>, result: OuterResult): OuterResult {
  if (result.theta.length !== 1) return result;
  for (let round = 0; round < 4; round++) {
    const best = result;
    const gBest = best.point.gradient[0] / Math.exp(best.theta[0]);
    if (!Number.isFinite(gBest) || gBest === 0) break;
    const others = f.history.filter((h) => Number.isFinite(h.point.gradient[0]) && Math.sign(h.point.gradient[0]) === -Math.sign(gBest));
    if (others.length === 0) break;
    const c = others.reduce((a, b) => (Math.abs(b.theta[0] - best.theta[0]) < Math.abs(a.theta[0] - best.theta[0]) ? b : a));
    const lb = Math.exp(best.theta[0]), lc = Math.exp(c.theta[0]), gc = c.point.gradient[0] / lc;
    const lambda = lb - (gBest * (lc - lb)) / (gc - gBest);
    if (!(lambda > 0)) break;
    const theta = f.project(Float64Array.of(Math.log(lambda)));
    if (Math.abs(theta[0] - best.theta[0]) < 1e-12) break;
    const point = f.evaluate(theta);
    if (!(point.value < best.point.value)) break;
    f.accept(theta, point);
    result = { ...result, theta, point };
  }
  return result;
}

/**
 * Steepest descent with a backtracking line search; the first trial step is the Barzilai–Borwein
 * (secant) step from the last move, so in one dimension the iteration is a safeguarded secant.
 */
export const gradientDescent: OuterOptimizer = (outer, theta0, options) => {
  const f = recording(outer);
  return secantRefine(f, descend(f, theta0, options));
};

function descend(f: OuterProblem, theta0: Float64Array, options: OuterOptions): OuterResult {
  let theta: Float64Array = Float64Array.from(theta0);
  let point = f.evaluate(theta);
  f.accept(theta, point);
  let length = Math.min(FIRST_MOVE, options.maxStep);
  let previous: { theta: Float64Array; gradient: Float64Array } | null = null;
  for (let k = 1; k <= options.maxIter; k++) {
    if (stuck(point)) {
      const moved = unstick(f, theta, point);
      if (!moved) return { theta, point, iterations: k - 1, converged: true, message: FLAT };
      ({ theta, point } = moved);
      previous = null;
      continue;
    }
    const gNorm = infNorm(point.gradient);
    const d = point.gradient.map((g) => -g / gNorm);
    if (previous) length = Math.min(options.maxStep, barzilaiBorwein(theta, point.gradient, previous) * gNorm || 2 * length);
    const step = lineSearch(f, theta, point, d, length, options.xtol);
    if (!step) return { theta, point, iterations: k - 1, converged: true, message: "converged: no decrease left along the gradient (step below xtol)" };
    const moved = infNorm(step.theta.map((v, i) => v - theta[i]));
    const finished = stalled(point, step.point, moved, options);
    previous = { theta, gradient: point.gradient };
    ({ theta, point } = step);
    f.accept(theta, point);
    length = moved;
    if (finished) return { theta, point, iterations: k, converged: true, message: "converged (step or decrease below tolerance)" };
  }
  return { theta, point, iterations: options.maxIter, converged: false, message: `outer iteration cap ${options.maxIter} reached` };
}

/** Barzilai–Borwein step sᵀs / sᵀy from the last move (0 when the curvature is not positive). */
function barzilaiBorwein(theta: Float64Array, gradient: Float64Array, previous: { theta: Float64Array; gradient: Float64Array }): number {
  let ss = 0, sy = 0;
  for (let i = 0; i < theta.length; i++) {
    const si = theta[i] - previous.theta[i];
    ss += si * si;
    sy += si * (gradient[i] - previous.gradient[i]);
  }
  return sy > 0 ? ss / sy : 0;
}

/** Adam (Kingma & Ba) on θ, projected on the box; returns the best iterate it saw. */
export const adam: OuterOptimizer = (f, theta0, options) => {
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const theta = Float64Array.from(theta0);
  const m = new Float64Array(theta.length), v = new Float64Array(theta.length);
  let point = f.evaluate(theta);
  f.accept(theta, point);
  let best = { theta: Float64Array.from(theta), point };
  let quiet = 0;
  for (let k = 1; k <= options.maxIter; k++) {
    if (stuck(point)) {
      const moved = probe(f, theta, point);
      if (!moved) return { theta: best.theta, point: best.point, iterations: k - 1, converged: true, message: FLAT };
      theta.set(moved.theta);
      point = moved.point;
    } else {
      const step = new Float64Array(theta.length);
      for (let i = 0; i < theta.length; i++) {
        const g = point.gradient[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        step[i] = (-options.learningRate * (m[i] / (1 - beta1 ** k))) / (Math.sqrt(v[i] / (1 - beta2 ** k)) + eps);
      }
      const capped = cap(step, options.maxStep);
      const before = Float64Array.from(theta);
      for (let i = 0; i < theta.length; i++) theta[i] += capped[i];
      f.project(theta);
      point = f.evaluate(theta);
      quiet = infNorm(theta.map((t, i) => t - before[i])) < options.xtol ? quiet + 1 : 0;
    }
    f.accept(theta, point);
    if (point.value < best.point.value) best = { theta: Float64Array.from(theta), point };
    if (quiet >= 3) return { theta: best.theta, point: best.point, iterations: k, converged: true, message: "converged (steps below xtol)" };
  }
  return { theta: best.theta, point: best.point, iterations: options.maxIter, converged: false, message: `outer iteration cap ${options.maxIter} reached (best iterate kept)` };
};

/**
 * L-BFGS (memory 8) with the same projected backtracking line search; curvature pairs with
 * sᵀy ≤ 0 (the criterion is not convex in λ) are skipped, and the memory is reset when a
 * quasi-Newton direction fails to descend.
 */
export const lbfgs: OuterOptimizer = (f, theta0, options) => {
  const memory = 8;
  const S: Float64Array[] = [], Y: Float64Array[] = [];
  let theta: Float64Array = Float64Array.from(theta0);
  let point = f.evaluate(theta);
  f.accept(theta, point);
  for (let k = 1; k <= options.maxIter; k++) {
    if (stuck(point)) {
      const moved = unstick(f, theta, point);
      if (!moved) return { theta, point, iterations: k - 1, converged: true, message: FLAT };
      ({ theta, point } = moved);
      S.length = Y.length = 0;
      continue;
    }
    let d = twoLoop(point.gradient, S, Y);
    if (S.length === 0 || d.reduce((a, di, i) => a + di * point.gradient[i], 0) >= 0) {
      // No usable curvature yet: a steepest-descent step of length FIRST_MOVE.
      S.length = Y.length = 0;
      d = point.gradient.map((g) => (-g * FIRST_MOVE) / infNorm(point.gradient));
    }
    let step = lineSearch(f, theta, point, cap(d, options.maxStep), 1, options.xtol);
    if (!step && S.length > 0) {
      S.length = Y.length = 0;
      step = lineSearch(f, theta, point, point.gradient.map((g) => (-g * FIRST_MOVE) / infNorm(point.gradient)), 1, options.xtol);
    }
    if (!step) return { theta, point, iterations: k - 1, converged: true, message: "converged: no decrease left along the search direction (step below xtol)" };
    const s = step.theta.map((v, i) => v - theta[i]);
    const y = step.point.gradient.map((g, i) => g - point.gradient[i]);
    if (finite(y) && s.reduce((a, si, i) => a + si * y[i], 0) > 1e-12) {
      S.push(s);
      Y.push(y);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
    const done = stalled(point, step.point, infNorm(s), options);
    ({ theta, point } = step);
    f.accept(theta, point);
    if (done) return { theta, point, iterations: k, converged: true, message: "converged (step or decrease below tolerance)" };
  }
  return { theta, point, iterations: options.maxIter, converged: false, message: `outer iteration cap ${options.maxIter} reached` };
};

/** The L-BFGS two-loop recursion: −H_k g with H_0 = (sᵀy / yᵀy) I. */
function twoLoop(g: Float64Array, S: Float64Array[], Y: Float64Array[]): Float64Array {
  const q = Float64Array.from(g);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const alpha: number[] = [];
  for (let i = S.length - 1; i >= 0; i--) {
    const a = dot(S[i], q) / dot(Y[i], S[i]);
    alpha[i] = a;
    for (let j = 0; j < q.length; j++) q[j] -= a * Y[i][j];
  }
  const last = S.length - 1;
  const gamma = last >= 0 ? dot(S[last], Y[last]) / dot(Y[last], Y[last]) : 1;
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < S.length; i++) {
    const b = dot(Y[i], q) / dot(Y[i], S[i]);
    for (let j = 0; j < q.length; j++) q[j] += (alpha[i] - b) * S[i][j];
  }
  return q.map((v) => -v);
}

/** The optimiser run after one check of its arguments (the outer problem, a finite θ₀, an options object). */
function checked(run: OuterOptimizer): OuterOptimizer {
  return (outer, theta0, options) => {
    if (typeof outer?.evaluate !== "function" || typeof outer.project !== "function" || typeof outer.accept !== "function") throw new InputError("problem", "expected an outer problem { evaluate, project, accept }");
    requireVector("theta0", theta0, theta0?.length);
    requireObject("options", options, "outer options { maxIter, xtol, ftol, maxStep, learningRate }");
    return run(outer, theta0, options);
  };
}

export const OPTIMIZERS = { linesearch: checked(gradientDescent), adam: checked(adam), lbfgs: checked(lbfgs) } satisfies Record<string, OuterOptimizer>;
export type OptimizerName = keyof typeof OPTIMIZERS;
