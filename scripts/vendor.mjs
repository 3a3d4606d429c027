// Bundles @sinclair/typebox (the ops' attribute schemas, the run files' schemas) into one module,
// dist/vendor/typebox.js, which graphnet imports as "#typebox" (package.json "imports"; the types stay the
// package's own). Why: typebox's ES build is some 200 files, each resolved and read by Node in turn — 0.12 s
// of every command's start-up on this project's 2-core machine, against 0.015 s for the same code as one
// file. The bundle is made from the installed package at build time, so it is always that version.
// Run by `npm run build` (so by `npm ci` through `prepare`).
import { build } from "rolldown";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "dist", "vendor", "typebox.js");
await build({
  input: "@sinclair/typebox",
  cwd: root,
  output: { file, format: "esm" },
  logLevel: "warn",
});
process.stdout.write(`vendor: @sinclair/typebox as one module (${file})\n`);
