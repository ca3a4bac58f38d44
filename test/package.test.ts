/**
 * The package at its edges, tested on the tarball `npm pack` makes (installed by name into a
 * temporary folder): what it ships, a browser bundle of the main entry, no code generation from
 * strings, require() from CommonJS, complete types without @types/*, and the CLI's --version.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};

let dir = "";
let installed = "";
let packed: string[] = [];

function run(command: string, args: string[], cwd = dir): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
}

function expectOk(r: SpawnSyncReturns<string>): void {
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sparsetune-package-"));
  // dist/ is built by `npm test` before vitest runs; --ignore-scripts: do not build again.
  const pack = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = info.files.map((f) => f.path).sort();
  const modules = join(dir, "node_modules");
  mkdirSync(modules);
  expect(run("tar", ["-xzf", join(dir, info.filename), "-C", modules]).status).toBe(0);
  installed = join(modules, "sparsetune");
  renameSync(join(modules, "package"), installed);
  // The package's dependencies, as npm would install them beside it.
  for (const dep of Object.keys(manifest.dependencies)) {
    mkdirSync(join(modules, dep, ".."), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), join(modules, dep), "dir");
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A tiny Lasso whose answer is known: A = I, so x = soft(y, l1) = [2, 0, -1.5]. */
const TINY = `{ A: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], y: [3, -0.5, -2.5], penalty: { l1: 1 } }`;
const TINY_X = [2, 0, -1.5];

describe("the tarball", () => {
  it("holds dist, README, LICENSE and package.json; no source maps, sources, tests or demo data", () => {
    for (const f of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts", "dist/node.js", "dist/node.d.ts", "dist/cli/main.js"]) {
      expect(packed).toContain(f);
    }
    const stray = packed.filter((f) => f.endsWith(".map") || !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(f));
    expect(stray).toEqual([]);
  });

  it("declares the entries, the repository and a MIT license", () => {
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(Object.keys(pkg.exports)).toEqual([".", "./node", "./package.json"]);
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    expect(pkg.exports["./node"]).toEqual({ types: "./dist/node.d.ts", default: "./dist/node.js" });
    expect(pkg.license).toBe("MIT");
    expect(pkg.repository.url).toContain("github.com/sparsetune/sparsetune");
    expect(pkg.bugs.url).toContain("github.com/sparsetune/sparsetune");
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).toMatch(/MIT License[\s\S]*2026 sparsetune contributors/);
  });
});

