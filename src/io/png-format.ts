/**
 * PNG bytes ↔ grey images (browser-safe, through fast-png). sparsetune reconstructs grey images,
 * so decoding reduces every PNG to one channel and says what it did in `notices`:
 *
 * - grey 8/16-bit: as stored; grey 1/2/4-bit: scaled to 0..255 (bit depth 8);
 * - RGB: ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B (exact where R = G = B);
 * - palette: expanded to its RGB colours, then as RGB;
 * - alpha (an alpha channel, palette alpha or a tRNS transparent colour): dropped when every pixel
 *   is fully opaque, otherwise refused: a reconstruction has no meaning for see-through pixels,
 *   and flattening onto a background is the user's choice to make.
 *
 * Values stay in the PNG's own units: 0..255 for bit depth 8, 0..65535 for 16.
 */
import { convertIndexedToRgb, decode, encode, hasPngSignature, type DecodedPng } from "fast-png";
import { InputError } from "../errors.js";
import { checkGreyImage, quantise, type GreyImage } from "../imaging/image.js";

export interface PngImage extends GreyImage {
  /** 8 or 16: the range of the values is 0..2^bitDepth − 1. */
  bitDepth: 8 | 16;
  /** What decoding changed, e.g. "converted RGB to grey"; empty for a plain grey PNG. */
  notices: string[];
}

const LUMA = [0.299, 0.587, 0.114] as const;

/** Samples of depth 1, 2 or 4 packed into bytes, each row starting on a byte (PNG's layout). */
function unpackSamples(png: DecodedPng): Uint8Array {
  const { width, height, depth } = png, data = png.data as Uint8Array;
  const rowBytes = Math.ceil((width * depth) / 8), mask = (1 << depth) - 1;
  const out = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const bit = c * depth;
      out[r * width + c] = (data[r * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Pixels whose colour is tRNS's transparent colour key (grey: one sample, RGB: three). */
function countKeyed(samples: ArrayLike<number>, channels: number, key: Uint16Array): number {
  let count = 0;
  for (let p = 0; p < samples.length; p += channels) {
    let same = true;
    for (let ch = 0; ch < channels; ch++) same &&= samples[p + ch] === key[ch];
    if (same) count++;
  }
  return count;
}

/**
 * Largest image decoded: 4096×4096 pixels. Reconstruction keeps a dozen Float64Arrays of the
 * image's size (16M pixels: about 2 GB) and its solves scale with it; a small file can declare
 * 20000×20000 (a decompression bomb: 11.5 GB before this check).
 */
export const MAX_PIXELS = 4096 * 4096;

/** The width and height of the IHDR chunk (bytes 16–23, big-endian), refused above MAX_PIXELS before decoding. */
function checkDeclaredSize(bytes: Uint8Array, name: string): void {
  if (bytes.length < 24) return; // the decoder reports the truncation
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16), height = view.getUint32(20);
  if (width * height > MAX_PIXELS) {
    throw new InputError(name, `expected an image of at most ${MAX_PIXELS} pixels (4096×4096), its header says ${width}×${height}`);
  }
}

/**
 * Decode a PNG into one grey channel (see the module comment for the rules). Every failure is an
 * InputError whose field is `name` (the file name when there is one).
 */
export function decodePng(bytes: Uint8Array, name = "PNG"): PngImage {
  if (!(bytes instanceof Uint8Array)) throw new InputError(name, "expected the bytes of a PNG file (a Uint8Array)");
  if (bytes.length === 0) throw new InputError(name, "is empty (expected a PNG image)");
  if (!hasPngSignature(bytes)) throw new InputError(name, "is not a PNG image (wrong signature)");
  checkDeclaredSize(bytes, name);
  const notices: string[] = [];
  let png: DecodedPng, samples: Uint8Array | Uint8ClampedArray | Uint16Array, channels: number, depth: number;
  try {
    png = decode(bytes, { checkCrc: true });
    ({ channels, depth } = png);
    if (png.palette) {
      samples = convertIndexedToRgb(png);
      channels = png.palette[0].length;
      depth = 8;
      notices.push("expanded the palette to RGB");
    } else if (depth < 8) {
      samples = unpackSamples(png);
    } else {
      samples = png.data;
    }
  } catch (e) {
    throw new InputError(name, `is not a readable PNG, truncated or corrupt (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height } = png;
  const n = width * height;
  if (samples.length !== n * channels) throw new InputError(name, `is not a readable PNG, truncated or corrupt (${samples.length} samples for ${width}×${height}×${channels})`);
  const colour = channels >= 3, hasAlpha = channels === 2 || channels === 4, colours = colour ? 3 : 1;
  const max = 2 ** depth - 1;

  if (hasAlpha) {
    let seeThrough = 0;
    for (let p = 0; p < n; p++) if (samples[p * channels + colours] !== max) seeThrough++;
    if (seeThrough > 0) {
      throw new InputError(name, `has an alpha channel with ${seeThrough} transparent or translucent pixel${seeThrough === 1 ? "" : "s"}; flatten it onto a background first (sparsetune reads opaque grey images)`);
    }
    notices.push("dropped a fully opaque alpha channel");
  } else if (png.transparency && !png.palette) {
    const keyed = countKeyed(samples, channels, png.transparency);
    if (keyed > 0) throw new InputError(name, `has ${keyed} transparent pixel${keyed === 1 ? "" : "s"} (a tRNS transparent colour); flatten it onto a background first`);
    notices.push("ignored a tRNS transparent colour that no pixel uses");
  }

  const data = new Float64Array(n);
  if (colour) {
    for (let p = 0; p < n; p++) {
      const r = samples[p * channels], g = samples[p * channels + 1], b = samples[p * channels + 2];
      data[p] = r === g && g === b ? r : LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
    }
    notices.push("converted RGB to grey (ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B)");
  } else {
    for (let p = 0; p < n; p++) data[p] = samples[p * channels];
  }
  if (depth < 8) {
    for (let p = 0; p < n; p++) data[p] = (data[p] * 255) / max;
    notices.push(`scaled ${depth}-bit grey to 8-bit (0..255)`);
  }
  return { data, height, width, bitDepth: depth === 16 ? 16 : 8, notices };
}

/** A grey PNG of bit depth 8 or 16: values clamped to 0..2^bitDepth − 1 and rounded. */
export function encodePng(image: GreyImage, bitDepth: 8 | 16 = 8): Uint8Array {
  checkGreyImage(image);
  return encode({ width: image.width, height: image.height, data: quantise(image.data, bitDepth), depth: bitDepth, channels: 1 });
}
