/**
 * The worked examples of iteration differentiation (`sparsetune example NAME [--json]`): each is
 * one file in this folder, listed in EXAMPLES below, that runs in a second or so and checks its
 * derivative against a central finite difference.
 */
import { adamExample } from "./adam.js";
import { lrScheduleExample } from "./lr-schedule.js";
import { momentumExample } from "./momentum.js";
import { odeCalibrationExample } from "./ode-calibration.js";

/** The finite-difference check every example prints. */
export interface DerivativeCheck {
  /** What was differentiated, e.g. "d(final loss)/dθ0". */
  what: string;
  derivative: number;
  finiteDifference: number;
  /** |derivative − finiteDifference| / max(|finiteDifference|, tiny). */
  relativeError: number;
}

export interface ExampleResult {
  name: string;
  /** Lines for the human summary. */
  lines: string[];
  /** The machine-readable result (`--json` prints { name, ...data, checks }). */
  data: Record<string, unknown>;
  checks: DerivativeCheck[];
}

export interface Example {
  name: string;
  /** One line for `sparsetune example --help`. */
  description: string;
  run(): ExampleResult;
}

/** The examples by name (import each example file and list it here). */
export const EXAMPLES: Record<string, Example> = {
  [lrScheduleExample.name]: lrScheduleExample,
  [momentumExample.name]: momentumExample,
  [adamExample.name]: adamExample,
  [odeCalibrationExample.name]: odeCalibrationExample,
};
