/**
 * Working-set selection for coordinate descent: the k candidates with the smallest scores
 * (celer's d_j = (l1 w_j − |a_jᵀθ|)/‖a_j‖, −∞ for the current support). Allocation-free.
 */

/**
 * Rearrange idx[0..count) in place so that its first k entries are those with the k smallest
 * scores[idx[·]] (in no particular order). Quickselect with a median-of-three pivot and a
 * three-way partition, so ties (e.g. the −∞ of a large support) cost O(count), not O(count²).
 */
export function selectSmallest(idx: Int32Array, count: number, scores: Float64Array, k: number): void {
  if (k <= 0 || k >= count) return;
  const target = k - 1;
  let lo = 0, hi = count - 1;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    const a = scores[idx[lo]], b = scores[idx[mid]], c = scores[idx[hi]];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Dutch-flag partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo, gt = hi, i = lo;
    while (i <= gt) {
      const v = scores[idx[i]];
      if (v < pivot) {
        const t = idx[lt];
        idx[lt] = idx[i];
        idx[i] = t;
        lt++;
        i++;
      } else if (v > pivot) {
        const t = idx[gt];
        idx[gt] = idx[i];
        idx[i] = t;
        gt--;
      } else {
        i++;
      }
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return;
  }
}

/**
 * Working set of size k from the candidates `pool[0..count)` (in increasing index order): copies
 * the pool into `scratch`, selects the k smallest scores, and writes them to `ws` in increasing
 * index order (contiguous column sweeps) using `mark` (all zero on entry and on exit) as a
 * membership table. Returns k (clamped to count).
 */
export function buildWorkingSet(
  pool: Int32Array,
  count: number,
  scores: Float64Array,
  k: number,
  scratch: Int32Array,
  mark: Uint8Array,
  ws: Int32Array,
): number {
  if (k >= count) {
    for (let t = 0; t < count; t++) ws[t] = pool[t];
    return count;
  }
  for (let t = 0; t < count; t++) scratch[t] = pool[t];
  selectSmallest(scratch, count, scores, k);
  for (let t = 0; t < k; t++) mark[scratch[t]] = 1;
  let size = 0;
  for (let t = 0; t < count; t++) {
    const j = pool[t];
    if (mark[j] === 1) {
      ws[size++] = j;
      mark[j] = 0;
    }
  }
  return size;
}
