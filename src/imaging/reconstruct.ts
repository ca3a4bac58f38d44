/**
 * Self-tuning total-variation reconstruction of grey images (browser-safe): denoising, deblurring
 * and inpainting. Each builds the problem min ½‖Ax − y‖² + tv‖Dx‖₁ on the image's [h, w] grid,
 * with the intensities scaled to [0, 1] by the image's range (y = pixels / range, σ likewise),
 * tunes tv against a criterion, and returns the reconstruction in the image's own units.
 */
import { holdOutPixels, type HoldOutOptions } from "../criteria/heldout-pixels.js";
import { InputError } from "../errors.js";
import { allFinite, tabulate } from "../linalg/vector.js";
import { ConvolutionOperator } from "../operators/convolution.js";
import { GridDifferences } from "../operators/finite-differences.js";
import { piecesOf } from "../kkt/tv-pieces.js";
import { noiseLevel } from "../penalties/total-variation.js";
import { IdentityOperator } from "../operators/identity.js";
import { MaskOperator } from "../operators/mask.js";
import type { LinearOperator } from "../operators/operator.js";
import { createProblem, withPenalty, type Problem } from "../problem.js";
import { solve, type SolverName } from "../solvers/index.js";
import type { Solution } from "../solvers/solution.js";
import { tune, type CriterionName, type TrajectoryPoint, type TuneEvent } from "../tune/tune.js";
import type { CancelSignal } from "../tune/cancel.js";
import type { Kernel } from "./gaussian.js";
import { checkGreyImage, psnr, type GreyImage } from "./image.js";

/** How tv is chosen: against a clean reference image, by SURE (known σ), or on held-out pixels. */
export type ImageCriterion = "reference" | "sure" | "heldout";

export interface ReconstructOptions {
  /** The white level of the image's units: 255 for 8-bit, 65535 for 16-bit, 1 for [0, 1] data (default 255). */
  range?: number;
  /** Noise standard deviation in the image's units: needed by the SURE criterion, and the tuner's starting tv. */
  sigma?: number;
  /** A clean image of the same size: the reference criterion, and the PSNR of the result. */
  reference?: GreyImage;
  /** Default: "reference" when a reference is given; else for denoising "sure" (at `sigma`, or at the noise level estimated from the image when that is not 0), otherwise "heldout". "sure" needs sigma. */
  criterion?: ImageCriterion;
  /** The held-out pixels (criterion "heldout"): fraction (default 0.1) and seed. */
  heldOut?: HoldOutOptions;
  /**
   * Final inner tolerance of the tuner and of the last solve (duality gap / ‖y‖²). Default 1e-6
   * for held-out pixels: ‖x − x*‖² ≤ 2·gap keeps the RMS error of x below half a grey level of 8
   * bits ((0.5/255)²/2 ≈ 1.9e-6). Against a reference image, whose criterion is smooth in tv,
   * 1e-4 (measured on tv256: the tuned PSNR moves by 0.01 dB between 1e-4 and 1e-6), and 3e-4 for
   * denoising: on tv256 0.02 dB below 1e-4's PSNR in 0.7 of its time, on four photographs
   * (scikit-image's camera, coins, astronaut and coffee, σ = 0.1) within 0.003 dB in 0.7–0.9 of
   * its time. (A 24×24 deblurring lost 1 dB at 3e-4: a gap says less about x when A is ill-conditioned.) Default 1e-7 for SURE of denoising: its df counts the pieces of x, and a
   * looser x fuses real small jumps (pieces are fused below its RMS error √(2·gap/n)), which biases
   * SURE low at small tv. Measured on four photographs (camera, coins, astronaut, coffee; σ = 0.1):
   * SURE-tuned PSNR within 0.02 dB of the reference-tuned at 1e-7, up to 0.35 dB below at 1e-6
   * and 1e-5.
   */
  tol?: number;
  /**
   * Points of the tuner's basin scan before its descent. Default 16 for the held-out and SURE
   * criteria (noisy in tv: the scan finds the basin), 0 against a reference image (smooth and
   * unimodal in tv on the images measured: descend from the start, σ when given, else the noise
   * level estimated from the image for denoising).
   */
  scan?: number;
  solver?: SolverName;
  /** Progress of the tuner, as it happens. */
  onEvent?: (event: TuneEvent) => void;
  /** Stop the tuning early (tune's `signal`): the result is then the reconstruction at the best tv so far, `cancelled: true`. */
  signal?: AbortSignal | CancelSignal;
}

