import { InputError } from "../errors.js";
import { allFinite } from "../linalg/vector.js";
import { DenseMatrix } from "./dense.js";

/**
 * What sparsetune reads of an ndarray (scijs `ndarray`, as image tools hand images over):
 * element (i₀, i₁, …) is data[offset + Σ iₖ·stride[k]]. Recognised by shape, not by class, so
 * no ndarray package is needed; strides may be negative (flipped views).
 */
export interface NdArrayLike {
  data: ArrayLike<number>;
  shape: number[];
  stride: number[];
  offset: number;
}

/** An ndarray-like value: data, shape, stride, offset. */
export function isNdarray(value: unknown): value is NdArrayLike {
  const v = value as NdArrayLike;
  return typeof value === "object" && value !== null && Array.isArray(v.shape) && Array.isArray(v.stride) && typeof v.offset === "number" && v.data !== undefined;
}

/**
 * Check that the view is well formed and lies inside its data: integer shape (non-negative),
 * strides and offset, and every addressed index within [0, data.length).
 */
function checkView(nd: NdArrayLike, field: string): ArrayLike<number> {
  const { shape, stride, offset, data } = nd;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InputError(field, `expected an ndarray shape of non-negative integers, got [${shape.join(", ")}]`);
  if (stride.length !== shape.length || !stride.every((s) => Number.isSafeInteger(s))) {
    throw new InputError(field, `expected ${shape.length} integer strides, got [${stride.join(", ")}]`);
  }
  if (data === null || typeof data !== "object" || !Number.isSafeInteger(data.length)) throw new InputError(field, "expected ndarray data to be an array of numbers");
  if (!Number.isSafeInteger(offset)) throw new InputError(field, `expected an integer ndarray offset, got ${offset}`);
  if (shape.some((d) => d === 0)) return data;
  let low = offset, high = offset;
  for (let k = 0; k < shape.length; k++) {
    const span = stride[k] * (shape[k] - 1);
    if (span < 0) low += span;
    else high += span;
  }
  if (low < 0 || high >= data.length) {
    throw new InputError(field, `ndarray view addresses indices ${low}..${high} outside its data of length ${data.length}`);
  }
  return data;
}

/**
 * The elements of any ndarray view in row-major order of its shape (last index fastest), with a
 * plain loop over the strides: an odometer on the multi-index, the data position moved by the
 * stride of each digit that changes. A 0-d view has one element.
 */
function rowMajorValues(nd: NdArrayLike, field: string): Float64Array {
  const data = checkView(nd, field);
  const { shape, stride } = nd;
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  const index = new Array<number>(shape.length).fill(0);
  let pos = nd.offset;
  for (let k = 0; k < size; k++) {
    const v = data[pos];
    if (typeof v !== "number") throw new InputError(field, `expected numbers in the ndarray, got ${typeof v} at data index ${pos}`);
    out[k] = v;
    for (let a = shape.length - 1; a >= 0; a--) {
      pos += stride[a];
      if (++index[a] < shape[a]) break;
      pos -= stride[a] * shape[a];
      index[a] = 0;
    }
  }
  if (!allFinite(out)) throw new InputError(field, "expected finite numbers (found NaN or Infinity)");
  return out;
}

/** A 2-D ndarray (any strides, e.g. a transposed, sliced or flipped view) copied once into a column-major DenseMatrix. */
export function denseFromNdarray(nd: NdArrayLike, field: string): DenseMatrix {
  if (nd.shape.length !== 2) throw new InputError(field, `expected a 2-D ndarray, got shape [${nd.shape.join(", ")}]`);
  const [m, n] = nd.shape;
  if (!(m >= 1 && n >= 1)) throw new InputError(field, "expected a non-empty matrix");
  checkView(nd, field); // messages about the view as given, not its transpose
  // The transposed view (strides swapped) read row-major is the matrix in column-major order.
  const transposed = { data: nd.data, shape: [n, m], stride: [nd.stride[1], nd.stride[0]], offset: nd.offset };
  return new DenseMatrix(m, n, rowMajorValues(transposed, field));
}

/** A 1-D ndarray (any stride), or an image flattened row-major as x is stored on a grid. */
export function vectorFromNdarray(nd: NdArrayLike, field = "vector"): Float64Array {
  return rowMajorValues(nd, field);
}
