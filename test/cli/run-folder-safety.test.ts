/**
 * A run folder is never lost to another start: `graphnet train --out` refuses a folder that holds a run
 * (saying how to resume it), a start that fails leaves no folder behind (nor a config.json alone), and a
 * training holds the folder's lock for its life, so that two cannot write one folder at once.
 * The CLI runs in this process through `main`; the folder's lock is seen through the library.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RunFolder, startSession, train } from "../../src/index.js";
import { graphnetInProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const GRAPH = "graphs/mnist.graph.json";
const tempDir = () => mkdtempSync(join(tmpdir(), "graphnet-run-safety-"));

/** Every file of a folder with its bytes. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name)).toString("base64")]),
  );
}

function graphWithoutLoss(): string {
  const graph = JSON.parse(readFileSync(GRAPH, "utf8"));
  delete graph.loss;
  const file = join(tempDir(), "no-loss.graph.json");
  writeFileSync(file, JSON.stringify(graph));
  return file;
}

/** A lock as a training writes it, for the process `pid` (of this boot of this host, unless `boot` says another). */
function lockFor(dir: string, pid: number, boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()): void {
  writeFileSync(join(dir, ".lock"), JSON.stringify({ pid, host: hostname(), boot, started: "2025-01-01T00:00:00.000Z", token: "test" }));
}

/** The id of a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

let data: string;
let run: string;
beforeAll(async () => {
  data = writeSmallMnist(200, 60);
  // A start killed in its first epoch leaves a config.json alone (and its stale lock): nothing in it can be
  // resumed, and a new start takes the folder over.
  run = join(tempDir(), "run");
  mkdirSync(run);
  writeFileSync(join(run, "config.json"), "{}");
  lockFor(run, deadPid());
  const r = await graphnetInProcess("train", GRAPH, "--data", data, "--epochs", "1", "--out", run, "--quiet");
  if (r.code !== 0) throw new Error(r.stderr);
});

describe("graphnet train --out", () => {
  it("took over a folder holding only a dead start's config.json, and released its lock at the end", () => {
    expect(JSON.parse(readFileSync(join(run, "config.json"), "utf8")).training.num_epochs).toBe(1);
    expect(existsSync(join(run, "last.safetensors"))).toBe(true);
    expect(readdirSync(run).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("refuses a folder that holds a run, leaves it byte for byte, and says how to resume it", async () => {
    const before = contents(run);
    const again = await graphnetInProcess("train", GRAPH, "--data", data, "--epochs", "1", "--out", run);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `graphnet: ${run} already holds a run (last.safetensors, best.safetensors, config.json and 8 more), which a new run would overwrite. ` +
        `Continue it with \`graphnet train --resume ${run}\`, or choose another folder with --out (or remove this one).\n`,
    );
    const failing = await graphnetInProcess("train", graphWithoutLoss(), "--data", data, "--out", run);
    expect(failing.code).toBe(1);
    expect(contents(run)).toEqual(before);
  });

  it("refuses a folder holding files a run would overwrite, though no run", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "metrics.json"), "mine");
    const r = await graphnetInProcess("train", GRAPH, "--data", data, "--out", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`graphnet: ${dir} holds files a new run would overwrite (metrics.json); choose another folder with --out, or remove them.\n`);
    expect(contents(dir)).toEqual({ "metrics.json": Buffer.from("mine").toString("base64") });
  });

  it("leaves no trace of a start that fails: before the model is built, or in its first epoch", async () => {
    const parent = tempDir();
    const noLoss = await graphnetInProcess("train", graphWithoutLoss(), "--data", data, "--out", join(parent, "new", "run"));
    expect(noLoss.code).toBe(1);
    expect(noLoss.stderr).toMatch(/field "loss": training needs a "loss"/);
    const mine = join(parent, "mine");
    mkdirSync(mine);
    writeFileSync(join(mine, "notes.txt"), "keep");
    expect((await graphnetInProcess("train", graphWithoutLoss(), "--data", data, "--out", mine)).code).toBe(1);
    // A learning rate of 1e30 makes the loss NaN at the second step: the folder was claimed, config.json written.
    const diverged = await graphnetInProcess("train", GRAPH, "--data", data, "--lr", "1e30", "--out", join(parent, "diverged", "run"));
    expect(diverged.code).toBe(1);
    expect(diverged.stderr).toMatch(/training diverged: the loss became NaN at epoch 1, step 2 .* No checkpoint was written yet/);
    const intoMine = await graphnetInProcess("train", GRAPH, "--data", data, "--lr", "1e30", "--out", mine);
    expect(intoMine.code).toBe(1);
    expect(readdirSync(parent).sort()).toEqual(["mine"]);
    expect(contents(mine)).toEqual({ "notes.txt": Buffer.from("keep").toString("base64") });
  });
});

describe("a run folder's lock", () => {
  it("is held while a run trains, and given up with the run", async () => {
    const session = startSession({ graphFile: GRAPH, dataDir: data, outDir: join(tempDir(), "run"), overrides: { num_epochs: 1 } });
    let during: { pid: number; host: string } | undefined;
    await train({ ...session, events: { epoch: () => (during = JSON.parse(readFileSync(session.folder.path(".lock"), "utf8"))) } });
    expect(during).toMatchObject({ pid: process.pid, host: hostname() });
    session.folder.release();
    expect(existsSync(session.folder.path(".lock"))).toBe(false);
    expect(session.folder.hasCheckpoint()).toBe(true);
  });

  it("refuses a second training while the first one's process lives, naming it", async () => {
    lockFor(run, process.pid);
    const resumed = await graphnetInProcess("train", "--resume", run);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toBe(
      `graphnet: ${run} is in use by another graphnet process (process ${process.pid}, since 2025-01-01T00:00:00.000Z): ` +
        `a resumed training cannot use it at the same time. Wait for that process to end, or stop it (kill ${process.pid}); ` +
        `if it is no graphnet training (its id reused), remove ${join(run, ".lock")}.\n`,
    );
    const fresh = tempDir();
    lockFor(fresh, process.pid);
    expect((await graphnetInProcess("train", GRAPH, "--data", data, "--out", fresh)).stderr).toMatch(/is in use by another graphnet process/);
    expect(readdirSync(fresh)).toEqual([".lock"]);
  });

  it("takes over a lock whose process has ended, or is from before a reboot, and leaves a lock it does not hold alone", () => {
    lockFor(run, process.pid, "a boot before this one"); // the id may name another process now
    RunFolder.claimExisting(run).release();
    lockFor(run, deadPid());
    const folder = RunFolder.claimExisting(run);
    const held = JSON.parse(readFileSync(join(run, ".lock"), "utf8"));
    expect(held).toMatchObject({ pid: process.pid, host: hostname() });
    lockFor(run, 1); // replaced behind its back: release must not remove another's lock
    folder.release();
    expect(JSON.parse(readFileSync(join(run, ".lock"), "utf8")).pid).toBe(1);
  });
});