/** The certificate of the final solve (on the [0, 1] intensity scale). */
export interface SolutionSummary {
  objective: number;
  dualityGap: number;
  kktViolation: number;
  converged: boolean;
  iterations: number;
  solver: string;
  /** Constant pieces of the reconstruction (TV). */
  segments?: number;
  message?: string;
}

export interface ImageReconstruction {
  /** The reconstruction in the input's units, clamped to [0, range]. */
  image: GreyImage;
  /** The chosen tv, for intensities scaled to [0, 1] (scikit-image's weight is 1/tv). */
  tv: number;
  /**
   * The criterion at the chosen tv, in the image's squared units: "reference" and
   * "heldout-pixels" are mean squared errors, "sure" / "sure-mc" the risk estimate ‖y − Ax‖² − mσ² + 2σ²df.
   */
  criterion: { name: string; value: number };
  /** PSNR (dB) of `image` against the reference, when one is given. */
  psnr?: number;
  seconds: number;
  /** Inner solves spent (tuning and the final solve). */
  solves: number;
  solution: SolutionSummary;
  /** Every evaluation of the tuner (tv on the [0, 1] scale, the criterion in scaled units). */
  trajectory: TrajectoryPoint[];
  /** The tuning was stopped by `signal`: tv is the best one evaluated until then. */
  cancelled: boolean;
}

/** Defaults by criterion (see ReconstructOptions.tol and .scan). */
const DEFAULT_TOL = 1e-6, REFERENCE_TOL = 1e-4, DENOISING_REFERENCE_TOL = 3e-4, DENOISING_SURE_TOL = 1e-7;
const DEFAULT_SCAN = 16, REFERENCE_SCAN = 0;
/**
 * The tuner stops at steps below 1% of tv on the smooth criteria: their minimum is a plateau
 * (a 1% change of tv moved the PSNR by under 0.001 dB on the photographs measured), and with
 * the default 0.1% the last three to five solves of a run only re-certified the same x.
 */
const SMOOTH_XTOL = 1e-2;
/** The tuner's starting tv without σ: 5% of the intensity range (its scan covers 1e-3..1 anyway). */
const DEFAULT_START_TV = 0.05;

/** Denoising without σ: start at the noise level estimated from the image (or 5% of the range when it is 0). */
function startFromNoise(y: Float64Array, image: GreyImage): number {
  const sigma = noiseLevel(y, new GridDifferences([image.height, image.width]));
  return sigma > 0 ? sigma : DEFAULT_START_TV;
}

function checkRange(range: number): void {
  if (typeof range !== "number" || !Number.isFinite(range) || !(range > 0)) throw new InputError("range", `expected the white level of the image's units, a finite number > 0 (255 for 8-bit), got ${String(range)}`);
}

/** A grey image with finite pixels, of the given size when `size` is given. */
function checkPixels(image: GreyImage, field: string, size?: GreyImage): void {
  checkGreyImage(image, field);
  if (size && (image.height !== size.height || image.width !== size.width)) {
    throw new InputError(field, `expected the size of the input, ${size.height}×${size.width}, got ${image.height}×${image.width}`);
  }
  if (!allFinite(image.data)) throw new InputError(field, "expected finite pixel values (found NaN or Infinity)");
}

