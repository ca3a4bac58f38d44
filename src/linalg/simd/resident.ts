import { KERNELS_WASM_BASE64, SHARED_KERNELS_WASM_BASE64 } from "./kernels-binary.js";

/** The exports of kernels.wat (pointers are byte offsets into the matrix's memory). */
interface Kernels {
  dot(a: number, b: number, n: number): number;
  axpy(alpha: number, x: number, y: number, n: number): void;
  dotPair(a: number, u: number, v: number, n: number, out: number): void;
  correlateAndNorms(A: number, m: number, cols: number, v: number, c: number, q: number): void;
  gemvT(A: number, m: number, cols: number, y: number, out: number): void;
  gemv(A: number, m: number, cols: number, x: number, out: number): void;
  gemvTIndexed(A: number, m: number, idx: number, k: number, y: number, out: number): void;
  gemvIndexed(A: number, m: number, idx: number, k: number, x: number, out: number): void;
  gemvPair(A: number, m: number, cols: number, x1: number, x2: number, out1: number, out2: number): void;
  gemvTPair(A: number, m: number, cols: number, y1: number, y2: number, out1: number, out2: number): void;
}

/** Matrices smaller than this stay in plain arrays (a memory of its own costs at least 64 KiB). */
export const RESIDENT_MIN_ENTRIES = 1 << 14;
/** Larger ones too: a wasm32 memory addresses 4 GiB; a 2 GiB memory may not be granted. */
const RESIDENT_MAX_BYTES = 2 ** 30;
const PAGE = 65536;

/** The kernels for a shared memory where the platform can share one (a worker pool then reads a matrix without a copy), else for a plain one. */
const SHARED = typeof SharedArrayBuffer === "function";
let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled kernels, once; null where WebAssembly or its SIMD is missing (the scalar loops run
 * instead). Compiled synchronously: browsers allow that on their main thread below 4 KiB of
 * module (these are about 1.4 KiB; a test keeps them under).
 */
function kernelsModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return compiled;
  const bytes = Uint8Array.from(atob(SHARED ? SHARED_KERNELS_WASM_BASE64 : KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
  try {
    if (WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
  } catch {
    // Compiling refused (a content security policy without 'wasm-unsafe-eval'): the scalar loops.
  }
  return compiled;
}

function newMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages, ...(SHARED && { shared: true }) });
}

/** The memory's last bytes hold its matrix's shape (rows, cols as i32): adopt checks it. */
const SHAPE_BYTES = 8;

/** Bytes of `length` f64 (or 2·length i32) rounded up to 16: slots stay 16-byte aligned. */
const aligned = (length: number) => 16 * Math.ceil(length / 2);

/** Bytes of one set of work vectors (see ResidentMatrix). */
function slotBytes(rows: number, cols: number): number {
  const long = Math.max(rows, cols);
  return 4 * aligned(long) + 2 * aligned(rows) + aligned(2) + aligned(Math.ceil(cols / 2));
}

/**
 * A column-major m×n matrix held in a WebAssembly memory of its own, where the SIMD kernels read
 * it, followed by two sets of work vectors, each [input, input2, output, output2 (max(m, n) each) |
 * work u, w (m each) | pair (2) | column indices (n, i32)]: the first for the thread
 * that made the matrix, the second for one other thread that adopts the (shared) memory, so the
 * two never write each other's vectors. The memory never grows, so every view stays valid.
 * Kernels need their vectors in this memory: `bind` copies one into a work slot.
 */
export class ResidentMatrix {
  /** The matrix entries (a view into the memory). */
  readonly data: Float64Array;
  readonly buffer: ArrayBufferLike;
  private readonly k: Kernels;
  private readonly input: Float64Array;
  private readonly input2: Float64Array;
  private readonly output: Float64Array;
  private readonly output2: Float64Array;
  private readonly work: [Float64Array, Float64Array];
  private readonly pair: Float64Array;
  private readonly indices: Int32Array;

  private constructor(
    readonly rows: number,
    readonly cols: number,
    /** Where the matrix lives; shared where the platform shares memory (see adopt). */
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    slotSet: 0 | 1,
  ) {
    this.k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
    this.buffer = memory.buffer;
    this.data = new Float64Array(this.buffer, 0, rows * cols);
    let at = aligned(rows * cols) + slotSet * slotBytes(rows, cols);
    const take = (length: number) => {
      const view = new Float64Array(this.buffer, at, length);
      at += aligned(length);
      return view;
    };
    const long = Math.max(rows, cols);
    this.input = take(long);
    this.input2 = take(long);
    this.output = take(long);
    this.output2 = take(long);
    this.work = [take(rows), take(rows)];
    this.pair = take(2);
    this.indices = new Int32Array(this.buffer, at, cols);
  }

