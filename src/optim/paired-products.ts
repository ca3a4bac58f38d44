import { applyPair, applyTPair } from "../operators/products.js";
import type { LinearOperator } from "../operators/operator.js";

/**
 * products[k] ← Aᵀ(c ⊙ A·directions[k]) for k ≥ from (c = null: AᵀA·directions[k]), two
 * directions per pass over A (the curvature-weighted Gram part of a data term Σφ_i((Ax)_i), whose
 * Hessian is Aᵀdiag(φ'')A). `images` are two workspaces of length A.rows.
 */
export function gramProductsInPairs(A: LinearOperator, directions: readonly Float64Array[], products: readonly Float64Array[], from: number, curvature: Float64Array | null, images: readonly [Float64Array, Float64Array]): void {
  const [u, w] = images;
  for (let k = from; k < directions.length; k += 2) {
    if (k + 1 < directions.length) {
      applyPair(A, directions[k], directions[k + 1], u, w);
      if (curvature) for (let i = 0; i < u.length; i++) (u[i] *= curvature[i]), (w[i] *= curvature[i]);
      applyTPair(A, u, w, products[k], products[k + 1]);
    } else {
      A.apply(directions[k], u);
      if (curvature) for (let i = 0; i < u.length; i++) u[i] *= curvature[i];
      A.applyT(u, products[k]);
    }
  }
}
