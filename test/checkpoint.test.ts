import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { interleavedReverseSweep, reverseSweep, type Recurrence } from "../src/diff/checkpoint.js";
import { InputError } from "../src/errors.js";

/** s_{t+1} = sin(a·s_t) + 0.1·t on a one-entry buffer. */
function sineRecurrence(a: number): Recurrence<Float64Array> {
  return {
    create: () => new Float64Array(1),
    copy: (dst, src) => dst.set(src),
    step: (s, t) => {
      s[0] = Math.sin(a * s[0]) + 0.1 * t;
    },
  };
}

function finalState(a: number, s0: number, K: number): number {
  let s = s0;
  for (let t = 0; t < K; t++) s = Math.sin(a * s) + 0.1 * t;
  return s;
}

describe("reverseSweep (√K checkpointing)", () => {
  it("hands backward every state before and after its step, last step first, whatever K and interval", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 150 }), fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), (K, interval) => {
        // The naive trajectory, every state kept.
        const trajectory: number[] = [0.3];
        for (let t = 0; t < K; t++) trajectory.push(Math.sin(1.7 * trajectory[t]) + 0.1 * t);
        let seeded = NaN;
        const initial = Float64Array.of(0.3);
        const seen: Array<[number, number, number]> = [];
        const report = reverseSweep(sineRecurrence(1.7), initial, K, (s) => (seeded = s[0]), (s, after, t) => seen.push([t, s[0], after[0]]), { interval });
        expect(seeded).toBe(trajectory[K]);
        expect(seen.map(([t]) => t)).toEqual(Array.from({ length: K }, (_, i) => K - 1 - i));
        for (const [t, s, after] of seen) {
          expect(s).toBe(trajectory[t]);
          expect(after).toBe(trajectory[t + 1]);
        }
        expect(initial[0]).toBe(0.3);
        // the last segment comes from the forward pass; each earlier one is recomputed from its checkpoint
        const c = interval ?? Math.ceil(Math.sqrt(K));
        const segments = Math.ceil(K / c);
        expect(report.steps).toBe(K + (segments - 1) * (c - 1));
      }),
    );
  });

  it("recomputes with replay when the recurrence has one (its checks ran in the forward pass), with step otherwise", () => {
    for (const [K, interval] of [[1, 1], [10, 3], [100, 10], [37, 5]]) {
      let stepped = 0, replayed = 0;
      const base = sineRecurrence(1.2);
      const counted: Recurrence<Float64Array> = { ...base, step: (s, t) => (stepped++, base.step(s, t)), replay: (s, t) => (replayed++, base.step(s, t)) };
      const after: number[] = [];
      const report = reverseSweep(counted, Float64Array.of(0.1), K, () => {}, (_s, a) => after.push(a[0]), { interval });
      expect(stepped).toBe(K);
      expect(replayed).toBe(report.steps - K);
      expect(after[after.length - 1]).toBe(Math.sin(1.2 * 0.1)); // s_1, after the first step
    }
  });

  it("interleaved: hands pair every state before and after its step, last first, and the previous segment's states to advance, whatever K and interval", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 150 }), fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), (K, interval) => {
        const trajectory: number[] = [0.3];
        for (let t = 0; t < K; t++) trajectory.push(Math.sin(1.7 * trajectory[t]) + 0.1 * t);
        const recurrence = sineRecurrence(1.7);
        const seen: number[] = [];
        const advanced: number[] = [];
        const report = interleavedReverseSweep(recurrence, Float64Array.of(0.3), K, () => {}, (s, after, t, next, u) => {
          seen.push(t);
          expect(s[0]).toBe(trajectory[t]);
          expect(after[0]).toBe(trajectory[t + 1]);
          if (next) {
            expect(next[0]).toBe(trajectory[u]);
            recurrence.step(next, u);
            advanced.push(u);
          }
        }, { interval });
        expect(seen).toEqual(Array.from({ length: K }, (_, i) => K - 1 - i));
        const c = interval ?? Math.ceil(Math.sqrt(K));
        const segments = Math.ceil(K / c);
        expect(report.steps).toBe(K + (segments - 1) * (c - 1));
        expect(advanced.length).toBeLessThanOrEqual(report.steps - K);
        // A second segment of states only where there is a segment to recompute.
        expect(report.storedStates).toBe(segments - 1 + (segments > 1 ? 2 : 1) * Math.min(c, K) + 1);
      }),
    );
  });

  it("interleaved: creates no more states than it reports, and no second segment when one segment holds all K (interval ≥ K)", () => {
    for (const [K, interval] of [[1, undefined], [1, 1], [5, 5], [5, 9], [30, 30], [30, 7], [64, undefined]] as const) {
      let created = 0;
      const recurrence = sineRecurrence(1.1), create = recurrence.create;
      recurrence.create = () => (created++, create());
      const report = interleavedReverseSweep(recurrence, Float64Array.of(0.2), K, () => {}, (_s, _a, t, next, u) => next && recurrence.step(next, u), { interval });
      expect(created, `K = ${K}, interval = ${interval}`).toBe(report.storedStates);
      if ((interval ?? Math.ceil(Math.sqrt(K))) >= K) expect(report.storedStates).toBe(K + 1); // as reverseSweep: all K states and the final one
    }
  });

  it("stores about 2√K states by default", () => {
    for (const K of [1, 2, 10, 100, 1000, 1001]) {
      const report = reverseSweep(sineRecurrence(1), Float64Array.of(0), K, () => {}, () => {});
      const c = Math.ceil(Math.sqrt(K));
      expect(report.storedStates).toBe(Math.ceil(K / c) - 1 + Math.min(c, K) + 1);
      expect(report.storedStates).toBeLessThanOrEqual(2 * Math.sqrt(K) + 3);
    }
  });

  it("gives the reverse-mode derivative of the final state in a (central-difference oracle)", () => {
    const a = 1.3;
    const K = 57;
    // ds_{t+1} = cos(a s_t)·(s_t da + a ds_t): adjoint ā_t = ā_{t+1}·a·cos(a s_t), dL/da += ā_{t+1}·s_t·cos(a s_t).
    let adj = 0;
    let grad = 0;
    reverseSweep(
      sineRecurrence(a),
      Float64Array.of(0.4),
      K,
      () => (adj = 1),
      (s) => {
        const c = Math.cos(a * s[0]);
        grad += adj * s[0] * c;
        adj *= a * c;
      },
    );
    const h = 1e-6;
    const fd = (finalState(a + h, 0.4, K) - finalState(a - h, 0.4, K)) / (2 * h);
    expect(Math.abs(grad - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
    const fd0 = (finalState(a, 0.4 + h, K) - finalState(a, 0.4 - h, K)) / (2 * h);
    expect(Math.abs(adj - fd0)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd0)));
  });

  it("refuses a step count or interval that is not a positive integer", () => {
    for (const K of [0, -3, 2.5, NaN]) {
      expect(() => reverseSweep(sineRecurrence(1), Float64Array.of(0), K, () => {}, () => {})).toThrow(InputError);
      expect(() => reverseSweep(sineRecurrence(1), Float64Array.of(0), K, () => {}, () => {})).toThrow(/^iterations: expected an integer ≥ 1/);
    }
    expect(() => reverseSweep(sineRecurrence(1), Float64Array.of(0), 5, () => {}, () => {}, { interval: 0 })).toThrow(/interval/);
  });
});
