// Mutation testing of the math (issue 6, item 9): `npm run mutation` (not part of `npm test`).
// Globs, not file names, so that the folders' refactoring on main does not need a config change.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  // Vitest runs the TypeScript sources directly (no build step), on a config without the tests
  // that spawn the built CLI (dist/ is built from the unmutated sources, so they cannot kill).
  vitest: { configFile: "vitest.stryker.config.ts" },
  plugins: ["@stryker-mutator/vitest-runner"],
  mutate: ["src/penalties/**/*.ts", "src/kkt/**/*.ts", "src/diff/**/*.ts", "src/criteria/**/*.ts"],
  coverageAnalysis: "perTest",
  // Module-level constants (thresholds such as BREAKPOINT_MARGIN or CG_TOL) would need the whole
  // suite per mutant; they are reported as ignored instead.
  ignoreStatic: true,
  // Type errors in mutants are not worth the time of a type-checker pass here.
  checkers: [],
  // TypeScript 7 has no JavaScript API (ts.parseConfigFileTextToJson), which Stryker's tsconfig
  // rewriting calls; nothing here needs the rewrite (vitest reads the sources, no extends or
  // references), so point it at a file that does not exist and the step is skipped.
  tsconfigFile: "tsconfig.stryker-skip.json",
  concurrency: 2,
  timeoutMS: 5_000,
  timeoutFactor: 1.5,
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
  thresholds: { high: 90, low: 85, break: null },
};
