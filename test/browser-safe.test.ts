/**
 * What the browser-safe main entry does without a file system: .npy from bytes, problem
 * documents with inline arrays or a resolver, ndarray views copied by the strided loop, and
 * ml-matrix matrices recognised by shape.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Matrix, MatrixTransposeView } from "ml-matrix";
import ndarray from "ndarray";
import { dump } from "npyjs";
import { afterAll, describe, expect, it } from "vitest";
import * as main from "../src/index.js";
import * as node from "../src/node.js";
import { inputError } from "./support.js";
import { createProblem, DenseMatrix, encodeNpy, InputError, npyResolverFromBytes, parseNpy, parseNpyMatrix, parseNpyVector, parseProblemDocument } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sparsetune-browser-safe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The .npy bytes npyjs writes, optionally turned into Fortran order (same header length). */
function npyOf(values: Float64Array | Float32Array, shape: number[], fortran = false): Uint8Array {
  const bytes = new Uint8Array(dump(values, shape));
  if (!fortran) return bytes;
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, 128));
  const at = text.indexOf("'fortran_order':False");
  expect(at).toBeGreaterThan(0);
  bytes.set(new TextEncoder().encode("'fortran_order':True "), at);
  return bytes;
}

describe("the entries", () => {
  it("the main entry keeps the README names and leaves file reading to sparsetune/node", () => {
    for (const name of ["createProblem", "solve", "hypergradient", "HeldOutMse", "tune", "withPenalty", "lambdaMax", "InputError", "parseProblemDocument", "parseNpy"]) {
      expect(name in main, name).toBe(true);
    }
    for (const name of ["loadProblemFile", "readNpy", "readNpyMatrix", "readNpyVector", "writeNpy"]) {
      expect(name in main, name).toBe(false);
      expect(typeof (node as Record<string, unknown>)[name], name).toBe("function");
    }
    expect(node.solve).toBe(main.solve);
    expect(node.parseProblemDocument).not.toBe(main.parseProblemDocument);
  });
});

describe(".npy from bytes", () => {
  const shapes = fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }));

  it("parseNpy / parseNpyMatrix agree with the file readers for C and Fortran order, float64 and float32", () => {
    fc.assert(
      fc.property(shapes, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 7 }), ([m, n], fortran, f32, pad) => {
        const values = Float64Array.from({ length: m * n }, (_, k) => (k % 5) - 2.25 + k / 8);
        const typed = f32 ? Float32Array.from(values) : values;
        const bytes = npyOf(typed, [m, n], fortran);
        // Unaligned: the bytes start `pad` bytes into a larger buffer.
        const shifted = new Uint8Array(bytes.length + pad);
        shifted.set(bytes, pad);
        const view = shifted.subarray(pad);
        const path = join(dir, "m.npy");
        writeFileSync(path, bytes);
        const fromFile = node.readNpyMatrix(path, "A.npy");
        const fromBytes = parseNpyMatrix(view, "A.npy");
        expect(fromBytes.data).toEqual(fromFile.data);
        expect([fromBytes.rows, fromBytes.cols]).toEqual([m, n]);
        // Entry (i, j): row-major file index i·n + j in C order, j·m + i in Fortran order.
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(fromBytes.get(i, j)).toBe(typed[fortran ? j * m + i : i * n + j]);
        const raw = parseNpy(view.buffer.slice(pad), "A.npy");
        expect(raw).toEqual(node.readNpy(path, "A.npy"));
        expect(raw.data).toBeInstanceOf(f32 ? Float32Array : Float64Array);
      }),
      { numRuns: 40 },
    );
  });

  it("encodeNpy round-trips through parseNpyVector and numpy's layout", () => {
    const v = Float64Array.from([1.5, -2, 1e-300, 7]);
    expect(parseNpyVector(encodeNpy(v, [4]), "y")).toEqual(v);
    expect(parseNpyMatrix(encodeNpy(v, [2, 2])).get(0, 1)).toBe(-2);
    expect(() => encodeNpy(v, [3])).toThrow(RangeError);
  });

  it("bad bytes are InputErrors naming the field and the source", () => {
    let e = inputError(() => parseNpy(new Uint8Array([1, 2, 3]), "A.npy"));
    expect(e.message).toBe("A.npy: the buffer is not a valid .npy file (no \\x93NUMPY magic string)");
    e = inputError(() => parseNpyVector(encodeNpy(new Float64Array(6), [2, 3]), "y.npy", { name: "y.npy from the server" }));
    expect(e.message).toMatch(/^y\.npy: expected a 1-D array .* in y\.npy from the server, got shape \(2, 3\)$/);
    const nan = encodeNpy(Float64Array.from([0, NaN]), [2]);
    expect(inputError(() => parseNpyVector(nan, "y")).message).toContain("NaN at index 1");
    const truncated = encodeNpy(new Float64Array(4), [4]).subarray(0, 70);
    expect(inputError(() => parseNpy(truncated, "y")).message).toContain("not a valid .npy file");
    expect(inputError(() => parseNpy("not bytes" as unknown as Uint8Array, "y")).message).toBe("y: expected the bytes of a .npy file (an ArrayBuffer or a Uint8Array)");
  });
});

