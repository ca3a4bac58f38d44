import { describe, expect, it } from "vitest";
import { sheppLogan } from "../src/problems/shepp-logan.js";
import { inputError } from "./support.js";

/**
 * On a 201×201 grid the pixel coordinates are x = col/100 − 1 and y = 1 − row/100. Expected grey
 * levels are sums of the ellipses' levels done by hand from the table (1, −0.8, −0.2, −0.2, 0.1 ...).
 */
const image = sheppLogan(201, 201);
const at = (x: number, y: number) => image.data[Math.round((1 - y) * 100) * 201 + Math.round((x + 1) * 100)];

describe("the modified Shepp–Logan phantom", () => {
  it.each([
    ["ellipses 1 and 2 (brain)", 0, 0, 0.2],
    ["ellipse 2, off its centre", 0, -0.02, 0.2],
    ["ellipse 3 (right dark): 1 − 0.8 − 0.2", 0.22, 0, 0],
    ["ellipse 4 (left dark)", -0.22, 0, 0],
    ["ellipse 5", 0, 0.35, 0.3],
    ["ellipse 6 below ellipse 5", 0, 0.08, 0.3],
    ["ellipse 6 inside ellipse 5: 0.2 + 0.1 + 0.1", 0, 0.12, 0.4],
    ["ellipse 7", 0, -0.1, 0.3],
    ["ellipse 8", -0.08, -0.61, 0.3],
    ["ellipse 9", 0, -0.61, 0.3],
    ["ellipse 10", 0.06, -0.61, 0.3],
    ["ellipse 8 is wide (a = 0.046 across)", -0.05, -0.61, 0.3],
    ["ellipse 10 is tall (b = 0.046 up)", 0.06, -0.64, 0.3],
    ["ellipse 5 just below its top (0.35 + 0.25)", 0, 0.59, 0.3],
    ["just above ellipse 5", 0, 0.61, 0.2],
    ["the skull at the top (ellipse 1 only)", 0, 0.9, 1],
    ["the skull at the side", 0.67, 0, 1],
    ["the skull at the bottom", 0, -0.9, 1],
    ["outside the head", 0.9, 0.9, 0],
    ["outside the head, left", -0.75, 0, 0],
  ])("%s: the pixel at (%f, %f) is %f", (_what, x, y, level) => {
    expect(at(x, y)).toBe(level);
  });

  it("tilts ellipse 3 by −18°: its major axis leans right going up", () => {
    // (0.31, 0.27) is 0.285 up the tilted major axis (b = 0.31) from (0.22, 0); its mirror
    // image about the centre's vertical (0.13, 0.27) is outside ellipse 3 and inside ellipse 5.
    expect(at(0.31, 0.27)).toBe(0);
    expect(at(0.13, 0.27)).toBe(0.3);
    // Ellipse 4 leans the other way (φ = +18°).
    expect(at(-0.33, 0.3)).toBe(0);
  });

  it("has the phantom's grey levels only, and is left-right symmetric away from ellipses 3, 4, 8, 10", () => {
    for (const [h, w] of [[201, 201], [64, 48], [37, 90]]) {
      const im = sheppLogan(h, w);
      for (const v of new Set(im.data)) expect([0, 0.1, 0.2, 0.3, 0.4, 1]).toContain(v);
      expect(Math.min(...im.data)).toBe(0);
      expect(Math.max(...im.data)).toBe(1);
      for (let r = 0; r < h; r++) {
        const y = 1 - (2 * r) / (h - 1);
        // Ellipse 4 reaches y = ±0.393; ellipses 8 and 10 lie within y ∈ [−0.651, −0.559].
        if (Math.abs(y) < 0.41 || (y > -0.66 && y < -0.55)) continue;
        const row = Array.from(im.data.subarray(r * w, (r + 1) * w));
        expect(row, `row ${r} of ${h}×${w}`).toEqual([...row].reverse());
      }
    }
  });

  it("covers the areas of its ellipses: mean level = Σ level·πab / 4", () => {
    const n = 600, im = sheppLogan(n, n);
    const mean = im.data.reduce((s, v) => s + v, 0) / im.data.length;
    const ellipses = [[1, 0.69, 0.92], [-0.8, 0.6624, 0.874], [-0.2, 0.11, 0.31], [-0.2, 0.16, 0.41], [0.1, 0.21, 0.25], [0.1, 0.046, 0.046], [0.1, 0.046, 0.046], [0.1, 0.046, 0.023], [0.1, 0.023, 0.023], [0.1, 0.023, 0.046]];
    // n samples span [−1, 1] ends included: each pixel stands for (2/(n − 1))², so the mean is Σ level·area / 4 · ((n − 1)/n)².
    const expected = (ellipses.reduce((s, [level, a, b]) => s + (level * Math.PI * a * b) / 4, 0) * (n - 1) ** 2) / n ** 2;
    // Pixel-counting error of the boundaries: O(perimeter / n).
    expect(Math.abs(mean - expected)).toBeLessThan(2e-3 * expected);
    // The skull ring alone (level 1): area of ellipse 1 minus ellipse 2 (the ring is thin: looser).
    const ring = im.data.filter((v) => v === 1).length / im.data.length;
    expect(ring / ((Math.PI * (0.69 * 0.92 - 0.6624 * 0.874) * (n - 1) ** 2) / (4 * n ** 2))).toBeCloseTo(1, 2);
  });

  it("is square by default, a single pixel at the centre for 1×1, and refuses bad sizes", () => {
    expect(sheppLogan(5)).toMatchObject({ height: 5, width: 5 });
    expect(Array.from(sheppLogan(1, 1).data)).toEqual([0.2]);
    inputError(() => sheppLogan(0, 4), /positive integer height and width/);
    inputError(() => sheppLogan(4.5, 4), /positive integer/);
  });
});
