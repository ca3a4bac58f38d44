import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { dump } from "npyjs";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { loadProblemFile, parseProblemDocument } from "../src/io/problem-file.js";
import { DEFAULT_CHUNK_BYTES, readNpy, readNpyMatrix, readNpyVector, writeNpy } from "../src/io/npy.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { IdentityOperator } from "../src/operators/identity.js";
import type { ColumnOperator } from "../src/operators/operator.js";
import { inputError } from "./support.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sparsetune-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tmpFile(bytes: Uint8Array | ArrayBuffer, name = `f${fileCount++}.npy`): string {
  const path = join(dir, name);
  writeFileSync(path, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  return path;
}

/** A hand-written .npy file: header padded to 64 bytes, payload bytes as given. */
function npyBytes(
  descr: string,
  shape: number[],
  payload: ArrayBufferView,
  opts: { fortran?: boolean; version?: 1 | 2 | 3 | 4; dict?: string } = {},
): Uint8Array {
  const shapeText = `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
  const dict = opts.dict ?? `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const version = opts.version ?? 1;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - pre - 1, " ") + "\n";
  const out = new Uint8Array(total + payload.byteLength);
  out.set([0x93, ...Buffer.from("NUMPY"), version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), pre);
  out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), total);
  return out;
}

function expectInputError(fn: () => unknown, field: string, ...fragments: string[]): void {
  const e = inputError(fn);
  expect(e.field).toBe(field);
  for (const fragment of fragments) expect(e.message).toContain(fragment);
}

/** Dense row-major entries of any operator, via apply on unit vectors. */
function entries(op: ColumnOperator): number[][] {
  const out: number[][] = Array.from({ length: op.rows }, () => []);
  const e = new Float64Array(op.cols), col = new Float64Array(op.rows);
  for (let j = 0; j < op.cols; j++) {
    e.fill(0);
    e[j] = 1;
    op.apply(e, col);
    for (let i = 0; i < op.rows; i++) out[i][j] = col[i];
  }
  return out;
}

type RawMatrix = { shape: [number, number]; data: number[] } | { identity: number };
function rawEntries(m: RawMatrix): number[][] {
  if ("identity" in m) return Array.from({ length: m.identity }, (_, i) => Array.from({ length: m.identity }, (_, j) => Number(i === j)));
  const [rows, cols] = m.shape;
  return Array.from({ length: rows }, (_, i) => m.data.slice(i * cols, (i + 1) * cols));
}

describe("fixtures", () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".json"));

  it("finds the fixtures", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)("loads %s as written", (file) => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, file), "utf8"));
    const p = loadProblemFile(join(FIXTURES, file));
    expect(p.name).toBe(raw.name);
    expect(entries(p.A)).toEqual(rawEntries(raw.A));
    if ("identity" in raw.A) expect(p.A).toBeInstanceOf(IdentityOperator);
    expect(Array.from(p.y)).toEqual(raw.y);
    expect(p.penalty).toEqual({ l1: raw.penalty.l1 ?? 0, l2: raw.penalty.l2 ?? 0, tv: raw.penalty.tv ?? 0 });
    expect(p.grid).toEqual(raw.grid ?? [p.A.cols]);
    if (raw.validation) {
      expect(entries(p.validation!.A)).toEqual(rawEntries(raw.validation.A));
      expect(Array.from(p.validation!.y)).toEqual(raw.validation.y);
    } else {
      expect(p.validation).toBeUndefined();
    }
    if (raw.constraints) {
      expect(entries(p.constraints!.C)).toEqual(rawEntries(raw.constraints.C));
      expect(Array.from(p.constraints!.d)).toEqual(raw.constraints.d);
    } else {
      expect(p.constraints).toBeUndefined();
    }
  });
});

