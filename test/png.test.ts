/**
 * PNG decoding to one grey channel and grey encoding, on PNGs made here by fast-png's encoder
 * (or patched by hand for tRNS), plus the Node file edge (atomic writes, errors naming the file).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode, type ImageData } from "fast-png";
import { afterAll, describe, expect, it } from "vitest";
import { decodePng, encodePng } from "../src/io/png-format.js";
import { readPng, writePng } from "../src/io/png.js";
import { inputError } from "./support.js";

/** The one-line InputError (checked by support's inputError) that fn throws, its message matching `pattern`. */
function rejects(fn: () => unknown, pattern: RegExp): void {
  expect(inputError(fn).message).toMatch(pattern);
}

const dir = mkdtempSync(join(tmpdir(), "sparsetune-png-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const png = (image: Omit<ImageData, "width" | "height">, width: number, height: number, interlace?: "Adam7") => encode({ width, height, ...image }, interlace ? { interlace } : undefined);
const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

/** Standard CRC-32 (polynomial 0xEDB88320), bit by bit: the PNG chunk checksum. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG with a chunk inserted right after IHDR (8-byte signature + 25-byte IHDR chunk). */
function withChunk(bytes: Uint8Array, type: string, data: number[]): Uint8Array {
  const chunk = new Uint8Array(12 + data.length), view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  const out = new Uint8Array(bytes.length + chunk.length);
  out.set(bytes.subarray(0, 33));
  out.set(chunk, 33);
  out.set(bytes.subarray(33), 33 + chunk.length);
  return out;
}

describe("decodePng", () => {
  it("reads 8-bit and 16-bit grey as stored, interlaced or not, with no notice", () => {
    const v8 = Uint8Array.from({ length: 15 }, (_, i) => (i * 37) % 256);
    for (const interlace of [undefined, "Adam7"] as const) {
      const image = decodePng(png({ data: v8, channels: 1, depth: 8 }, 5, 3, interlace));
      expect(image).toEqual({ data: Float64Array.from(v8), height: 3, width: 5, bitDepth: 8, notices: [] });
    }
    const v16 = Uint16Array.from([0, 1, 255, 256, 40000, 65535]);
    expect(decodePng(png({ data: v16, channels: 1, depth: 16 }, 2, 3))).toEqual({ data: Float64Array.from(v16), height: 3, width: 2, bitDepth: 16, notices: [] });
  });

  it("scales 1-, 2- and 4-bit grey to 0..255 and says so", () => {
    // 10 one-bit pixels per row: bytes 10110011 01xxxxxx, then 11111111 11xxxxxx.
    const one = decodePng(png({ data: Uint8Array.from([0b10110011, 0b01000000, 0b11111111, 0b11000000]), channels: 1, depth: 1 }, 10, 2));
    expect(Array.from(one.data)).toEqual([1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1].map((b) => 255 * b));
    expect(one.bitDepth).toBe(8);
    expect(one.notices).toEqual(["scaled 1-bit grey to 8-bit (0..255)"]);
    const two = decodePng(png({ data: Uint8Array.from([0b00011011, 0b11000000]), channels: 1, depth: 2 }, 5, 1));
    expect(Array.from(two.data)).toEqual([0, 85, 170, 255, 255]);
    const four = decodePng(png({ data: Uint8Array.from([0x0f, 0x80, 0x37, 0x10]), channels: 1, depth: 4 }, 3, 2));
    expect(Array.from(four.data)).toEqual([0, 255, 136, 51, 119, 17]);
  });

  it("converts RGB to grey with the BT.601 luma, exact on grey pixels, 8 and 16 bit", () => {
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30, 77, 77, 77, 255, 255, 255];
    const image = decodePng(png({ data: Uint8Array.from(rgb), channels: 3, depth: 8 }, 3, 2));
    expect(image.bitDepth).toBe(8);
    expect(image.notices).toEqual([expect.stringMatching(/^converted RGB to grey/)]);
    const expected = [0, 1, 2, 3, 4, 5].map((p) => luma(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]));
    for (let p = 0; p < 6; p++) expect(image.data[p]).toBeCloseTo(expected[p], 12);
    expect(image.data[4]).toBe(77);
    expect(image.data[5]).toBe(255);
    // 0.299·v + 0.587·v + 0.114·v rounds away from v for 65 of the 256 8-bit values (and a quarter of the 16-bit ones): grey stays exact
    expect(luma(13, 13, 13)).not.toBe(13);
    expect(luma(40004, 40004, 40004)).not.toBe(40004);
    const deep = decodePng(png({ data: Uint16Array.from([60000, 1000, 5, 13, 13, 13, 40004, 40004, 40004]), channels: 3, depth: 16 }, 3, 1));
    expect(deep.bitDepth).toBe(16);
    expect(deep.data[0]).toBeCloseTo(luma(60000, 1000, 5), 9);
    expect(Array.from(deep.data.subarray(1))).toEqual([13, 40004]);
  });

  it("drops a fully opaque alpha channel (grey+alpha, RGBA, 16-bit) with a notice", () => {
    const ga = decodePng(png({ data: Uint8Array.from([10, 255, 20, 255]), channels: 2, depth: 8 }, 2, 1));
    expect(ga).toEqual({ data: Float64Array.from([10, 20]), height: 1, width: 2, bitDepth: 8, notices: ["dropped a fully opaque alpha channel"] });
    const rgba = decodePng(png({ data: Uint8Array.from([9, 9, 9, 255, 0, 100, 0, 255]), channels: 4, depth: 8 }, 1, 2));
    expect(rgba.data[0]).toBe(9);
    expect(rgba.data[1]).toBeCloseTo(58.7, 12);
    expect(rgba.notices).toEqual(["dropped a fully opaque alpha channel", expect.stringMatching(/^converted RGB to grey/)]);
    const deep = decodePng(png({ data: Uint16Array.from([500, 65535]), channels: 2, depth: 16 }, 1, 1));
    expect(deep.data[0]).toBe(500);
  });

  it("refuses translucent or transparent pixels, naming the PNG", () => {
    rejects(() => decodePng(png({ data: Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 254]), channels: 4, depth: 8 }, 2, 1), "photo.png"), /^photo\.png: has an alpha channel with 1 transparent or translucent pixel;/);
    rejects(() => decodePng(png({ data: Uint8Array.from([1, 0, 2, 0]), channels: 2, depth: 8 }, 2, 1)), /^PNG: has an alpha channel with 2 transparent or translucent pixels/);
    rejects(() => decodePng(png({ data: Uint16Array.from([500, 65534]), channels: 2, depth: 16 }, 1, 1)), /has an alpha channel/);
  });

  it("expands a palette to RGB then grey; palette alpha counts only where a pixel uses it", () => {
    const palette = [[255, 0, 0], [0, 255, 0], [40, 40, 40]];
    const image = decodePng(png({ data: Uint8Array.from([0, 1, 2, 2]), channels: 1, depth: 8, palette }, 2, 2));
    expect(image.notices).toEqual(["expanded the palette to RGB", expect.stringMatching(/^converted RGB to grey/)]);
    expect(image.data[0]).toBeCloseTo(76.245, 12);
    expect(image.data[1]).toBeCloseTo(149.685, 12);
    expect(Array.from(image.data.subarray(2))).toEqual([40, 40]);
    // fast-png's encoder writes tRNS entries in palette order only when the translucent colours come first
    const translucent = [[255, 0, 0, 128], [0, 255, 0, 255], [40, 40, 40, 255]];
    rejects(() => decodePng(png({ data: Uint8Array.from([0, 1, 2, 2]), channels: 1, depth: 8, palette: translucent }, 2, 2)), /has an alpha channel with 1 transparent or translucent pixel/);
    const unused = decodePng(png({ data: Uint8Array.from([1, 1, 2, 2]), channels: 1, depth: 8, palette: translucent }, 2, 2));
    expect(unused.notices).toContain("dropped a fully opaque alpha channel");
    expect(Array.from(unused.data.subarray(2))).toEqual([40, 40]);
  });

  it("refuses a tRNS transparent colour that pixels use and ignores one that none uses", () => {
    const grey = png({ data: Uint8Array.from([5, 6, 7]), channels: 1, depth: 8 }, 3, 1);
    rejects(() => decodePng(withChunk(grey, "tRNS", [0, 6])), /has 1 transparent pixel \(a tRNS transparent colour\)/);
    const ignored = decodePng(withChunk(grey, "tRNS", [0, 9]));
    expect(ignored.notices).toEqual(["ignored a tRNS transparent colour that no pixel uses"]);
    expect(Array.from(ignored.data)).toEqual([5, 6, 7]);
    // (fast-png refuses an RGB tRNS on images of fewer than 3 pixels: it counts its 3 samples as per-pixel alphas)
    const rgb = png({ data: Uint8Array.from([1, 2, 3, 1, 2, 4, 9, 9, 9]), channels: 3, depth: 8 }, 3, 1);
    rejects(() => decodePng(withChunk(rgb, "tRNS", [0, 1, 0, 2, 0, 3])), /has 1 transparent pixel/);
    expect(decodePng(withChunk(rgb, "tRNS", [0, 1, 0, 2, 0, 5])).notices).toContain("ignored a tRNS transparent colour that no pixel uses");
  });

  it("rejects empty, non-PNG, truncated and corrupted bytes with one InputError naming the file", () => {
    const good = png({ data: Uint8Array.from({ length: 64 }, (_, i) => i), channels: 1, depth: 8 }, 8, 8);
    rejects(() => decodePng(new Uint8Array(0), "a.png"), /^a\.png: is empty/);
    rejects(() => decodePng(new TextEncoder().encode("GIF89a not a png at all"), "a.png"), /^a\.png: is not a PNG image \(wrong signature\)/);
    for (const cut of [8, 20, 33, 40, good.length - 13, good.length - 12, good.length - 1]) {
      rejects(() => decodePng(good.subarray(0, cut), "a.png"), /^a\.png: is not a readable PNG, truncated or corrupt/);
    }
    const flipped = Uint8Array.from(good);
    flipped[45] ^= 0x10; // inside IDAT: the CRC no longer matches
    rejects(() => decodePng(flipped, "a.png"), /^a\.png: is not a readable PNG, truncated or corrupt/);
    rejects(() => decodePng([1, 2] as unknown as Uint8Array), /PNG: expected the bytes of a PNG file/);
  });
});

