import { describe, expect, it } from "vitest";
import { runCliAsync as run } from "./support.js";

// Runs the built CLI (`npm test` builds first).
describe("sparsetune example", () => {
  it("without NAME lists the examples (exit 0); an unknown NAME is one line on stderr listing them, exit 2", async () => {
    const [list, unknown, help] = await Promise.all([run("example"), run("example", "nope"), run("example", "--help")]);
    expect(list.code).toBe(0);
    for (const name of ["lr-schedule", "momentum", "adam", "ode-calibration"]) {
      expect(list.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
      expect(help.stdout).toContain(name);
    }
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^sparsetune: example: expected one of lr-schedule, momentum, adam(, [a-z-]+)*, got nope\n$/);
  });

  it("lr-schedule --json: the learned schedule ends below the best constant rate of the grid, checked by central differences", async () => {
    const r = await run("example", "lr-schedule", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.name).toBe("lr-schedule");
    const best = Math.min(...out.constantGrid.map((c: { loss: number }) => c.loss));
    expect(out.bestConstant.loss).toBe(best);
    expect(out.learned.loss).toBeLessThan(best);
    expect(out.learned.firstRate).toBeGreaterThan(out.learned.lastRate); // a decaying schedule
    expect(out.forwardReverseRelativeDifference).toBeLessThanOrEqual(1e-10);
    expect(out.checks).toHaveLength(2);
    for (const c of out.checks) expect(c.relativeError).toBeLessThanOrEqual(1e-9);
  });

  it("momentum --json: the learned β is higher on the flat quadratic than on the steep one", async () => {
    const r = await run("example", "momentum", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.flat.beta).toBeGreaterThan(out.steep.beta);
    for (const side of [out.flat, out.steep]) {
      expect(side.beta).toBeGreaterThanOrEqual(0);
      expect(side.beta).toBeLessThan(1);
      expect(side.loss).toBeLessThan(side.startLoss);
      expect(side.forwardReverseRelativeDifference).toBeLessThanOrEqual(1e-10);
    }
    for (const c of out.checks) expect(c.relativeError).toBeLessThanOrEqual(1e-8);
  });

  it("adam --json and the human summary: sensitivities in α, β1, β2 (and ε), each checked", async () => {
    const [json, human] = await Promise.all([run("example", "adam", "--json"), run("example", "adam")]);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(Object.keys(out.sensitivities)).toEqual(["alpha", "beta1", "beta2", "epsilon"]);
    expect(out.checks.map((c: { what: string }) => c.what.match(/d(\w+) /)![1])).toEqual(["alpha", "beta1", "beta2"]);
    for (const c of out.checks) {
      expect(c.derivative).toBe(out.sensitivities[c.what.match(/d(\w+) /)![1]]);
      expect(c.relativeError).toBeLessThanOrEqual(5e-6);
    }
    expect(out.forwardReverseRelativeDifference).toBeLessThanOrEqual(1e-10);
    expect(out.storedStates).toBeLessThanOrEqual(3 * Math.ceil(Math.sqrt(out.steps)) + 1); // the interleaved sweep (smoothed TV shares its passes)
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^example adam\n/);
    expect(human.stdout).toContain("finite-difference checks:");
    expect(human.stdout).not.toContain("MISMATCH");
  });

  it("ode-calibration --json: the outer loop recovers q, the hypergradient checked by central differences", async () => {
    const r = await run("example", "ode-calibration", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.converged).toBe(true);
    expect(Math.abs(out.q - out.trueQ)).toBeLessThan(1e-8);
    expect(Math.abs(out.p - out.trueP)).toBeLessThan(1e-8);
    expect(Math.abs(out.hypergradientForward - out.hypergradientReverse)).toBeLessThanOrEqual(1e-10 * Math.abs(out.hypergradientReverse));
    expect(out.checks).toHaveLength(2);
    for (const c of out.checks) expect(c.relativeError).toBeLessThanOrEqual(1e-8);
  });
});