describe("problem documents without a file system", () => {
  const inline = {
    format: "sparsetune-problem/1",
    A: { shape: [2, 2], data: [1, 2, 3, 4] },
    y: [1, 0],
    penalty: { l1: 0.5 },
  };

  it("inline arrays parse in the main entry", () => {
    const p = parseProblemDocument(inline);
    expect((p.A as DenseMatrix).get(0, 1)).toBe(2);
    expect(p.penalty.l1).toBe(0.5);
  });

  it("npy entries without a resolver are refused, pointing to sparsetune/node", () => {
    const e = inputError(() => parseProblemDocument({ ...inline, y: { npy: "y.npy" } }, "data"));
    expect(e.field).toBe("y.npy");
    expect(e.message).toContain('"sparsetune/node"');
    expect(inputError(() => parseProblemDocument({ ...inline, A: { npy: "A.npy" } })).field).toBe("A.npy");
  });

  it("npy entries are read from bytes in memory through npyResolverFromBytes", () => {
    const files = new Map<string, Uint8Array>([
      ["data/A.npy", encodeNpy(Float64Array.from([1, 2, 3, 4]), [2, 2])],
      ["data/y.npy", encodeNpy(Float64Array.from([1, 0]), [2])],
    ]);
    const resolver = npyResolverFromBytes((path, baseDir) => files.get(`${baseDir}/${path}`));
    const p = parseProblemDocument({ ...inline, A: { npy: "A.npy" }, y: { npy: "y.npy" } }, "data", resolver);
    expect(p.A).toEqual(parseProblemDocument(inline).A);
    expect(Array.from(p.y)).toEqual([1, 0]);
    const e = inputError(() => parseProblemDocument({ ...inline, y: { npy: "missing.npy" } }, "data", resolver));
    expect(e.message).toBe("y.npy: no .npy bytes given for missing.npy");
  });

  it("the node entry's parseProblemDocument reads npy files relative to baseDir", () => {
    writeFileSync(join(dir, "y.npy"), encodeNpy(Float64Array.from([1, 0]), [2]));
    const p = node.parseProblemDocument({ ...inline, y: { npy: "y.npy" } }, dir);
    expect(Array.from(p.y)).toEqual([1, 0]);
  });
});

