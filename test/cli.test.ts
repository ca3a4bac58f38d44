import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "npyjs";
import { FIXTURES, L1L2_FIXTURES, maxAbsDiff, reference, relErr } from "./support.js";

// Runs the built CLI (`npm test` builds first).
const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("sparsetune solve / hypergrad --json", () => {
  it.each(L1L2_FIXTURES)("%s: solve --json carries the contract keys and the reference answer", (name) => {
    const ref = reference(name);
    for (const solver of ["cd", "fista"]) {
      const r = run("solve", join(FIXTURES, `${name}.json`), "--solver", solver, "--tol", "1e-12", "--json");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      for (const key of ["x", "active", "signs", "objective", "dualityGap", "kktViolation", "iterations", "converged", "seconds"]) {
        expect(out).toHaveProperty(key);
      }
      expect(out.converged).toBe(true);
      expect(out.active).toEqual(ref.active);
      expect(out.signs).toEqual(ref.signs);
      expect(maxAbsDiff(out.x, ref.x)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...ref.x.map(Math.abs)));
      expect(relErr(out.objective, ref.objective)).toBeLessThanOrEqual(1e-9);
      expect(out.seconds).toBeGreaterThan(0);
    }
  });

  it.each(L1L2_FIXTURES)("%s: hypergrad --json matches the reference hypergradient", (name) => {
    const ref = reference(name);
    const r = run("hypergrad", join(FIXTURES, `${name}.json`), "--tol", "1e-12", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(relErr(out.heldoutMse, ref.heldoutMse)).toBeLessThanOrEqual(1e-8);
    expect(relErr(out.hypergradient.l1, ref.hypergradient.l1)).toBeLessThanOrEqual(1e-5);
    if (ref.hypergradient.l2 !== undefined) expect(relErr(out.hypergradient.l2, ref.hypergradient.l2)).toBeLessThanOrEqual(1e-5);
    expect(out.active).toEqual(ref.active);
    expect(out.hypergradientSeconds).toBeGreaterThan(0);
    expect(out.seconds).toBeGreaterThanOrEqual(out.hypergradientSeconds);
  });

  it("reads problems whose arrays are .npy files (C and Fortran order, float32)", () => {
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-cli-"));
    const doc = JSON.parse(readFileSync(join(FIXTURES, "lasso-small.json"), "utf8"));
    const [m, n] = doc.A.shape as [number, number];
    // Fortran order: write the column-major bytes under a fortran_order header by hand.
    const colMajor = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) colMajor[j * m + i] = doc.A.data[i * n + j];
    const header = `{'descr': '<f8', 'fortran_order': True, 'shape': (${m}, ${n}), }`;
    const pad = 64 - ((10 + header.length + 1) % 64);
    const head = Buffer.from(`\x93NUMPY\x01\x00` + "  " + header + " ".repeat(pad) + "\n", "latin1");
    head.writeUInt16LE(head.length - 10, 8);
    writeFileSync(join(dir, "A.npy"), Buffer.concat([head, Buffer.from(colMajor.buffer)]));
    writeFileSync(join(dir, "y.npy"), new Uint8Array(dump(Float32Array.from(doc.y), [m])));
    writeFileSync(join(dir, "Av.npy"), new Uint8Array(dump(Float64Array.from(doc.validation.A.data), doc.validation.A.shape)));
    writeFileSync(join(dir, "p.json"), JSON.stringify({ ...doc, A: { npy: "A.npy" }, y: { npy: "y.npy" }, validation: { A: { npy: "Av.npy" }, y: doc.validation.y } }));
    const out = JSON.parse(run("solve", join(dir, "p.json"), "--json").stdout);
    // y went through float32: the support is unchanged, x moves by ~1e-7.
    expect(out.active).toEqual(doc.reference.active);
    expect(maxAbsDiff(out.x, doc.reference.x)).toBeLessThanOrEqual(1e-5);
  });

  it("reports an iteration cap as converged: false with the gap", () => {
    const r = run("solve", join(FIXTURES, "lasso-cs-200x500.json"), "--solver", "fista", "--max-iter", "3", "--tol", "1e-14", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.converged).toBe(false);
    expect(out.message).toMatch(/iteration cap/);
    expect(out.dualityGap).toBeGreaterThan(0);
  });

  it("prints a human summary without --json", () => {
    const r = run("hypergrad", join(FIXTURES, "lasso-small.json"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/converged with cd/);
    expect(r.stdout).toMatch(/dMSE\/dl1/);
  });
});

