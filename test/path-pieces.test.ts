import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { minimiseOnBracket, BRACKET_FACTOR } from "../src/tune/exact-finish.js";
import type { PathWalk } from "../src/tune/objective.js";
import { meanOfPieces, minimumOfPieces, type CriterionPiece } from "../src/tune/path-pieces.js";

/** A curve's value at l1 straight from its definition: the piece holding l1, c0 + c1 τ + c2 τ², τ = hi − l1. */
function valueAt(pieces: readonly CriterionPiece[], l1: number): number {
  const piece = pieces.find((p) => l1 <= p.hi && l1 >= p.lo)!;
  const tau = piece.hi - l1;
  return piece.quadratic[0] + piece.quadratic[1] * tau + piece.quadratic[2] * tau * tau;
}

/** A continuous curve through `knots` (descending l1, at least two) with convex pieces of the given curvatures. */
function continuousCurve(knots: number[], start: number, slopes: number[], curvatures: number[]): CriterionPiece[] {
  const pieces: CriterionPiece[] = [];
  let value = start;
  for (let i = 0; i + 1 < knots.length; i++) {
    const [hi, lo] = [knots[i], knots[i + 1]];
    const q: [number, number, number] = [value, slopes[i], curvatures[i]];
    pieces.push({ hi, lo, quadratic: q });
    const tau = hi - lo;
    value = q[0] + q[1] * tau + q[2] * tau * tau;
  }
  return pieces;
}

const curveArb = (top: number, bottom: number) =>
  fc.record({
    cuts: fc.uniqueArray(fc.double({ min: bottom, max: top, noNaN: true }), { maxLength: 6 }),
    start: fc.double({ min: 0, max: 10, noNaN: true }),
    slopes: fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 7, maxLength: 7 }),
    curvatures: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 7, maxLength: 7 }),
  }).map(({ cuts, start, slopes, curvatures }) => {
    const knots = [top, ...cuts.filter((c) => c > bottom && c < top).sort((a, b) => b - a), bottom];
    return continuousCurve(knots, start, slopes, curvatures);
  });

describe("meanOfPieces", () => {
  it("equals the mean of the curves at every l1 of their common range, cut at the union of their breakpoints", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 1.5, max: 3, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true })), { minLength: 1, maxLength: 5 }).chain((ranges) =>
        fc.tuple(...ranges.map(([top, bottom]) => curveArb(top, bottom)))), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }), (curves, fractions) => {
        const mean = meanOfPieces(curves);
        const top = Math.min(...curves.map((c) => c[0].hi)), bottom = Math.max(...curves.map((c) => c[c.length - 1].lo));
        expect(mean[0].hi).toBe(top);
        expect(mean[mean.length - 1].lo).toBe(bottom);
        for (let i = 1; i < mean.length; i++) expect(mean[i].hi).toBe(mean[i - 1].lo);
        // Every cut of the mean is a breakpoint of some curve, and every breakpoint inside is a cut.
        const inside = new Set(curves.flatMap((c) => c.slice(1).map((p) => p.hi)).filter((b) => b > bottom && b < top));
        expect(new Set(mean.slice(1).map((p) => p.hi))).toEqual(inside);
        for (const f of fractions) {
          const l1 = bottom + f * (top - bottom);
          const expected = curves.reduce((s, c) => s + valueAt(c, l1), 0) / curves.length;
          expect(Math.abs(valueAt(mean, l1) - expected)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(expected)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is empty when the ranges do not overlap or a curve is empty", () => {
    const a = continuousCurve([3, 2], 1, [1], [0]), b = continuousCurve([1, 0.5], 1, [1], [0]);
    expect(meanOfPieces([a, b])).toEqual([]);
    expect(meanOfPieces([a, []])).toEqual([]);
    expect(meanOfPieces([])).toEqual([]);
  });
});