describe("ndarray views, copied without generated code", () => {
  /** A random view of a random buffer: any shape up to 3-D, strides of either sign, an offset. */
  const views = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        order: fc.shuffledSubarray(shape.map((_, k) => k), { minLength: shape.length, maxLength: shape.length }),
        flips: fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
        gap: fc.integer({ min: 1, max: 3 }),
        lead: fc.integer({ min: 0, max: 5 }),
      }),
    );

  it("any strided view (permuted, flipped, spaced, offset) gives the elements in row-major order, as ndarray's get does", () => {
    fc.assert(
      fc.property(views, ({ shape, order, flips, gap, lead }) => {
        // Lay the axes out in memory in `order`, `gap` apart for the innermost, then flip some.
        const stride = new Array<number>(shape.length);
        let step = gap;
        for (let k = order.length - 1; k >= 0; k--) {
          stride[order[k]] = step;
          step *= shape[order[k]];
        }
        let offset = lead;
        shape.forEach((s, k) => {
          if (flips[k]) {
            offset += stride[k] * (s - 1);
            stride[k] = -stride[k];
          }
        });
        const data = Float64Array.from({ length: lead + step + 3 }, (_, i) => i * 1.5 - 7);
        const nd = ndarray(data, shape, stride, offset);
        const expected: number[] = [];
        const walk = (prefix: number[]) => {
          if (prefix.length === shape.length) expected.push(nd.get(...prefix));
          else for (let i = 0; i < shape[prefix.length]; i++) walk([...prefix, i]);
        };
        walk([]);
        const plain = { data, shape, stride, offset };
        expect(Array.from(createProblem({ A: { identity: expected.length }, y: plain }).y)).toEqual(expected);
        if (shape.length === 2) {
          const A = createProblem({ A: plain, y: new Float64Array(shape[0]) }).A as DenseMatrix;
          for (let i = 0; i < shape[0]; i++) for (let j = 0; j < shape[1]; j++) expect(A.get(i, j)).toBe(nd.get(i, j));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a view that addresses outside its data, or non-numeric data, is an InputError naming the field", () => {
    const data = new Float64Array(6);
    let e = inputError(() => createProblem({ A: { identity: 3 }, y: { data, shape: [3], stride: [3], offset: 0 } }));
    expect(e.message).toBe("y: ndarray view addresses indices 0..6 outside its data of length 6");
    e = inputError(() => createProblem({ A: { identity: 3 }, y: { data, shape: [3], stride: [-1], offset: 1 } }));
    expect(e.field).toBe("y");
    e = inputError(() => createProblem({ A: { data, shape: [2, 3], stride: [3, 1.5], offset: 0 }, y: [0, 0] }));
    expect(e.message).toBe("A: expected 2 integer strides, got [3, 1.5]");
    e = inputError(() => createProblem({ A: { identity: 2 }, y: { data: ["1", "2"] as unknown as number[], shape: [2], stride: [1], offset: 0 } }));
    expect(e.message).toBe("y: expected numbers in the ndarray, got string at data index 0");
  });
});

describe("ml-matrix matrices, recognised by shape", () => {
  const rows = [[1, 2, 3], [4, 5, 6]];

  it("a Matrix, one of its views, and a look-alike from another copy give the same operator", () => {
    const expected = DenseMatrix.from(rows).data;
    const lookAlike = { rows: 2, columns: 3, get: (i: number, j: number) => rows[i][j] };
    const transposedView = new MatrixTransposeView(new Matrix(rows).transpose());
    for (const A of [new Matrix(rows), transposedView, lookAlike]) {
      expect((createProblem({ A, y: [0, 0] }).A as DenseMatrix).data).toEqual(expected);
    }
    expect(createProblem({ A: [[1, 0, 0], [0, 1, 0]], y: [0, 0], constraints: { C: lookAlike, d: [1, 1] } }).constraints!.C.data).toEqual(expected);
  });

  it("a look-alike with bad entries is an InputError, not a TypeError", () => {
    const bad = { rows: 1, columns: 2, get: (_i: number, j: number) => (j ? NaN : 1) };
    expect(inputError(() => createProblem({ A: bad, y: [0] })).message).toBe("A: expected finite numbers");
    const text = { rows: 1, columns: 1, get: () => "1" as unknown as number };
    expect(inputError(() => createProblem({ A: text, y: [0] })).message).toBe("A: expected numbers, got string at (0, 0)");
    expect(inputError(() => createProblem({ A: { rows: 0, columns: 2, get: () => 0 }, y: [] })).field).toBe("A");
  });
});
