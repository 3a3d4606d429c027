#!/usr/bin/env node
// npm run bench:startup [-- --runs 7] [-- --json]
//
// How long `graphnet` takes from the shell to its exit for commands that do little work: --version and
// --help (start-up alone), inspect and gradcheck of the report's graph (start-up, reading and checking a
// graph file), render (the drawing libraries). Each command runs `--runs` times in a fresh process (after
// one unmeasured run, so the files are in the page cache), the commands taking turns; the median wall
// clock is reported with the machine it ran on and its load average before and after, since other work on
// the machine stretches every figure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = join(ROOT, "dist", "cli", "main.js");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] ?? 0) || 7;
const json = args.includes("--json");
const scratch = mkdtempSync(join(os.tmpdir(), "graphnet-startup-"));

const COMMANDS = [
  { name: "--version", argv: ["--version"] },
  { name: "--help", argv: ["--help"] },
  { name: "train --help", argv: ["train", "--help"] },
  { name: "inspect mnist", argv: ["inspect", "graphs/mnist.graph.json"] },
  { name: "inspect mnist --backward --plan", argv: ["inspect", "graphs/mnist.graph.json", "--backward", "--plan"] },
  { name: "gradcheck mnist", argv: ["gradcheck", "graphs/mnist.graph.json"] },
  { name: "gradcheck --op relu --runs 10", argv: ["gradcheck", "--op", "relu", "--runs", "10"] },
  { name: "render mnist", argv: ["render", "graphs/mnist.graph.json", "-o", join(scratch, "graph.svg")] },
];

function timeOnce(argv) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [MAIN, ...argv], { cwd: ROOT, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.status !== 0) throw new Error(`graphnet ${argv.join(" ")} exited with ${child.status}: ${child.stderr}`);
  return seconds;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const loadBefore = os.loadavg();
for (const c of COMMANDS) timeOnce(c.argv); // warm the page cache
const times = new Map(COMMANDS.map((c) => [c.name, []]));
for (let r = 0; r < runs; r++) for (const c of COMMANDS) times.get(c.name).push(timeOnce(c.argv));
const loadAfter = os.loadavg();
rmSync(scratch, { recursive: true, force: true });

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  node: process.version,
  load_before: loadBefore.map((x) => Number(x.toFixed(2))),
  load_after: loadAfter.map((x) => Number(x.toFixed(2))),
};
const rows = COMMANDS.map((c) => ({
  command: c.name,
  median_s: Number(median(times.get(c.name)).toFixed(3)),
  min_s: Number(Math.min(...times.get(c.name)).toFixed(3)),
}));
if (json) {
  process.stdout.write(`${JSON.stringify({ machine, runs, rows }, null, 2)}\n`);
} else {
  const width = Math.max(...rows.map((r) => r.command.length));
  process.stdout.write(
    `graphnet start-up: median (min) wall clock of ${runs} runs each\n` +
      `${machine.cpu}, ${machine.cores} cores, node ${machine.node}; load average ${machine.load_before.join(" ")} before, ${machine.load_after.join(" ")} after\n\n` +
      rows.map((r) => `${`graphnet ${r.command}`.padEnd(width + 9)}  ${r.median_s.toFixed(2)} s  (${r.min_s.toFixed(2)})`).join("\n") +
      "\n",
  );
}