  /** A zero m×n matrix in a memory of its own; null when it is too small or large, or the platform has no SIMD kernels. */
  static allocate(rows: number, cols: number): ResidentMatrix | null {
    const entries = rows * cols;
    const bytes = aligned(entries) + 2 * slotBytes(rows, cols) + SHAPE_BYTES;
    if (entries < RESIDENT_MIN_ENTRIES || bytes > RESIDENT_MAX_BYTES) return null;
    const module = kernelsModule();
    if (module === null) return null;
    let memory: WebAssembly.Memory;
    try {
      memory = newMemory(Math.ceil(bytes / PAGE));
    } catch {
      return null; // address space refused: the plain array serves
    }
    new Int32Array(memory.buffer, memory.buffer.byteLength - SHAPE_BYTES, 2).set([rows, cols]);
    return ResidentMatrix.instantiate(rows, cols, memory, module, 0);
  }

  /** The kernels on `memory`, or null where instantiating is refused (the scalar loops then). */
  private static instantiate(rows: number, cols: number, memory: WebAssembly.Memory, module: WebAssembly.Module, slotSet: 0 | 1): ResidentMatrix | null {
    try {
      return new ResidentMatrix(rows, cols, memory, module, slotSet);
    } catch {
      return null;
    }
  }

  /** The matrix of `values` (column-major) in a memory of its own (see allocate). */
  static create(rows: number, cols: number, values: Float64Array): ResidentMatrix | null {
    const resident = ResidentMatrix.allocate(rows, cols);
    resident?.data.set(values);
    return resident;
  }

  /**
   * The m×n matrix another thread allocated in the shared `memory`, used here without a copy, with
   * the second set of work vectors: at most one thread may adopt a memory at a time (the fold pool
   * gives fold k to worker k mod W only). Null when the memory is not such a matrix's.
   */
  static adopt(rows: number, cols: number, memory: WebAssembly.Memory): ResidentMatrix | null {
    const module = kernelsModule();
    if (module === null || !SHARED || !(memory instanceof WebAssembly.Memory)) return null;
    const shape = new Int32Array(memory.buffer, memory.buffer.byteLength - SHAPE_BYTES, 2);
    if (shape[0] !== rows || shape[1] !== cols) return null;
    return ResidentMatrix.instantiate(rows, cols, memory, module, 1);
  }

  /** v is in this memory (a kernel can read it where it is). */
  holds(v: Float64Array): boolean {
    return v.buffer === this.buffer;
  }

  /**
   * v, or a copy of it in work slot `slot` when it is not in this memory (the caller copies changes
   * back with `unbind`). The slot is the caller's until its next bind of that slot: the products
   * below use other slots (input, output), never the work slots.
   */
  bind(v: Float64Array, slot: 0 | 1): Float64Array {
    if (this.holds(v) || v.length !== this.rows) return v;
    const w = this.work[slot];
    w.set(v);
    return w;
  }

  /** Copy the bound vector back into v (nothing when it was v itself). */
  unbind(bound: Float64Array, v: Float64Array): void {
    if (bound !== v) v.set(bound);
  }

  /** a_jᵀv, v in this memory. */
  columnDot(j: number, v: Float64Array): number {
    return this.k.dot(8 * j * this.rows, v.byteOffset, this.rows);
  }

  /** a_iᵀa_j. */
  columnInner(i: number, j: number): number {
    return this.k.dot(8 * i * this.rows, 8 * j * this.rows, this.rows);
  }

  /** v ← v + alpha·a_j, v in this memory. */
  columnAxpy(j: number, alpha: number, v: Float64Array): void {
    this.k.axpy(alpha, 8 * j * this.rows, v.byteOffset, this.rows);
  }

  /** out ← [a_jᵀu, a_jᵀv], u and v in this memory. */
  columnDotPair(j: number, u: Float64Array, v: Float64Array, out: Float64Array): void {
    this.k.dotPair(8 * j * this.rows, u.byteOffset, v.byteOffset, this.rows, this.pair.byteOffset);
    out[0] = this.pair[0];
    out[1] = this.pair[1];
  }

