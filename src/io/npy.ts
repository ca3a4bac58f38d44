/**
 * .npy files on disk (Node only): the header and values are read from an open file descriptor in
 * chunks, through the browser-safe decoders of npy-format.ts.
 */
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import { InputError } from "../errors.js";
import type { DenseMatrix } from "../operators/dense.js";
import { decodeNpy, decodeNpyMatrix, decodeNpyVector, encodeNpy, type NpyData, type NpyReadOptions, type NpySource } from "./npy-format.js";

export { DEFAULT_CHUNK_BYTES, type NpyData, type NpyReadOptions } from "./npy-format.js";

/** Short reason for a failed file-system call: "no such file", "is a directory", ... */
export function fsErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

const cannotRead = (path: string, field: string, reason: string) => new InputError(field, `cannot read ${path} (${reason})`);

/** Fill `bytes` from file position `position`; a short file is reported as changed under us. */
function readFully(fd: number, bytes: Uint8Array, position: number, path: string, field: string): void {
  let done = 0;
  while (done < bytes.length) {
    let got: number;
    try {
      got = readSync(fd, bytes, done, bytes.length - done, position + done);
    } catch (e) {
      throw cannotRead(path, field, fsErrorReason(e));
    }
    if (got === 0) throw cannotRead(path, field, "the file shrank while being read");
    done += got;
  }
}

/** Open `path` as a regular file, run `use` on it as an NpySource, close it. */
function withNpyFile<T>(path: string, field: string, use: (source: NpySource) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw cannotRead(path, field, fsErrorReason(e));
  }
  try {
    let size: number;
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) throw cannotRead(path, field, "is a directory");
      if (!stat.isFile()) throw cannotRead(path, field, "not a regular file");
      size = stat.size;
    } catch (e) {
      throw e instanceof InputError ? e : cannotRead(path, field, fsErrorReason(e));
    }
    return use({ name: path, size, read: (bytes, position) => readFully(fd, bytes, position, path, field) });
  } finally {
    closeSync(fd);
  }
}

/** Read a little-endian float64/float32 .npy file; every failure is an InputError naming `field`. */
export function readNpy(path: string, field: string, options: NpyReadOptions = {}): NpyData {
  return withNpyFile(path, field, (source) => decodeNpy(source, field, options));
}

/**
 * A 2-D .npy file as a column-major DenseMatrix, read in chunks of at most options.chunkBytes
 * (peak memory: the matrix plus one chunk).
 */
export function readNpyMatrix(path: string, field: string, options: NpyReadOptions = {}): DenseMatrix {
  return withNpyFile(path, field, (source) => decodeNpyMatrix(source, field, options));
}

/** A 1-D .npy file, or 2-D with one dimension 1 (same layout in C and Fortran order). */
export function readNpyVector(path: string, field: string, options: NpyReadOptions = {}): Float64Array {
  return withNpyFile(path, field, (source) => decodeNpyVector(source, field, options));
}

/** Write float64 values in C order (row-major for 2-D). */
export function writeNpy(path: string, data: Float64Array, shape: number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}
