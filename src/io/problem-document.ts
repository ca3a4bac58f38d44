/**
 * sparsetune-problem/1 documents (browser-safe): a parsed JSON document to a validated Problem.
 * `{"npy": path}` entries need an NpyResolver; the Node entry supplies one that reads files.
 */
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";
import { IdentityOperator, identityDense } from "../operators/identity.js";
import { createProblem, type Problem, type ProblemInput } from "../problem.js";
import { parseNpyMatrix, parseNpyVector, type NpyBytes } from "./npy-format.js";

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

/**
 * Reads the `{"npy": path}` entries of a problem document: `path` as written in the document,
 * `baseDir` as given to parseProblemDocument, `field` to name in an InputError.
 */
export interface NpyResolver {
  matrix(path: string, baseDir: string, field: string): DenseMatrix;
  vector(path: string, baseDir: string, field: string): Float64Array;
}

/**
 * An NpyResolver over .npy bytes already in memory (fetched beforehand, since parsing is
 * synchronous): `lookup(path, baseDir)` returns the bytes of that entry, or undefined.
 */
export function npyResolverFromBytes(lookup: (path: string, baseDir: string) => NpyBytes | undefined): NpyResolver {
  if (typeof lookup !== "function") throw new InputError("lookup", `expected a function (path, baseDir) => bytes | undefined, got ${lookup === null ? "null" : typeof lookup}`);
  const bytes = (path: string, baseDir: string, field: string): NpyBytes => {
    const found = lookup(path, baseDir);
    if (found === undefined) throw new InputError(field, `no .npy bytes given for ${path}`);
    return found;
  };
  return {
    matrix: (path, baseDir, field) => parseNpyMatrix(bytes(path, baseDir, field), field, { name: path }),
    vector: (path, baseDir, field) => parseNpyVector(bytes(path, baseDir, field), field, { name: path }),
  };
}

/** Where the document's npy entries are read from; `npy` undefined: they are refused. */
interface Context {
  baseDir: string;
  npy: NpyResolver | undefined;
}

function npyEntry(m: Json, field: string, context: Context): { path: string; resolver: NpyResolver } {
  const path = m.npy;
  if (typeof path !== "string" || path === "") throw new InputError(`${field}.npy`, `expected a file path${got(path)}`);
  if (context.npy === undefined) {
    throw new InputError(`${field}.npy`, `reading ${path} needs a file reader: use loadProblemFile or parseProblemDocument from "sparsetune/node", or pass an NpyResolver`);
  }
  return { path, resolver: context.npy };
}

