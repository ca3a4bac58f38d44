/**
 * Problem files on disk (Node only): the JSON file and its .npy files, read relative to the
 * file's folder, through the browser-safe parser of problem-document.ts.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { InputError } from "../errors.js";
import type { Problem } from "../problem.js";
import { readNpyMatrix, readNpyVector, fsErrorReason } from "./npy.js";
import { parseProblemDocument as parseDocument, type NpyResolver } from "./problem-document.js";

export { PROBLEM_FORMAT, type NpyResolver } from "./problem-document.js";

/** The file of an npy entry: path (absolute, or relative to baseDir), both strings. */
function located(path: string, baseDir: string, field: string): string {
  if (typeof path !== "string" || typeof baseDir !== "string") throw new InputError(field, `expected a file path and a base folder (strings), got ${typeof path} and ${typeof baseDir}`);
  return isAbsolute(path) ? path : join(baseDir, path);
}

/** Reads `{"npy": path}` entries from disk, paths relative to the document's folder. */
export const fileNpyResolver: NpyResolver = {
  matrix: (path, baseDir, field) => readNpyMatrix(located(path, baseDir, field), field),
  vector: (path, baseDir, field) => readNpyVector(located(path, baseDir, field), field),
};

/**
 * Build a Problem from a parsed sparsetune-problem/1 document; npy paths are read from disk,
 * relative to baseDir (or by the resolver given).
 */
export function parseProblemDocument(doc: unknown, baseDir = ".", npy: NpyResolver = fileNpyResolver): Problem {
  return parseDocument(doc, baseDir, npy);
}

/** Read, parse and validate a problem file; errors are InputErrors naming the file or the field. */
export function loadProblemFile(path: string, options: { intercept?: boolean } = {}): Problem {
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
  // --intercept: as the file's "intercept": true.
  if (options.intercept && typeof doc === "object" && doc !== null && !Array.isArray(doc)) doc = { ...doc, intercept: true };
  return parseProblemDocument(doc, dirname(path));
}
