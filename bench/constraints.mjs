// Constraints section of `npm run bench`: cs-1000x5000's A with 5 random Gaussian equality
// constraints and x ≥ 0, against the unconstrained solve of the same data to the same tolerance.
// The measurements come from a non-negative sparse signal (|x| of the unconstrained Lasso solution
// of cs-1000x5000, plus 1% noise: cs-1000x5000's own y comes from a signed truth, under x ≥ 0 its
// support grows from 93 to 849 features and that would measure the data, not the constraints);
// d = C·(that signal), so the constraints hold for the truth. l1 = 0.02·λ_max as in cs-1000x5000.
// In-process timings after JIT warm-up: the problems run in turn, round after round (a burst of
// load from other processes then hits them alike), and each keeps its best wall-clock and CPU time
// (process.cpuUsage: what a loaded, shared machine does not inflate much).
import { join } from "node:path";

function alternating(fns, { warmup = 2, reps = 7 } = {}) {
  const out = fns.map(() => ({ ms: Infinity, cpu: Infinity, result: undefined }));
  for (let k = 0; k < warmup + reps; k++) {
    fns.forEach((fn, i) => {
      const t = performance.now(), c = process.cpuUsage();
      const result = fn();
      const used = process.cpuUsage(c), ms = performance.now() - t;
      out[i].result = result;
      if (k < warmup) return;
      out[i].ms = Math.min(out[i].ms, ms);
      out[i].cpu = Math.min(out[i].cpu, (used.user + used.system) / 1000);
    });
  }
  return out;
}

const best = (fn, options) => alternating([fn], options)[0];

export async function constraintsSection(ctx) {
  const { lib, DATA, table } = ctx;
  const base = lib.loadProblemFile(join(DATA, "cs-1000x5000.json"));
  const { A } = base;
  const n = A.cols, p = 5, tol = 1e-8;
  const rng = new lib.Random(7);
  const C = Array.from({ length: p }, () => Array.from({ length: n }, () => rng.normal()));
  const signal = lib.solve(base, { tol }).x.map(Math.abs);
  const y = A.apply(signal, new Float64Array(A.rows)).map((v) => v + 0.01 * rng.normal());
  const aty = A.applyT(y, new Float64Array(n));
  const penalty = { l1: 0.02 * aty.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
  const d = C.map((row) => row.reduce((s, c, j) => s + c * signal[j], 0));
  const plain = lib.createProblem({ A, y, penalty });
  const bounded = lib.createProblem({ A, y, penalty, bounds: { lower: 0 } });
  const constrained = lib.createProblem({ A, y, penalty, constraints: { C, d }, bounds: { lower: 0 } });
  const cases = [["unconstrained", plain], ["x ≥ 0", bounded], ["x ≥ 0, 5 equalities", constrained]];
  const timings = alternating(cases.map(([, problem]) => () => lib.solve(problem, { tol })), { reps: 9 });
  const [reference] = timings;
  const rows = cases.map(([label], i) => {
    const { ms, cpu, result } = timings[i];
    return [label, result.solver, ms.toFixed(1), (ms / reference.ms).toFixed(2), cpu.toFixed(1), (cpu / reference.cpu).toFixed(2), String(result.iterations), String(result.active.length),
      result.activeBounds ? String(result.activeBounds.lower.length) : "-", result.feasibilityResidual === undefined ? "-" : result.feasibilityResidual.toExponential(1),
      result.kktViolation.toExponential(1), result.converged ? "" : `NOT CONVERGED ${result.message}`];
  });
  table(["problem", "solver", "ms", "× unconstrained", "cpu ms", "cpu ×", "iterations", "|supp|", "at x = 0 bound", "‖Cx − d‖", "KKT", "note"], rows);
  const criterion = lib.HeldOutMse.of(base);
  const solved = lib.solve(constrained, { tol });
  const grad = best(() => lib.hypergradient({ ...constrained, validation: base.validation }, solved, criterion), { reps: 5 });
  table(["hypergradient ms", "method", "dMSE/dl1"], [[grad.ms.toFixed(2), grad.result.method, grad.result.l1.toPrecision(6)]]);
  console.log(`target: the constrained solve within 2× the unconstrained one at tol ${tol} (cpu × on a loaded machine).`);
  tvRow(lib, table);
}

// TV with constraints and bounds: 128×128 Shepp–Logan denoising (noise 0.1, tv = 0.08) with the
// mean fixed at the clean image's and 0 ≤ x ≤ 1, against the unconstrained solves (Split Bregman
// and tv-denoise, the default there) at tol 1e-6. A fresh y per run (tv-denoise keeps its last dual).
function tvRow(lib, table) {
  const h = 128, n = h * h, tol = 1e-6;
  const clean = lib.sheppLogan(h).data;
  const rng = new lib.Random(3);
  const y = Float64Array.from(clean, (v) => v + 0.1 * rng.normal());
  const base = { A: { identity: n }, y, grid: [h, h], penalty: { tv: 0.08 } };
  const meanRow = [new Array(n).fill(1 / n)], d = [clean.reduce((s, v) => s + v, 0) / n];
  const cases = [
    ["unconstrained", lib.createProblem(base), "tv-denoise"],
    ["unconstrained", lib.createProblem(base), "split-bregman"],
    ["mean, 0 ≤ x ≤ 1", lib.createProblem({ ...base, constraints: { C: meanRow, d }, bounds: { lower: 0, upper: 1 } }), "split-bregman"],
  ];
  const rows = [];
  let reference;
  for (const [label, problem, solver] of cases) {
    const { ms, result } = best(() => lib.solve({ ...problem, y: Float64Array.from(problem.y) }, { tol, solver }), { warmup: 1, reps: 2 });
    if (solver === "split-bregman") reference ??= ms;
    rows.push([label, solver, ms.toFixed(0), solver === "split-bregman" ? (ms / reference).toFixed(2) : "-", String(result.iterations),
      result.activeBounds ? `${result.activeBounds.lower.length}/${result.activeBounds.upper.length}` : "-", result.feasibilityResidual === undefined ? "-" : result.feasibilityResidual.toExponential(1),
      result.converged ? "" : `NOT CONVERGED ${result.message}`]);
  }
  table(["128×128 TV denoising", "solver", "ms", "× unconstrained SB", "iterations", "at lower/upper", "‖Cx − d‖", "note"], rows);
}
