import { readFileSync } from "node:fs";

/**
 * The version in the package's package.json, read at run time relative to this module (one
 * folder up from src/ or dist/, as in the published package). Node only: the CLI uses it.
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}
