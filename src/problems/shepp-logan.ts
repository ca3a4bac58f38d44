import { InputError } from "../errors.js";
import { checkImageSize, type GreyImage } from "../imaging/image.js";

/** The largest side: an 8192×8192 phantom is already 512 MiB of doubles. */
const MAX_PHANTOM_SIDE = 2 ** 13;

/**
 * The modified Shepp–Logan phantom (Toft 1996; MATLAB's phantom('Modified Shepp-Logan')): ten
 * ellipses, each adding its grey level inside
 *
 *     ((x − x₀)cos φ + (y − y₀)sin φ)²/a² + ((y − y₀)cos φ − (x − x₀)sin φ)²/b² ≤ 1,
 *
 * on the square [−1, 1]²: x from −1 (first column) to 1 (last), y from 1 (top row) to −1.
 * Columns: grey level, a, b, x₀, y₀, φ (degrees).
 */
export const MODIFIED_SHEPP_LOGAN: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 0.69, 0.92, 0, 0, 0],
  [-0.8, 0.6624, 0.874, 0, -0.0184, 0],
  [-0.2, 0.11, 0.31, 0.22, 0, -18],
  [-0.2, 0.16, 0.41, -0.22, 0, 18],
  [0.1, 0.21, 0.25, 0, 0.35, 0],
  [0.1, 0.046, 0.046, 0, 0.1, 0],
  [0.1, 0.046, 0.046, 0, -0.1, 0],
  [0.1, 0.046, 0.023, -0.08, -0.605, 0],
  [0.1, 0.023, 0.023, 0, -0.606, 0],
  [0.1, 0.023, 0.046, 0.06, -0.605, 0],
];

/** Pixel k of n on [−1, 1], ends included (MATLAB's grid); the single pixel of n = 1 at 0. */
function coordinate(k: number, n: number): number {
  return n === 1 ? 0 : (2 * k) / (n - 1) - 1;
}

/**
 * The h×w modified Shepp–Logan phantom, row-major, values in [0, 1] (grey levels 0, 0.1, 0.2,
 * 0.3, 0.4 and 1): a test image of piecewise-constant regions for total variation.
 */
export function sheppLogan(height: number, width: number = height): GreyImage {
  checkImageSize(height, width, "phantom");
  if (height > MAX_PHANTOM_SIDE || width > MAX_PHANTOM_SIDE) throw new InputError("phantom", `expected height and width ≤ 2^13 = ${MAX_PHANTOM_SIDE}, got ${height}×${width}`);
  const data = new Float64Array(height * width);
  for (const [level, a, b, x0, y0, degrees] of MODIFIED_SHEPP_LOGAN) {
    const phi = (degrees * Math.PI) / 180, c = Math.cos(phi), s = Math.sin(phi);
    // Sum whole tenths (exact), divide once at the end: the levels come out exactly 0.2, 0.3, ...
    const tenths = Math.round(level * 10);
    for (let r = 0; r < height; r++) {
      const y = -coordinate(r, height) - y0;
      for (let col = 0; col < width; col++) {
        const x = coordinate(col, width) - x0;
        const u = x * c + y * s, v = y * c - x * s;
        if ((u * u) / (a * a) + (v * v) / (b * b) <= 1) data[r * width + col] += tenths;
      }
    }
  }
  for (let p = 0; p < data.length; p++) data[p] /= 10;
  return { data, height, width };
}
