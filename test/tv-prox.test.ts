import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { tvDual1d, tvProx1d } from "../src/penalties/tv-prox-1d.js";
import { tvProx2d, TvProx2dWorkspace } from "../src/penalties/tv-prox-2d.js";
import { maxDiff, Rng } from "./math-support.js";

/**
 * Oracles, written here and independent of the code under test:
 * - 1-D brute force (n ≤ 8): the minimizer is constant on pieces, and for a given partition into
 *   pieces and signs s_j of the jumps between them the stationary point has the closed form
 *   c_j = mean_j + λ(s_j − s_{j−1})/|piece j| (s = 0 at the ends). Every such candidate is a
 *   feasible point, and x* is the candidate of its own pieces and signs, so the candidate with
 *   the least objective is x*. Nothing but objective evaluations.
 * - The dual box QP min ½‖v − Dᵀz‖² s.t. |z| ≤ λ, with D written edge by edge from the format's
 *   definition, by projected gradient with FISTA momentum and restarts run to a standstill.
 */
type Edge = [from: number, to: number];

function gridEdges(h: number, w: number): Edge[] {
  const edges: Edge[] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c + 1 < w; c++) edges.push([r * w + c, r * w + c + 1]);
  for (let r = 0; r + 1 < h; r++) for (let c = 0; c < w; c++) edges.push([r * w + c, (r + 1) * w + c]);
  return edges;
}

function objective(v: ArrayLike<number>, x: ArrayLike<number>, lambda: number, edges: Edge[]): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (x[i] - v[i]) ** 2 / 2;
  for (const [a, b] of edges) s += lambda * Math.abs(x[b] - x[a]);
  return s;
}

/** v − Dᵀz with (Dᵀz)[to] += z_e, (Dᵀz)[from] −= z_e. */
function primalOf(v: ArrayLike<number>, z: ArrayLike<number>, edges: Edge[]): Float64Array {
  const x = Float64Array.from(v);
  edges.forEach(([a, b], e) => {
    x[b] -= z[e];
    x[a] += z[e];
  });
  return x;
}

function bruteForce1d(v: number[], lambda: number): Float64Array {
  const n = v.length, edges = gridEdges(1, n);
  let best = Float64Array.from(v), bestValue = Infinity;
  for (let code = 0; code < 3 ** (n - 1); code++) {
    // Gap k (between k and k+1): 0 = same piece, 1 = jump up, 2 = jump down.
    const jumps = Array.from({ length: n - 1 }, (_, k) => Math.floor(code / 3 ** k) % 3);
    const x = new Float64Array(n);
    let from = 0, before = 0;
    for (let k = 0; k < n; k++) {
      if (k < n - 1 && jumps[k] === 0) continue;
      const after = k < n - 1 ? (jumps[k] === 1 ? 1 : -1) : 0;
      let mean = 0;
      for (let i = from; i <= k; i++) mean += v[i] / (k - from + 1);
      x.fill(mean + (lambda * (after - before)) / (k - from + 1), from, k + 1);
      from = k + 1;
      before = after;
    }
    const value = objective(v, x, lambda, edges);
    if (value < bestValue) [best, bestValue] = [x, value];
  }
  return best;
}

function dualOracle(v: ArrayLike<number>, h: number, w: number, lambda: number): { x: Float64Array; z: Float64Array } {
  const edges = gridEdges(h, w), m = edges.length, step = h > 1 && w > 1 ? 1 / 8 : 1 / 4;
  const z = new Float64Array(m), y = new Float64Array(m), previous = new Float64Array(m);
  let t = 1, still = 0;
  for (let iter = 0; iter < 200_000 && still < 200; iter++) {
    const x = primalOf(v, y, edges);
    let against = 0, moved = 0;
    edges.forEach(([a, b], e) => {
      previous[e] = z[e];
      z[e] = Math.max(-lambda, Math.min(lambda, y[e] + step * (x[b] - x[a])));
      against += (y[e] - z[e]) * (z[e] - previous[e]);
      moved = Math.max(moved, Math.abs(z[e] - previous[e]));
    });
    still = moved <= 1e-17 * lambda ? still + 1 : 0;
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const beta = against > 0 ? 0 : (t - 1) / tNext;
    t = against > 0 ? 1 : tNext;
    for (let e = 0; e < m; e++) y[e] = z[e] + beta * (z[e] - previous[e]);
  }
  return { x: primalOf(v, z, edges), z };
}

