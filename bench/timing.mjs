// Timing shared by the differentiation sections of `npm run bench` (unrolled, optim).

/**
 * Best wall time (ms) of each function over `rounds` rounds that call them in turn, after two
 * warm-up rounds, and each one's last result. Taking turns spreads JIT tiering and GC over all of
 * them (timed one after the other, the first function of a fresh process was once 20% slow in all
 * its runs). Not CPU time: that counts V8's background threads too (concurrent GC, optimising
 * compiles), which once put a case's plain run at 1.8× its own forward run.
 */
export function bestOfRounds(fns, rounds = 7) {
  const results = fns.map((fn) => fn());
  fns.forEach((fn, i) => (results[i] = fn()));
  const ms = fns.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t = performance.now();
      results[i] = fn();
      ms[i] = Math.min(ms[i], performance.now() - t);
    });
  }
  return fns.map((_, i) => ({ ms: ms[i], result: results[i] }));
}