describe("readNpy", () => {
  const m23 = [[1, 2, 3], [4, 5, 6]];

  it("reads a C-order float64 matrix into column-major layout", () => {
    const path = tmpFile(npyBytes("<f8", [2, 3], new Float64Array([1, 2, 3, 4, 5, 6])));
    const A = readNpyMatrix(path, "A.npy");
    expect([A.rows, A.cols]).toEqual([2, 3]);
    expect(Array.from(A.data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(A.toMatrix().to2DArray()).toEqual(m23);
  });

  it("reads a Fortran-order float64 matrix in place (no transpose copy)", () => {
    const path = tmpFile(npyBytes("<f8", [2, 3], new Float64Array([1, 4, 2, 5, 3, 6]), { fortran: true }));
    const A = readNpyMatrix(path, "A.npy");
    expect(A.toMatrix().to2DArray()).toEqual(m23);
    // read straight into the matrix's own buffer: exactly rows*cols float64, no file buffer kept
    expect(A.data.byteOffset).toBe(0);
    expect(A.data.buffer.byteLength).toBe(6 * 8);
  });

  it("converts float32 (C and Fortran order) to float64", () => {
    const c = tmpFile(npyBytes("<f4", [2, 3], new Float32Array([0.5, -1.25, 3, 4, 5, 6.75])));
    const f = tmpFile(npyBytes("<f4", [2, 3], new Float32Array([0.5, 4, -1.25, 5, 3, 6.75]), { fortran: true }));
    expect(readNpy(c, "A.npy").data).toBeInstanceOf(Float32Array);
    for (const path of [c, f]) {
      const A = readNpyMatrix(path, "A.npy");
      expect(A.data).toBeInstanceOf(Float64Array);
      expect(A.toMatrix().to2DArray()).toEqual([[0.5, -1.25, 3], [4, 5, 6.75]]);
    }
  });

  it("accepts '|f8' and version 2.0 headers", () => {
    expect(readNpy(tmpFile(npyBytes("|f8", [2], new Float64Array([7, 8]))), "y.npy").data).toEqual(new Float64Array([7, 8]));
    const v2 = tmpFile(npyBytes("<f8", [1, 2], new Float64Array([7, 8]), { version: 2 }));
    expect(readNpyMatrix(v2, "A.npy").toMatrix().to2DArray()).toEqual([[7, 8]]);
  });

  it("reads vectors from 1-D, (n, 1) and (1, n) arrays", () => {
    for (const shape of [[3], [3, 1], [1, 3]]) {
      const path = tmpFile(npyBytes("<f8", shape, new Float64Array([1, -2, 3])));
      expect(Array.from(readNpyVector(path, "y.npy"))).toEqual([1, -2, 3]);
    }
    const f32 = readNpyVector(tmpFile(npyBytes("<f4", [2], new Float32Array([0.25, 2]))), "y.npy");
    expect(f32).toEqual(new Float64Array([0.25, 2]));
  });

  it("rejects wrong ranks and empty matrices", () => {
    const v = tmpFile(npyBytes("<f8", [3], new Float64Array(3)));
    expectInputError(() => readNpyMatrix(v, "A.npy"), "A.npy", "expected a 2-D array", v, "(3,)");
    const m = tmpFile(npyBytes("<f8", [2, 3], new Float64Array(6)));
    expectInputError(() => readNpyVector(m, "y.npy"), "y.npy", "expected a 1-D array", "(2, 3)");
    const t = tmpFile(npyBytes("<f8", [1, 1, 2], new Float64Array(2)));
    expectInputError(() => readNpyVector(t, "y.npy"), "y.npy", "expected a 1-D array");
    const s = tmpFile(npyBytes("<f8", [], new Float64Array(1)));
    expectInputError(() => readNpyVector(s, "y.npy"), "y.npy", "expected a 1-D array", "()");
    const e = tmpFile(npyBytes("<f8", [0, 3], new Float64Array(0)));
    expectInputError(() => readNpyMatrix(e, "A.npy"), "A.npy", "non-empty matrix", "(0, 3)");
  });

  it("rejects big-endian data with the dtype named", () => {
    const payload = new DataView(new ArrayBuffer(16));
    payload.setFloat64(0, 1, false);
    payload.setFloat64(8, 2, false);
    const path = tmpFile(npyBytes(">f8", [2], payload));
    expectInputError(() => readNpy(path, "A.npy"), "A.npy", "expected a float64 or float32 array", path, "big-endian float64", "'>f8'");
  });

  it.each([
    ["<i8", new BigInt64Array([1n, 2n]), "got int64"],
    ["<i4", new Int32Array([1, 2]), "got int32"],
    ["|b1", new Uint8Array([1, 0]), "got bool"],
    ["|u1", new Uint8Array([1, 0]), "got uint8"],
    ["<f2", new Uint16Array([0x3c00, 0x4000]), "got float16"],
    ["<c16", new Float64Array([1, 0, 2, 0]), "got complex128"],
    ["|O", new Uint8Array(16), "got object"],
    ["=f8", new Float64Array([1, 2]), "native-order float64"],
  ] as const)("rejects dtype %s", (descr, payload, expected) => {
    const path = tmpFile(npyBytes(descr, [2], payload));
    expectInputError(() => readNpy(path, "A.npy"), "A.npy", `expected a float64 or float32 array in ${path}`, expected);
  });

  it("rejects missing files and directories", () => {
    const missing = join(dir, "nope", "A.npy");
    expectInputError(() => readNpy(missing, "A.npy"), "A.npy", `cannot read ${missing} (no such file)`);
    expectInputError(() => readNpy(dir, "A.npy"), "A.npy", `cannot read ${dir}`);
  });

  it.each([
    ["an empty file", () => new Uint8Array(0)],
    ["a text file", () => Buffer.from("x,y\n1,2\n3,4\n")],
    ["a cut magic string", () => npyBytes("<f8", [2], new Float64Array(2)).slice(0, 5)],
    ["a cut header", () => npyBytes("<f8", [2], new Float64Array(2)).slice(0, 30)],
    ["data cut mid-value", () => npyBytes("<f8", [2, 3], new Float64Array(6)).slice(0, -5)],
    ["a whole value missing", () => npyBytes("<f8", [2, 3], new Float64Array(6)).slice(0, -8)],
    ["trailing bytes", () => npyBytes("<f8", [2], new Float64Array(3))],
    ["a header without descr", () => npyBytes("", [2], new Float64Array(2), { dict: "{'fortran_order': False, 'shape': (2,), }" })],
    ["a structured dtype", () => npyBytes("", [2], new Float64Array(2), { dict: "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }" })],
    ["a garbled shape", () => npyBytes("", [2], new Float64Array(2), { dict: "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }" })],
  ])("rejects %s as not a valid .npy file", (_, bytes) => {
    const path = tmpFile(bytes());
    expectInputError(() => readNpy(path, "A.npy"), "A.npy", `${path} is not a valid .npy file`);
  });

  it("rejects non-finite values", () => {
    const nan = tmpFile(npyBytes("<f8", [3], new Float64Array([1, NaN, 3])));
    expectInputError(() => readNpyVector(nan, "y.npy"), "y.npy", "expected finite numbers", nan, "NaN at index 1");
    const inf = tmpFile(npyBytes("<f4", [2, 1], new Float32Array([1, -Infinity])), "f32.npy");
    expectInputError(() => readNpyMatrix(inf, "A.npy"), "A.npy", "expected finite numbers", "-Infinity at index 1");
  });

  it("C and Fortran order give the same matrix (float64 and float32)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean().chain((f32) => {
          const finite = { noNaN: true, noDefaultInfinity: true };
          return fc.tuple(fc.constant(f32), fc.infiniteStream(f32 ? fc.float(finite) : fc.double(finite)));
        }),
        (rows, cols, [f32, stream]) => {
          const values = [...stream.take(rows * cols)];
          const colMajor = new Float64Array(rows * cols);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) colMajor[j * rows + i] = values[i * cols + j];
          const typed = (v: ArrayLike<number>) => (f32 ? new Float32Array(v) : new Float64Array(v));
          const descr = f32 ? "<f4" : "<f8";
          const c = readNpyMatrix(tmpFile(npyBytes(descr, [rows, cols], typed(values)), "c.npy"), "A.npy");
          const f = readNpyMatrix(tmpFile(npyBytes(descr, [rows, cols], typed(colMajor), { fortran: true }), "f.npy"), "A.npy");
          expect([c.rows, c.cols, f.rows, f.cols]).toEqual([rows, cols, rows, cols]);
          expect(c.data).toEqual(colMajor);
          expect(f.data).toEqual(colMajor);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("readNpy in chunks", () => {
  /** Entry (i, j): distinct, non-integer, exact in float32 too (|v| < 2^24 / 8). */
  const entry = (i: number, j: number) => (i * 1000 + j + 0.125) * (((i + j) % 3) - 1 || 0.5);

  /** The file payload for a rows×cols matrix in the given order and dtype. */
  function payload(rows: number, cols: number, fortran: boolean, f32: boolean): Float64Array | Float32Array {
    const values = f32 ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) values[fortran ? j * rows + i : i * cols + j] = entry(i, j);
    return values;
  }

  /** Element-wise check of a column-major matrix against entry(i, j); reports the first few misses. */
  function expectEntries(A: DenseMatrix, rows: number, cols: number): void {
    expect([A.rows, A.cols]).toEqual([rows, cols]);
    expect(A.data).toBeInstanceOf(Float64Array);
    expect(A.data.length).toBe(rows * cols);
    const misses: string[] = [];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const got = A.data[j * rows + i];
        if (!Object.is(got, entry(i, j)) && misses.length < 5) misses.push(`(${i}, ${j}): ${got} != ${entry(i, j)}`);
      }
    }
    expect(misses).toEqual([]);
  }

  const rows = 37, cols = 23; // 37 rows: not a multiple of the 8-row transpose tile
  // chunk sizes in bytes: less than one value, values that straddle rows (5 and 7 values), one row
  // plus a bit (rounded down to whole rows), several rows, the whole payload, one byte short of it, default
  const chunkSizes = [1, 7, 40, 56, cols * 8 + 12, 3 * cols * 8 + 20, 11 * cols * 8, rows * cols * 8, rows * cols * 8 - 1, undefined];
  const layouts = [
    { fortran: false, f32: false },
    { fortran: true, f32: false },
    { fortran: false, f32: true },
    { fortran: true, f32: true },
  ];

  it.each(layouts.flatMap((l) => [1, 2, 3].map((version) => ({ ...l, version: version as 1 | 2 | 3 }))))(
    "reads a multi-chunk matrix: fortran $fortran, float32 $f32, version $version",
    ({ fortran, f32, version }) => {
      const values = payload(rows, cols, fortran, f32);
      const path = tmpFile(npyBytes(f32 ? "<f4" : "<f8", [rows, cols], values, { fortran, version }));
      for (const chunkBytes of chunkSizes) {
        expectEntries(readNpyMatrix(path, "A.npy", { chunkBytes }), rows, cols);
        // file order, in the file's dtype
        const raw = readNpy(path, "A.npy", { chunkBytes });
        expect(raw.data).toEqual(values);
        expect(raw.fortranOrder).toBe(fortran);
      }
    },
  );

  it("splits rows longer than a chunk and chunks of whole rows alike (C order, wide and tall)", () => {
    for (const [r, c] of [[3, 1001], [1, 257], [257, 1], [129, 64], [8, 8], [9, 17]]) {
      const path = tmpFile(npyBytes("<f8", [r, c], payload(r, c, false, false)));
      for (const chunkBytes of [8, 24, 8 * 64, Math.max(1, 8 * c - 8), 8 * c, 8 * c + 8, 8 * (3 * c + 1), 8 * 8 * c, DEFAULT_CHUNK_BYTES]) {
        const A = readNpyMatrix(path, "A.npy", { chunkBytes });
        expect([A.rows, A.cols]).toEqual([r, c]);
        let misses = 0;
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (A.data[j * r + i] !== entry(i, j)) misses++;
        expect({ shape: [r, c], chunkBytes, misses }).toEqual({ shape: [r, c], chunkBytes, misses: 0 });
      }
    }
  });

  it("matches DenseMatrix.fromArray on a larger C-order matrix, many chunks of whole rows", () => {
    const [r, c] = [300, 500];
    const values = payload(r, c, false, false) as Float64Array;
    const path = tmpFile(npyBytes("<f8", [r, c], values));
    const expected = DenseMatrix.fromArray(r, c, values, "C").data;
    for (const chunkBytes of [64 * 1024, 8 * c * 8 + 8, undefined]) expect(readNpyMatrix(path, "A.npy", { chunkBytes }).data).toEqual(expected);
  });

  it("reads vectors in chunks (float64 and float32)", () => {
    const v = Float64Array.from({ length: 101 }, (_, k) => entry(k, 3));
    const f64 = tmpFile(npyBytes("<f8", [101], v));
    const f32 = tmpFile(npyBytes("<f4", [101, 1], new Float32Array(v), { version: 2 }));
    for (const chunkBytes of [1, 12, 64, undefined]) {
      expect(readNpyVector(f64, "y.npy", { chunkBytes })).toEqual(v);
      expect(readNpyVector(f32, "y.npy", { chunkBytes })).toEqual(v);
    }
  });

  it("reports a non-finite value in a later chunk at its file index", () => {
    for (const [fortran, f32] of [[false, false], [true, false], [false, true], [true, true]]) {
      const values = payload(5, 7, fortran, f32);
      values[30] = f32 ? -Infinity : NaN;
      const path = tmpFile(npyBytes(f32 ? "<f4" : "<f8", [5, 7], values, { fortran }));
      const found = `found ${f32 ? "-Infinity" : "NaN"} at index 30`;
      for (const chunkBytes of [8, 24, 8 * 7, undefined]) {
        expectInputError(() => readNpyMatrix(path, "A.npy", { chunkBytes }), "A.npy", "expected finite numbers", path, found);
        expectInputError(() => readNpy(path, "A.npy", { chunkBytes }), "A.npy", "expected finite numbers", found);
      }
    }
  });

  it("rejects a header that claims more (or less) data than the file holds, before reading it", () => {
    const big = tmpFile(npyBytes("<f8", [100000, 100000], new Float64Array(6)));
    expectInputError(() => readNpyMatrix(big, "A.npy"), "A.npy", `${big} is not a valid .npy file`, "(100000, 100000) needs 10000000000 values", "holds 6 values");
    const v2 = tmpFile(npyBytes("<f4", [1000, 5000], new Float32Array(4999), { version: 2, fortran: true }));
    expectInputError(() => readNpyMatrix(v2, "A.npy"), "A.npy", "not a valid .npy file", "needs 5000000 values, the file holds 4999 values");
    const cut = tmpFile(npyBytes("<f8", [3, 3], new Float64Array(9)).slice(0, -3));
    expectInputError(() => readNpyMatrix(cut, "A.npy"), "A.npy", "not a valid .npy file", "holds 69 bytes, not a whole number of 8-byte values");
    const extra = tmpFile(npyBytes("<f4", [2, 2], new Float32Array(5)));
    expectInputError(() => readNpyMatrix(extra, "A.npy"), "A.npy", "not a valid .npy file", "needs 4 values, the file holds 5 values");
    // a version-2.0 header length (uint32) pointing past the end of the file
    const bytes = npyBytes("<f8", [2], new Float64Array(2), { version: 2 });
    new DataView(bytes.buffer).setUint32(8, 1 << 30, true);
    expectInputError(() => readNpy(tmpFile(bytes), "y.npy"), "y.npy", "not a valid .npy file", "truncated header");
  });

  it("checks the header: versions, Python dict syntax", () => {
    const v4 = tmpFile(npyBytes("<f8", [2], new Float64Array(2), { version: 4 }));
    expectInputError(() => readNpy(v4, "y.npy"), "y.npy", "not a valid .npy file", "unsupported format version 4.0");
    // double quotes, other key order, no trailing comma, Python 2 long integers: all valid headers
    const dict = '{"shape": (2L, 3L), "fortran_order": True, "descr": "<f8"}';
    const path = tmpFile(npyBytes("", [], new Float64Array([1, 4, 2, 5, 3, 6]), { dict }));
    expect(readNpyMatrix(path, "A.npy").toMatrix().to2DArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    for (const bad of [
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), ",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
      "{'descr': '<f8', 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': 2}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x",
      "('<f8', False, (2,))",
    ]) {
      const p = tmpFile(npyBytes("", [], new Float64Array(2), { dict: bad }));
      expectInputError(() => readNpy(p, "y.npy"), "y.npy", `${p} is not a valid .npy file`);
    }
    // no byte-order character means native order: rejected like '=f8'
    const bare = tmpFile(npyBytes("f8", [2], new Float64Array(2)));
    expectInputError(() => readNpy(bare, "y.npy"), "y.npy", "expected a float64 or float32 array", "native-order float64 ('f8')");
  });

  it("refuses a chunk size that is not a positive integer", () => {
    const path = tmpFile(npyBytes("<f8", [2, 2], new Float64Array(4)));
    for (const chunkBytes of [0, -8, 1.5, NaN]) expect(() => readNpyMatrix(path, "A.npy", { chunkBytes })).toThrow(RangeError);
  });
});

