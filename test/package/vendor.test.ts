/**
 * typebox as graphnet loads it: the build bundles @sinclair/typebox into one module, dist/vendor/typebox.js
 * (scripts/vendor.mjs), which the compiled code imports as "#typebox" — one file for Node to read instead of
 * some 200, a tenth of every command's start-up. The bundle must be the package, name for name and schema for
 * schema, and nothing compiled may bypass it. (The build has run: `npm test` builds first.)
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as typebox from "@sinclair/typebox";
import { describe, expect, it } from "vitest";

const ROOT = resolve(".");
const BUNDLE = join(ROOT, "dist/vendor/typebox.js");

/** The files under `dir` whose names end with `ending` (".js": the compiled modules; ".d.ts": the declarations). */
function filesEndingWith(dir: string, ending: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ending))
    .map((e) => join(e.parentPath, e.name));
}

describe("the typebox bundle", () => {
  it("exports every name the package exports, and builds the same schemas", async () => {
    const bundled = (await import(pathToFileURL(BUNDLE).href)) as typeof typebox;
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(typebox).sort());
    const build = (T: typeof typebox.Type) =>
      T.Object({ rate: T.Number({ minimum: 0, exclusiveMaximum: 1 }), axes: T.Optional(T.Array(T.Integer())), mode: T.Union([T.Literal("a"), T.Literal("b")]) });
    expect(JSON.stringify(build(bundled.Type))).toBe(JSON.stringify(build(typebox.Type)));
    // The schemas' kinds are global symbols: one built by either is read alike by the other.
    expect(bundled.Kind).toBe(typebox.Kind);
    expect(bundled.TypeGuard.IsObject(build(typebox.Type))).toBe(true);
  });

  it("is what the compiled code imports: no module of dist/ loads the package's own files", () => {
    const direct = ["src", "cli", "viz", "scripts"]
      .flatMap((dir) => filesEndingWith(join(ROOT, "dist", dir), ".js"))
      .filter((file) => /from\s+["']@sinclair\/typebox/.test(readFileSync(file, "utf8")));
    expect(direct).toEqual([]);
    // And "#typebox" is what they import instead (a rename of the map would leave them unresolved).
    const viaMap = filesEndingWith(join(ROOT, "dist/src/ops"), ".js").filter((file) => readFileSync(file, "utf8").includes('from "#typebox"'));
    expect(viaMap.length).toBeGreaterThan(10);
    const imports = (JSON.parse(readFileSync("package.json", "utf8")) as { imports: Record<string, { default: string }> }).imports;
    expect(imports["#typebox"]!.default).toBe("./dist/vendor/typebox.js");
  });

  it("is not what the declarations name: they name the package, which every module resolution finds (scripts/declarations.mjs)", () => {
    const declarations = filesEndingWith(join(ROOT, "dist"), ".d.ts");
    expect(declarations.filter((file) => readFileSync(file, "utf8").includes("#typebox"))).toEqual([]);
    expect(declarations.filter((file) => readFileSync(file, "utf8").includes('"@sinclair/typebox"')).length).toBeGreaterThan(5);
  });
});
