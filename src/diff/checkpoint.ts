import { InputError } from "../errors.js";

/**
 * The most steps a differentiated run takes (unrolled solvers, optimisers): every step is run
 * (there is no stopping test), so K is the run's time, and reverse mode holds about 2√K states.
 * Far beyond where unrolled derivatives reach the implicit ones (a few thousand steps); a larger K
 * is a typo, refused rather than run for hours.
 */
export const MAX_UNROLLED_ITERATIONS = 1_000_000;

/**
 * A recurrence s_{t+1} = step(s_t, t), t = 0 … K−1, on states that are updated in place: the
 * reverse sweep stores a few of them and recomputes the others, so it never allocates per step.
 */
export interface Recurrence<S> {
  /** A new state buffer (its contents are overwritten before use). */
  create(): S;
  /** dst ← src. */
  copy(dst: S, src: S): void;
  /** s ← step(s, t), in place. */
  step(state: S, t: number): void;
  /**
   * The same step replayed while a segment is recomputed (it ran once already in the forward
   * pass, so checks made there, such as divergence tests, need not run again); default `step`.
   */
  replay?(state: S, t: number): void;
}

export interface ReverseSweepOptions {
  /** Steps between stored checkpoints (default ⌈√K⌉, which stores about 2√K states in all). */
  interval?: number;
}

export interface ReverseSweepReport {
  /** The state buffers held at once (checkpoints + one segment + the running state): the peak memory in states. */
  storedStates: number;
  /** Calls of `step` (K forward, at most K − interval more recomputing the segments before the last). */
  steps: number;
}

/**
 * Reverse mode over K steps with checkpointing (the √K scheme): the forward pass keeps every
 * `interval`-th state; `seed(s_K)` is called with the final state (to set the adjoint from the
 * loss); then, segment by segment from the last, the segment's states are recomputed from its
 * checkpoint and `backward(s_t, s_{t+1}, t)` is called for t = K−1 down to 0 with the states
 * before and after step t, so the caller can pull its adjoint back through step t
 * (ā_t = ā_{t+1}·∂step/∂s at s_t). Both are the sweep's buffers, read-only for the caller and
 * valid during that call only (s_K is the buffer handed to `seed`; the state after a segment's
 * last step is kept in it, one copy per segment). The initial state is not modified.
 */
export function reverseSweep<S>(
  recurrence: Recurrence<S>,
  initial: S,
  K: number,
  seed: (final: S) => void,
  backward: (before: S, after: S, t: number) => void,
  options: ReverseSweepOptions = {},
): ReverseSweepReport {
  const run = forwardPass(recurrence, initial, K, options);
  const { interval, segments, checkpoints, segment, running } = run;
  let steps = run.steps;
  seed(running);
  for (let k = segments - 1; k >= 0; k--) {
    const start = k * interval;
    const length = Math.min(interval, K - start);
    if (k < segments - 1) {
      // The state after this segment's last step starts the segment just swept: keep it.
      recurrence.copy(running, segment[0]);
      recurrence.copy(segment[0], checkpoints[k]);
      for (let i = 1; i < length; i++) {
        recurrence.copy(segment[i], segment[i - 1]);
        replay(recurrence, segment[i], start + i - 1);
        steps++;
      }
    }
    for (let i = length - 1; i >= 0; i--) backward(segment[i], i + 1 < length ? segment[i + 1] : running, start + i);
  }
  return { storedStates: checkpoints.length + segment.length + 1, steps };
}

/**
 * reverseSweep that recomputes segment k − 1 while it sweeps segment k back, so the caller can do
 * the adjoint of one step and the recomputation of another in the same passes over its data (an
 * optimiser on least squares: one pass over A for both products). `pair(before, after, t, next, u)`
 * is called for t = K−1 down to 0 as backward is; when a recomputed step is due, `next` is a state
 * holding s_u (a copy) for the caller to advance in place by step u (without repeating the forward
 * pass's checks), else null. Holds one segment more than reverseSweep (where there are two or
 * more): about 3√K states.
 */
export function interleavedReverseSweep<S>(
  recurrence: Recurrence<S>,
  initial: S,
  K: number,
  seed: (final: S) => void,
  pair: (before: S, after: S, t: number, next: S | null, u: number) => void,
  options: ReverseSweepOptions = {},
): ReverseSweepReport {
  const run = forwardPass(recurrence, initial, K, options);
  const { interval, segments, checkpoints, running } = run;
  let steps = run.steps;
  let current = run.segment;
  // Segment k − 1's states, recomputed while segment k is swept (none when one segment holds all K).
  let previous: S[] = segments > 1 ? current.map(() => recurrence.create()) : [];
  seed(running);
  for (let k = segments - 1; k >= 0; k--) {
    const start = k * interval;
    const length = Math.min(interval, K - start);
    // Segment k − 1 (all of length `interval`), recomputed from its checkpoint one step per pair.
    let u = 1;
    if (k > 0) recurrence.copy(previous[0], checkpoints[k - 1]);
    const due = () => k > 0 && u < interval;
    for (let i = length - 1; i >= 0; i--) {
      const next = due() ? previous[u] : null;
      if (next) recurrence.copy(next, previous[u - 1]);
      pair(current[i], i + 1 < length ? current[i + 1] : running, start + i, next, (k - 1) * interval + u - 1);
      if (next) (u++, steps++);
    }
    for (; due(); u++, steps++) {
      recurrence.copy(previous[u], previous[u - 1]);
      replay(recurrence, previous[u], (k - 1) * interval + u - 1);
    }
    // The state after segment k − 1's last step starts segment k: keep it for its last pair.
    if (k > 0) recurrence.copy(running, current[0]);
    [current, previous] = [previous, current];
  }
  return { storedStates: checkpoints.length + current.length + previous.length + 1, steps };
}

function replay<S>(recurrence: Recurrence<S>, state: S, t: number): void {
  if (recurrence.replay) recurrence.replay(state, t);
  else recurrence.step(state, t);
}

/**
 * The forward pass of both sweeps: K steps from `initial` (left unmodified), keeping every
 * `interval`-th state before the last segment (checkpoints) and the last segment's states.
 */
function forwardPass<S>(recurrence: Recurrence<S>, initial: S, K: number, options: ReverseSweepOptions) {
  if (!Number.isInteger(K) || K < 1) throw new InputError("iterations", `expected an integer ≥ 1, got ${K}`);
  const interval = options.interval ?? Math.ceil(Math.sqrt(K));
  if (!Number.isInteger(interval) || interval < 1) throw new InputError("interval", `expected an integer ≥ 1, got ${interval}`);
  const segments = Math.ceil(K / interval);
  const lastStart = (segments - 1) * interval;
  const checkpoints: S[] = [];
  const segment: S[] = [];
  for (let i = 0; i < Math.min(interval, K); i++) segment.push(recurrence.create());
  const running = recurrence.create();
  recurrence.copy(running, initial);
  for (let t = 0; t < K; t++) {
    if (t >= lastStart) {
      recurrence.copy(segment[t - lastStart], running);
    } else if (t % interval === 0) {
      const c = recurrence.create();
      recurrence.copy(c, running);
      checkpoints.push(c);
    }
    recurrence.step(running, t);
  }
  return { interval, segments, checkpoints, segment, running, steps: K };
}
