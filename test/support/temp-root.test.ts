/**
 * The run's temporary folder (temp-root.ts): os.tmpdir() is a graphnet-tests-* folder of the run's own,
 * here and in the processes the tests start, and it is removed with everything in it when the run ends.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import setup from "./temp-root.js";

describe("the test run's temporary folder", () => {
  it("is os.tmpdir() in this worker and in the processes it starts", () => {
    expect(basename(tmpdir())).toMatch(/^graphnet-tests-/);
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(require('node:os').tmpdir())"], { encoding: "utf8" });
    expect(child.stdout).toBe(tmpdir());
  });

  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ["TMPDIR", "TMP", "TEMP"]) process.env[name] = saved[name];
  });

  it("is made by the setup and removed, with what the tests left in it, by its teardown", () => {
    const teardown = setup();
    const root = tmpdir();
    expect(basename(root)).toMatch(/^graphnet-tests-/);
    mkdirSync(join(root, "graphnet-run-x"));
    writeFileSync(join(root, "graphnet-run-x", "config.json"), "{}");
    teardown();
    expect(existsSync(root)).toBe(false);
  });
});
