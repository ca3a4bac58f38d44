import { it } from "vitest";
import { randomProblem } from "./support.js";
import { tune } from "../src/tune/tune.js";
it("dbg", () => {
  const problem = randomProblem(1, 20, 30, { k: 5, noise: 0.1 });
  const r = tune(problem, { keys: ["l1"], grid: true });
  const g = r.grid!;
  console.log("best grid", g.best, "tuned", r.lambda, r.criterion, r.message);
  console.log(g.points.filter((_, i) => i % 3 === 0).map((p) => `${p.l1.toPrecision(3)}:${p.value.toPrecision(4)}`).join(" "));
  console.log(r.trajectory.map((p) => `${p.lambda.l1.toPrecision(4)}:${p.criterion.toPrecision(4)}:${p.accepted ? "A" : "t"}:${p.hypergradient.l1.toPrecision(3)}`).join(" "));
});
