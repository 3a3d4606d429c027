// The compiled declarations (dist/**/*.d.ts) name typebox by its package, "@sinclair/typebox", where the
// sources import it as "#typebox" (package.json "imports": the one-file bundle, for start-up; see
// scripts/vendor.mjs). Both give the same types, but TypeScript's resolution in a project of `module:
// commonjs` (node10) reads no "imports": there a type of graphnet's made of typebox's (TrainingConfig, an
// op's attributes) would silently become `any`. Run by `npm run build`, after tsc.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
let rewritten = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, "utf8");
  if (!text.includes('"#typebox"')) continue;
  writeFileSync(file, text.replaceAll('"#typebox"', '"@sinclair/typebox"'));
  rewritten++;
}
process.stdout.write(`declarations: typebox named by its package in ${rewritten} files\n`);
