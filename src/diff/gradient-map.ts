import type { HyperGradient } from "./implicit.js";

/** into[name] += scale·from[name] for every name of `from` (numbers and per-feature vectors alike). */
export function addScaled(into: HyperGradient, from: HyperGradient, scale = 1): HyperGradient {
  for (const [name, g] of Object.entries(from)) {
    const current = into[name];
    if (typeof g === "number") {
      into[name] = (typeof current === "number" ? current : 0) + scale * g;
    } else {
      const sum = current instanceof Float64Array ? current : new Float64Array(g.length);
      for (let j = 0; j < g.length; j++) sum[j] += scale * g[j];
      into[name] = sum;
    }
  }
  return into;
}

/** The names of the scalar hyperparameters in a gradient map (per-feature ones left out). */
export function scalarNames(gradient: HyperGradient): string[] {
  return Object.keys(gradient).filter((name) => typeof gradient[name] === "number");
}