describe("minimumOfPieces", () => {
  it("is the smallest value of the curve (below a dense sampling), attained where it says, with its slope", () => {
    fc.assert(
      fc.property(curveArb(2, 0.5), (curve) => {
        const min = minimumOfPieces(curve)!;
        expect(min.l1).toBeGreaterThanOrEqual(0.5);
        expect(min.l1).toBeLessThanOrEqual(2);
        expect(Math.abs(valueAt(curve, min.l1) - min.criterion)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(min.criterion)) + (min.criterion === 0 ? Math.max(0, -valueAt(curve, min.l1)) : 0));
        let sampled = Infinity;
        for (let i = 0; i <= 2000; i++) sampled = Math.min(sampled, Math.max(0, valueAt(curve, 0.5 + (1.5 * i) / 2000)));
        expect(min.criterion).toBeLessThanOrEqual(sampled + 1e-12);
        // The slope dC/dl1 there by a central difference, when the point is inside its piece.
        const piece = curve.find((p) => min.l1 <= p.hi && min.l1 >= p.lo)!;
        const h = 1e-6 * (piece.hi - piece.lo);
        if (min.l1 - piece.lo > 2 * h && piece.hi - min.l1 > 2 * h && min.criterion > 0) {
          const fd = (valueAt(curve, min.l1 + h) - valueAt(curve, min.l1 - h)) / (2 * h);
          expect(Math.abs(fd - min.slope)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(min.slope)));
        }
      }),
      { numRuns: 100 },
    );
  });
});

/** Walks of a known curve: the chords of f(l1) = (log l1 − log m)² between knots `width` apart (and the walk's ends), over [to, from]. */
function syntheticWalks(m: number, width: number) {
  const calls: [number, number][] = [];
  const f = (l1: number) => (Math.log(l1) - Math.log(m)) ** 2;
  const walk = (from: number, to: number): PathWalk => {
    calls.push([from, to]);
    // Chords of f on a grid of knots (exactly linear pieces: c2 = 0), the walk's own breakpoints.
    const knots = [from];
    for (let k = Math.floor(from / width); k * width > to; k--) if (k * width < from) knots.push(k * width);
    knots.push(to);
    const pieces = knots.slice(1).map((lo, i) => {
      const hi = knots[i];
      return { hi, lo, quadratic: [f(hi), (f(lo) - f(hi)) / (hi - lo), 0] as [number, number, number] };
    });
    return { pieces, breakpoints: knots.slice(1, -1), complete: true, solves: 1, innerIterations: 0 };
  };
  return { walk, calls, f };
}

describe("minimiseOnBracket", () => {
  it("walks on past an edge where the criterion still falls, down or up, and finds the exact minimum of what it walked", () => {
    for (const [centre, m] of [[1, 0.8], [1, 1.25], [1, 1.01], [1.3, 1]] as const) {
      const { walk, calls, f } = syntheticWalks(m, 1e-3);
      const found = minimiseOnBracket(walk, centre, [0.1, 10])!;
      const [lo, hi] = found.certificate.bracket;
      expect(lo).toBeLessThanOrEqual(m);
      expect(hi).toBeGreaterThanOrEqual(m);
      // The chords' minimum is the knot nearest m from below or above: f there.
      const knotsNear = [Math.floor(m / 1e-3) * 1e-3, Math.ceil(m / 1e-3) * 1e-3].filter((k) => k >= lo && k <= hi);
      expect(found.minimum.criterion).toBeLessThanOrEqual(Math.min(...knotsNear.map(f)) + 1e-15);
      expect(found.certificate.minimiser.l1).toBe(found.minimum.l1);
      expect(calls.length).toBe(found.walks.length);
      for (const b of found.certificate.breakpoints) expect(b > lo && b < hi).toBe(true);
    }
  });

  it("stays inside its bounds (the minimum outside them is on the bound) and extends at most 8 times", () => {
    const { walk } = syntheticWalks(0.05, 1e-3);
    const found = minimiseOnBracket(walk, 1, [0.9, 2])!;
    expect(found.certificate.bracket[0]).toBe(0.9);
    expect(found.minimum.l1).toBe(0.9);
    const far = syntheticWalks(1e-4, 1e-5);
    const capped = minimiseOnBracket(far.walk, 1, [1e-6, 10])!;
    expect(capped.walks).toHaveLength(9);
    expect(capped.certificate.bracket[0]).toBeCloseTo(1 / BRACKET_FACTOR ** 17, 12);
  });

  it("the whole range in one walk with `whole`; null when the first walk fails or stops early", () => {
    const { walk, calls } = syntheticWalks(0.3, 1e-3);
    const found = minimiseOnBracket(walk, 1, [0.1, 2], true)!;
    expect(calls).toEqual([[2, 0.1]]);
    expect(found.minimum.l1).toBeCloseTo(0.3, 12);
    expect(minimiseOnBracket(() => null, 1, [0.1, 2])).toBeNull();
    expect(minimiseOnBracket((from, to) => ({ ...walk(from, to), complete: false }), 1, [0.1, 2])).toBeNull();
  });
});