describe("bad input: one line on stderr, exit 2, nothing on stdout", () => {
  const dir = mkdtempSync(join(tmpdir(), "sparsetune-bad-"));
  const toy = JSON.parse(readFileSync(join(FIXTURES, "lasso-toy.json"), "utf8"));
  const file = (name: string, doc: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
    return path;
  };
  const cases: [string, string[], RegExp][] = [
    ["missing file", ["solve", join(dir, "nope.json")], /nope\.json.*no such file/],
    ["invalid JSON", ["solve", file("bad.json", "{")], /bad\.json/],
    ["unknown format", ["solve", file("v2.json", { ...toy, format: "sparsetune-problem/2" })], /format/],
    ["A vs y", ["solve", file("ay.json", { ...toy, y: [1, 2] })], /^sparsetune: y: expected length 3/],
    ["validation columns", ["hypergrad", file("va.json", { ...toy, validation: { A: { shape: [1, 2], data: [1, 2] }, y: [1] } })], /validation\.A: expected 1 columns/],
    ["negative penalty", ["solve", file("neg.json", { ...toy, penalty: { l1: -0.3 } })], /penalty\.l1/],
    ["empty problem", ["solve", file("empty.json", { ...toy, A: { shape: [0, 0], data: [] }, y: [] })], /^sparsetune: A/],
    ["non-numeric data", ["solve", file("nan.json", { ...toy, y: [1, "x", 2] })], /^sparsetune: y/],
    ["non-float npy", ["solve", file("int.json", { ...toy, A: { npy: "int.npy" } })], /int\.npy/],
    ["hypergrad without validation", ["hypergrad", file("noval.json", { ...toy, validation: undefined })], /validation/],
    ["bad --tol", ["solve", join(FIXTURES, "lasso-toy.json"), "--tol", "abc"], /--tol/],
    ["unknown solver", ["solve", join(FIXTURES, "lasso-toy.json"), "--solver", "newton"], /--solver/],
  ];
  writeFileSync(join(dir, "int.npy"), new Uint8Array(dump(Int32Array.from([1, 2, 3]), [3, 1])));

  it.each(cases)("%s", (_label, args, pattern) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it("a problem class the solver does not handle yet is named, not crashed on", () => {
    const r = run("solve", join(FIXTURES, "tv1d-denoise.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/penalty\.tv/);
  });
});

describe("sparsetune tune", () => {
  const tmp = () => mkdtempSync(join(tmpdir(), "sparsetune-tune-"));

  it("--json carries the contract keys; the report and plots are written", () => {
    const out = tmp();
    const r = run("tune", join(FIXTURES, "lasso-cs-200x500.json"), "--json", "--grid", "--out", out);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    for (const key of ["lambda", "criterion", "iterations", "solves", "seconds", "x"]) expect(doc).toHaveProperty(key);
    expect(typeof doc.lambda.l1).toBe("number");
    expect(doc.x).toHaveLength(500);
    expect(doc.criterion).toBeLessThanOrEqual(doc.gridBest.value * (1 + 1e-9));
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.lambda).toEqual(doc.lambda);
    expect(result.trajectory.length).toBeGreaterThan(0);
    expect(result.grid.points).toHaveLength(100);
    expect(readFileSync(join(out, "tuning.svg"), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(r.stderr).toBe(""); // no progress output off a TTY
  });

  it("writes a reconstruction plot when the problem knows its truth (the demo)", () => {
    const out = tmp();
    const r = run("tune", join(import.meta.dirname, "..", "problems", "demo.json"), "--out", out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tuned l1 = /);
    expect(readFileSync(join(out, "reconstruction.svg"), "utf8")).toContain("truth");
  });

  it.each([
    ["cv", ["--criterion", "cv", "--folds", "3"]],
    ["sure", ["--criterion", "sure", "--sigma", "0.05"]],
    ["lbfgs", ["--optimizer", "lbfgs"]],
    ["adam", ["--optimizer", "adam"]],
  ])("runs with %s", (_label, flags) => {
    const r = run("tune", join(FIXTURES, "lasso-small.json"), "--json", "--out", tmp(), ...flags);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Number.isFinite(doc.criterion)).toBe(true);
    expect(doc.lambda.l1).toBeGreaterThan(0);
  });

  it.each([
    ["unknown criterion", ["--criterion", "aic"], /--criterion/],
    ["unknown optimizer", ["--optimizer", "newton"], /--optimizer/],
    ["SURE without sigma", ["--criterion", "sure"], /sigma/],
    ["more folds than rows", ["--criterion", "cv", "--folds", "100000"], /folds/],
    ["start above λ_max", ["--start", "1e9"], /start/],
    ["negative start", ["--start", "-1"], /--start/],
  ])("bad input (%s): exit 2, one line, no output files", (_label, flags, pattern) => {
    const out = join(tmp(), "out");
    const r = run("tune", join(FIXTURES, "lasso-small.json"), "--out", out, ...(flags as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern as RegExp);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
    expect(() => readFileSync(join(out, "result.json"))).toThrow();
  });

  it("heldout without validation data is refused before any work", () => {
    const dir = tmp();
    const doc = JSON.parse(readFileSync(join(FIXTURES, "lasso-toy.json"), "utf8"));
    delete doc.validation;
    writeFileSync(join(dir, "p.json"), JSON.stringify(doc));
    const r = run("tune", join(dir, "p.json"), "--out", join(dir, "out"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/validation/);
  });
});
