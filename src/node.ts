/**
 * The Node entry, `sparsetune/node`: everything of the main entry (which is browser-safe) plus
 * reading and writing files: problem files with their .npy arrays, and .npy files by path.
 */
export * from "./index.js";
export { loadProblemFile, parseProblemDocument, fileNpyResolver } from "./io/problem-file.js";
export { readNpy, readNpyMatrix, readNpyVector, writeNpy, DEFAULT_CHUNK_BYTES, type NpyReadOptions } from "./io/npy.js";

// ── Imaging: PNG files ──
export { readPng, writePng } from "./io/png.js";

// ── Cross-validation on a pool of worker threads ──
export { closeFoldPools, tuneAsync, type TuneAsyncOptions } from "./parallel/tune-async.js";
export { FoldPool } from "./parallel/fold-pool.js";
