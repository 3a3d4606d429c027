/**
 * The folders of src/ stand on floors: a module may import from its own folder and from folders on
 * lower floors, never from a higher floor nor from another folder on its own floor. That keeps every
 * arrow pointing down, so no two folders import each other and each floor can be read (and tested)
 * without the ones above it.
 *
 * Every import counts, type-only ones and side-effect ones included: a type import is still a
 * dependency a reader has to follow.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/**
 * Lowest floor first; folders on one floor need nothing of each other.
 *   - graph: the IR (nodes, shapes), its errors, JSON text and paths, topology — what needs no op.
 *   - util: file-system and random helpers; folder-lock reports a UserError, so it stands on graph.
 *   - ops: the op definitions and their registry, which holds the built-in ops from the start.
 *   - graph-file: what reads a graph with the ops' help — the file's schema, loading, validation,
 *     shape inference, the roles training needs. data: MNIST files and batches (FloatArray is an ops type).
 *   - autodiff and exec: the backward graph; plans and executors (the WebAssembly backend fills batches
 *     from a data Dataset, which is why data sits below exec).
 *   - check: gradient and op checks, which run the executor on differentiated graphs.
 *   - train: models, optimizers, checkpoints, runs.
 *   - onnx: export to and import from ONNX, which reads runs' checkpoints and writes run folders.
 *   - the library's entry point, src/index.ts, on top of everything.
 */
const FLOORS: readonly (readonly string[])[] = [
  ["graph"],
  ["util"],
  ["ops"],
  ["graph-file", "data"],
  ["autodiff", "exec"],
  ["check"],
  ["train"],
  ["onnx"],
  ["index.ts"],
];

const floorOf = new Map(FLOORS.flatMap((folders, floor) => folders.map((folder) => [folder, floor] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The top folder of src/ a file lies in ("index.ts" for the entry point itself). */
function folderOf(file: string): string {
  return relative(SRC, file).split(sep)[0]!;
}

/** Relative imports of a file, resolved to absolute paths (packages and node: modules left out). */
function relativeImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles.filter(({ fileName }) => fileName.startsWith(".")).map(({ fileName }) => resolve(dirname(file), fileName));
}

interface Arrow {
  readonly file: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
}

/** Every import, export … from and side-effect import between two folders of src/. */
function arrowsBetweenFolders(): Arrow[] {
  const arrows: Arrow[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const target of relativeImports(file)) {
      if (!target.startsWith(SRC + sep)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) arrows.push({ file: relative(SRC, file), target: relative(SRC, target), from, to });
    }
  }
  return arrows;
}

describe("the floors of src/", () => {
  const arrows = arrowsBetweenFolders();

  it("finds the imports it judges", () => {
    // A parser that found nothing would pass every rule below.
    expect(arrows.some((a) => a.from === "ops" && a.to === "graph")).toBe(true);
    expect(arrows.some((a) => a.from === "index.ts" && a.to === "train")).toBe(true);
  });

  it("imports nothing from outside src/ (the CLI, the pictures, the tests stand on it, not under it)", () => {
    const outside = sourceFiles(SRC).flatMap((file) =>
      relativeImports(file)
        .filter((target) => !target.startsWith(SRC + sep))
        .map((target) => `${relative(SRC, file)} imports ${relative(SRC, target)}`),
    );
    expect(outside).toEqual([]);
  });

  it("places every folder of src/ on a floor", () => {
    const folders = [...new Set(sourceFiles(SRC).map(folderOf))].sort();
    expect(folders.filter((folder) => !floorOf.has(folder))).toEqual([]);
  });

  it("has no import from a folder to one on its own floor or a higher one", () => {
    const upward = arrows
      .filter((a) => floorOf.has(a.from) && floorOf.has(a.to) && floorOf.get(a.to)! >= floorOf.get(a.from)!)
      .map((a) => `${a.file} imports ${a.target} (${a.from} → ${a.to})`);
    expect(upward).toEqual([]);
  });

  it("keeps src/train/ off the executor's backends: training asks the executor, whose backend decides how", () => {
    const backends = join("exec", "backends") + sep;
    const intoBackends = arrows.filter((a) => a.from === "train" && a.target.startsWith(backends)).map((a) => `${a.file} imports ${a.target}`);
    expect(intoBackends).toEqual([]);
  });

  it("keeps the executor and its backends apart: the executor knows them by their list, a backend knows the executor by the Backend interface", () => {
    const imports = sourceFiles(SRC).flatMap((file) =>
      relativeImports(file).map((target) => ({ file: relative(SRC, file), target: relative(SRC, target).replace(/\.js$/, ".ts") })),
    );
    const backends = join("exec", "backends") + sep;
    const list = join("exec", "backends", "index.ts");
    const executorSide = new Set([join("exec", "executor.ts"), join("exec", "initialize.ts")]);
    const crossings = imports
      .filter(
        ({ file, target }) =>
          // Into a backend from outside the backends: only the executor, to their list (and the library's
          // entry point, which names the public types of what a backend hands an op's own fast kernel).
          (!file.startsWith(backends) && target.startsWith(backends) && !(target === list && file === join("exec", "executor.ts")) && file !== "index.ts") ||
          // From a backend to the executor.
          (file.startsWith(backends) && executorSide.has(target)),
      )
      .map(({ file, target }) => `${file} imports ${target}`);
    expect(crossings).toEqual([]);
  });

  it("has no import cycle between files", () => {
    const targets = new Map<string, string[]>();
    for (const file of sourceFiles(SRC))
      targets.set(
        file,
        relativeImports(file).map((t) => t.replace(/\.js$/, ".ts")),
      );
    // Depth-first search; a file reached again while still on the path closes a cycle.
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" → "));
        return;
      }
      state.set(file, "open");
      for (const target of targets.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of targets.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    // Checked apart from the floors, so that a cycle is reported as one even among folders not yet placed.
    const targets = new Map<string, Set<string>>();
    for (const { from, to } of arrows) targets.set(from, (targets.get(from) ?? new Set()).add(to));
    const reaches = (start: string, goal: string): boolean => {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0) {
        const folder = stack.pop()!;
        if (folder === goal) return true;
        if (seen.has(folder)) continue;
        seen.add(folder);
        stack.push(...(targets.get(folder) ?? []));
      }
      return false;
    };
    const onCycles = [...new Set(arrows.filter((a) => reaches(a.to, a.from)).map((a) => `${a.from} → ${a.to}`))].sort();
    expect(onCycles).toEqual([]);
  });
});
