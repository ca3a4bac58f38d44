import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DenseMatrix } from "../src/operators/dense.js";
import { Random } from "../src/linalg/random.js";
import { createProblem, type Problem } from "../src/problem.js";
import { InputError } from "../src/errors.js";
import { expect } from "vitest";
import { lambdaMax } from "../src/penalties/index.js";

export const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** The built CLI (`npm test` builds first). */
export const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI and wait for it. */
export function runCli(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI run asynchronously: independent runs go side by side (each one mostly waits on Node's start-up). */
export function runCliAsync(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Reference {
  x: number[];
  active?: number[];
  signs?: number[];
  objective: number;
  heldoutMse: number;
  hypergradient: Record<string, number>;
  dxdl1?: number[];
  complementarityMargin: number;
}

export function fixtureNames(filter: (doc: { penalty: Record<string, number>; constraints?: unknown }) => boolean): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .filter((f) => filter(JSON.parse(readFileSync(join(FIXTURES, f), "utf8"))))
    .map((f) => f.replace(/\.json$/, ""));
}

/** Fixtures of the l1/l2 class (no tv, no constraints). */
export const L1L2_FIXTURES = fixtureNames((d) => !d.constraints && !(d.penalty.tv > 0));

export function reference(name: string): Reference {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")).reference;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

/** A random compressed-sensing problem: Gaussian A/√m, k-sparse truth, noise, validation rows. */
export function randomProblem(seed: number, m: number, n: number, opts: { k?: number; l1Fraction?: number; l2?: number; noise?: number } = {}): Problem {
  const { k = Math.max(1, Math.floor(n / 10)), l1Fraction = 0.1, l2 = 0, noise = 0.05 } = opts;
  const rng = new Random(seed);
  const gaussian = (rows: number) => {
    const data = new Float64Array(rows * n);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() / Math.sqrt(m);
    return new DenseMatrix(rows, n, data);
  };
  const truth = new Float64Array(n);
  for (const j of rng.sample(n, k)) truth[j] = rng.normal() + Math.sign(rng.normal());
  const measure = (A: DenseMatrix) => {
    const y = A.apply(truth, new Float64Array(A.rows));
    for (let i = 0; i < y.length; i++) y[i] += noise * rng.normal();
    return { A, y };
  };
  const train = measure(gaussian(m));
  const validation = measure(gaussian(Math.max(1, Math.floor(m / 2))));
  const lmax = lambdaMax(createProblem(train));
  return createProblem({ ...train, validation, penalty: { l1: l1Fraction * lmax, l2 } });
}

/** The InputError fn throws: one line, starting with its field name (and matching `pattern` when given). */
export function inputError(fn: () => unknown, pattern?: RegExp): InputError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InputError);
  const e = error as InputError;
  expect(e.message).not.toContain("\n");
  expect(e.message.startsWith(`${e.field}: `)).toBe(true);
  if (pattern) expect(e.message).toMatch(pattern);
  return e;
}

/**
 * The problem's A with the column most correlated with y copied over another (column 0, or 1 when
 * that is the one): two equal columns, so the Lasso is not unique once they enter. A is changed in place.
 */
export function duplicateTopColumn(base: Problem): DenseMatrix {
  const A = base.A as DenseMatrix;
  const c = A.applyT(base.y, new Float64Array(A.cols));
  const top = c.reduce((best, v, j) => (Math.abs(v) > Math.abs(c[best]) ? j : best), 0);
  const other = top === 0 ? 1 : 0;
  A.data.copyWithin(other * A.rows, top * A.rows, (top + 1) * A.rows);
  return A;
}
