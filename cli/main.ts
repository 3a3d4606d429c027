#!/usr/bin/env node
/** The `graphnet` executable. */
import { startLayoutWorkerEarly } from "../viz/layout-worker-start.js";

// `graphnet train` lays its network out with ELK, in a thread (viz/layout-thread.ts) whose loading of ELK
// — 0.3 s of a core — begins now, while this thread loads the program and the command's modules on one
// core: where it began with the command, it overlapped the first epoch on a machine of two cores.
// (Not for its help: a thread still starting when the process exits holds the exit back.)
const [command, ...rest] = process.argv.slice(2);
if (command === "train" && !rest.some((arg) => arg === "--help" || arg === "-h")) startLayoutWorkerEarly();
const { main } = await import("./program.js");
process.exitCode = await main(process.argv.slice(2));
