import type { DerivativeCheck } from "./examples.js";

/**
 * The central difference (f(at + h) − f(at − h))/(2h) against `derivative` (error O(h²) plus
 * rounding O(ε·|f|/h)).
 */
export function centralDifferenceCheck(what: string, derivative: number, f: (value: number) => number, at: number, h: number): DerivativeCheck {
  const finiteDifference = (f(at + h) - f(at - h)) / (2 * h);
  const relativeError = Math.abs(derivative - finiteDifference) / Math.max(Math.abs(finiteDifference), Number.MIN_VALUE);
  return { what, derivative, finiteDifference, relativeError };
}
