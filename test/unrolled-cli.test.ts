import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { FIXTURES, relErr, runCliAsync as run } from "./support.js";

// Runs the built CLI (`npm test` builds first).
const lasso = join(FIXTURES, "lasso-small.json");
const tv = join(FIXTURES, "tv1d-denoise.json");

describe("sparsetune hypergrad --method forward|reverse", () => {
  it("forward and reverse print the same derivatives, under the implicit method's keys and `algorithm`", async () => {
    const [implicit, forward, reverse] = await Promise.all([
      run("hypergrad", lasso, "--tol", "1e-12", "--json"),
      run("hypergrad", lasso, "--method", "forward", "--solver", "fista", "--iterations", "3000", "--json"),
      run("hypergrad", lasso, "--method", "reverse", "--solver", "fista", "--iterations", "3000", "--json"),
    ]);
    for (const r of [implicit, forward, reverse]) expect(r.code, r.stderr).toBe(0);
    const [i, f, b] = [implicit, forward, reverse].map((r) => JSON.parse(r.stdout));
    expect(Object.keys(f.hypergradient).sort()).toEqual(Object.keys(i.hypergradient).sort());
    expect(Object.keys(f.algorithm)).toEqual(["step", "momentum"]);
    // Converged after 3000 steps: dMSE/dstep and dMSE/dmomentum are at rounding level (1e-15 and
    // below), so the modes agree relative to the largest derivative.
    const scale = Math.max(...Object.values({ ...f.hypergradient, ...f.algorithm } as Record<string, number>).map(Math.abs));
    for (const [group, key] of [["hypergradient", "l1"], ["hypergradient", "l2"], ["algorithm", "step"], ["algorithm", "momentum"]]) {
      expect(Math.abs(f[group][key] - b[group][key]), key).toBeLessThanOrEqual(1e-10 * scale);
    }
    for (const key of ["l1", "l2"]) expect(relErr(f.hypergradient[key], i.hypergradient[key])).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(f.algorithm.step)).toBeLessThanOrEqual(1e-10 * scale);
    expect(relErr(f.heldoutMse, i.heldoutMse)).toBeLessThanOrEqual(1e-6);
    expect(f).toMatchObject({ method: "forward", solver: "fista", iterations: 3000 });
    expect(b.method).toBe("reverse");
    expect(b.storedStates).toBeLessThanOrEqual(2 * Math.sqrt(3000) + 2);
    expect(f.x).toHaveLength(60);
  });

  it("split-bregman on the TV fixture: tv and mu; cd: the penalties only; the human summary names them", async () => {
    const [sb, cd, text] = await Promise.all([
      run("hypergrad", tv, "--method", "reverse", "--iterations", "2000", "--json"),
      run("hypergrad", lasso, "--method", "reverse", "--solver", "cd", "--iterations", "5", "--json"),
      run("hypergrad", tv, "--method", "forward", "--solver", "split-bregman", "--iterations", "20", "--mu", "2"),
    ]);
    const s = JSON.parse(sb.stdout), c = JSON.parse(cd.stdout);
    expect(s.solver).toBe("split-bregman");
    expect(Object.keys(s.hypergradient).sort()).toEqual(["l2", "tv"]);
    expect(Object.keys(s.algorithm)).toEqual(["mu"]);
    expect(Object.keys(c.algorithm)).toEqual([]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/20 unrolled split-bregman steps, forward mode/);
    expect(text.stdout).toMatch(/dMSE\/dtv/);
    expect(text.stdout).toMatch(/dMSE\/dmu .* \(at mu = 2\.00000\)/);
  });

  it.each([["0"], ["-4"], ["2.5"], ["ten"], [""]])("--iterations %j: exit 2 with a one-line message", async (K) => {
    const r = await run("hypergrad", lasso, "--method", "reverse", "--iterations", K);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--iterations .*expected an integer ≥ 1/);
  });

  it("options of the wrong method or solver: exit 2 naming them", async () => {
    const [implicitK, fistaTv, badSolver, badStep] = await Promise.all([
      run("hypergrad", lasso, "--iterations", "10"),
      run("hypergrad", tv, "--method", "forward", "--solver", "cd"),
      run("hypergrad", lasso, "--method", "forward", "--solver", "alm"),
      run("hypergrad", lasso, "--method", "forward", "--step", "0"),
    ]);
    expect(implicitK.stderr).toMatch(/^sparsetune: --iterations: applies to --method forward or reverse only\n$/);
    expect(fistaTv.stderr).toMatch(/^sparsetune: penalty\.tv: .*split-bregman/);
    expect(badSolver.stderr).toMatch(/^sparsetune: solver: expected one of fista, cd, split-bregman/);
    expect(badStep.stderr).toMatch(/--step .*expected a positive number/);
    for (const r of [implicitK, fistaTv, badSolver, badStep]) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("a run that diverges: exit 1 naming the step", async () => {
    const r = await run("hypergrad", lasso, "--method", "reverse", "--solver", "fista", "--step", "100", "--iterations", "1000");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sparsetune: the unrolled fista run diverged at step \d+ \((the iterate|its state) is not finite\)/);
  });
});