  /** out (length m) ← A_S v (columns with v_a = 0 skipped). */
  applyColumns(S: ArrayLike<number>, v: Float64Array, out: Float64Array): Float64Array {
    this.indices.set(S);
    this.input.set(v.subarray(0, S.length));
    this.k.gemvIndexed(0, this.rows, this.indices.byteOffset, S.length, this.input.byteOffset, this.output.byteOffset);
    out.set(this.output.subarray(0, this.rows));
    return out;
  }

  /** out (length |S|) ← A_Sᵀw (w read where it is when in this memory, e.g. a column). */
  applyColumnsT(S: ArrayLike<number>, w: Float64Array, out: Float64Array): Float64Array {
    this.indices.set(S);
    let y = w;
    if (!this.holds(w)) {
      this.input.set(w);
      y = this.input;
    }
    this.k.gemvTIndexed(0, this.rows, this.indices.byteOffset, S.length, y.byteOffset, this.output.byteOffset);
    out.set(this.output.subarray(0, S.length));
    return out;
  }

  /** G = A_SᵀA_S (k×k, column-major), each entry summed as dot sums it (so G_ab = columnInner(S_a, S_b) bit for bit). */
  gram(S: ArrayLike<number>): Float64Array {
    const k = S.length, g = new Float64Array(k * k), m = this.rows;
    this.indices.set(S);
    for (let b = 0; b < k; b++) {
      // Column b below the diagonal: a_{S_a}ᵀa_{S_b} for a ≥ b.
      this.k.gemvTIndexed(0, m, this.indices.byteOffset + 4 * b, k - b, 8 * S[b] * m, this.output.byteOffset);
      for (let a = b; a < k; a++) g[b * k + a] = g[a * k + b] = this.output[a - b];
    }
    return g;
  }

  /** out ← Ax. */
  apply(x: Float64Array, out: Float64Array): Float64Array {
    this.input.set(x);
    this.k.gemv(0, this.rows, this.cols, this.input.byteOffset, this.output.byteOffset);
    out.set(this.output.subarray(0, this.rows));
    return out;
  }

  /** out ← Aᵀy. */
  applyT(y: Float64Array, out: Float64Array): Float64Array {
    this.input.set(y);
    this.k.gemvT(0, this.rows, this.cols, this.input.byteOffset, this.output.byteOffset);
    out.set(this.output.subarray(0, this.cols));
    return out;
  }

  /** out1 ← Ax1, out2 ← Ax2 in one pass over A (the bits of two apply calls). */
  applyPair(x1: Float64Array, x2: Float64Array, out1: Float64Array, out2: Float64Array): void {
    this.input.set(x1);
    this.input2.set(x2);
    this.k.gemvPair(0, this.rows, this.cols, this.input.byteOffset, this.input2.byteOffset, this.output.byteOffset, this.output2.byteOffset);
    out1.set(this.output.subarray(0, this.rows));
    out2.set(this.output2.subarray(0, this.rows));
  }

  /** out1 ← Aᵀy1, out2 ← Aᵀy2 in one pass over A (the bits of two applyT calls). */
  applyTPair(y1: Float64Array, y2: Float64Array, out1: Float64Array, out2: Float64Array): void {
    this.input.set(y1);
    this.input2.set(y2);
    this.k.gemvTPair(0, this.rows, this.cols, this.input.byteOffset, this.input2.byteOffset, this.output.byteOffset, this.output2.byteOffset);
    out1.set(this.output.subarray(0, this.cols));
    out2.set(this.output2.subarray(0, this.cols));
  }

  /** c ← Aᵀv and norms2_j ← ‖a_j‖², in one sweep over A. */
  correlateAndNorms(v: Float64Array, c: Float64Array, norms2: Float64Array): void {
    this.input.set(v);
    this.k.correlateAndNorms(0, this.rows, this.cols, this.input.byteOffset, this.output.byteOffset, this.output2.byteOffset);
    c.set(this.output.subarray(0, this.cols));
    norms2.set(this.output2.subarray(0, this.cols));
  }

  /** ‖a_j‖² for every column. */
  columnNormsSquared(out: Float64Array): Float64Array {
    for (let j = 0; j < this.cols; j++) out[j] = this.columnInner(j, j);
    return out;
  }
}