function readMatrix(value: unknown, field: string, context: Context): DenseMatrix | IdentityOperator {
  const m = object(value, field, `a matrix: ${MATRIX_FORMS}`);
  const dense = "shape" in m || "data" in m;
  const forms = Number(dense) + Number("identity" in m) + Number("npy" in m);
  if (forms !== 1) throw new InputError(field, `expected a matrix: ${MATRIX_FORMS}${forms ? " (exactly one form)" : ""}`);
  if ("npy" in m) {
    const { path, resolver } = npyEntry(m, field, context);
    return resolver.matrix(path, context.baseDir, `${field}.npy`);
  }
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

function readVector(value: unknown, field: string, context: Context): Float64Array {
  if (Array.isArray(value)) return Float64Array.from(numbers(value, field));
  if (isObject(value) && "npy" in value) {
    const { path, resolver } = npyEntry(value, field, context);
    return resolver.vector(path, context.baseDir, `${field}.npy`);
  }
  throw new InputError(field, `expected an array of numbers or {"npy": "file.npy"}${got(value)}`);
}

function readPenalty(value: unknown, context: Context): NonNullable<ProblemInput["penalty"]> {
  const p = object(value, "penalty", "an object with l1, l2, tv");
  for (const key of Object.keys(p)) {
    if (!PENALTY_KEYS.includes(key)) throw new InputError(`penalty.${key}`, "unknown penalty, expected l1, l2, tv or weights");
  }
  // l1/l2/tv are type- and sign-checked by createProblem.
  const penalty = { l1: p.l1, l2: p.l2, tv: p.tv } as NonNullable<ProblemInput["penalty"]>;
  if (p.weights !== undefined) penalty.weights = readVector(p.weights, "penalty.weights", context);
  return penalty;
}

/** `bounds: { lower, upper }`: each a number or a vector (array or npy), either optional. */
function readBounds(value: unknown, context: Context): NonNullable<ProblemInput["bounds"]> {
  const b = object(value, "bounds", `an object {"lower": number or vector, "upper": number or vector}`);
  for (const key of Object.keys(b)) {
    if (key !== "lower" && key !== "upper") throw new InputError(`bounds.${key}`, "unknown field, expected lower or upper");
  }
  // null entries of an inline vector leave that feature's side open (JSON has no Infinity), and so
  // does the open side's infinity (1e999 parses to it), as it does for a scalar; toBounds refuses the other one.
  const side = (v: unknown, field: string, open: number) => {
    if (v === undefined || typeof v === "number") return v;
    if (Array.isArray(v)) {
      const isOpen = (e: unknown) => e === null || e === open;
      return Float64Array.from(numbers(v.map((e: unknown) => (isOpen(e) ? 0 : e)), field).map((e, j) => (isOpen(v[j]) ? open : e)));
    }
    return readVector(v, field, context);
  };
  const out: NonNullable<ProblemInput["bounds"]> = {};
  const lower = side(b.lower, "bounds.lower", -Infinity), upper = side(b.upper, "bounds.upper", Infinity);
  if (lower !== undefined) out.lower = lower;
  if (upper !== undefined) out.upper = upper;
  return out;
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
 * Build a Problem from a parsed sparsetune-problem/1 document. Inline arrays need nothing else;
 * `{"npy": path}` entries are read by `npy` (paths relative to baseDir), and without one they are
 * an InputError pointing to sparsetune/node, whose parseProblemDocument reads files.
 * Project extensions: `truth`, the clean signal when it is known (demo, synthetic problems),
 * `penalty.weights`, `bounds`, `basisPursuit` (true: min l1‖x‖₁ subject to Ax = y) and
 * `intercept` (true: an unpenalised intercept, scikit-learn's fit_intercept).
 * `reference` and unknown top-level fields are ignored.
 */
export function parseProblemDocument(doc: unknown, baseDir = ".", npy?: NpyResolver): Problem {
  const context: Context = { baseDir, npy };
  const d = object(doc, "problem", "a JSON object");
  checkFormat(d.format);
  optionalString(d.description, "description");
  const input: ProblemInput = { A: readMatrix(d.A, "A", context), y: readVector(d.y, "y", context) };
  const name = optionalString(d.name, "name");
  if (name !== undefined) input.name = name;
  if (d.penalty !== undefined) input.penalty = readPenalty(d.penalty, context);
  if (d.grid !== undefined) input.grid = d.grid as number[];
  if (d.constraints !== undefined) {
    const c = object(d.constraints, "constraints", `an object {"C": matrix, "d": vector}`);
    const C = readMatrix(c.C, "constraints.C", context);
    input.constraints = { C: C instanceof DenseMatrix ? C : identityDense(C.rows), d: readVector(c.d, "constraints.d", context) };
  }
  if (d.bounds !== undefined) input.bounds = readBounds(d.bounds, context);
  if (d.validation !== undefined) {
    const v = object(d.validation, "validation", `an object {"A": matrix, "y": vector}`);
    input.validation = { A: readMatrix(v.A, "validation.A", context), y: readVector(v.y, "validation.y", context) };
  }
  if (d.truth !== undefined) input.truth = readVector(d.truth, "truth", context);
  // Basis pursuit (min l1‖x‖₁ subject to Ax = y): a boolean, checked by createProblem.
  if (d.basisPursuit !== undefined) input.basisPursuit = d.basisPursuit as boolean;
  // An unpenalised intercept (A and y centred): a boolean, checked by createProblem.
  if (d.intercept !== undefined) input.intercept = d.intercept as boolean;
  return createProblem(input);
}
