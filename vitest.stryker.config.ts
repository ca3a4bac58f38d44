import { defineConfig } from "vitest/config";

// The vitest configuration Stryker runs (`npm run mutation`): the unit tests on the TypeScript
// sources. The CLI and README tests spawn dist/ (built from the unmutated sources): left out.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/cli.test.ts", "test/readme.test.ts", "**/node_modules/**"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
  },
});
