import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `npm run bench` must run from a clone (its anchors live in bench/) and fail loudly when it cannot
// run. Only the cheap failure paths are exercised here: no solver runs.
const ROOT = join(import.meta.dirname, "..");
const RUN = join(ROOT, "bench", "run.mjs");

function bench(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [RUN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run bench", () => {
  it("uses its own copies of the anchor scripts, not ../shared", () => {
    for (const f of ["perf_problems.py", "sk_baseline.py", "sk_hypergrad.py", "sk_tune.py"]) expect(existsSync(join(ROOT, "bench", f))).toBe(true);
    expect(readFileSync(RUN, "utf8")).not.toMatch(/\.\.\/shared|"shared"/);
  });

  it("exits non-zero with one line when the problems are missing and python cannot make them", () => {
    const empty = mkdtempSync(join(tmpdir(), "sparsetune-bench-"));
    const r = bench({ SPARSETUNE_PYTHON: join(empty, "no-such-python"), SPARSETUNE_BENCH_DATA: empty });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bench: .*missing from .*cannot run .*no-such-python/);
    expect(r.stdout).not.toMatch(/==/); // no section started
  });

  it("rejects an unknown section with exit code 2", () => {
    const r = bench({}, "--section", "nope");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown section nope/);
  });
});
