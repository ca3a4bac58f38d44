import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { medianInPlace, selectInPlace } from "../src/linalg/select.js";

describe("selectInPlace / medianInPlace", () => {
  // Few distinct values (ties everywhere), signs, and lengths 1 and 2 included.
  const values = fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 60 });

  it("returns the k-th entry of the sorted array and partitions around it", () => {
    fc.assert(
      fc.property(values, fc.nat(), (v, kSeed) => {
        const a = Float64Array.from(v), k = kSeed % a.length;
        const sorted = Float64Array.from(v).sort();
        expect(selectInPlace(a, k) === sorted[k]).toBe(true); // numeric equality (−0 = +0)
        expect(Array.from(Float64Array.from(a).sort(), (x) => x + 0)).toEqual(Array.from(sorted, (x) => x + 0)); // a permutation of the input
        for (let i = 0; i < a.length; i++) expect(i < k ? a[i] <= a[k] : i > k ? a[i] >= a[k] : true).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives the median of odd and even lengths", () => {
    fc.assert(
      fc.property(values, (v) => {
        const s = Float64Array.from(v).sort(), n = s.length;
        const want = n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
        expect(medianInPlace(Float64Array.from(v)) === want).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
