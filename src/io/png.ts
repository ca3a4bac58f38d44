/**
 * PNG files on disk (Node only), through the browser-safe codec of png-format.ts. Errors are
 * InputErrors whose field is the path.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputError } from "../errors.js";
import type { GreyImage } from "../imaging/image.js";
import { fsErrorReason } from "./npy.js";
import { decodePng, encodePng, type PngImage } from "./png-format.js";

export type { PngImage } from "./png-format.js";

/** Read a PNG file as one grey channel in its own units (the rules are in png-format.ts). */
export function readPng(path: string): PngImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(path, `cannot read (${fsErrorReason(e)})`);
  }
  return decodePng(bytes, path);
}

let temporaries = 0;

/**
 * Write a grey PNG (bit depth 8 or 16, values clamped and rounded) atomically: the bytes go to a
 * temporary file in the same directory, which is then renamed over `path`. On any failure the
 * temporary file is removed and `path` is left as it was.
 */
export function writePng(path: string, image: GreyImage, bitDepth: 8 | 16 = 8): void {
  const bytes = encodePng(image, bitDepth);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${temporaries++}.tmp`);
  let created = false;
  try {
    const fd = openSync(temporary, "wx");
    created = true;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (e) {
    if (created) {
      try {
        unlinkSync(temporary);
      } catch {
        // already gone
      }
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    const reason = code === "ENOENT" ? "no such directory" : code === "ENOTDIR" ? "a parent is not a directory" : fsErrorReason(e);
    throw new InputError(path, `cannot write (${reason}); nothing was written`);
  }
}
