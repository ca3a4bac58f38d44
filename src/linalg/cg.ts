import { axpy, dot } from "./vector.js";

export interface CgResult {
  x: Float64Array;
  iterations: number;
  /** ‖b − H x‖ / ‖b‖ at exit. */
  relativeResidual: number;
  /** ‖b − H x‖ at exit. */
  residualNorm: number;
  converged: boolean;
}

/**
 * Conjugate gradients for H x = b, H symmetric positive (semi-)definite and given only as
 * a product `applyH(v, out)`. Starts from x = 0; stops when ‖b − Hx‖ ≤ max(tol·‖b‖, atol)
 * (an absolute floor suits corrections, whose right side is already small).
 */
export function conjugateGradient(
  applyH: (v: Float64Array, out: Float64Array) => void,
  b: Float64Array,
  { tol = 1e-12, atol = 0, maxIter = 10 * b.length + 100 }: { tol?: number; atol?: number; maxIter?: number } = {},
): CgResult {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  const hp = new Float64Array(n);
  const bNorm = Math.sqrt(dot(b, b));
  if (bNorm === 0) return { x, iterations: 0, relativeResidual: 0, residualNorm: 0, converged: true };
  const target = Math.max(tol * bNorm, atol);
  let rr = dot(r, r);
  let it = 0;
  while (it < maxIter && Math.sqrt(rr) > target) {
    applyH(p, hp);
    const php = dot(p, hp);
    if (!(php > 0)) break; // H is singular along p: no descent left
    const alpha = rr / php;
    axpy(alpha, p, x);
    axpy(-alpha, hp, r);
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    rr = rrNew;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    it++;
  }
  const residualNorm = Math.sqrt(rr);
  return { x, iterations: it, relativeResidual: residualNorm / bNorm, residualNorm, converged: residualNorm <= target };
}
