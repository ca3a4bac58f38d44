/**
 * Grey images at the API edge: a row-major Float64Array (pixel (r, c) at r·width + c, the order of
 * x on a [height, width] grid) with its height and width. Browser-safe.
 */
import { InputError } from "../errors.js";
import { vectorFromNdarray, type NdArrayLike } from "../operators/from-ndarray.js";

export interface GreyImage {
  data: Float64Array;
  height: number;
  width: number;
}

export function checkImageSize(height: number, width: number, field = "image"): void {
  if (!Number.isSafeInteger(height) || !Number.isSafeInteger(width) || height < 1 || width < 1) {
    throw new InputError(field, `expected positive integer height and width, got ${height}×${width}`);
  }
}

/** A GreyImage whose data is a Float64Array of height·width pixels. */
export function checkGreyImage(image: GreyImage, field = "image"): void {
  checkImageSize(image?.height, image?.width, field);
  if (!(image.data instanceof Float64Array) || image.data.length !== image.height * image.width) {
    throw new InputError(field, `expected a Float64Array of ${image.height}×${image.width} = ${image.height * image.width} pixels`);
  }
}

/**
 * A 2-D ndarray of shape [height, width] (any strides: transposed, sliced or flipped views) copied
 * row-major. scijs get-pixels hands out [width, height, channels]: pass `.pick(null, null, 0).transpose(1, 0)`.
 */
export function imageFromNdarray(nd: NdArrayLike, field = "image"): GreyImage {
  if (typeof nd !== "object" || nd === null) throw new InputError(field, `expected a 2-D ndarray of shape [height, width], got ${nd === null ? "null" : typeof nd}`);
  if (nd.shape?.length !== 2) throw new InputError(field, `expected a 2-D ndarray of shape [height, width], got shape [${nd.shape?.join(", ")}]`);
  const [height, width] = nd.shape;
  checkImageSize(height, width, field);
  return { data: vectorFromNdarray(nd, field), height, width };
}

/** The image as an ndarray-like view (shape [height, width], row-major), sharing its data: `ndarray(v.data, v.shape)`. */
export function imageToNdarray(image: GreyImage): NdArrayLike {
  checkGreyImage(image, "image");
  return { data: image.data, shape: [image.height, image.width], stride: [image.width, 1], offset: 0 };
}

/** Peak signal-to-noise ratio in dB: 10·log₁₀(R² / mean((reference − image)²)); +∞ when they are equal. */
export function psnr(reference: ArrayLike<number>, image: ArrayLike<number>, dataRange: number): number {
  if (!(reference?.length >= 1) || image?.length !== reference.length) {
    throw new InputError("image", `expected two non-empty images of the same size, got ${reference?.length} and ${image?.length} pixels`);
  }
  if (!(Number.isFinite(dataRange) && dataRange > 0)) throw new InputError("dataRange", `expected a finite number > 0 (255 for 8-bit), got ${dataRange}`);
  let sum = 0;
  for (let i = 0; i < reference.length; i++) sum += (reference[i] - image[i]) ** 2;
  if (!Number.isFinite(sum)) throw new InputError("image", "expected finite pixel values (found NaN or Infinity)");
  return 10 * Math.log10((dataRange * dataRange) / (sum / reference.length));
}

/** Pixels clamped to [0, 2^bitDepth − 1] and rounded to the nearest integer (halves up). */
export function quantise(data: ArrayLike<number>, bitDepth: 8 | 16): Uint8Array | Uint16Array {
  if (bitDepth !== 8 && bitDepth !== 16) throw new InputError("bitDepth", `expected 8 or 16, got ${bitDepth}`);
  const max = bitDepth === 8 ? 255 : 65535;
  const out = bitDepth === 8 ? new Uint8Array(data.length) : new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new InputError("image", `expected finite pixel values, got ${v} at pixel ${i}`);
    out[i] = v <= 0 ? 0 : v >= max ? max : Math.round(v);
  }
  return out;
}

/**
 * The images next to each other, left to right, top-aligned, `gap` columns of `background`
 * between them and below the shorter ones: the CLI's comparison picture (truth | data | result).
 */
export function sideBySide(images: readonly GreyImage[], gap = 4, background = 0): GreyImage {
  if (!Array.isArray(images) || images.length === 0) throw new InputError("images", "expected at least one image");
  images.forEach((image, i) => checkGreyImage(image, `images[${i}]`));
  if (!Number.isSafeInteger(gap) || gap < 0) throw new InputError("gap", `expected a non-negative integer, got ${gap}`);
  if (!Number.isFinite(background)) throw new InputError("background", `expected a finite number, got ${background}`);
  const height = Math.max(...images.map((im) => im.height));
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const data = new Float64Array(height * width).fill(background);
  let left = 0;
  for (const im of images) {
    for (let r = 0; r < im.height; r++) data.set(im.data.subarray(r * im.width, (r + 1) * im.width), r * width + left);
    left += im.width + gap;
  }
  return { data, height, width };
}
