// Basis-pursuit section of `npm run bench`: min ‖x‖₁ subject to Ax = y on a 1000×5000 Gaussian
// problem with 50 non-zeros (generated here from a seeded Random), by the Bregman iteration with
// its exact finish (src/solvers/basis-pursuit.ts). In-process: the first (cold) run, then the best
// of runs after warm-up. Target (issue 8): exact recovery, relative error ≤ 1e-8, in under 1 s.

/** The problem: A with N(0, 1/m) entries (column-major), x with k non-zeros ±(0.5 … 2.5), y = Ax. */
function gaussianRecovery(lib, m, n, k, seed) {
  const rng = new lib.Random(seed);
  const data = new Float64Array(m * n);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() / Math.sqrt(m);
  const A = new lib.DenseMatrix(m, n, data);
  const truth = new Float64Array(n);
  for (const j of rng.sample(n, k)) truth[j] = (0.5 + 2 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
  const y = A.apply(truth, new Float64Array(m));
  return { problem: lib.createProblem({ A, y, penalty: { l1: 1 }, basisPursuit: true }), truth };
}

function relativeError(x, truth) {
  let e = 0, t = 0;
  for (let j = 0; j < x.length; j++) {
    e += (x[j] - truth[j]) ** 2;
    t += truth[j] ** 2;
  }
  return Math.sqrt(e / t);
}

export async function basisPursuitSection(ctx) {
  const { lib, table } = ctx;
  const rows = [];
  for (const [m, n, k, seed] of [[1000, 5000, 50, 1], [1000, 5000, 50, 2], [1000, 5000, 100, 3]]) {
    const { problem, truth } = gaussianRecovery(lib, m, n, k, seed);
    let t = performance.now();
    let sol = lib.solve(problem);
    const cold = performance.now() - t;
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      t = performance.now();
      sol = lib.solve(problem);
      best = Math.min(best, performance.now() - t);
    }
    const support = sol.active.length === k && sol.active.every((j) => truth[j] !== 0);
    const err = relativeError(sol.x, truth);
    if (!(sol.converged && support && err <= 1e-8)) ctx.failed(`basis pursuit ${m}x${n} k=${k}`, `not recovered (relative error ${err.toExponential(2)}, converged ${sol.converged})`);
    rows.push([`${m}x${n} k=${k} seed ${seed}`, cold.toFixed(1), best.toFixed(1), String(sol.iterations), err.toExponential(2), support ? "exact" : "WRONG", (sol.feasibilityResidual / Math.hypot(...problem.y)).toExponential(2), sol.dualityGap.toExponential(2), sol.complementarityMargin.toFixed(3)]);
  }
  table(["problem", "first ms", "best ms", "Bregman steps", "rel. error", "support", "‖Ax−y‖/‖y‖", "gap", "margin"], rows);
  console.log("target: 1000x5000 with 50 non-zeros recovered exactly (relative error ≤ 1e-8) in under 1 s.");
}
