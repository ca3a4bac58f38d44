import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

describe("README", () => {
  it("shows the two-command quick start", () => {
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm install && npm test");
  });

  it("its API example runs against the built package and prints finite numbers", () => {
    const code = readme.match(/```ts\n([\s\S]*?)```/)?.[1];
    expect(code).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "sparsetune-readme-"));
    const file = join(dir, "example.mjs");
    writeFileSync(file, code!.replace('from "sparsetune"', `from ${JSON.stringify(join(ROOT, "dist", "index.js"))}`));
    const r = spawnSync(process.execPath, [file], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/true$/); // converged
    expect(r.stdout).not.toMatch(/NaN|undefined/);
  });
});
