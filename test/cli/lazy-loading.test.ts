/**
 * What each `graphnet` command loads. Reading the command line (`--version`, `--help`, a mistyped option)
 * loads commander and the commands' usage modules (cli/usage/), nothing of the library; each command's
 * module (cli/commands/) is imported by its action when it runs, and loads only what it needs: the
 * picture libraries when a picture is drawn, fast-check for gradcheck alone.
 *
 * Judged on the modules' static imports, followed from file to file with the TypeScript parser (as
 * test/architecture/floors.test.ts does): `import()` and a `require` of the program's own are what load on use.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Closure {
  /** Source files loaded, relative to the repository ("cli/program.ts"). */
  readonly files: Set<string>;
  /** Packages loaded ("commander", "@sinclair/typebox"). */
  readonly packages: Set<string>;
}

/**
 * The modules a file imports statically: `import … from`, `export … from` and side-effect imports, less
 * those of types alone (`import type`, or every name marked `type`), which the compiler erases.
 */
function staticImports(file: string): string[] {
  let imports = importsOf.get(file);
  if (imports === undefined) importsOf.set(file, (imports = readImports(file)));
  return imports;
}

const importsOf = new Map<string, string[]>();

function readImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);
  return source.statements.flatMap((s) => {
    if (!(ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) || !s.moduleSpecifier || !ts.isStringLiteral(s.moduleSpecifier)) return [];
    return typesOnly(s) ? [] : [s.moduleSpecifier.text];
  });
}

function typesOnly(s: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(s))
    return s.isTypeOnly || (s.exportClause !== undefined && ts.isNamedExports(s.exportClause) && s.exportClause.elements.every((e) => e.isTypeOnly));
  const clause = s.importClause;
  if (clause === undefined) return false; // import "x": for its side effects
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly);
}

const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/** Everything that loading `entry` (a source file relative to the repository) loads before any of its code runs. */
function loadedBy(entry: string): Closure {
  const closure: Closure = { files: new Set(), packages: new Set() };
  const visit = (file: string) => {
    const name = relative(ROOT, file);
    if (closure.files.has(name)) return;
    closure.files.add(name);
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
      else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) closure.packages.add(packageOf(specifier));
    }
  };
  visit(join(ROOT, entry));
  return closure;
}

const COMMANDS = readdirSync(join(ROOT, "cli/commands"))
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.replace(/\.ts$/, ""));

/**
 * The packages that draw pictures: d3; linkedom (the DOM d3 draws on) and elkjs (the graph's layout) are required by viz/svg.ts and
 * viz/graph-layout.ts when the first picture is drawn or laid out (test/viz/svg.test.ts checks when).
 */
const PICTURE_PACKAGES = ["d3", "linkedom", "elkjs"];

describe("what graphnet loads", () => {
  it("finds the imports it judges", () => {
    // A reader that found nothing would pass every rule below.
    const viz = loadedBy("viz/index.ts");
    expect([...viz.packages]).toEqual(expect.arrayContaining(["d3", "pngjs"]));
    expect(loadedBy("src/index.ts").packages).toContain("fast-check");
    expect(loadedBy("src/index.ts").files).toContain("src/ops/registry.ts");
    // Imports of types alone are erased: the usage of train names BackendName, a type of the executor's.
    expect(readFileSync(join(ROOT, "cli/usage/train.ts"), "utf8")).toContain("exec/executor.js");
    expect(loadedBy("cli/usage/train.ts").files).not.toContain("src/exec/executor.ts");
  });

  it("starts with the program imported on use, and nothing but Node's own modules before it", () => {
    const start = loadedBy("cli/main.ts");
    // For `train`, the layout thread is started before the program loads (viz/layout-worker-start.ts).
    expect([...start.files].sort()).toEqual(["cli/main.ts", "viz/layout-worker-start.ts"]);
    expect([...start.packages]).toEqual([]);
    expect(readFileSync(join(ROOT, "cli/main.ts"), "utf8")).toContain('import("./program.js")');
  });

  it("reads the command line with commander alone: no part of the library, no command's module", () => {
    const cli = loadedBy("cli/program.ts");
    expect([...cli.packages]).toEqual(["commander"]);
    expect([...cli.files].filter((f) => f.startsWith("cli/commands/") || f.startsWith("viz/") || f === "src/index.ts")).toEqual([]);
    // Each command's usage module is loaded, and its module is not: the action imports it.
    for (const command of COMMANDS) {
      expect(cli.files, command).toContain(`cli/usage/${command}.ts`);
      expect(readFileSync(join(ROOT, `cli/usage/${command}.ts`), "utf8"), command).toContain(`import("../commands/${command}.js")`);
    }
  });

  it.each(COMMANDS)("loads for %s only what it needs: no picture library up front, fast-check for gradcheck alone", (command) => {
    const loaded = loadedBy(`cli/commands/${command}.ts`);
    expect(PICTURE_PACKAGES.filter((p) => loaded.packages.has(p))).toEqual([]);
    expect(loaded.files).not.toContain("src/index.ts");
    expect(loaded.packages.has("fast-check")).toBe(command === "gradcheck");
  });

  it("draws a run's pictures in a thread that loads the picture libraries, apart from the training's", () => {
    expect(loadedBy("cli/commands/train.ts").files).toContain("viz/picture-thread.ts");
    expect(loadedBy("viz/picture-worker.ts").packages).toContain("d3");
  });

  it("loads for inspect neither the data, nor the backends, nor the trainer", () => {
    const inspect = loadedBy("cli/commands/inspect.ts");
    expect([...inspect.files].filter((f) => /^src\/(data|train|check|exec\/backends)\//.test(f))).toEqual([]);
    expect(existsSync(join(ROOT, "src/exec/backends"))).toBe(true);
  });
});
