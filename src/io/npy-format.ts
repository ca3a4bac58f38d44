/**
 * The .npy format without a file system (browser-safe): header parsing and checks, chunked
 * decoding into float64 (column-major for matrices), and encoding. The values come from an
 * `NpySource`: bytes in memory here (`parseNpy`), an open file in the Node entry (`io/npy.ts`).
 */
import { dump } from "npyjs";
import { InputError } from "../errors.js";
import { DenseMatrix } from "../operators/dense.js";

export interface NpyData {
  /** Values in file order (row-major unless fortranOrder), in an array of their own. */
  data: Float64Array | Float32Array;
  shape: number[];
  fortranOrder: boolean;
}

/** Reading options; chunkBytes is exposed for tests (small chunks make a small file span many reads). */
export interface NpyReadOptions {
  /** Largest data read at a time, in bytes (rounded down to whole values, at least one). Default 4 MiB. */
  chunkBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_CHUNK_BYTES = 1 << 30; // readSync refuses lengths of 2 GiB and more
const MAX_HEADER_BYTES = 1 << 20; // real headers of float arrays are ~100 bytes
/**
 * Rows scattered together when transposing a chunk: one 64-byte cache line of a float64 column.
 * Measured for 1000×5000 float64: 8.6 ms against 10.4–11.7 ms row by row; 2000×20000: 71 against 117 ms.
 */
const TILE_ROWS = 8;

const DTYPE_NAMES: Record<string, string> = {
  b1: "bool", i1: "int8", u1: "uint8", i2: "int16", u2: "uint16", i4: "int32", u4: "uint32",
  i8: "int64", u8: "uint64", f2: "float16", f4: "float32", f8: "float64", c8: "complex64", c16: "complex128", O: "object",
};

function dtypeName(descr: string): string {
  const order = descr[0];
  const code = "<>|=".includes(order) ? descr.slice(1) : descr;
  const name = DTYPE_NAMES[code] ?? (code.startsWith("U") ? "str" : `'${descr}'`);
  if (order === ">") return `big-endian ${name} ('${descr}')`;
  // no byte-order character means native order, as in numpy
  return order === "=" || code === descr ? `native-order ${name} ('${descr}')` : name;
}

const formatShape = (shape: number[]) => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;

/**
 * Where the bytes of a .npy come from: a file, or bytes in memory. `read` fills `bytes` from byte
 * `position` (the whole span lies within `size`) or throws an InputError.
 */
export interface NpySource {
  /** How messages name the source: a file path, or "the buffer". */
  name: string;
  size: number;
  read(bytes: Uint8Array, position: number): void;
}

/** A .npy source whose header has been read and checked against its size. */
interface NpyFile {
  path: string;
  field: string;
  source: NpySource;
  dtype: "f8" | "f4";
  itemSize: 8 | 4;
  shape: number[];
  fortranOrder: boolean;
  /** Number of values (product of shape). */
  count: number;
  /** Byte position of the first value. */
  dataOffset: number;
}

const invalid = (path: string, field: string, detail: string) => new InputError(field, `${path} is not a valid .npy file (${detail})`);

/**
 * Parse and check the header of `source`: magic string, version 1.0/2.0/3.0, dtype, shape, and
 * that the source holds exactly count × itemsize bytes after the header.
 */
function readHeader(source: NpySource, field: string): NpyFile {
  const { name: path, size } = source;
  const bad = (detail: string) => invalid(path, field, detail);
  if (size === 0) throw bad("empty file");
  const prefix = new Uint8Array(Math.min(size, 12));
  source.read(prefix, 0);
  const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (!MAGIC.every((b, i) => i >= prefix.length || prefix[i] === b)) throw bad("no \\x93NUMPY magic string");
  if (size < 10) throw bad("truncated header");
  const [major, minor] = [prefix[6], prefix[7]];
  if (major < 1 || major > 3) throw bad(`unsupported format version ${major}.${minor}`);
  const headerStart = major === 1 ? 10 : 12;
  if (size < headerStart) throw bad("truncated header");
  const view = new DataView(prefix.buffer);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = headerStart + headerLength;
  if (dataOffset > size) throw bad(`truncated header: it claims ${headerLength} bytes, the file has ${size - headerStart} after the prefix`);
  if (headerLength > MAX_HEADER_BYTES) throw bad(`header of ${headerLength} bytes is too long`);
  const headerBytes = new Uint8Array(headerLength);
  source.read(headerBytes, headerStart);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(headerBytes);

  let dict: unknown;
  try {
    dict = parsePythonLiteral(text);
  } catch (e) {
    throw bad(`malformed header: ${(e as Error).message}`);
  }
  if (!(dict instanceof Map)) throw bad("malformed header: not a dict");
  const descr = dict.get("descr");
  if (typeof descr !== "string") throw bad("malformed header: 'descr' is missing or not a dtype string");
  const order = descr[0], code = descr.slice(1);
  if (!((order === "<" || order === "|") && (code === "f8" || code === "f4"))) {
    throw new InputError(field, `expected a float64 or float32 array in ${path}, got ${dtypeName(descr)}`);
  }
  const fortranOrder = dict.get("fortran_order");
  if (typeof fortranOrder !== "boolean") throw bad("malformed header: 'fortran_order' is missing or not True/False");
  const shape = dict.get("shape");
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad("bad shape in header");
  const dims = shape as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  const itemSize = code === "f8" ? 8 : 4;
  if (!Number.isSafeInteger(count * itemSize)) throw bad(`shape ${formatShape(dims)} is too large`);
  const held = size - dataOffset;
  if (held !== count * itemSize) {
    const holds = held % itemSize === 0 ? `${held / itemSize} values` : `${held} bytes, not a whole number of ${itemSize}-byte values`;
    throw bad(`shape ${formatShape(dims)} needs ${count} values, the file holds ${holds}`);
  }
  return { path, field, source, dtype: code, itemSize, shape: dims, fortranOrder, count, dataOffset };
}

/**
 * Parse the Python literal subset that .npy headers use: dicts, tuples, lists, strings, integers
 * (with an optional Python 2 "L" suffix), True, False, None. Dicts become Maps, tuples and lists
 * arrays; "(x)" without a comma is x, as in Python. Throws SyntaxError naming the offset.
 */
function parsePythonLiteral(text: string): unknown {
  let pos = 0;
  const ATOM = /-?\d+L?|True|False|None/y;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${pos}`);
  };
  const skipSpace = () => {
    while (pos < text.length && " \t\r\n".includes(text[pos])) pos++;
  };
  const expect = (close: string) => {
    skipSpace();
    const c = text[pos];
    if (c === ",") pos++;
    else if (c !== close) fail(c === undefined ? `missing '${close}'` : `unexpected '${c}'`);
  };
  const value = (): unknown => {
    skipSpace();
    const c = text[pos];
    if (c === undefined) return fail("unexpected end");
    if (c === "'" || c === '"') {
      let out = "";
      for (pos++; text[pos] !== c; pos++) {
        if (pos >= text.length) fail("unterminated string");
        if (text[pos] === "\\") pos++;
        out += text[pos];
      }
      pos++;
      return out;
    }
    if (c === "{") {
      const map = new Map<string, unknown>();
      for (pos++, skipSpace(); text[pos] !== "}"; skipSpace()) {
        const key = value();
        if (typeof key !== "string") fail("dict key is not a string");
        skipSpace();
        if (text[pos] !== ":") fail("missing ':'");
        pos++;
        map.set(key as string, value());
        expect("}");
      }
      pos++;
      return map;
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      const items: unknown[] = [];
      let comma = false;
      for (pos++, skipSpace(); text[pos] !== close; skipSpace()) {
        items.push(value());
        expect(close);
        comma ||= text[pos - 1] === ",";
      }
      pos++;
      return close === ")" && items.length === 1 && !comma ? items[0] : items;
    }
    ATOM.lastIndex = pos;
    const atom = ATOM.exec(text)?.[0];
    if (atom === undefined) return fail(`unexpected '${c}'`);
    pos += atom.length;
    if (atom === "True" || atom === "False") return atom === "True";
    if (atom === "None") return null;
    const n = Number(atom.replace("L", ""));
    return Number.isSafeInteger(n) ? n : fail(`integer ${atom} too large`);
  };
  const result = value();
  skipSpace();
  if (pos < text.length) fail(`unexpected '${text[pos]}' after the literal`);
  return result;
}

function allocate<T>(file: NpyFile, make: (count: number) => T, count = file.count): T {
  try {
    return make(count);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new InputError(file.field, `${file.path}: shape ${formatShape(file.shape)} is too large to load (${e.message})`);
  }
}

type FileValues = Float64Array | Float32Array;
const makeValues = (file: NpyFile) => (count: number): FileValues =>
  file.dtype === "f8" ? new Float64Array(count) : new Float32Array(count);

/**
 * Read the values in file order, at most `chunkBytes` at a time, check they are finite, and hand
 * each chunk to `visit` with the file index of its first value. With `into` (of the file's dtype,
 * `count` long) the chunks are read straight into it; otherwise into one reused scratch array.
 */
function readChunks(file: NpyFile, options: NpyReadOptions, visit: (values: FileValues, first: number) => void, into?: FileValues): void {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const { count, itemSize, path, field } = file;
  let chunk = Math.max(1, Math.floor(Math.min(chunkBytes, MAX_CHUNK_BYTES) / itemSize));
  // C-order matrix chunks hold whole rows when a row fits
  const rowLength = file.shape.length === 2 && !file.fortranOrder ? file.shape[1] : 0;
  if (rowLength > 0 && rowLength <= chunk) chunk -= chunk % rowLength;
  const scratch = into ? undefined : allocate(file, makeValues(file), Math.min(chunk, count));
  for (let first = 0; first < count; first += chunk) {
    const length = Math.min(chunk, count - first);
    const values = into ? into.subarray(first, first + length) : scratch!.subarray(0, length);
    file.source.read(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), file.dataOffset + first * itemSize);
    for (let k = 0; k < length; k++) {
      const v = values[k];
      if (v - v !== 0) throw new InputError(field, `expected finite numbers in ${path}, found ${v} at index ${first + k}`);
    }
    visit(values, first);
  }
}

const ignore = () => {};

/** All values in file order and the file's dtype. */
function readFileOrder(file: NpyFile, options: NpyReadOptions): FileValues {
  const data = allocate(file, makeValues(file));
  readChunks(file, options, ignore, data);
  return data;
}

/** All values in file order as float64 (float32 converted chunk by chunk). */
function readFileOrderFloat64(file: NpyFile, options: NpyReadOptions): Float64Array {
  if (file.dtype === "f8") return readFileOrder(file, options) as Float64Array;
  const data = allocate(file, (n) => new Float64Array(n));
  readChunks(file, options, (values, first) => data.set(values, first));
  return data;
}

/**
 * Scatter the row-major values src (file indices first .. first+src.length of an m×n matrix) into
 * the column-major dst: element (i, j) goes to dst[j·m + i]. Whole rows are transposed in tiles
 * of TILE_ROWS rows so that each column receives a cache line at a time; a partial row at either
 * end (when a row is longer than a chunk) is copied directly.
 */
function scatterRowMajor(src: FileValues, first: number, dst: Float64Array, m: number, n: number): void {
  const length = src.length;
  let i = Math.floor(first / n);
  let j = first - i * n;
  let k = 0;
  if (j > 0) {
    for (; j < n && k < length; j++, k++) dst[j * m + i] = src[k];
    if (j < n) return;
    i++;
  }
  const rows = Math.floor((length - k) / n);
  for (let r0 = 0; r0 < rows; r0 += TILE_ROWS) {
    const r1 = Math.min(rows, r0 + TILE_ROWS);
    for (let c = 0; c < n; c++) {
      const out = c * m + i;
      for (let r = r0, s = k + r0 * n + c; r < r1; r++, s += n) dst[out + r] = src[s];
    }
  }
  k += rows * n;
  i += rows;
  for (j = 0; k < length; j++, k++) dst[j * m + i] = src[k];
}

/** The values in file order, the shape and the order of a float64/float32 .npy from `source`. */
export function decodeNpy(source: NpySource, field: string, options: NpyReadOptions = {}): NpyData {
  const file = readHeader(source, field);
  return { data: readFileOrder(file, options), shape: file.shape, fortranOrder: file.fortranOrder };
}

/**
 * A 2-D .npy as a column-major DenseMatrix. The matrix is allocated once and the source read
 * into it in chunks of at most options.chunkBytes: Fortran-order float64 straight into the
 * matrix, C order transposed (and float32 converted) chunk by chunk. Peak memory: the matrix
 * plus one chunk.
 */
export function decodeNpyMatrix(source: NpySource, field: string, options: NpyReadOptions = {}): DenseMatrix {
  const file = readHeader(source, field);
  const { shape, path } = file;
  if (shape.length !== 2) throw new InputError(field, `expected a 2-D array in ${path}, got shape ${formatShape(shape)}`);
  const [rows, cols] = shape;
  if (rows === 0 || cols === 0) throw new InputError(field, `expected a non-empty matrix in ${path}, got shape ${formatShape(shape)}`);
  if (file.fortranOrder) return new DenseMatrix(rows, cols, readFileOrderFloat64(file, options));
  const data = allocate(file, (n) => new Float64Array(n));
  readChunks(file, options, (values, first) => scatterRowMajor(values, first, data, rows, cols));
  return new DenseMatrix(rows, cols, data);
}

/** A 1-D .npy, or 2-D with one dimension 1 (same layout in C and Fortran order). */
export function decodeNpyVector(source: NpySource, field: string, options: NpyReadOptions = {}): Float64Array {
  const file = readHeader(source, field);
  const { shape, path } = file;
  if (shape.length !== 1 && !(shape.length === 2 && (shape[0] === 1 || shape[1] === 1))) {
    throw new InputError(field, `expected a 1-D array (or 2-D with one dimension 1) in ${path}, got shape ${formatShape(shape)}`);
  }
  return readFileOrderFloat64(file, options);
}

/** The bytes of a .npy held in memory: an ArrayBuffer or any view of one (Uint8Array, Node Buffer). */
export type NpyBytes = ArrayBuffer | ArrayBufferView;

/** Options of the in-memory readers: `name` is how messages call the bytes (default "the buffer"). */
export interface NpyParseOptions {
  name?: string;
}

/** An NpySource over bytes in memory; anything else is an InputError naming `field`. */
export function bytesSource(bytes: NpyBytes, field: string, name = "the buffer"): NpySource {
  let view: Uint8Array;
  if (ArrayBuffer.isView(bytes)) view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else if (Object.prototype.toString.call(bytes) === "[object ArrayBuffer]") view = new Uint8Array(bytes as ArrayBuffer);
  else throw new InputError(field, "expected the bytes of a .npy file (an ArrayBuffer or a Uint8Array)");
  return { name, size: view.byteLength, read: (out, position) => out.set(view.subarray(position, position + out.length)) };
}

/**
 * Parse a little-endian float64/float32 .npy held in memory (fetched, or read by a File API):
 * values in file order, shape and order. Every failure is an InputError naming `field`.
 */
export function parseNpy(bytes: NpyBytes, field = "npy", options: NpyParseOptions = {}): NpyData {
  return decodeNpy(bytesSource(bytes, field, options.name), field);
}

/** A 2-D .npy held in memory as a column-major DenseMatrix (C or Fortran order, float64 or float32). */
export function parseNpyMatrix(bytes: NpyBytes, field = "npy", options: NpyParseOptions = {}): DenseMatrix {
  return decodeNpyMatrix(bytesSource(bytes, field, options.name), field);
}

/** A 1-D .npy held in memory (or 2-D with one dimension 1) as a Float64Array. */
export function parseNpyVector(bytes: NpyBytes, field = "npy", options: NpyParseOptions = {}): Float64Array {
  return decodeNpyVector(bytesSource(bytes, field, options.name), field);
}

/** The bytes of a float64 .npy file holding `data` in C order (row-major for 2-D) with `shape`. */
export function encodeNpy(data: Float64Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new RangeError(`writeNpy: shape ${formatShape(shape)} does not fit ${data.length} values`);
  }
  return new Uint8Array(dump(data, shape));
}