const mean = (v: ArrayLike<number>): number => Array.from(v).reduce((s, a) => s + a, 0) / v.length;
const scaleOf = (v: ArrayLike<number>, lambda: number): number => Math.max(lambda, ...Array.from(v, Math.abs));

/** Signals with ties, constants, steps and alternations as well as noise. */
const signal = (minLength: number, maxLength: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -3, max: 3 }), { minLength, maxLength }),
    fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength, maxLength }),
    fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.double({ min: -5, max: 5, noNaN: true })).map(([n, c]) => Array<number>(n).fill(c)),
    fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer({ min: 0, max: maxLength }), fc.double({ min: -5, max: 5, noNaN: true })).map(([n, at, jump]) =>
      Array.from({ length: n }, (_, k) => (k >= at ? jump : 0)),
    ),
    fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.double({ min: 0.01, max: 5, noNaN: true })).map(([n, a]) => Array.from({ length: n }, (_, k) => (k % 2 ? a : -a))),
  );
const lambdaArb = fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 3, noNaN: true }), fc.double({ min: 3, max: 1e4, noNaN: true }));
const scaleArb = fc.constantFrom(1, 1e-150, 1e150);

describe("tvProx1d", () => {
  it("matches the brute-force minimizer on short signals, at scales 1e-150, 1 and 1e150", () => {
    fc.assert(
      fc.property(signal(1, 8), lambdaArb, scaleArb, (v, lambda, s) => {
        const expected = bruteForce1d(v, lambda);
        const out = new Float64Array(v.length);
        tvProx1d(Float64Array.from(v, (a) => a * s), lambda * s, out);
        const got = Array.from(out, (a) => a / s);
        // (+1e-150: the oracle's squares underflow below 1e-154, as do entries below 1e-150 scaled by 1e-150)
        expect(maxDiff(got, expected)).toBeLessThanOrEqual(1e-14 * scaleOf(v, lambda) + 1e-150);
      }),
      { numRuns: 1500 },
    );
  });

  it("matches the brute-force minimizer where the dual's running sum crosses ±λ and comes back (a jump found late is wrong)", () => {
    const cases: [number[], number][] = [
      [[0, 1, 2, 0], 5 / 11],
      [[-1, 0.8250442669034346, 1, 1, -3, -3, 2.7730324484780198, 3, 1], 2.7574768188967402],
      [[1.9937344993855515, 0, -2.7383560872940973, -1.741173053587889, 3, 0.31828204956198025], 2.156149447114111],
      [[0.8837069305366905, 0.0864214267165262, 1, -3, 2, 1, 1.4405850107123328, 1], 1.5626547826274255],
      [[-1, 1, -1, 1, -1], 0.8],
      [[-1, 1, -1, 1], 0.5],
    ];
    for (const [v, lambda] of cases) {
      const out = new Float64Array(v.length);
      tvProx1d(Float64Array.from(v), lambda, out);
      expect(maxDiff(out, bruteForce1d(v, lambda))).toBeLessThanOrEqual(1e-14 * scaleOf(v, lambda));
    }
  });

  it("satisfies the KKT conditions with the dual of tvDual1d: u = v − Dᵀz, |z| ≤ λ, z_k = λ·sign(u_{k+1} − u_k) at jumps", () => {
    fc.assert(
      fc.property(signal(1, 300), lambdaArb, scaleArb, (raw, lambda0, s) => {
        const v = Float64Array.from(raw, (a) => a * s), lambda = lambda0 * s, n = v.length;
        const u = new Float64Array(n), z = new Float64Array(Math.max(n - 1, 0));
        tvProx1d(v, lambda, u);
        tvDual1d(v, u, lambda, z);
        // Running sums of n terms of size ≤ 2·scale: a few ε·n·scale of rounding.
        const tol = 16 * Number.EPSILON * n * scaleOf(v, lambda);
        const residual = primalOf(v, z, gridEdges(1, n)).map((x, i) => x - u[i]);
        expect(maxDiff(residual, new Float64Array(n))).toBeLessThanOrEqual(tol);
        for (let k = 0; k < n - 1; k++) {
          expect(Math.abs(z[k])).toBeLessThanOrEqual(lambda);
          const jump = u[k + 1] - u[k];
          if (Math.abs(jump) > tol) expect(Math.abs(z[k] - lambda * Math.sign(jump))).toBeLessThanOrEqual(tol);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("agrees with the dual projected-gradient oracle on longer noisy signals", () => {
    const rng = new Rng(7);
    for (const [n, lambda] of [[30, 0.3], [40, 1.5], [25, 0.05]] as const) {
      const v = Float64Array.from({ length: n }, (_, k) => (k > n / 2 ? 2 : 0) + rng.normal());
      const u = new Float64Array(n);
      tvProx1d(v, lambda, u);
      expect(maxDiff(u, dualOracle(v, 1, n, lambda).x)).toBeLessThanOrEqual(1e-14);
    }
  });

  it("copies for λ = 0 and n = 1, returns the mean for λ ≥ λ_max", () => {
    const v = Float64Array.from([3, -1, 4, 1, -5]), out = new Float64Array(5);
    tvProx1d(v, 0, out);
    expect(out).toEqual(v);
    tvProx1d(Float64Array.of(2.5), 7, out, 1);
    expect(out[0]).toBe(2.5);
    // λ_max = max_k |Σ_{i≤k}(v_i − v̄)| = 5.4 (partial sums 2.6, 1.2, 4.8, 5.4, 0; v̄ = 0.4).
    for (const lambda of [5.5, 1e300]) {
      tvProx1d(v, lambda, out);
      for (const u of out) expect(u).toBeCloseTo(0.4, 15);
    }
    tvProx1d(v, 5.3, out);
    expect(out[4]).toBeCloseTo(0.4 - 0.1, 12);
  });

  it("solves strided slices in place (the columns of an image) and leaves the other entries alone", () => {
    const rng = new Rng(3), h = 6, w = 5;
    const image = Float64Array.from({ length: h * w }, () => rng.normal());
    const before = image.slice();
    tvProx1d(image, 0.4, image, h, 2, w);
    const column = Float64Array.from({ length: h }, (_, r) => before[r * w + 2]), expected = new Float64Array(h);
    tvProx1d(column, 0.4, expected);
    for (let i = 0; i < h * w; i++) expect(image[i]).toBe(i % w === 2 ? expected[(i - 2) / w] : before[i]);
    const z = new Float64Array(2 * h);
    tvDual1d(before, image, 0.4, z, h, 2, w, 1, 2);
    const zExpected = new Float64Array(h - 1);
    tvDual1d(column, expected, 0.4, zExpected);
    expect(Array.from({ length: h - 1 }, (_, k) => z[1 + 2 * k])).toEqual(Array.from(zExpected));
  });

  it("rejects a bad λ or a slice outside the arrays", () => {
    const v = new Float64Array(4);
    for (const call of [() => tvProx1d(v, -1, v), () => tvProx1d(v, NaN, v), () => tvProx1d(v, Infinity, v), () => tvProx1d(v, 1, v, 3, 2), () => tvProx1d(v, 1, new Float64Array(3)), () => tvDual1d(v, v, 1, new Float64Array(2))]) {
      expect(call).toThrow(InputError);
    }
  });
});

describe("tvProx2d", () => {
  const image = (h: number, w: number, seed: number, ties = false) => {
    const rng = new Rng(seed);
    return Float64Array.from({ length: h * w }, (_, i) => (ties ? Math.round(3 * rng.uniform()) : (i % w > w / 2 ? 1 : 0) + 0.5 * rng.normal()));
  };

  // ½‖x − x*‖² ≤ P(x) − P(x*) ≤ gap: two certified points are within √(2 gap₁) + √(2 gap₂).
  const within = (a: { gap: number }, b: { gap: number }) => Math.sqrt(2 * a.gap) + Math.sqrt(2 * b.gap) + 1e-14;

  it("reduces to the 1-D solve for one row or one column", () => {
    const v = image(1, 40, 1), u = new Float64Array(40), x = new Float64Array(40);
    tvProx1d(v, 0.7, u);
    for (const [h, w] of [[1, 40], [40, 1]]) {
      const res = tvProx2d(v, h, w, 0.7, x);
      expect(maxDiff(x, u)).toBeLessThanOrEqual(1e-14);
      expect(res.converged).toBe(true);
      expect(res.gap).toBeLessThanOrEqual(1e-13);
      expect(res.dual.length).toBe(39);
    }
    const single = new Float64Array(1);
    expect(tvProx2d(Float64Array.of(-3.5), 1, 1, 2, single)).toMatchObject({ gap: 0, converged: true, dual: new Float64Array(0) });
    expect(single[0]).toBe(-3.5);
  });

  it("matches the dual projected-gradient oracle on small images, and its gap bounds P(x) − P(x*)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 6 }), fc.integer(), fc.boolean(), lambdaArb, (h, w, seed, ties, lambda) => {
        const v = image(h, w, seed, ties), edges = gridEdges(h, w), x = new Float64Array(h * w);
        const res = tvProx2d(v, h, w, lambda, x, { tol: 1e-14, checkEvery: 1 });
        const oracle = dualOracle(v, h, w, lambda);
        const scale = Math.max(1, objective(v, oracle.x, lambda, edges));
        // converged means gap ≤ max(tol·½‖v − v̄‖², the rounding floor 16ελ Σ_i |v_i| + |v_i − x_i|)
        const halfSpread = v.reduce((s, a) => s + (a - mean(v)) ** 2 / 2, 0);
        const floor = 16 * Number.EPSILON * lambda * v.reduce((s, a, i) => s + Math.abs(a) + Math.abs(a - x[i]), 0);
        expect(res.converged).toBe(true);
        expect(res.gap).toBeLessThanOrEqual(Math.max(1e-14 * halfSpread, floor));
        expect(objective(v, x, lambda, edges) - objective(v, oracle.x, lambda, edges)).toBeLessThanOrEqual(res.gap + 1e-13 * scale);
        expect(maxDiff(x, oracle.x)).toBeLessThanOrEqual(Math.sqrt(2 * res.gap) + 1e-12);
      }),
      { numRuns: 60 },
    );
  });

  it("returns a valid certificate after any number of iterations: |z| ≤ λ, out = v − Dᵀz, gap ≥ P(out) − P(x*)", () => {
    const h = 7, w = 6, lambda = 0.35, v = image(h, w, 11), edges = gridEdges(h, w);
    const best = objective(v, dualOracle(v, h, w, lambda).x, lambda, edges);
    const x = new Float64Array(h * w);
    for (const maxIter of [1, 2, 3, 5, 8]) {
      const res = tvProx2d(v, h, w, lambda, x, { maxIter, tol: 0 });
      expect(Math.max(...Array.from(res.dual, Math.abs))).toBeLessThanOrEqual(lambda);
      expect(maxDiff(x, primalOf(v, res.dual, edges))).toBeLessThanOrEqual(1e-14);
      const dual = v.reduce((s, a) => s + (a * a) / 2, 0) - x.reduce((s, a) => s + (a * a) / 2, 0);
      expect(res.gap).toBeCloseTo(objective(v, x, lambda, edges) - dual, 12);
      // The whole certificate (what a denoising solve reports): the same gap, the objective P(out), KKT at rounding.
      expect(res.certificate.dualityGap).toBe(res.gap);
      expect(res.certificate.objective).toBeCloseTo(objective(v, x, lambda, edges), 12);
      expect(res.certificate.kktViolation).toBeLessThanOrEqual(1e-14);
      expect(objective(v, x, lambda, edges) - best).toBeLessThanOrEqual(res.gap + 1e-13);
      expect(res.iterations).toBe(maxIter);
      // out is the last row solve's output and z_h its dual: z_e = λ·sign(jump) along the rows.
      edges.forEach(([a, b], e) => {
        if (e < h * (w - 1) && Math.abs(x[b] - x[a]) > 1e-12) expect(res.dual[e]).toBeCloseTo(lambda * Math.sign(x[b] - x[a]), 12);
      });
    }
  });

  it("is offset invariant, with the tolerance relative to ½‖v − v̄‖²", () => {
    const h = 6, w = 7, v = image(h, w, 8), x = new Float64Array(h * w), shifted = new Float64Array(h * w);
    const halfSpread = v.reduce((s, a) => s + (a - mean(v)) ** 2 / 2, 0);
    const res = tvProx2d(v, h, w, 0.4, x, { tol: 1e-8 });
    const offset = tvProx2d(v.map((a) => a + 1000), h, w, 0.4, shifted, { tol: 1e-8 });
    expect(offset.gap).toBeLessThanOrEqual(1e-8 * halfSpread);
    expect(maxDiff(shifted.map((a) => a - 1000), x)).toBeLessThanOrEqual(within(res, offset) + 1e-12);
  });

  it("gives the mean for a huge λ and v itself for λ = 0 or a constant image", () => {
    const v = image(5, 4, 2), x = new Float64Array(20);
    let res = tvProx2d(v, 5, 4, 1e6, x);
    expect(maxDiff(x, new Float64Array(20).fill(mean(v)))).toBeLessThanOrEqual(1e-14);
    expect(res.converged).toBe(true);
    res = tvProx2d(v, 5, 4, 0, x);
    expect(Array.from(x)).toEqual(Array.from(v));
    const flat = new Float64Array(20).fill(-2.5);
    res = tvProx2d(flat, 5, 4, 0.3, x);
    expect(Array.from(x)).toEqual(Array.from(flat));
    expect(res.gap).toBe(0);
    expect(res.converged).toBe(true);
  });

  it("scales: x(s·v, s·λ) = s·x(v, λ) at s = 1e-150 and 1e150", () => {
    const v = image(5, 6, 4), x = new Float64Array(30), xs = new Float64Array(30);
    const res = tvProx2d(v, 5, 6, 0.3, x, { tol: 1e-14 });
    for (const s of [1e-150, 1e150]) {
      const scaled = tvProx2d(v.map((a) => a * s), 5, 6, 0.3 * s, xs, { tol: 1e-14 });
      expect(scaled.converged).toBe(true);
      expect(maxDiff(xs.map((a) => a / s), x)).toBeLessThanOrEqual(within(res, { gap: scaled.gap / s / s }));
    }
  });

  it("starts from a warm dual (the solution's own dual: certified before any iteration) and reuses a workspace, in place", () => {
    const h = 8, w = 9, v = image(h, w, 5), ws = new TvProx2dWorkspace(h, w), x = new Float64Array(h * w);
    const cold = tvProx2d(v, h, w, 0.4, x, { workspace: ws, tol: 1e-13 });
    expect(cold.dual).toBe(ws.dual);
    expect(cold.iterations).toBeGreaterThan(1);
    const solution = x.slice(), coldGap = cold.gap;
    const warm = tvProx2d(v, h, w, 0.4, x, { workspace: ws, warmDual: ws.dual, tol: 1e-13, checkEvery: 1 });
    expect(warm.iterations).toBe(0);
    expect(maxDiff(x, solution)).toBeLessThanOrEqual(within(warm, { gap: coldGap }));
    const nearby = tvProx2d(v, h, w, 0.6, x, { workspace: ws, warmDual: ws.dual, tol: 1e-13 });
    const fresh = new Float64Array(h * w);
    const reference = tvProx2d(v, h, w, 0.6, fresh, { tol: 1e-13 });
    expect(nearby.converged).toBe(true);
    expect(maxDiff(x, fresh)).toBeLessThanOrEqual(within(nearby, reference));
    const inPlace = v.slice();
    const res = tvProx2d(inPlace, h, w, 0.6, inPlace, { tol: 1e-13, checkEvery: 1 });
    expect(res.iterations).toBeGreaterThan(3);
    expect(maxDiff(inPlace, fresh)).toBeLessThanOrEqual(within(res, reference));
  });

  it("rejects mismatched sizes, workspaces, warm duals and options", () => {
    const v = new Float64Array(12), x = new Float64Array(12);
    for (const call of [
      () => tvProx2d(v, 3, 5, 1, x),
      () => tvProx2d(v, 3, 4, -1, x),
      () => tvProx2d(v, 3, 4, 1, x, { workspace: new TvProx2dWorkspace(4, 3) }),
      () => tvProx2d(v, 3, 4, 1, x, { warmDual: new Float64Array(3) }),
      () => tvProx2d(v, 3, 4, 1, x, { maxIter: 0 }),
      () => tvProx2d(v, 3, 4, 1, x, { tol: NaN }),
      () => new TvProx2dWorkspace(0, 3),
    ]) {
      expect(call).toThrow(InputError);
    }
  });
});