describe("encodePng", () => {
  it("writes grey 8- and 16-bit PNGs, clamped and rounded, that fast-png reads back", () => {
    const image = { data: Float64Array.from([-5, 0.4, 0.5, 127.5, 254.6, 999]), height: 2, width: 3 };
    const d8 = decode(encodePng(image));
    expect([d8.width, d8.height, d8.channels, d8.depth]).toEqual([3, 2, 1, 8]);
    expect(Array.from(d8.data)).toEqual([0, 0, 1, 128, 255, 255]);
    const d16 = decode(encodePng({ ...image, data: Float64Array.from([-1, 300.2, 65534.5, 1e9, 0, 7]) }, 16));
    expect(d16.depth).toBe(16);
    expect(Array.from(d16.data)).toEqual([0, 300, 65535, 65535, 0, 7]);
    const back = decodePng(encodePng({ data: Float64Array.from([1, 2, 3, 4]), height: 4, width: 1 }, 16));
    expect(back).toEqual({ data: Float64Array.from([1, 2, 3, 4]), height: 4, width: 1, bitDepth: 16, notices: [] });
  });

  it("rejects images that are not finite or not the size they claim", () => {
    rejects(() => encodePng({ data: Float64Array.from([1, NaN]), height: 1, width: 2 }), /image: expected finite pixel values/);
    rejects(() => encodePng({ data: new Float64Array(5), height: 2, width: 3 }), /image: expected a Float64Array of 2×3 = 6 pixels/);
    rejects(() => encodePng({ data: new Float64Array(6), height: 2, width: 3 }, 4 as 8), /bitDepth/);
  });
});