describe("the main entry in a browser", () => {
  const bundle = (entry: string) =>
    build({ entryPoints: [join(installed, "dist", entry)], bundle: true, platform: "browser", format: "esm", minify: true, write: false, metafile: true, logLevel: "silent" });

  it("bundles with esbuild for the browser: no node built-in, no ndarray, no code generated from strings", async () => {
    const result = await bundle("index.js");
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.startsWith("node:") || /\/(ndarray|ndarray-ops|cwise)[^/]*\//.test(p))).toEqual([]);
    const text = result.outputFiles[0].text;
    expect(text).not.toMatch(/\bnew Function\b|\beval\(/);
    const bytes = result.outputFiles[0].contents.byteLength;
    console.info(`browser bundle of sparsetune (esbuild, minified): ${bytes} bytes`);
    expect(bytes).toBeLessThan(400_000);
  });

  it("while the node entry does not bundle for the browser (the check can fail)", async () => {
    await expect(bundle("node.js")).rejects.toThrow(/node:fs/);
  });
});

describe("running the built package", () => {
  it("solves a tiny problem under --disallow-code-generation-from-strings, with ml-matrix and ndarray-like inputs", () => {
    const script = join(dir, "no-eval.mjs");
    writeFileSync(
      script,
      `import { createProblem, solve, withPenalty, parseNpyVector, encodeNpy } from "sparsetune";
import { Matrix } from "ml-matrix";
const x = solve(createProblem(${TINY}), { tol: 1e-12 }).x;
// The same problem from an ml-matrix Matrix and a strided, flipped ndarray-like y.
const y = { data: new Float64Array([0, -2.5, 9, -0.5, 9, 3]), shape: [3], stride: [-2], offset: 5 };
const p = withPenalty(createProblem({ A: Matrix.eye(3), y }), { l1: 1 });
const x2 = solve(p, { solver: "fista", tol: 1e-12 }).x;
const x3 = parseNpyVector(encodeNpy(Float64Array.from(x), [3]));
console.log(JSON.stringify([Array.from(x), Array.from(x2), Array.from(x3)]));
`,
    );
    const r = run(process.execPath, ["--disallow-code-generation-from-strings", script]);
    expectOk(r);
    const [x, x2, x3] = JSON.parse(r.stdout) as number[][];
    for (const v of [x, x2, x3]) v.forEach((xi, i) => expect(Math.abs(xi - TINY_X[i])).toBeLessThan(1e-12));
  });

  it("the flag does forbid code generation (the check can fail)", () => {
    const r = run(process.execPath, ["--disallow-code-generation-from-strings", "-e", "new Function('return 1')"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Code generation from strings disallowed");
  });

  it("require() from CommonJS gives both entries (Node's require of ES modules)", () => {
    const script = join(dir, "consumer.cjs");
    writeFileSync(
      script,
      `const st = require("sparsetune");
const node = require("sparsetune/node");
const x = st.solve(st.createProblem(${TINY}), { tol: 1e-12 }).x;
let refused = "";
try { st.createProblem({ A: [[1]], y: ["a"] }); } catch (e) { refused = e instanceof node.InputError ? e.message : "other"; }
console.log(JSON.stringify({ x: Array.from(x), main: typeof st.loadProblemFile, node: typeof node.loadProblemFile, same: st.solve === node.solve, refused }));
`,
    );
    const r = run(process.execPath, [script]);
    expectOk(r);
    const out = JSON.parse(r.stdout);
    out.x.forEach((xi: number, i: number) => expect(Math.abs(xi - TINY_X[i])).toBeLessThan(1e-12));
    expect(out).toMatchObject({ main: "undefined", node: "function", same: true });
    expect(out.refused).toMatch(/^y: /);
  });

  it("the README's sparsetune/node example runs against the installed package", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const code = readme.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(code).toContain('from "sparsetune/node"');
    const script = join(dir, "readme-node.mjs");
    writeFileSync(script, `${code}\nconsole.log(JSON.stringify({ converged: solution.converged, active: solution.active.length }));\n`);
    const r = spawnSync(process.execPath, [script], { cwd: ROOT, encoding: "utf8" }); // problems/ is the repo's
    expectOk(r);
    expect(JSON.parse(r.stdout).converged).toBe(true);
    expect(JSON.parse(r.stdout).active).toBeGreaterThan(0);
  });

  it("the CLI prints the package version with --version and -V", () => {
    for (const flag of ["--version", "-V"]) {
      const r = run(process.execPath, [join(installed, "dist", "cli", "main.js"), flag]);
      expectOk(r);
      expect(r.stdout).toBe(`${manifest.version}\n`);
    }
  });
});

describe("the published types", () => {
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const compile = (name: string, code: string) => {
    const project = join(dir, `types-${name}`);
    mkdirSync(project);
    writeFileSync(join(project, "consumer.ts"), code);
    const compilerOptions = { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", types: [], skipLibCheck: false };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
    return run(process.execPath, [tsc, "-p", project]);
  };

  it("type-check a consumer with types: [] and skipLibCheck: false (no @types/* needed)", () => {
    const r = compile(
      "good",
      `import { createProblem, solve, hypergradient, HeldOutMse, tune, withPenalty, lambdaMax, InputError, parseNpy, type NdArrayLike, type Solution } from "sparsetune";
import { loadProblemFile, readNpyMatrix } from "sparsetune/node";
const image: NdArrayLike = { data: new Float64Array(4), shape: [2, 2], stride: [2, 1], offset: 0 };
const problem = createProblem({ A: [[1, 0], [0, 1]], y: image, validation: { A: [[1, 1]], y: [1] } });
const tuned = withPenalty(problem, { l1: 0.1 * lambdaMax(problem) });
const solution: Solution = solve(tuned, { solver: "cd" });
const grad: number = hypergradient(tuned, solution, HeldOutMse.of(tuned)).l1;
const report = tune(problem, { keys: ["l1"] });
const error: Error = new InputError("y", "expected numbers");
const shape: number[] = parseNpy(new Uint8Array(0)).shape;
export { grad, report, error, shape, loadProblemFile, readNpyMatrix };
`,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("and a type error in the consumer is caught (the check can fail)", () => {
    const r = compile("bad", `import { createProblem } from "sparsetune";\ncreateProblem({ A: 1, y: [1] });\n`);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("consumer.ts");
  });
});
