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
  if (!Number.isInteger(K) || K < 1) throw new InputError("iterations", `expected an integer ≥ 1, got ${K}`);
  const interval = options.interval ?? Math.ceil(Math.sqrt(K));
  if (!Number.isInteger(interval) || interval < 1) throw new InputError("interval", `expected an integer ≥ 1, got ${interval}`);
  const segments = Math.ceil(K / interval);
  const lastStart = (segments - 1) * interval;
  // checkpoints[k] = s_{k·interval} for the segments before the last; segment[i] = s_{start+i}
  // while a segment is swept back (the last one is filled by the forward pass, not recomputed).
  const checkpoints: S[] = [];
  const segmentLength = Math.min(interval, K);
  const segment: S[] = [];
  for (let i = 0; i < segmentLength; i++) segment.push(recurrence.create());
  const running = recurrence.create();
  recurrence.copy(running, initial);
  let steps = 0;
  for (let t = 0; t < K; t++) {
    if (t >= lastStart) {
      recurrence.copy(segment[t - lastStart], running);
    } else if (t % interval === 0) {
      const c = recurrence.create();
      recurrence.copy(c, running);
      checkpoints.push(c);
    }
    recurrence.step(running, t);
    steps++;
  }
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
        if (recurrence.replay) recurrence.replay(segment[i], start + i - 1);
        else recurrence.step(segment[i], start + i - 1);
        steps++;
      }
    }
    for (let i = length - 1; i >= 0; i--) backward(segment[i], i + 1 < length ? segment[i + 1] : running, start + i);
  }
  return { storedStates: checkpoints.length + segment.length + 1, steps };
}
