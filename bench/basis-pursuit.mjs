// Basis-pursuit section of `npm run bench`: min ‖x‖₁ subject to Ax = y on a 1000×5000 Gaussian
// problem with 50 non-zeros (generated here from a seeded Random), by the Bregman iteration with
// its exact finish (src/solvers/basis-pursuit.ts). In-process: the first (cold) run, then the best
// of runs after warm-up. Target (issue 8): exact recovery, relative error ≤ 1e-8, in under 1 s.
// With total variation (src/solvers/basis-pursuit-tv.ts), min ‖Dx‖₁ subject to Ax = y: a 1-D
// signal of n = 2000 with 20 jumps from 400 Gaussian measurements, and the 64×64 Shepp–Logan
// phantom from 30% of its DCT coefficients (the DC one included); cold run and best of 2.

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

/** A 1-D staircase: n samples, `jumps` jumps of ±(0.5 … 2.5) at random places, from N(0, 1/m) Gaussian rows. */
function staircaseRecovery(lib, m, n, jumps, seed) {
  const rng = new lib.Random(seed);
  const data = new Float64Array(m * n);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() / Math.sqrt(m);
  const A = new lib.DenseMatrix(m, n, data);
  const at = new Set(rng.sample(n - 1, jumps));
  const truth = new Float64Array(n);
  let level = rng.normal();
  for (let j = 0; j < n; j++) {
    if (at.has(j - 1)) level += (0.5 + 2 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
    truth[j] = level;
  }
  const y = A.apply(truth, new Float64Array(m));
  return { problem: lib.createProblem({ A, y, grid: [n], penalty: { tv: 1 }, basisPursuit: true }), truth };
}

/** The h×h modified Shepp–Logan phantom from a fraction of its DCT coefficients (the DC one and a seeded random set). */
function phantomRecovery(lib, h, fraction, seed) {
  const n = h * h, m = Math.round(fraction * n);
  const truth = lib.sheppLogan(h, h).data;
  const rng = new lib.Random(seed);
  const indices = [0, ...rng.sample(n - 1, m - 1).map((k) => k + 1)].sort((a, b) => a - b);
  const A = new lib.SubsampledDctOperator(h, h, indices);
  const y = A.apply(truth, new Float64Array(m));
  return { problem: lib.createProblem({ A, y, grid: [h, h], penalty: { tv: 1 }, basisPursuit: true }), truth };
}

export async function basisPursuitTvSection(ctx) {
  const { lib, table } = ctx;
  const rows = [];
  // The phantom ends on the Bregman iterate certified at tol 1e-8 (its exact finish finds the 44
  // pieces but not a dual point within tol): relative error about 1e-8, not rounding.
  const cases = [
    ["1-D n=2000, 20 jumps, 400 Gaussian rows", () => staircaseRecovery(lib, 400, 2000, 20, 1), 1e-8],
    ["64x64 phantom, 30% DCT", () => phantomRecovery(lib, 64, 0.3, 1), 3e-8],
  ];
  for (const [label, make, maxError] of cases) {
    const { problem, truth } = make();
    let t = performance.now();
    let sol = lib.solve(problem);
    const cold = performance.now() - t;
    let best = Infinity;
    for (let r = 0; r < 2; r++) {
      t = performance.now();
      sol = lib.solve(problem);
      best = Math.min(best, performance.now() - t);
    }
    const err = relativeError(sol.x, truth);
    const segments = sol.structure.find((p) => p.kind === "pieces").segments;
    if (!(sol.converged && err <= maxError)) ctx.failed(`basis pursuit with tv: ${label}`, `not recovered (relative error ${err.toExponential(2)}, converged ${sol.converged})`);
    rows.push([label, cold.toFixed(0), best.toFixed(0), String(sol.iterations), err.toExponential(2), String(segments), (sol.feasibilityResidual / Math.hypot(...problem.y)).toExponential(2), sol.dualityGap.toExponential(2)]);
  }
  table(["problem", "first ms", "best ms", "Bregman steps", "rel. error", "pieces", "‖Ax−y‖/‖y‖", "gap"], rows);
  console.log("target: exact recovery (relative error ≤ 1e-8) of the 1-D staircase; the phantom within 3e-8.");
}
