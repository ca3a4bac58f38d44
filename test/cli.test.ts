import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "npyjs";
import { CLI, FIXTURES, L1L2_FIXTURES, maxAbsDiff, reference, relErr, runCli as run, runCliAsync as runAsync } from "./support.js";

// Runs the built CLI (`npm test` builds first).
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

  it("a problem class the named solver does not handle is named, not crashed on", () => {
    const r = run("solve", join(FIXTURES, "tv1d-denoise.json"), "--solver", "cd");
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

  it("SURE below zero (it estimates the risk up to −mσ²): the tuning plot keeps every point on a linear axis", () => {
    const out = tmp();
    const r = run("tune", join(import.meta.dirname, "..", "problems", "demo.json"), "--criterion", "sure", "--sigma", "0.05", "--grid", "--json", "--out", out);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).criterion).toBeLessThan(0);
    const svg = readFileSync(join(out, "tuning.svg"), "utf8");
    expect(svg).not.toMatch(/omitted/);
    expect(svg).toMatch(/<\/svg>\s*$/);
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

// Hostile use of the CLI (issue 6, item 8): bad input is one line on stderr starting with
// "sparsetune: ", exit 2, nothing on stdout and no files; numerical failures exit 1; never a stack trace.
describe.concurrent("reliability: hostile inputs", () => {
  const dir = mkdtempSync(join(tmpdir(), "sparsetune-hostile-"));
  const small = JSON.parse(readFileSync(join(FIXTURES, "lasso-small.json"), "utf8"));
  delete small.reference;
  const file = (name: string, doc: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
    return path;
  };
  const scale = (v: number[], s: number) => v.map((x) => x * s);
  const variant = (name: string, patch: (d: typeof small) => void) => {
    const d = structuredClone(small);
    patch(d);
    return file(name, d);
  };
  const expectBadInput = (r: ReturnType<typeof run>, pattern: RegExp, label = "") => {
    expect(r.stderr, label).toMatch(pattern);
    expect(r.code, label).toBe(2);
    expect(r.stdout, label).toBe("");
    expect(r.stderr.startsWith("sparsetune: "), label).toBe(true);
    expect(r.stderr.trim().split("\n"), label).toHaveLength(1);
    expect(r.stderr, label).not.toMatch(/\bat .*\.js:\d+/);
  };

  const scales: [string, string, RegExp][] = [
    ["y·1e160", variant("y-big.json", (d) => { d.y = scale(d.y, 1e160); d.validation.y = scale(d.validation.y, 1e160); }), /^sparsetune: y: expected ‖y‖² in \[/],
    ["y·1e-160", variant("y-small.json", (d) => { d.y = scale(d.y, 1e-160); d.validation.y = scale(d.validation.y, 1e-160); d.penalty.l1 *= 1e-160; }), /^sparsetune: y: /],
    ["A·1e160", variant("A-big.json", (d) => { d.A.data = scale(d.A.data, 1e160); }), /^sparsetune: A: /],
    ["l1 = 1e-300", variant("l1-tiny.json", (d) => { d.penalty = { l1: 1e-300 }; }), /^sparsetune: penalty\.l1: expected 0 or at least/],
    ["l2 = 1e300", variant("l2-huge.json", (d) => { d.penalty = { l1: 0.1, l2: 1e300 }; }), /^sparsetune: penalty\.l2: /],
  ];
  it("extreme scales: solve, hypergrad and tune refuse them (exit 2, the field and the range; no NaN/null result)", async () => {
    const out = join(dir, "out-scale");
    const runs = scales.flatMap(([label, path, pattern], k) => [
      ["solve", "hypergrad", "tune"].filter((c) => c === "solve" || k === 0).map(async (command) => {
        const r = await runAsync(command, path, "--json", ...(command === "tune" ? ["--out", out] : []));
        expectBadInput(r, pattern, `${command} ${label}`);
      }),
    ].flat());
    await Promise.all(runs);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ["no penalty", (d: typeof small) => { delete d.penalty; }],
    ["l1 = l2 = 0", (d: typeof small) => { d.penalty = { l1: 0, l2: 0 }; }],
  ])("missing penalty (%s) is bad input: exit 2 asking for a positive l1 or l2", async (label, patch) => {
    const path = variant(`nopen-${label.length}.json`, patch);
    const [solved, differentiated] = await Promise.all([runAsync("solve", path), runAsync("hypergrad", path)]);
    expectBadInput(solved, /^sparsetune: penalty: expected a positive l1 or l2/);
    expectBadInput(differentiated, /^sparsetune: penalty: expected a positive l1 or l2/);
  });

  it("an unconverged solve is not blamed on a non-unique Lasso (exit 1, the real cause)", async () => {
    const r = await runAsync("hypergrad", join(FIXTURES, "lasso-cs-200x500.json"), "--solver", "fista", "--max-iter", "3", "--tol", "1e-14");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/did not converge/);
    expect(r.stderr).not.toMatch(/not unique/);
  });

  writeFileSync(join(dir, "empty.npy"), "");
  const hugeHeader = (() => {
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000), }";
    dict = dict.padEnd(118, " ") + "\n";
    const head = Buffer.alloc(10);
    head.write("\x93NUMPY\x01\x00", 0, "latin1");
    head.writeUInt16LE(dict.length, 8);
    return Buffer.concat([head, Buffer.from(dict, "latin1"), Buffer.alloc(64)]);
  })();
  writeFileSync(join(dir, "huge.npy"), hugeHeader);
  const junk: [string, string[], RegExp][] = [
    ["--tol NaN", ["solve", join(FIXTURES, "lasso-toy.json"), "--tol", "NaN"], /--tol/],
    ["--tol 1e-30", ["solve", join(FIXTURES, "lasso-toy.json"), "--tol", "1e-30"], /--tol.*\[1e-16, 1\)/],
    ["--max-iter 2.5", ["tune", join(FIXTURES, "lasso-toy.json"), "--max-iter", "2.5"], /--max-iter/],
    ["--folds 1", ["tune", join(FIXTURES, "lasso-small.json"), "--criterion", "cv", "--folds", "1"], /--folds.*≥ 2/],
    ["--start 1e-300", ["tune", join(FIXTURES, "lasso-small.json"), "--start", "1e-300"], /^sparsetune: start: expected l1 in \[1e-6·λ_max/],
    ["an empty file", ["solve", file("empty.json", "")], /empty\.json: expected a JSON document/],
    ["a directory as FILE", ["solve", dir], /is a directory/],
    ["/dev/zero as FILE (it was read forever)", ["solve", "/dev/zero"], /^sparsetune: \/dev\/zero: expected a problem file .*character device/],
    ["a 0-byte .npy", ["solve", variant("npy0.json", (d) => { d.A = { npy: "empty.npy" }; })], /^sparsetune: A\.npy: .*empty/],
    ["a huge shape in an .npy header", ["solve", variant("npyhuge.json", (d) => { d.A = { npy: "huge.npy" }; })], /^sparsetune: A\.npy: .*too large/],
    ["a problem file that is an array", ["solve", file("array.json", "[1, 2]")], /^sparsetune: problem: expected a JSON object/],
    ["deeply nested junk", ["solve", file("deep.json", "[".repeat(100000) + "]".repeat(100000))], /^sparsetune: problem: /],
    ['penalty.l1 "2"', ["solve", variant("l1str.json", (d) => { d.penalty = { l1: "2" }; })], /^sparsetune: penalty\.l1: /],
    ["unknown penalty key", ["solve", variant("foo.json", (d) => { d.penalty = { l1: 0.1, foo: 1 }; })], /^sparsetune: penalty\.foo: unknown penalty/],
  ];
  it("junk arguments and files: one line naming the field, exit 2, nothing written", async () => {
    const out = join(dir, "out-junk");
    await Promise.all(junk.map(async ([label, args, pattern]) => {
      expectBadInput(await runAsync(...args, ...(args[0] === "tune" ? ["--out", out] : [])), pattern, label);
    }));
    expect(existsSync(out)).toBe(false);
  });
});

describe.concurrent("reliability: tune --out is checked first and written all or nothing", () => {
  const tmp = () => mkdtempSync(join(tmpdir(), "sparsetune-out-"));
  const problem = join(FIXTURES, "lasso-small.json");

  it("--out under /proc or /sys fails at once with exit 2 (it used to hang)", async () => {
    const started = Date.now();
    await Promise.all(["/proc/self/fd", "/sys/kernel/sparsetune"].map(async (out) => {
      const r = await runAsync("tune", problem, "--out", out);
      expect(r.code, out).toBe(2);
      expect(r.stderr, out).toMatch(/^sparsetune: --out: .*regular file system/);
      expect(r.stdout, out).toBe("");
    }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await runAsync("tune", problem, "--out", "")).stderr).toMatch(/^sparsetune: --out: expected a folder name/);
  }, 20_000);

  it("a symbolic link into /proc is followed and refused", async () => {
    const link = join(tmp(), "link");
    symlinkSync("/proc", link);
    expect((await runAsync("tune", problem, "--out", join(link, "x"))).stderr).toMatch(/--out/);
  });

  it("a file in the way of the folder: exit 2 before tuning", async () => {
    const blocker = join(tmp(), "file");
    writeFileSync(blocker, "x");
    const r = await runAsync("tune", problem, "--out", join(blocker, "sub"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sparsetune: --out: cannot create the folder .*a file is in the way/);
  });

  it("a directory in the way of result.json: exit 2 before tuning, nothing written", async () => {
    const out = tmp();
    mkdirSync(join(out, "result.json"));
    const r = await runAsync("tune", problem, "--out", out);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sparsetune: --out: cannot write .*result\.json/);
    expect(readdirSync(out)).toEqual(["result.json"]); // no tuning.svg, no temporary files
  });

  it("an unwritable folder: exit 2 before tuning", async () => {
    if (process.getuid?.() === 0) return; // root writes anywhere; the file-in-the-way case covers it
    const out = tmp();
    chmodSync(out, 0o500);
    const r = await runAsync("tune", problem, "--out", join(out, "sub"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });

  it("bad input found after the folder was prepared leaves no folder behind", async () => {
    const out = join(tmp(), "a", "b");
    const r = await runAsync("tune", problem, "--out", out, "--start", "1e9");
    expect(r.code).toBe(2);
    expect(existsSync(join(out, ".."))).toBe(false);
  });

  it("a successful run leaves exactly the outputs, no temporary or probe files", async () => {
    const out = tmp();
    expect((await runAsync("tune", problem, "--out", out, "--max-iter", "3")).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["result.json", "tuning.svg"]);
  });
});

describe.concurrent("reliability: tune --max-iter, convergence claims, --start at λ_max", () => {
  const problem = join(FIXTURES, "lasso-small.json");

  it("--max-iter caps the tuner's outer iterations (and is documented in --help)", async () => {
    // l1 and l2 together: a descent (the Lasso in l1 alone finishes on the exact path, without one).
    const descent = join(FIXTURES, "enet-small.json");
    const [help, cappedRun, freeRun] = await Promise.all([
      runAsync("tune", "--help"),
      runAsync("tune", descent, "--json", "--out", mkdtempSync(join(tmpdir(), "st-")), "--max-iter", "1"),
      runAsync("tune", descent, "--json", "--out", mkdtempSync(join(tmpdir(), "st-")), "--max-iter", "50"),
    ]);
    expect(help.stdout).toMatch(/--max-iter <N>\s+outer iteration cap/);
    const capped = JSON.parse(cappedRun.stdout), free = JSON.parse(freeRun.stdout);
    expect(capped.iterations).toBeLessThan(free.iterations);
    expect(capped.solves).toBeLessThan(free.solves);
    expect(capped.iterations).toBeLessThanOrEqual(4);
  });

  it("--start equal to λ_max as another tool computes it (one ulp above ours) is accepted", async () => {
    const doc = JSON.parse(readFileSync(problem, "utf8"));
    const { m, n } = { m: doc.A.shape[0], n: doc.A.shape[1] };
    // λ_max = ‖Aᵀy‖∞ summed in another order (rows forward), then nudged one ulp up.
    let lmax = 0;
    for (let j = 0; j < n; j++) {
      let c = 0;
      for (let i = 0; i < m; i++) c += doc.A.data[i * n + j] * doc.y[i];
      lmax = Math.max(lmax, Math.abs(c));
    }
    const above = lmax * (1 + 2 * Number.EPSILON);
    const [r, tooHigh] = await Promise.all([
      runAsync("tune", problem, "--json", "--start", String(above), "--out", mkdtempSync(join(tmpdir(), "st-")), "--max-iter", "2"),
      runAsync("tune", problem, "--start", String(lmax * (1 + 1e-6)), "--out", mkdtempSync(join(tmpdir(), "st-"))),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(tooHigh.code).toBe(2);
  });

  it("a noiseless problem does not claim convergence while the criterion still falls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st-noiseless-"));
    const m = 30, n = 60;
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const A = Array.from({ length: m * n }, rand), Av = Array.from({ length: (m / 2) * n }, rand);
    const x = new Array(n).fill(0);
    for (const j of [3, 11, 29, 41, 57]) x[j] = 1 + Math.abs(rand());
    const mul = (M: number[], rows: number) => Array.from({ length: rows }, (_, i) => x.reduce((s, v, j) => s + v * M[i * n + j], 0));
    const path = join(dir, "p.json");
    writeFileSync(path, JSON.stringify({ format: "sparsetune-problem/1", A: { shape: [m, n], data: A }, y: mul(A, m), validation: { A: { shape: [m / 2, n], data: Av }, y: mul(Av, m / 2) } }));
    const r = await runAsync("tune", path, "--json", "--out", join(dir, "out"));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.converged).toBe(false);
    expect(out.message).toMatch(/still decreases/);
  });
});

describe.concurrent("reliability: closed pipes", () => {
  it("solve --json | head -c 10 exits quietly (no stack trace)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st-pipe-"));
    const n = 40_000;
    const y = Array.from({ length: n }, (_, i) => Math.sin(i) * 3 + 0.123456789);
    const path = join(dir, "big.json");
    writeFileSync(path, JSON.stringify({ format: "sparsetune-problem/1", A: { identity: n }, y, penalty: { l1: 0.01 } }));
    const piped = (flag: string) => new Promise<string>((resolve) => {
      const child = spawn("bash", ["-c", `"${process.execPath}" "${CLI}" solve "${path}" ${flag} | head -c 10 > /dev/null; echo "exit=\${PIPESTATUS[0]}" >&2`]);
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
      child.on("close", () => resolve(stderr));
    });
    expect(await piped("--json")).toMatch(/^exit=(0|141)\n$/);
  });
});