/** Every option checked before any work; the criterion resolved to the tuner's name. */
function resolveOptions(image: GreyImage, options: ReconstructOptions, identity: boolean) {
  if (typeof options !== "object" || options === null) throw new InputError("options", "expected an object");
  checkPixels(image, "image");
  const range = options.range ?? 255;
  checkRange(range);
  const { reference } = options;
  let sigma = options.sigma;
  if (sigma !== undefined && (typeof sigma !== "number" || !Number.isFinite(sigma) || !(sigma > 0) || sigma > range)) {
    throw new InputError("sigma", `expected the noise standard deviation in the image's units, a number in (0, ${range}] (at most the white level), got ${String(sigma)}`);
  }
  if (reference !== undefined) checkPixels(reference, "reference", image);
  // Denoising without a reference: SURE at the given σ, or at the σ estimated from the image
  // (median absolute neighbour difference): held-out pixels turn denoising into inpainting,
  // which is slow and weak on photographs (512×512: over 200 s).
  const estimated = identity && sigma === undefined && !reference && options.criterion === undefined ? range * noiseLevel(tabulate(image.data.length, (i) => image.data[i] / range), new GridDifferences([image.height, image.width])) : 0;
  if (estimated > 0) sigma = estimated;
  const criterion = options.criterion ?? (reference ? "reference" : identity && sigma !== undefined ? "sure" : "heldout");
  if (criterion === "reference" && !reference) throw new InputError("reference", "the reference criterion needs a clean reference image");
  if (criterion === "sure" && sigma === undefined) throw new InputError("sigma", "the sure criterion needs the noise level σ");
  if (!["reference", "sure", "heldout"].includes(criterion)) throw new InputError("criterion", `expected reference, sure or heldout, got ${String(criterion)}`);
  // SURE's df: the number of pieces for A = I (from the KKT system), its Monte-Carlo form otherwise.
  const tuneCriterion: CriterionName = criterion === "sure" ? (identity ? "sure" : "sure-mc") : criterion === "reference" ? "reference" : "heldout";
  return { range, sigma, reference, criterion, tuneCriterion };
}

/** The final solve's certificate and its number of pieces (counted directly: the solution's structure lists every pixel and edge). */
function summary(s: Solution, image: GreyImage): SolutionSummary {
  return {
    objective: s.objective, dualityGap: s.dualityGap, kktViolation: s.kktViolation, converged: s.converged,
    iterations: s.iterations, solver: s.solver,
    segments: piecesOf(new GridDifferences([image.height, image.width]), s.x, 0, false).count,
    ...(s.message !== undefined && { message: s.message }),
  };
}

/**
 * Tune tv for the measurements y = A·(image) (`measured`, in the image's units) and return the
 * reconstruction. Held-out pixels: tune on the fit rows, then solve on all rows at the rescaled tv.
 */
