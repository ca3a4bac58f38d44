/**
 * Bad input: one line naming the field and what was expected. The CLI prints the message and
 * exits 2; the library throws it before doing any work.
 */
export class InputError extends Error {
  readonly field: string;

  constructor(field: string, expected: string) {
    super(`${field}: ${expected}`);
    this.name = "InputError";
    this.field = field;
  }
}

/** A problem that is well-formed but has no usable answer of the requested kind (e.g. singular KKT). */
export class NumericalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NumericalError";
  }
}

/**
 * An iteration that blew up: its loss became non-finite or exploded at `step` (1-based: the
 * iterate after `step` updates). A numerical failure, not bad input: the CLI exits 1.
 */
export class DivergenceError extends NumericalError {
  readonly step: number;

  constructor(what: string, step: number, loss: number) {
    super(`${what} diverged at step ${step} (loss ${loss}); lower the step size`);
    this.name = "DivergenceError";
    this.step = step;
  }
}

/** An integer ≥ min (sizes, counts); anything else, numeric strings included, is an InputError. */
export function requireInteger(field: string, v: unknown, min: number): void {
  if (!(Number.isSafeInteger(v) && (v as number) >= min)) throw new InputError(field, `expected an integer ≥ ${min}, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
}

/** A finite number ≥ 0 (penalty weights, ridge weights). */
export function requireNonNegative(field: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new InputError(field, `expected a finite number ≥ 0, got ${typeof v === "string" ? JSON.stringify(v) : v}`);
}
