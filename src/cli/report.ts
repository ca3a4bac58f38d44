import type { Hypergradient } from "../diff/implicit.js";
import type { Solution } from "../solvers/solution.js";

/** JSON has no Infinity/NaN: non-finite numbers become null, typed arrays plain arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) return null;
    if (v instanceof Float64Array) return Array.from(v);
    return v;
  });
}

export function solutionReport(solution: Solution): Record<string, unknown> {
  const { x, active, signs, objective, dualityGap, kktViolation, complementarityMargin, smallestActive } = solution;
  const { iterations, converged, solver, seconds, message, penalty } = solution;
  const pieces = solution.structure.find((part) => part.kind === "pieces");
  const { multipliers, activeBounds, feasibilityResidual, warnings } = solution;
  return {
    x, ...(solution.intercept !== undefined && { intercept: solution.intercept }), active, signs,
    ...(pieces && { jumps: pieces.jumps, jumpSigns: pieces.jumpSigns, segments: pieces.segments }),
    ...(multipliers && { multipliers }),
    ...(activeBounds && { activeBounds }),
    objective, dualityGap, kktViolation, complementarityMargin, smallestActive,
    ...(feasibilityResidual !== undefined && { feasibilityResidual }),
    iterations, converged, solver, seconds,
    penalty: { l1: penalty.l1, l2: penalty.l2, ...(penalty.tv > 0 && { tv: penalty.tv }) },
    ...(message !== undefined && { message }),
    ...(warnings && { warnings }),
  };
}

/** The scalar hypergradients by name (l1, l2, and tv for a TV problem). */
export function scalarHypergradients(h: Hypergradient): Record<string, number> {
  return Object.fromEntries(Object.entries(h.gradient).filter(([, v]) => typeof v === "number")) as Record<string, number>;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(6) : String(v));

export function solutionSummary(name: string, s: Solution): string {
  const shown = s.active.slice(0, 20).map((j, a) => `${j}${s.signs[a] > 0 ? "+" : "-"}`).join(" ");
  const pieces = s.structure.find((part) => part.kind === "pieces");
  return [
    `${name}: ${s.converged ? "converged" : "NOT converged"} with ${s.solver} in ${s.iterations} iterations, ${(s.seconds * 1000).toFixed(1)} ms`,
    ...(s.intercept !== undefined ? [`  intercept        ${fmt(s.intercept)}`] : []),
    `  objective        ${fmt(s.objective)}`,
    `  duality gap      ${fmt(s.dualityGap)}`,
    `  KKT violation    ${fmt(s.kktViolation)}`,
    `  margin           ${fmt(s.complementarityMargin)} (inactive), smallest |x_j| on S ${fmt(s.smallestActive)}`,
    `  active set (${s.active.length}) ${shown}${s.active.length > 20 ? " ..." : ""}`,
    ...(pieces ? [`  pieces           ${pieces.segments} constant pieces, ${pieces.jumps.length} jumps`] : []),
    ...(s.multipliers ? [`  multipliers      ${Array.from(s.multipliers.slice(0, 10), fmt).join(" ")}${s.multipliers.length > 10 ? " ..." : ""}`, `  ${s.solver === "basis-pursuit" ? "‖Ax − y‖" : "‖Cx − d‖"}         ${fmt(s.feasibilityResidual ?? NaN)}`] : []),
    ...(s.activeBounds ? [`  active bounds    ${s.activeBounds.lower.length} at lower, ${s.activeBounds.upper.length} at upper`] : []),
    ...(s.message ? [`  warning: ${s.message}`] : []),
    ...(s.warnings ?? []).map((w) => `  note: ${w}`),
  ].join("\n");
}

export function hypergradientSummary(heldoutMse: number, h: Hypergradient, seconds: number): string {
  return [
    `  held-out MSE     ${fmt(heldoutMse)}`,
    ...Object.entries(scalarHypergradients(h)).map(([name, v]) => `  dMSE/d${name.padEnd(13)}${fmt(v)}`),
    `  differentiation  ${(seconds * 1000).toFixed(2)} ms (${h.method} on the active set)`,
    ...(h.warning ? [`  warning: ${h.warning}`] : []),
  ].join("\n");
}
