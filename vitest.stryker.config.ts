import { defineConfig } from "vitest/config";

// The vitest configuration Stryker runs (`npm run mutation`): the tests that exercise the math
// folders, on the TypeScript sources. Left out: the CLI and README tests (they spawn dist/, built
// from the unmutated sources, so they cannot kill a mutant) and the file-format, operator and
// SVG tests (they solve only to have something to read or draw, and would add their time to
// every surviving mutant of the certificate), and the tuner's tests (13 s of tuning loops per
// surviving mutant; the criteria they reach are checked in test/math-*.test.ts directly).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/cli.test.ts", "test/package.test.ts", "test/bench.test.ts", "test/readme.test.ts", "test/io.test.ts", "test/svg.test.ts", "test/operators.test.ts", "test/tune.test.ts", "**/node_modules/**"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
  },
});
