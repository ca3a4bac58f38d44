import type { Command } from "commander";
import { InputError } from "../errors.js";
import { EXAMPLES, type ExampleResult } from "../problems/examples.js";
import { toJson } from "./report.js";

/** Above this relative error a finite-difference check is flagged (central differences reach ~1e-6 here). */
const CHECK_TOLERANCE = 1e-4;

function listing(): string {
  const names = Object.keys(EXAMPLES);
  const width = Math.max(0, ...names.map((n) => n.length));
  return ["examples (sparsetune example NAME [--json]):", ...Object.values(EXAMPLES).map((e) => `  ${e.name.padEnd(width)}  ${e.description}`)].join("\n");
}

function summary(result: ExampleResult): string {
  const checks = result.checks.map(
    (c) => `  ${c.what}: ${c.derivative.toPrecision(10)} vs finite difference ${c.finiteDifference.toPrecision(10)} (relative error ${c.relativeError.toExponential(1)}${c.relativeError <= CHECK_TOLERANCE ? "" : ", MISMATCH"})`,
  );
  return [`example ${result.name}`, ...result.lines.map((l) => `  ${l}`), "finite-difference checks:", ...checks].join("\n");
}

/** `sparsetune example [NAME] [--json]`: run one worked example, or list them without NAME. */
export function runExample(name: string | undefined, flags: { json?: boolean }): void {
  if (name === undefined) {
    process.stdout.write(listing() + "\n");
    return;
  }
  const example = Object.hasOwn(EXAMPLES, name) ? EXAMPLES[name] : undefined;
  if (!example) throw new InputError("example", `expected one of ${Object.keys(EXAMPLES).join(", ")}, got ${name}`);
  const result = example.run();
  process.stdout.write((flags.json ? toJson({ name: result.name, ...result.data, checks: result.checks }) : summary(result)) + "\n");
}

export function registerExampleCommand(program: Command): void {
  program
    .command("example")
    .argument("[name]", "the example to run (without it: the list)")
    .description("run a worked example of differentiating through iterations, with its finite-difference check")
    .option("--json", "print one JSON object on stdout: { name, ...result, checks }")
    .addHelpText("after", "\n" + listing())
    .action(runExample);
}
