/** The image commands' reconstruction (tv tuned), in a worker thread that Ctrl-C can stop (interruptible.ts). */
import type { Kernel } from "../imaging/gaussian.js";
import type { GreyImage } from "../imaging/image.js";
import { deblurImage, denoiseImage, inpaintImage, type ImageReconstruction, type ReconstructOptions } from "../imaging/reconstruct.js";
import type { TuneEvent } from "../tune/tune.js";
import type { ImageCommand } from "./image-commands.js";
import { serveInterruptible } from "./interruptible.js";

export interface ReconstructWorkerData {
  command: ImageCommand;
  image: GreyImage;
  kernel?: Kernel;
  mask?: Uint8Array;
  options: Omit<ReconstructOptions, "signal" | "onEvent">;
}

await serveInterruptible<ReconstructWorkerData, ImageReconstruction, TuneEvent>(({ command, image, kernel, mask, options }, signal, onEvent) => {
  const all: ReconstructOptions = { ...options, signal, ...(onEvent && { onEvent }) };
  return command === "denoise" ? denoiseImage(image, all) : command === "deblur" ? deblurImage(image, kernel!, all) : inpaintImage(image, mask!, all);
});
