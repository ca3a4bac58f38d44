/**
 * FISTA's composite prox with tv on a 1-D grid (penalties/tv-prox.ts) and its derivative almost
 * everywhere. With step t, shrink = 1/(1 + t·l2), t' = t·shrink, λ = t'·tv:
 *
 *   s = shrink·u,   P = prox_{λ‖D·‖₁}(s) (exact, Condat),   x⁺ = S(P, t'·l1).
 *
 * P is constant on pieces G = [a, b] (its exactly equal runs): P_G = mean_G(s) − λc_G with
 * c_G = (σ_{a−1} − σ_b)/|G|, σ_e = sign(P_{e+1} − P_e) at the jumps bounding G (0 past an end).
 * Off the kinks the pieces and the signs stay, so on a piece where x⁺ ≠ 0
 *
 *   ẋ⁺_G = shrink·mean_G(u̇) + (shrink'/shrink)·mean_G(s) − λ'c_G − sign(x⁺_G)(t''·l1 + t'·l̇1),
 *
 * with mean_G(s) = P_G + λc_G and P_G = x⁺_G + sign(x⁺_G)·t'l1 (the soft threshold undone), and
 * ẋ⁺ = 0 where x⁺ = 0. The soft threshold keeps the order of the pieces, so the runs of equal
 * non-zero x⁺ are exactly P's pieces there and σ is the sign of the jump in x⁺: everything is
 * read from x⁺ itself.
 */
export class TvProxDerivative {
  private readonly shrink: number;
  private readonly tPrime: number;
  /** The rates of a direction (rates()): shrink'/shrink, t'', λ'. */
  private readonly rate = new Float64Array(3);
  /** The run described by describe(): its sign, mean_G(s) and c_G. */
  private sign = 0;
  private meanS = 0;
  private c = 0;

  constructor(
    private readonly t: number,
    private readonly l1: number,
    private readonly l2: number,
    private readonly tv: number,
  ) {
    this.shrink = 1 / (1 + t * l2);
    this.tPrime = t * this.shrink;
  }

  /** For a direction (ṫ, l̇2, ṫv): shrink'/shrink = −(ṫl2 + t·l̇2)shrink, t'' = (ṫ − t²l̇2)shrink², λ' = t''·tv + t'·ṫv. */
  private rates(tDot: number, l2Dot: number, tvDot: number): Float64Array {
    const { t, l2, tv, shrink, rate } = this;
    const tPrimeDot = (tDot - t * t * l2Dot) * shrink * shrink;
    rate[0] = -(tDot * l2 + t * l2Dot) * shrink;
    rate[1] = tPrimeDot;
    rate[2] = tPrimeDot * tv + this.tPrime * tvDot;
    return rate;
  }

  /** The end b of the run of values equal to xNew[a]. */
  private runEnd(xNew: Float64Array, a: number): number {
    let b = a;
    while (b + 1 < xNew.length && xNew[b + 1] === xNew[a]) b++;
    return b;
  }

  /** sign, mean_G(s) and c_G of the non-zero run [a, b]. */
  private describe(xNew: Float64Array, a: number, b: number): void {
    const value = xNew[a];
    const left = a > 0 ? Math.sign(value - xNew[a - 1]) : 0;
    const right = b + 1 < xNew.length ? Math.sign(xNew[b + 1] - value) : 0;
    this.c = (left - right) / (b - a + 1);
    this.sign = value > 0 ? 1 : -1;
    this.meanS = value + this.sign * this.tPrime * this.l1 + this.tPrime * this.tv * this.c;
  }

  /** out ← ẋ⁺ for u̇ and the direction (ṫ, l̇1, l̇2, ṫv) (out may be uDot). */
  tangent(xNew: Float64Array, uDot: Float64Array, out: Float64Array, tDot: number, l1Dot: number, l2Dot: number, tvDot: number): void {
    const rate = this.rates(tDot, l2Dot, tvDot);
    for (let a = 0, b = 0; a < xNew.length; a = b + 1) {
      b = this.runEnd(xNew, a);
      let value = 0;
      if (xNew[a] !== 0) {
        this.describe(xNew, a, b);
        let mean = 0;
        for (let j = a; j <= b; j++) mean += uDot[j];
        mean /= b - a + 1;
        value = this.shrink * mean + rate[0] * this.meanS - rate[2] * this.c - this.sign * (rate[1] * this.l1 + this.tPrime * l1Dot);
      }
      for (let j = a; j <= b; j++) out[j] = value;
    }
  }

  /** Σ_G (Σ_G x̄)·∂x⁺_G/∂θ for the direction θ̇ = (ṫ, l̇1, l̇2, ṫv), from the sums over the pieces of (Σ_G x̄) times mean_G(s), c_G, sign_G. */
  private coefficient(tDot: number, l1Dot: number, l2Dot: number, tvDot: number, meanSum: number, cSum: number, signSum: number): number {
    const rate = this.rates(tDot, l2Dot, tvDot);
    return rate[0] * meanSum - rate[2] * cSum - signSum * (rate[1] * this.l1 + this.tPrime * l1Dot);
  }

  /** uBar ← x̄·∂x⁺/∂u (the piece means, scaled), sums[0..3] += x̄·∂x⁺/∂(t, l1, l2, tv). */
  adjoint(xNew: Float64Array, xBar: Float64Array, uBar: Float64Array, sums: Float64Array): void {
    let meanSum = 0, cSum = 0, signSum = 0;
    for (let a = 0, b = 0; a < xNew.length; a = b + 1) {
      b = this.runEnd(xNew, a);
      let spread = 0;
      if (xNew[a] !== 0) {
        this.describe(xNew, a, b);
        let total = 0;
        for (let j = a; j <= b; j++) total += xBar[j];
        spread = (this.shrink * total) / (b - a + 1);
        meanSum += total * this.meanS;
        cSum += total * this.c;
        signSum += total * this.sign;
      }
      for (let j = a; j <= b; j++) uBar[j] = spread;
    }
    // Each θ's coefficient is linear in (shrink'/shrink, t'', λ', l̇1): evaluated on the unit directions.
    sums[0] += this.coefficient(1, 0, 0, 0, meanSum, cSum, signSum);
    sums[1] += this.coefficient(0, 1, 0, 0, meanSum, cSum, signSum);
    sums[2] += this.coefficient(0, 0, 1, 0, meanSum, cSum, signSum);
    sums[3] += this.coefficient(0, 0, 0, 1, meanSum, cSum, signSum);
  }
}
