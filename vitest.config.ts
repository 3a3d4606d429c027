import { defineConfig } from "vitest/config";

export default defineConfig({
  // The sources import typebox as "#typebox", which package.json maps to the one-file bundle the build
  // writes (dist/vendor/typebox.js, for start-up speed); tests read the package itself, built or not.
  resolve: { alias: { "#typebox": "@sinclair/typebox" } },
  test: {
    include: ["test/**/*.test.ts"],
    // Every temporary file of a run in one folder, removed at the end (test/support/temp-root.ts).
    globalSetup: ["test/support/temp-root.ts"],
    // The property tests run many gradient checks; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    // A hook (a small training run before a file's tests) gets the same room: vitest's 10 s default
    // does not hold while another file trains on the other core.
    hookTimeout: 60_000,
    pool: "forks",
    // Two files at a time (vitest's default is one on two cores): many tests spend most of their time
    // waiting for a child process, the CLI.
    maxWorkers: 2,
    // And at most two tests of a concurrent describe at a time (vitest's default is five): each of
    // test/cli/ops.test.ts's runs the CLI, and five at once on two cores took a test past its timeout.
    maxConcurrency: 2,
  },
});