function reconstruct(image: GreyImage, A: LinearOperator, measured: Float64Array, options: ReconstructOptions): ImageReconstruction {
  const started = performance.now();
  const { range, sigma, reference, criterion, tuneCriterion } = resolveOptions(image, options, A instanceof IdentityOperator);
  if (isConstant(measured)) return constantReconstruction(image, measured[0], range, reference, criterion, started);
  const scaled = (v: ArrayLike<number>) => tabulate(v.length, (i) => v[i] / range);
  const problem = createProblem({
    A, y: scaled(measured), grid: [image.height, image.width],
    penalty: { tv: sigma !== undefined ? sigma / range : A instanceof IdentityOperator ? startFromNoise(scaled(measured), image) : DEFAULT_START_TV },
    ...(criterion === "reference" && { truth: scaled(reference!.data) }),
  });
  // Smooth criteria in tv (a reference image; SURE of denoising, whose df counts the pieces):
  // descend from the start at a looser tolerance; the others scan first at a tight one.
  const denoising = A instanceof IdentityOperator;
  const smooth = criterion === "reference" || (criterion === "sure" && denoising);
  const tol = options.tol ?? (criterion === "reference" ? (denoising ? DENOISING_REFERENCE_TOL : REFERENCE_TOL) : smooth ? DENOISING_SURE_TOL : DEFAULT_TOL);
  const tuneOptions = { keys: ["tv"], criterion: tuneCriterion, sigma: sigma !== undefined ? sigma / range : undefined, tol, scan: options.scan ?? (smooth ? REFERENCE_SCAN : DEFAULT_SCAN), ...(smooth && { xtol: SMOOTH_XTOL }), solver: options.solver, onEvent: options.onEvent, signal: options.signal };
  let solution: Solution, solves: number, tuned: ReturnType<typeof tune>;
  if (criterion === "heldout") {
    const split = holdOutPixels(problem, options.heldOut);
    tuned = tune(split.fit, tuneOptions);
    const full: Problem = withPenalty(problem, split.fullPenalty(tuned.solution.penalty));
    solution = solve(full, { tol, solver: options.solver, warmStart: tuned.x });
    solves = tuned.solves + 1;
  } else {
    tuned = tune(problem, tuneOptions);
    solution = tuned.solution;
    solves = tuned.solves;
  }
  const data = new Float64Array(solution.x.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(range, Math.max(0, solution.x[i] * range));
  const result: GreyImage = { data, height: image.height, width: image.width };
  return {
    image: result,
    tv: solution.penalty.tv,
    criterion: { name: criterion === "heldout" ? "heldout-pixels" : tuned.criterionName, value: tuned.criterion * range * range },
    ...(reference && { psnr: psnr(reference.data, data, range) }),
    seconds: (performance.now() - started) / 1000,
    solves,
    solution: summary(solution, image),
    trajectory: tuned.trajectory,
    cancelled: tuned.cancelled,
  };
}

function isConstant(v: Float64Array): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

/**
 * Constant measurements c: x = c everywhere fits them exactly with no total variation (the
 * blur kernels are normalised, so A·c = c), the answer for every tv: nothing to tune. Reported
 * with tv 0, no solves, and the criterion of that x (the reference error, else 0).
 */
function constantReconstruction(image: GreyImage, c: number, range: number, reference: GreyImage | undefined, criterion: string, started: number): ImageReconstruction {
  const value = Math.min(range, Math.max(0, c));
  const data = new Float64Array(image.data.length).fill(value);
  let mse = 0;
  if (reference) for (let i = 0; i < data.length; i++) mse += (c - reference.data[i]) ** 2 / data.length;
  return {
    image: { data, height: image.height, width: image.width },
    tv: 0,
    criterion: { name: criterion === "heldout" ? "heldout-pixels" : criterion, value: mse },
    ...(reference && { psnr: psnr(reference.data, data, range) }),
    seconds: (performance.now() - started) / 1000,
    solves: 0,
    solution: {
      objective: 0, dualityGap: 0, kktViolation: 0, converged: true, iterations: 0, solver: "none", segments: 1,
      message: "constant measurements: the reconstruction is that constant for every tv (nothing to tune)",
    },
    trajectory: [],
    cancelled: false,
  };
}

/** TV denoising, A = I: tv tuned against the reference, SURE (df = the number of pieces) or held-out pixels. */
export function denoiseImage(image: GreyImage, options: ReconstructOptions = {}): ImageReconstruction {
  checkGreyImage(image);
  return reconstruct(image, new IdentityOperator(image.data.length), image.data, options);
}

/**
 * TV deblurring, A = the convolution with `kernel` (half-sample symmetric boundary; see
 * ConvolutionOperator): tv tuned against the reference, Monte-Carlo SURE or held-out pixels.
 */
export function deblurImage(image: GreyImage, kernel: Kernel, options: ReconstructOptions = {}): ImageReconstruction {
  checkGreyImage(image);
  if (typeof kernel !== "object" || kernel === null) throw new InputError("kernel", "expected { kernel, kh, kw } (gaussianKernel(σ) makes one)");
  const A = new ConvolutionOperator(image.height, image.width, kernel.kernel, kernel.kh, kernel.kw);
  return reconstruct(image, A, image.data, options);
}

/**
 * TV inpainting, A = the known pixels (mask 1 = known, one entry per pixel, row-major): the other
 * pixels of `image` are ignored and filled in. tv tuned against the reference, Monte-Carlo SURE or
 * held-out known pixels.
 */
export function inpaintImage(image: GreyImage, mask: Uint8Array | readonly boolean[], options: ReconstructOptions = {}): ImageReconstruction {
  checkGreyImage(image);
  const A = new MaskOperator(mask, image.data.length);
  return reconstruct(image, A, A.apply(image.data, new Float64Array(A.rows)), options);
}
