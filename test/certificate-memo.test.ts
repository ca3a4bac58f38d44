import { describe, expect, it } from "vitest";
import { constrainedCertificate } from "../src/kkt/certificate.js";
import { penaltyOf } from "../src/penalties/index.js";
import { createProblem } from "../src/problem.js";

/** A small constrained problem written out by hand. */
const problem = createProblem({
  A: [[1, 2, 0], [0, 1, -1], [3, 0, 1], [1, 1, 1]],
  y: [1, -2, 0.5, 3],
  penalty: { l1: 0.3 },
  constraints: { C: [[1, 1, 1]], d: [1] },
  bounds: { lower: 0 },
});

describe("constrainedCertificate under the problem's own penalty (remembered per problem)", () => {
  it("recomputes when x or ν change in place, and a caller changing the result changes nothing", () => {
    const x = Float64Array.from([0.2, 0.5, 0.3]), nu = Float64Array.from([0.1]);
    const first = constrainedCertificate(problem, x, nu);
    expect(first).toEqual(constrainedCertificate(problem, x, nu, penaltyOf(problem)));
    first.dualityGap = -1;
    expect(constrainedCertificate(problem, x, nu)).toEqual(constrainedCertificate(problem, x, nu, penaltyOf(problem)));
    x[1] = 0.6;
    const moved = constrainedCertificate(problem, x, nu);
    expect(moved).toEqual(constrainedCertificate(problem, x, nu, penaltyOf(problem)));
    nu[0] = -0.4;
    expect(constrainedCertificate(problem, x, nu)).toEqual(constrainedCertificate(problem, x, nu, penaltyOf(problem)));
    expect(constrainedCertificate(problem, x, nu)).not.toEqual(moved);
  });
});