describe("writeNpy", () => {
  it("writes a C-order float64 file that reads back", () => {
    const path = join(dir, "out.npy");
    writeNpy(path, new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const header = readFileSync(path).subarray(0, 64).toString("latin1");
    expect(header.startsWith("\x93NUMPY")).toBe(true);
    expect(header).toContain("'descr':'<f8'");
    expect(header).toContain("'fortran_order':False");
    expect(header).toContain("'shape':(2,3)");
    expect(readNpyMatrix(path, "x.npy").toMatrix().to2DArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it("round-trips random vectors and matrices", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 2 }),
        fc.infiniteStream(fc.double({ noNaN: true, noDefaultInfinity: true })),
        (shape, stream) => {
          const data = Float64Array.from(stream.take(shape.reduce((a, b) => a * b, 1)));
          const path = join(dir, "rt.npy");
          writeNpy(path, data, shape);
          const back = readNpy(path, "x.npy");
          expect(back.shape).toEqual(shape);
          expect(back.fortranOrder).toBe(false);
          expect(back.data).toEqual(data);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses a shape that does not fit the data", () => {
    expect(() => writeNpy(join(dir, "bad.npy"), new Float64Array(5), [2, 3])).toThrow(RangeError);
  });
});

describe("parseProblemDocument", () => {
  const base = () => ({
    format: "sparsetune-problem/1",
    name: "tiny",
    A: { shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
    y: [1, 0, -1],
    penalty: { l1: 0.5 },
  });
  const parse = (patch: Record<string, unknown>) => parseProblemDocument({ ...base(), ...patch }, dir);

  it("reads a minimal document with defaults", () => {
    const p = parse({});
    expect(p.name).toBe("tiny");
    expect(p.A).toBeInstanceOf(DenseMatrix);
    expect(entries(p.A)).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(p.penalty).toEqual({ l1: 0.5, l2: 0, tv: 0 });
    expect(p.grid).toEqual([2]);
    expect(p.constraints).toBeUndefined();
    expect(p.validation).toBeUndefined();
  });

  it("ignores reference and unknown top-level fields", () => {
    const p = parse({ reference: { x: "anything" }, futureField: [1, 2], description: "d" });
    expect(entries(p.A)).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it("reads weights, grid, constraints (identity C too) and validation", () => {
    const p = parseProblemDocument(
      {
        format: "sparsetune-problem/1",
        A: { identity: 4 },
        y: [1, 2, 3, 4],
        penalty: { l1: 1, l2: 0.5, weights: [1, 2, 3, 4] },
        grid: [2, 2],
        constraints: { C: { identity: 4 }, d: [0, 0, 0, 0] },
        validation: { A: { shape: [1, 4], data: [1, 1, 1, 1] }, y: [10] },
      },
      dir,
    );
    expect(p.penalty).toEqual({ l1: 1, l2: 0.5, tv: 0, weights: new Float64Array([1, 2, 3, 4]) });
    expect(p.grid).toEqual([2, 2]);
    expect(p.constraints!.C).toBeInstanceOf(DenseMatrix);
    expect(entries(p.constraints!.C)).toEqual(entries(new IdentityOperator(4)));
    expect(entries(p.validation!.A)).toEqual([[1, 1, 1, 1]]);
    expect(p.name).toBeUndefined();
  });

  it("resolves npy paths against the JSON file's folder", () => {
    const sub = join(dir, "problem");
    mkdirSync(join(sub, "data"), { recursive: true });
    // A: 3x2 in Fortran order float32; validation.A in C order; y as (3, 1); weights 1-D.
    writeFileSync(join(sub, "data", "A.npy"), npyBytes("<f4", [3, 2], new Float32Array([1, 3, 5, 2, 4, 6]), { fortran: true }));
    writeFileSync(join(sub, "data", "VA.npy"), new Uint8Array(dump(new Float64Array([1, 1]), [1, 2])));
    writeFileSync(join(sub, "y.npy"), npyBytes("<f8", [3, 1], new Float64Array([1, 0, -1])));
    writeFileSync(join(sub, "w.npy"), npyBytes("<f8", [2], new Float64Array([0.5, 2])));
    const doc = {
      format: "sparsetune-problem/1",
      A: { npy: "data/A.npy" },
      y: { npy: "y.npy" },
      penalty: { l1: 0.5, weights: { npy: "w.npy" } },
      validation: { A: { npy: "data/VA.npy" }, y: [3] },
    };
    writeFileSync(join(sub, "p.json"), JSON.stringify(doc));
    const p = loadProblemFile(join(sub, "p.json"));
    const inline = parse({ validation: { A: { shape: [1, 2], data: [1, 1] }, y: [3] } });
    expect(entries(p.A)).toEqual(entries(inline.A));
    expect(p.y).toEqual(inline.y);
    expect(p.penalty.weights).toEqual(new Float64Array([0.5, 2]));
    expect(entries(p.validation!.A)).toEqual([[1, 1]]);
  });

  it.each([
    ["missing format", { format: undefined }, "format", 'expected "sparsetune-problem/1"'],
    ["another version", { format: "sparsetune-problem/2" }, "format", 'unsupported version "sparsetune-problem/2", expected "sparsetune-problem/1"'],
    ["a numeric format", { format: 1 }, "format", 'expected "sparsetune-problem/1", got 1'],
    ["missing A", { A: undefined }, "A", "expected a matrix", "missing"],
    ["A as nested arrays", { A: [[1, 2]] }, "A", "expected a matrix", "got an array"],
    ["A with no known form", { A: { rows: 3 } }, "A", "expected a matrix"],
    ["A with two forms", { A: { identity: 3, npy: "A.npy" } }, "A", "exactly one form"],
    ["a 1-D shape", { A: { shape: [6], data: [1, 2, 3, 4, 5, 6] } }, "A.shape", "expected [rows, cols] positive integers"],
    ["a fractional shape", { A: { shape: [1.5, 4], data: [1, 2, 3, 4, 5, 6] } }, "A.shape", "expected [rows, cols]"],
    ["a string shape", { A: { shape: "3x2", data: [1, 2, 3, 4, 5, 6] } }, "A.shape", "expected [rows, cols]"],
    ["data without shape", { A: { data: [1, 2, 3, 4, 5, 6] } }, "A.shape", "expected [rows, cols]"],
    ["zero rows", { A: { shape: [0, 2], data: [] } }, "A", "expected a non-empty matrix"],
    ["zero columns", { A: { shape: [3, 0], data: [] } }, "A", "expected a non-empty matrix"],
    ["short data", { A: { shape: [3, 2], data: [1, 2, 3, 4, 5] } }, "A.data", "expected 6 numbers (3x2, row-major), got 5"],
    ["data not an array", { A: { shape: [3, 2], data: "1 2 3 4 5 6" } }, "A.data", "expected an array of numbers"],
    ["missing data", { A: { shape: [3, 2] } }, "A.data", "expected an array of numbers", "missing"],
    ["null in data", { A: { shape: [3, 2], data: [1, 2, null, 4, 5, 6] } }, "A.data", "got null at index 2"],
    ["a string in data", { A: { shape: [3, 2], data: [1, 2, 3, "4", 5, 6] } }, "A.data", 'got "4" at index 3'],
    ["nested data", { A: { shape: [3, 2], data: [[1, 2], [3, 4], [5, 6]] } }, "A.data", "got an array at index 0"],
    ["identity 0", { A: { identity: 0 } }, "A.identity", "expected a positive integer"],
    ["identity 2.5", { A: { identity: 2.5 } }, "A.identity", "expected a positive integer"],
    ["a non-string npy path", { A: { npy: 3 } }, "A.npy", "expected a file path, got 3"],
    ["a missing npy file", { A: { npy: "absent.npy" } }, "A.npy", `cannot read ${join(dir, "absent.npy")} (no such file)`],
    ["missing y", { y: undefined }, "y", "expected an array of numbers", "missing"],
    ["y as a string", { y: "1,0,-1" }, "y", "expected an array of numbers"],
    ["null in y", { y: [1, null, 3] }, "y", "got null at index 1"],
    ["y of the wrong length", { y: [1, 0] }, "y", "expected length 3"],
    ["penalty as a number", { penalty: 0.5 }, "penalty", "expected an object"],
    ["an unknown penalty", { penalty: { lasso: 0.5 } }, "penalty.lasso", "unknown penalty"],
    ["a negative penalty", { penalty: { l1: -1 } }, "penalty.l1", "non-negative"],
    ["a string penalty", { penalty: { l2: "0.1" } }, "penalty.l2", "expected a finite number"],
    ["short weights", { penalty: { l1: 1, weights: [1] } }, "penalty.weights", "expected length 2"],
    ["zero weights", { penalty: { l1: 1, weights: [1, 0] } }, "penalty.weights", "positive"],
    ["a grid of the wrong size", { grid: [3] }, "grid", "2 cells"],
    ["a non-array grid", { grid: "2" }, "grid", "expected [n] or [h, w]"],
    ["constraints as an array", { constraints: [] }, "constraints", "expected an object"],
    ["constraints without d", { constraints: { C: { shape: [1, 2], data: [1, 1] } } }, "constraints.d", "missing"],
    ["C with the wrong width", { constraints: { C: { shape: [1, 3], data: [1, 1, 1] }, d: [0] } }, "constraints.C", "expected 2 columns"],
    ["d of the wrong length", { constraints: { C: { shape: [1, 2], data: [1, 1] }, d: [0, 0] } }, "constraints.d", "expected length 1"],
    ["validation without A", { validation: { y: [1] } }, "validation.A", "missing"],
    ["validation.A too wide", { validation: { A: { identity: 3 }, y: [1, 2, 3] } }, "validation.A", "expected 2 columns"],
    ["validation.y too long", { validation: { A: { shape: [1, 2], data: [1, 1] }, y: [1, 2] } }, "validation.y", "expected length 1"],
    ["a numeric name", { name: 5 }, "name", "expected a string, got 5"],
    ["a non-string description", { description: ["a"] }, "description", "expected a string"],
  ])("rejects %s", (_, patch, field, ...fragments) => {
    expectInputError(() => parse(patch as Record<string, unknown>), field as string, ...(fragments as string[]));
  });

  it("rejects non-finite numbers (JSON 1e999 parses to Infinity)", () => {
    const doc = JSON.parse(JSON.stringify(base()).replace('"data":[1,2', '"data":[1e999,2'));
    expectInputError(() => parseProblemDocument(doc, dir), "A.data", "expected finite numbers", "Infinity at index 0");
  });

  it("rejects documents that are not objects", () => {
    for (const doc of [null, [], "sparsetune-problem/1", 3]) expectInputError(() => parseProblemDocument(doc, dir), "problem", "expected a JSON object");
  });
});

describe("loadProblemFile", () => {
  it("names the file when the JSON is invalid", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, '{"format": "sparsetune-problem/1", "A": ');
    expectInputError(() => loadProblemFile(path), path, "expected a JSON document");
  });

  it("names the file when it cannot be read", () => {
    const path = join(dir, "absent.json");
    expectInputError(() => loadProblemFile(path), path, "cannot read the problem file (no such file)");
  });

  it("accepts a UTF-8 byte-order mark", () => {
    const path = join(dir, "bom.json");
    writeFileSync(path, "\uFEFF" + JSON.stringify({ format: "sparsetune-problem/1", A: { identity: 2 }, y: [1, 2] }));
    expect(loadProblemFile(path).A.cols).toBe(2);
  });
});