describe("readPng / writePng (Node)", () => {
  const image = { data: Float64Array.from({ length: 12 }, (_, i) => i * 20), height: 3, width: 4 };

  it("round-trips through a file and replaces an existing file", () => {
    const path = join(dir, "round.png");
    writeFileSync(path, "old contents");
    writePng(path, image);
    expect(readPng(path)).toEqual({ ...image, bitDepth: 8, notices: [] });
    writePng(path, { ...image, data: image.data.map((v) => v * 100) }, 16);
    expect(readPng(path).data[11]).toBe(22000);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("names the file when it cannot be read or is not a PNG", () => {
    rejects(() => readPng(join(dir, "missing.png")), /missing\.png: cannot read \(no such file\)/);
    rejects(() => readPng(dir), /cannot read \(is a directory\)/);
    const garbage = join(dir, "garbage.png");
    writeFileSync(garbage, "hello");
    rejects(() => readPng(garbage), /garbage\.png: is not a PNG image/);
  });

  it("writes nothing when the path is unwritable or the image is bad, and leaves no temporary file", () => {
    rejects(() => writePng(join(dir, "no", "such", "dir.png"), image), /dir\.png: cannot write \(no such directory\); nothing was written/);
    const blocked = join(dir, "blocked.png");
    mkdirSync(blocked);
    rejects(() => writePng(blocked, image), /blocked\.png: cannot write \(is a directory\); nothing was written/);
    expect(readdirSync(blocked)).toEqual([]);
    const kept = join(dir, "kept.png");
    writePng(kept, image);
    const before = readFileSync(kept);
    rejects(() => writePng(kept, { ...image, data: image.data.map(() => NaN) }), /image: expected finite/);
    expect(readFileSync(kept).equals(before)).toBe(true);
    const parentIsFile = join(kept, "inside.png");
    rejects(() => writePng(parentIsFile, image), /cannot write \(a parent is not a directory\)/);
    expect(existsSync(parentIsFile)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
