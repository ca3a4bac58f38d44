import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { compileKernels } from "../tools/build-kernels.mjs";
import { KERNELS_WASM_BASE64, SHARED_KERNELS_WASM_BASE64 } from "../src/linalg/simd/kernels-binary.js";
import { RESIDENT_MIN_ENTRIES } from "../src/linalg/simd/resident.js";
import { DenseMatrix } from "../src/operators/dense.js";
import { columnsOf } from "../src/solvers/columns.js";
import { applyPair, applyTPair } from "../src/operators/products.js";
import { dot } from "../src/linalg/vector.js";

/** Every entry the same bits (NaN = NaN, −0 ≠ 0). */
function expectSameBits(what: string, a: ArrayLike<number>, b: ArrayLike<number>) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what}, entry ${i}: ${a[i]} ≠ ${b[i]}`);
}

/** Entries from every scale, with zeros of both signs, and sometimes a NaN or an infinity. */
const entry = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e-300, -1e300, Number.NaN, Number.POSITIVE_INFINITY) },
);

/** A matrix just large enough to be resident (rows 1..37: every tail length of the 4- and 2-wide loops), with vectors. */
const instance = fc
  .record({ m: fc.integer({ min: 1, max: 37 }), extra: fc.integer({ min: 0, max: 5 }), seed: fc.array(entry, { minLength: 64, maxLength: 64 }) })
  .chain(({ m, extra, seed }) => {
    const n = Math.ceil(RESIDENT_MIN_ENTRIES / m) + extra;
    // Filling 16k entries from fast-check draws is slow: a deterministic mix of the drawn seed entries.
    const fill = (length: number, k: number) => Float64Array.from({ length }, (_, i) => seed[(i * 7 + k) % seed.length] * (1 + ((i * 13) % 17) / 16));
    return fc.record({ m: fc.constant(m), n: fc.constant(n), A: fc.constant(fill(m * n, 0)), u: fc.constant(fill(m, 3)), v: fc.constant(fill(m, 5)), x: fc.constant(fill(n, 11)), alpha: entry });
  });

describe("SIMD kernels (src/linalg/simd)", () => {
  it("the committed binaries are the compilation of the committed kernels.wat", async () => {
    const { plain, shared } = await compileKernels(readFileSync(new URL("../src/linalg/simd/kernels.wat", import.meta.url), "utf8"));
    expect(Buffer.from(plain).toString("base64")).toBe(KERNELS_WASM_BASE64);
    expect(Buffer.from(shared).toString("base64")).toBe(SHARED_KERNELS_WASM_BASE64);
    // Browsers compile a module synchronously on the main thread only below 4 KiB (resident.ts does).
    expect(Math.max(plain.length, shared.length)).toBeLessThan(4096);
  });

  it("the plain-memory kernels (what a browser without cross-origin isolation runs) compute what the shared ones do", () => {
    const instance = (base64: string, shared: boolean) => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, ...(shared && { shared: true }) });
      const k = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, "base64")), { env: { memory } }).exports as { dot(a: number, b: number, n: number): number };
      const f = new Float64Array(memory.buffer, 0, 2000);
      f.forEach((_, i) => (f[i] = Math.sin(i) * 1e3 ** ((i % 5) - 2)));
      return k.dot(0, 8 * 1000, 999);
    };
    const plain = instance(KERNELS_WASM_BASE64, false), shared = instance(SHARED_KERNELS_WASM_BASE64, true);
    const f = Float64Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 1e3 ** ((i % 5) - 2));
    expect(Object.is(plain, shared)).toBe(true);
    expect(Object.is(plain, dot(f.subarray(0, 999), f.subarray(1000, 1999)))).toBe(true);
  });

  it("where compiling WebAssembly is refused (a content security policy), matrices fall back to the scalar loops", async () => {
    const original = WebAssembly.Module;
    vi.resetModules();
    (WebAssembly as { Module: unknown }).Module = function refused() {
      throw new WebAssembly.CompileError("WebAssembly.Module(): Refused to compile or instantiate WebAssembly module");
    };
    try {
      const fresh = await import("../src/operators/dense.js");
      const A = new fresh.DenseMatrix(128, RESIDENT_MIN_ENTRIES / 128, Float64Array.from({ length: RESIDENT_MIN_ENTRIES }, (_, i) => i % 7));
      expect(A.resident).toBeNull();
      expect(A.apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows))[5]).toBe(new DenseMatrix(128, A.cols, Float64Array.from(A.data), { simd: false }).apply(new Float64Array(A.cols).fill(1), new Float64Array(A.rows))[5]);
    } finally {
      (WebAssembly as { Module: unknown }).Module = original;
      vi.resetModules();
    }
  });

  it("vectors of the wrong length give what the scalar loops give (NaN), not stale work-slot values", () => {
    const A = new DenseMatrix(128, RESIDENT_MIN_ENTRIES / 128, Float64Array.from({ length: RESIDENT_MIN_ENTRIES }, (_, i) => (i % 5) - 2));
    expect(A.resident).not.toBeNull();
    A.apply(new Float64Array(A.cols).fill(3), new Float64Array(A.rows)); // leaves 3s in the input slot
    const short = A.apply(new Float64Array(A.cols - 1).fill(1), new Float64Array(A.rows));
    expect(short.some(Number.isNaN)).toBe(true);
    expect(A.applyT(new Float64Array(A.rows - 1).fill(1), new Float64Array(A.cols)).some(Number.isNaN)).toBe(true);
  });

  it("a large matrix is resident; below the threshold or with simd: false, data is the array given; build fills it in place", () => {
    const built = DenseMatrix.build(128, RESIDENT_MIN_ENTRIES / 128, (d) => d.forEach((_, i) => (d[i] = i)));
    expect(built.resident).not.toBeNull();
    expect(built.get(5, 3)).toBe(3 * 128 + 5);
    expect(DenseMatrix.build(3, 2, (d) => d.fill(7)).data).toEqual(new Float64Array(6).fill(7));
    const data = new Float64Array(RESIDENT_MIN_ENTRIES);
    expect(new DenseMatrix(128, RESIDENT_MIN_ENTRIES / 128, data).resident).not.toBeNull();
    expect(new DenseMatrix(128, RESIDENT_MIN_ENTRIES / 128, data, { simd: false }).data).toBe(data);
    expect(new DenseMatrix(127, 128, new Float64Array(127 * 128)).resident).toBeNull();
  });

  it("an adopted matrix (the fold pool's worker side) reads the same memory, with work vectors of its own", () => {
    const m = 64, n = RESIDENT_MIN_ENTRIES / 64;
    const owner = DenseMatrix.build(m, n, (d) => d.forEach((_, i) => (d[i] = Math.sin(i))));
    const adopted = DenseMatrix.adopt(m, n, owner.resident!.memory)!;
    expect(adopted.data.buffer).toBe(owner.data.buffer); // no copy
    const y = Float64Array.from({ length: m }, (_, i) => Math.cos(i));
    const bound = columnsOf(owner).bind(Float64Array.from(y), 0);
    const adoptedBound = columnsOf(adopted).bind(Float64Array.from(y).reverse(), 0);
    expectSameBits("Aᵀy", adopted.applyT(y, new Float64Array(n)), owner.applyT(y, new Float64Array(n)));
    expectSameBits("owner's bound vector", bound, y); // untouched by the adopter's bind and products
    expectSameBits("adopter's bound vector", adoptedBound, Float64Array.from(y).reverse());
    expect(DenseMatrix.adopt(m + 1, n, owner.resident!.memory)).toBeNull(); // not this matrix's memory
  });

  it("Ax in four-column passes and A·[x1, x2] in two-column passes: the same bits at every zero pattern", () => {
    // Finite entries of many magnitudes (the summation order shows in the last bits), and zero
    // patterns that leave 0–3 columns of a pass pending, and pairs whose columns have both, one
    // or neither coefficient non-zero.
    const finite = fc.double({ min: -1e3, max: 1e3, noNaN: true });
    const zeroOr = (density: number) => fc.oneof({ weight: density, arbitrary: finite }, { weight: 10 - density, arbitrary: fc.constantFrom(0, -0) });
    const problem = fc
      .record({ m: fc.integer({ min: 1, max: 13 }), d1: fc.integer({ min: 1, max: 9 }), d2: fc.integer({ min: 1, max: 9 }), seed: fc.array(finite, { minLength: 61, maxLength: 61 }) })
      .chain(({ m, d1, d2, seed }) => {
        const n = Math.ceil(RESIDENT_MIN_ENTRIES / m);
        const A = Float64Array.from({ length: m * n }, (_, i) => seed[(i * 7) % 61] * 10 ** ((i % 7) - 3));
        return fc.record({ m: fc.constant(m), A: fc.constant(A), x1: fc.array(zeroOr(d1), { minLength: n, maxLength: n }), x2: fc.array(zeroOr(d2), { minLength: n, maxLength: n }) });
      });
    fc.assert(
      fc.property(problem, ({ m, A, x1, x2 }) => {
        const n = A.length / m;
        const simd = new DenseMatrix(m, n, A), scalar = new DenseMatrix(m, n, Float64Array.from(A), { simd: false });
        const [u1, u2] = [Float64Array.from(x1), Float64Array.from(x2)];
        expectSameBits("Ax", simd.apply(u1, new Float64Array(m)), scalar.apply(u1, new Float64Array(m)));
        const [o1, o2] = [new Float64Array(m), new Float64Array(m)];
        applyPair(simd, u1, u2, o1, o2);
        expectSameBits("A·[x1, x2]", [...o1, ...o2], [...scalar.apply(u1, new Float64Array(m)), ...scalar.apply(u2, new Float64Array(m))]);
      }),
      { numRuns: 80 },
    );
  });

  it("products and column operations: the same bits as the scalar loops, at every tail length and scale", () => {
    fc.assert(
      fc.property(instance, ({ m, n, A, u, v, x, alpha }) => {
        const simd = new DenseMatrix(m, n, A), scalar = new DenseMatrix(m, n, Float64Array.from(A), { simd: false });
        expect(simd.resident).not.toBeNull();
        expectSameBits("data", simd.data, scalar.data);
        expectSameBits("Ax", simd.apply(x, new Float64Array(m)), scalar.apply(x, new Float64Array(m)));
        expectSameBits("Aᵀu", simd.applyT(u, new Float64Array(n)), scalar.applyT(u, new Float64Array(n)));
        const [o1, o2, o3, o4] = [new Float64Array(m), new Float64Array(m), new Float64Array(n), new Float64Array(n)];
        // x with zeros in some columns (each vector's own skips), and x against itself reversed.
        const xz = x.map((v, j) => (j % 3 === 0 ? 0 : v)), xr = Float64Array.from(x).reverse();
        applyPair(simd, xz, xr, o1, o2);
        expectSameBits("A·[x1, x2]", [...o1, ...o2], [...scalar.apply(xz, new Float64Array(m)), ...scalar.apply(xr, new Float64Array(m))]);
        applyTPair(simd, u, v, o3, o4);
        expectSameBits("Aᵀ·[y1, y2]", [...o3, ...o4], [...scalar.applyT(u, new Float64Array(n)), ...scalar.applyT(v, new Float64Array(n))]);
        expectSameBits("column norms", simd.columnNormsSquared(), scalar.columnNormsSquared());
        const cs = columnsOf(simd), cj = columnsOf(scalar);
        const [c1, q1, c2, q2] = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
        cs.correlateAndNorms(v, c1, q1);
        cj.correlateAndNorms(v, c2, q2);
        expectSameBits("correlations", c1, c2);
        expectSameBits("norms", q1, q2);
        // Column operations on bound vectors (in the matrix's memory) and on plain ones.
        const bu = cs.bind(Float64Array.from(u), 0), bv = cs.bind(Float64Array.from(v), 1);
        expect(simd.resident!.holds(bu) && simd.resident!.holds(bv)).toBe(true);
        const [p1, p2] = [new Float64Array(2), new Float64Array(2)];
        const ju = Float64Array.from(u), plain = Float64Array.from(u);
        for (const j of [0, 1, n >> 1, n - 1]) {
          expectSameBits("dot", [cs.dot(j, bv), simd.columnDot(j, bv), simd.columnInner(j, n - 1 - j)], [cj.dot(j, v), scalar.columnDot(j, v), scalar.columnInner(j, n - 1 - j)]);
          cs.dotPair(j, bu, bv, p1);
          cj.dotPair(j, ju, v, p2); // bu and ju carry the same axpys
          expectSameBits("dotPair", p1, p2);
          cs.axpy(j, alpha, bu);
          simd.columnAxpy(j, alpha, plain); // not in the memory: the scalar loop
          cj.axpy(j, alpha, ju);
          expectSameBits("axpy (bound)", bu, ju);
          expectSameBits("axpy (plain)", plain, ju);
        }
        // Support products and the Gram of a support with a repeated column (indices in any order).
        const S = [n - 1, 0, n >> 1, 1 % n, n - 1];
        const vS = x.subarray(0, S.length), wS = new Float64Array(S.length), wJ = new Float64Array(S.length);
        expectSameBits("A_S v", simd.applyColumns(S, vS, new Float64Array(m)), scalar.applyColumns(S, vS, new Float64Array(m)));
        expectSameBits("A_Sᵀu", simd.applyColumnsT(S, u, wS), scalar.applyColumnsT(S, u, wJ));
        expectSameBits("A_Sᵀa_j", simd.applyColumnsT(S, simd.column(2 % n), wS), scalar.applyColumnsT(S, scalar.column(2 % n), wJ));
        const G = simd.gram(S);
        expectSameBits("gram", G, Float64Array.from({ length: S.length ** 2 }, (_, i) => scalar.columnInner(S[i % S.length], S[Math.floor(i / S.length)])));
        const back = new Float64Array(m);
        cs.unbind(bu, back);
        expectSameBits("unbound", back, ju);
      }),
      { numRuns: 60, reporter: (out) => { if (out.failed) throw new Error(`seed ${out.seed}, path ${out.counterexamplePath}: ${String(out.errorInstance).slice(0, 300)}`); } },
    );
  });
});
