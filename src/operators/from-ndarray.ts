import ndarray, { type NdArray } from "ndarray";
import ops from "ndarray-ops";
import { InputError } from "../errors.js";
import { allFinite } from "../linalg/vector.js";
import { DenseMatrix } from "./dense.js";

/** An ndarray (scijs) as handed over by image tools: data, shape, stride, offset. */
export function isNdarray(value: unknown): value is NdArray {
  const v = value as NdArray;
  return typeof value === "object" && value !== null && Array.isArray(v.shape) && Array.isArray(v.stride) && typeof v.offset === "number" && v.data !== undefined;
}

/** A 2-D ndarray (any strides, e.g. a transposed or sliced view) copied once into a column-major DenseMatrix. */
export function denseFromNdarray(nd: NdArray, field: string): DenseMatrix {
  if (nd.shape.length !== 2) throw new InputError(field, `expected a 2-D ndarray, got shape [${nd.shape.join(", ")}]`);
  const [m, n] = nd.shape;
  if (m < 1 || n < 1) throw new InputError(field, "expected a non-empty matrix");
  const data = new Float64Array(m * n);
  ops.assign(ndarray(data, [m, n], [1, m]), nd);
  if (!allFinite(data)) throw new InputError(field, "expected finite numbers (found NaN or Infinity)");
  return new DenseMatrix(m, n, data);
}

/** A 1-D ndarray (any stride), or an image flattened row-major as x is stored on a grid. */
export function vectorFromNdarray(nd: NdArray): Float64Array {
  const size = nd.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  // Row-major target with the same shape: strides [w·…, …, 1].
  const stride = nd.shape.map((_, k) => nd.shape.slice(k + 1).reduce((a, b) => a * b, 1));
  ops.assign(ndarray(out, nd.shape, stride), nd);
  return out;
}
