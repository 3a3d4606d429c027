/**
 * graphnet as another project installs it: the tarball `npm pack` makes (what `npm install ./graphnet-…tgz`
 * or a registry install puts in node_modules), unpacked into a fresh project's node_modules as npm does, its
 * dependencies beside it. The README's library snippet compiles with tsc and runs in a CommonJS project (as
 * `npm init -y` makes) and in an ES-module one; the `graphnet` command runs there; and no run folder ships.
 * (Unpacked rather than `npm install`ed: an install resolves every dependency again, which needs the network
 * and half a minute; what it adds to the unpacking — linking the bin — is done here as npm does it.)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(".");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** `npm pack` of a folder (its `prepare` not run: the suite runs after the build), into `destination`. */
function pack(folder: string, destination: string, dryRun = false): PackResult {
  const args = ["pack", "--ignore-scripts", "--json", "--pack-destination", destination, ...(dryRun ? ["--dry-run"] : [])];
  const out = execFileSync("npm", args, { cwd: folder, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return (JSON.parse(out) as PackResult[])[0]!;
}

/** The README's library snippet: the first TypeScript block of "Using it as a library". */
function readmeSnippet(): string {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("## Using it as a library"));
  return section.slice(section.indexOf("```ts\n") + 6, section.indexOf("```\n", section.indexOf("```ts\n") + 6));
}

/** A fresh project with graphnet installed from its tarball; `module` is package.json's "type". */
function project(tarball: string, type: "commonjs" | "module"): string {
  const dir = mkdtempSync(join(tmpdir(), `graphnet-user-${type}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user-project", version: "1.0.0", main: "index.js", type }, null, 2));
  const modules = join(dir, "node_modules");
  const installed = join(modules, "graphnet");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  // Its dependencies, as an install lays them out beside it: this repository's own.
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "graphnet" || name.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
  mkdirSync(join(modules, ".bin"));
  symlinkSync("../graphnet/dist/cli/main.js", join(modules, ".bin", "graphnet"));
  return dir;
}

const run = (cwd: string, file: string, ...args: string[]) => spawnSync(file, args, { cwd, encoding: "utf8" });

let packed: PackResult;
let tarball: string;
beforeAll(() => {
  const destination = mkdtempSync(join(tmpdir(), "graphnet-pack-"));
  packed = pack(ROOT, destination);
  tarball = join(destination, packed.filename);
}, 60_000);

describe("the packed package", () => {
  it("holds the build, the graphs and their schema, and no sources, tests or run folders", () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain("dist/cli/main.js");
    expect(paths).toContain("dist/viz/index.d.ts");
    expect(paths).toContain("graphs/mnist.graph.json");
    expect(paths).toContain("graphs/graph.schema.json");
    expect(paths.filter((p) => p.startsWith("test/") || p.startsWith("src/") || (p.endsWith(".ts") && !p.endsWith(".d.ts")))).toEqual([]);
  });

  it("leaves out a run folder started from graphs/ (runs go to ./runs/ of the folder train is started in)", () => {
    // A copy of the package's file rules over a tree with such a run in it.
    const folder = mkdtempSync(join(tmpdir(), "graphnet-pack-rules-"));
    const { name, version, files } = JSON.parse(readFileSync("package.json", "utf8"));
    writeFileSync(join(folder, "package.json"), JSON.stringify({ name, version, files }));
    for (const file of ["dist/cli/main.js", "graphs/mnist.graph.json", "graphs/runs/mnist-mlp-20261204-101500/config.json"]) {
      mkdirSync(join(folder, file, ".."), { recursive: true });
      writeFileSync(join(folder, file), "{}");
    }
    const paths = pack(folder, folder, true).files.map((f) => f.path);
    expect(paths).toContain("graphs/mnist.graph.json");
    expect(paths.filter((p) => p.includes("runs/"))).toEqual([]);
  });
});

/** A CommonJS project's TypeScript settings as one writes them for `module: commonjs`. */
const COMMONJS_OPTIONS = { module: "commonjs", target: "es2022", strict: true, esModuleInterop: true, skipLibCheck: true, types: [] };

describe("installed in another project", () => {
  it.each(["commonjs", "module"] as const)(
    "runs the README's library snippet in a %s project, compiled by tsc",
    (type) => {
      const dir = project(tarball, type);
      writeFileSync(join(dir, "index.ts"), readmeSnippet());
      // The ES-module project takes the tsconfig `tsc --init` writes (module nodenext, verbatimModuleSyntax,
      // exactOptionalPropertyTypes, noUncheckedIndexedAccess…), as a newcomer's would.
      if (type === "commonjs") writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: COMMONJS_OPTIONS, files: ["index.ts"] }));
      else expect(run(dir, process.execPath, TSC, "--init").status).toBe(0);
      const compiled = run(dir, process.execPath, TSC, "-p", ".");
      expect(compiled.stdout + compiled.stderr).toBe("");
      if (type === "commonjs") expect(readFileSync(join(dir, "index.js"), "utf8")).toContain('require("graphnet")');
      const ran = run(dir, process.execPath, "index.js");
      expect(ran.stderr).toBe("");
      expect(ran.stdout).toMatch(/^loss \d+\.\d{4}, ∂loss\/∂W1 has 100352 values\n$/);
    },
    60_000,
  );

  it("gives TypeScript graphnet/viz's types under module: commonjs, whose resolution ignores exports", () => {
    // Found through typesVersions: without it, "Cannot find module 'graphnet/viz' or its type declarations".
    const dir = project(tarball, "commonjs");
    writeFileSync(
      join(dir, "pictures.ts"),
      'import { renderCurvesSvg, type CurvePoint } from "graphnet/viz";\nconst points: CurvePoint[] = [];\nconsole.log(typeof renderCurvesSvg, points.length);\n',
    );
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: COMMONJS_OPTIONS, files: ["pictures.ts"] }));
    const compiled = run(dir, process.execPath, TSC, "-p", ".");
    expect(compiled.stdout + compiled.stderr).toBe("");
    expect(run(dir, process.execPath, "pictures.js").stdout).toBe("function 0\n");
  }, 60_000);

  it("gives TypeScript graphnet's types made of typebox's under module: commonjs, whose resolution reads no imports", () => {
    // The declarations name typebox by its package (scripts/declarations.mjs): were it "#typebox", the
    // type would be unresolved there — \`any\` — and the mistake below would compile.
    const dir = project(tarball, "commonjs");
    writeFileSync(join(dir, "settings.ts"), 'import type { TrainingConfig } from "graphnet";\nconst rate: TrainingConfig["learning_rate"] = "fast";\nconsole.log(rate);\n');
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: COMMONJS_OPTIONS, files: ["settings.ts"] }));
    const compiled = run(dir, process.execPath, TSC, "-p", ".");
    expect(compiled.stdout).toMatch(/settings\.ts\(2,7\): error TS2322: Type 'string' is not assignable to type 'number'/);
  }, 60_000);

  it("gives require('graphnet/viz') the picture writers", () => {
    const dir = project(tarball, "commonjs");
    writeFileSync(join(dir, "viz.js"), 'const viz = require("graphnet/viz"); console.log(typeof viz.renderCurvesSvg, typeof viz.renderGraphSvg);\n');
    const ran = run(dir, process.execPath, "viz.js");
    expect(ran.stdout).toBe("function function\n");
  });

  it("has a graphnet command that works on a graph copied out of the package", () => {
    const dir = project(tarball, "commonjs");
    cpSync(join(dir, "node_modules/graphnet/graphs/mnist.graph.json"), join(dir, "my.graph.json"));
    const bin = join(dir, "node_modules/.bin/graphnet");
    expect(run(dir, bin, "--version").stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    const inspected = run(dir, bin, "inspect", "my.graph.json");
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toContain("parameters: 109,386");
  });
});
