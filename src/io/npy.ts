import { readFileSync, writeFileSync } from "node:fs";
import { dump, parse, type NpyArray } from "npyjs";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";

export interface NpyData {
  /** Values in file order (row-major unless fortranOrder); may view the file's buffer. */
  data: Float64Array | Float32Array;
  shape: number[];
  fortranOrder: boolean;
}

const DTYPE_NAMES: Record<string, string> = {
  b1: "bool", i1: "int8", u1: "uint8", i2: "int16", u2: "uint16", i4: "int32", u4: "uint32",
  i8: "int64", u8: "uint64", f2: "float16", f4: "float32", f8: "float64", c8: "complex64", c16: "complex128", O: "object",
};

/** Short reason for a failed file-system call: "no such file", "is a directory", ... */
export function fsErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

function readBuffer(path: string, field: string): ArrayBuffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(field, `cannot read ${path} (${fsErrorReason(e)})`);
  }
  // parse() wants a buffer holding exactly the file; small reads may share Node's buffer pool.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer;
}

function dtypeName(descr: string): string {
  const order = descr[0];
  const code = "<>|=".includes(order) ? descr.slice(1) : descr;
  const name = DTYPE_NAMES[code] ?? (code.startsWith("U") ? "str" : `'${descr}'`);
  if (order === ">") return `big-endian ${name} ('${descr}')`;
  return order === "=" ? `native-order ${name} ('${descr}')` : name;
}

function parseNpy(buffer: ArrayBuffer, path: string, field: string): NpyArray {
  const wrongType = (dtype: string) =>
    new InputError(field, `expected a float64 or float32 array in ${path}, got ${dtypeName(dtype)}`);
  let npy: NpyArray;
  try {
    npy = parse(buffer);
  } catch (e) {
    const unsupported = /^Unsupported dtype: (.+)$/.exec((e as Error).message);
    if (unsupported) throw wrongType(unsupported[1]);
    const detail = e instanceof RangeError ? "truncated or misaligned" : (e as Error).message;
    throw new InputError(field, `${path} is not a valid .npy file (${detail})`);
  }
  if (npy.dtype !== "f8" && npy.dtype !== "f4") throw wrongType(npy.dtype);
  return npy;
}

const formatShape = (shape: number[]) => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;

/** Read a little-endian float64/float32 .npy file; every failure is an InputError naming `field`. */
export function readNpy(path: string, field: string): NpyData {
  const { data, shape, fortranOrder } = parseNpy(readBuffer(path, field), path, field);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InputError(field, `${path} is not a valid .npy file (bad shape in header)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const values = data as Float64Array | Float32Array;
  if (values.length !== count) {
    throw new InputError(field, `${path} is not a valid .npy file (shape ${formatShape(shape)} needs ${count} values, the file holds ${values.length})`);
  }
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(values[i])) throw new InputError(field, `expected finite numbers in ${path}, found ${values[i]} at index ${i}`);
  }
  return { data: values, shape, fortranOrder };
}

/** A 2-D .npy file as a column-major DenseMatrix (Fortran-order float64 is used without copying). */
export function readNpyMatrix(path: string, field: string): DenseMatrix {
  const { data, shape, fortranOrder } = readNpy(path, field);
  if (shape.length !== 2) throw new InputError(field, `expected a 2-D array in ${path}, got shape ${formatShape(shape)}`);
  const [rows, cols] = shape;
  if (rows === 0 || cols === 0) throw new InputError(field, `expected a non-empty matrix in ${path}, got shape ${formatShape(shape)}`);
  if (!fortranOrder) return DenseMatrix.fromArray(rows, cols, data, "C");
  return new DenseMatrix(rows, cols, data instanceof Float64Array ? data : Float64Array.from(data));
}

/** A 1-D .npy file, or 2-D with one dimension 1 (same layout in C and Fortran order). */
export function readNpyVector(path: string, field: string): Float64Array {
  const { data, shape } = readNpy(path, field);
  if (shape.length !== 1 && !(shape.length === 2 && (shape[0] === 1 || shape[1] === 1))) {
    throw new InputError(field, `expected a 1-D array (or 2-D with one dimension 1) in ${path}, got shape ${formatShape(shape)}`);
  }
  return data instanceof Float64Array ? data : Float64Array.from(data);
}

/** Write float64 values in C order (row-major for 2-D). */
export function writeNpy(path: string, data: Float64Array, shape: number[]): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new RangeError(`writeNpy: shape ${formatShape(shape)} does not fit ${data.length} values`);
  }
  writeFileSync(path, new Uint8Array(dump(data, shape)));
}
