import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "npyjs";
import { Random } from "../src/linalg/random.js";
import { encodePng } from "../src/io/png-format.js";
import { sheppLogan } from "../src/problems/shepp-logan.js";
import { CLI } from "./support.js";

/** A Gaussian compressed-sensing problem whose 5-fold CV tuning takes several seconds. */
function writeProblem(dir: string, m: number, n: number): void {
  const rng = new Random(3);
  const A = Float64Array.from({ length: m * n }, () => rng.normal() / Math.sqrt(m));
  const truth = new Float64Array(n);
  for (const j of rng.sample(n, 40)) truth[j] = rng.normal();
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * truth[j];
    y[i] = s + 0.05 * rng.normal();
  }
  writeFileSync(join(dir, "A.npy"), new Uint8Array(dump(A, [m, n])));
  writeFileSync(join(dir, "p.json"), JSON.stringify({ format: "sparsetune-problem/1", name: "cancel", A: { npy: "A.npy" }, y: Array.from(y), penalty: { l1: 0 } }));
}

/** Run the CLI, send SIGINT after `delayMs`, and wait for it. */
async function interrupted(args: string[], delayMs: number) {
  const child = spawn(process.execPath, [CLI, ...args]);
  let stdout = "", stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  setTimeout(() => child.kill("SIGINT"), delayMs);
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  return { code, stdout, stderr };
}

describe("sparsetune tune: Ctrl-C", () => {
  it("SIGINT during a tune writes the complete report of the best point so far and exits 130", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-cancel-"));
    const [m, n] = [1000, 8000]; // 5-fold CV takes several seconds (600×4000 now ends in about 2)
    writeProblem(dir, m, n);
    const out = join(dir, "out");
    const child = spawn(process.execPath, [CLI, "tune", join(dir, "p.json"), "--criterion", "cv", "--folds", "5", "--tol", "1e-10", "--out", out, "--json"]);
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const started = performance.now();
    setTimeout(() => child.kill("SIGINT"), 2500);
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    const stopped = (performance.now() - started) / 1000;
    expect(stderr).toMatch(/stopping after the current solve/);
    expect(code).toBe(130);
    const summary = JSON.parse(stdout);
    expect(summary.cancelled).toBe(true);
    expect(summary.converged).toBe(false);
    // The outputs are complete (no temporary files left), the report that of the best point so far.
    expect(readdirSync(out).sort()).toEqual(["result.json", "tuning.svg"]);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.cancelled).toBe(true);
    expect(result.message).toMatch(/^cancelled/);
    expect(result.x).toHaveLength(n);
    expect(result.x.every(Number.isFinite)).toBe(true);
    expect(result.lambda.l1).toBeGreaterThan(0);
    const values = result.trajectory.map((p: { criterion: number | null }) => p.criterion).filter((v: number | null) => v !== null);
    expect(values.length).toBeGreaterThan(0);
    expect(result.criterion).toBe(Math.min(...values));
    expect(result.certificate.active.length).toBeGreaterThan(0);
    expect(readFileSync(join(out, "tuning.svg"), "utf8")).toMatch(/<\/svg>\s*$/);
    expect(summary.seconds).toBeLessThan(stopped);
  }, 60_000);

  it("SIGINT during denoise writes the image, its report and the comparison for the best tv so far and exits 130", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-cancel-img-"));
    const n = 512, rng = new Random(4), clean = sheppLogan(n);
    const noisy = Float64Array.from(clean.data, (v) => Math.min(255, Math.max(0, Math.round(255 * v + 25 * rng.normal()))));
    writeFileSync(join(dir, "in.png"), encodePng({ data: noisy, height: n, width: n }, 8));
    const { code, stdout, stderr } = await interrupted(["denoise", join(dir, "in.png"), "--out", join(dir, "out.png"), "--json"], 2500);
    expect(stderr).toMatch(/stopping after the current solve/);
    expect(code).toBe(130);
    const report = JSON.parse(stdout);
    expect(report.cancelled).toBe(true);
    expect(report.tv).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(["in.png", "out-compare.png", "out.json", "out.png"]);
    expect(JSON.parse(readFileSync(join(dir, "out.json"), "utf8"))).toEqual(report);
  }, 60_000);
});
