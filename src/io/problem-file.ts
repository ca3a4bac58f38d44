import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import { IdentityOperator } from "../operators/identity.js";
import { createProblem, type Problem, type ProblemInput } from "../problem.js";
import { fsErrorReason, readNpyMatrix, readNpyVector } from "./npy.js";

export const PROBLEM_FORMAT = "sparsetune-problem/1";

type Json = Record<string, unknown>;

const MATRIX_FORMS = `{"shape": [m, n], "data": [...]}, {"identity": n} or {"npy": "file.npy"}`;
const PENALTY_KEYS = ["l1", "l2", "tv", "weights"];

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === "object" ? "an object" : String(value);
}

const got = (value: unknown) => (value === undefined ? ", but it is missing" : `, got ${describe(value)}`);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string, what: string): Json {
  if (!isObject(value)) throw new InputError(field, `expected ${what}${got(value)}`);
  return value;
}

/** A JSON array of finite numbers. */
function numbers(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new InputError(field, `expected an array of numbers${got(value)}`);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== "number") throw new InputError(field, `expected an array of numbers, got ${describe(v)} at index ${i}`);
    if (!Number.isFinite(v)) throw new InputError(field, `expected finite numbers, got ${v} at index ${i}`);
  }
  return value as number[];
}

function npyPath(m: Json, field: string, baseDir: string): string {
  const rel = m.npy;
  if (typeof rel !== "string" || rel === "") throw new InputError(`${field}.npy`, `expected a file path${got(rel)}`);
  return isAbsolute(rel) ? rel : join(baseDir, rel);
}

function readMatrix(value: unknown, field: string, baseDir: string): DenseMatrix | IdentityOperator {
  const m = object(value, field, `a matrix: ${MATRIX_FORMS}`);
  const dense = "shape" in m || "data" in m;
  const forms = Number(dense) + Number("identity" in m) + Number("npy" in m);
  if (forms !== 1) throw new InputError(field, `expected a matrix: ${MATRIX_FORMS}${forms ? " (exactly one form)" : ""}`);
  if ("npy" in m) return readNpyMatrix(npyPath(m, field, baseDir), `${field}.npy`);
  if ("identity" in m) {
    const n = m.identity;
    if (!Number.isInteger(n) || (n as number) < 1) throw new InputError(`${field}.identity`, `expected a positive integer${got(n)}`);
    return new IdentityOperator(n as number);
  }
  const shape = m.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InputError(`${field}.shape`, "expected [rows, cols] positive integers");
  }
  const [rows, cols] = shape as number[];
  if (rows === 0 || cols === 0) throw new InputError(field, "expected a non-empty matrix");
  const data = numbers(m.data, `${field}.data`);
  if (data.length !== rows * cols) {
    throw new InputError(`${field}.data`, `expected ${rows * cols} numbers (${rows}x${cols}, row-major), got ${data.length}`);
  }
  return DenseMatrix.fromArray(rows, cols, data, "C");
}

function readVector(value: unknown, field: string, baseDir: string): Float64Array {
  if (Array.isArray(value)) return Float64Array.from(numbers(value, field));
  if (isObject(value) && "npy" in value) return readNpyVector(npyPath(value, field, baseDir), `${field}.npy`);
  throw new InputError(field, `expected an array of numbers or {"npy": "file.npy"}${got(value)}`);
}

function identityDense(n: number): DenseMatrix {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return new DenseMatrix(n, n, data);
}

function readPenalty(value: unknown, baseDir: string): NonNullable<ProblemInput["penalty"]> {
  const p = object(value, "penalty", "an object with l1, l2, tv");
  for (const key of Object.keys(p)) {
    if (!PENALTY_KEYS.includes(key)) throw new InputError(`penalty.${key}`, "unknown penalty, expected l1, l2, tv or weights");
  }
  // l1/l2/tv are type- and sign-checked by createProblem.
  const penalty = { l1: p.l1, l2: p.l2, tv: p.tv } as NonNullable<ProblemInput["penalty"]>;
  if (p.weights !== undefined) penalty.weights = readVector(p.weights, "penalty.weights", baseDir);
  return penalty;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value !== undefined && typeof value !== "string") throw new InputError(field, `expected a string${got(value)}`);
  return value;
}

function checkFormat(format: unknown): void {
  if (format === PROBLEM_FORMAT) return;
  if (typeof format === "string") throw new InputError("format", `unsupported version "${format}", expected "${PROBLEM_FORMAT}"`);
  throw new InputError("format", `expected "${PROBLEM_FORMAT}"${got(format)}`);
}

/**
 * Build a Problem from a parsed sparsetune-problem/1 document; npy paths are relative to baseDir.
 * Project extension: `truth`, the clean signal when it is known (demo, synthetic problems).
 * `reference` and unknown top-level fields are ignored.
 */
export function parseProblemDocument(doc: unknown, baseDir: string): Problem {
  const d = object(doc, "problem", "a JSON object");
  checkFormat(d.format);
  optionalString(d.description, "description");
  const input: ProblemInput = { A: readMatrix(d.A, "A", baseDir), y: readVector(d.y, "y", baseDir) };
  const name = optionalString(d.name, "name");
  if (name !== undefined) input.name = name;
  if (d.penalty !== undefined) input.penalty = readPenalty(d.penalty, baseDir);
  if (d.grid !== undefined) input.grid = d.grid as number[];
  if (d.constraints !== undefined) {
    const c = object(d.constraints, "constraints", `an object {"C": matrix, "d": vector}`);
    const C = readMatrix(c.C, "constraints.C", baseDir);
    input.constraints = { C: C instanceof DenseMatrix ? C : identityDense(C.rows), d: readVector(c.d, "constraints.d", baseDir) };
  }
  if (d.validation !== undefined) {
    const v = object(d.validation, "validation", `an object {"A": matrix, "y": vector}`);
    input.validation = { A: readMatrix(v.A, "validation.A", baseDir), y: readVector(v.y, "validation.y", baseDir) };
  }
  if (d.truth !== undefined) input.truth = readVector(d.truth, "truth", baseDir);
  return createProblem(input);
}

/** Read, parse and validate a problem file; errors are InputErrors naming the file or the field. */
export function loadProblemFile(path: string): Problem {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(path, `cannot read the problem file (${fsErrorReason(e)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new InputError(path, `expected a JSON document (${(e as Error).message})`);
  }
  return parseProblemDocument(doc, dirname(path));
}
