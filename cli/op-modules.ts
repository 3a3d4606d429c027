/**
 * `--ops FILE`: a user's JavaScript module of op definitions, loaded before any command runs.
 *
 * The contract: the module's default export is an op definition or an array of them —
 *
 *   import { ShapeError } from "graphnet";
 *   export const softplus = { name: "softplus", summary: "…", inputs: ["x"], attrs: { type: "object" }, shape, kernel, gradient };
 *   export default [softplus];
 *
 * graphnet registers them itself (with registerOp, the call the built-in ops go through), so the module
 * has no side effects to get right and may even import its own copy of graphnet. The path is relative to
 * the current directory. Whatever goes wrong — no such file, a syntax error, an exception while the module
 * loads, an export that is not an op, a name already taken — is one paragraph naming the file.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { checkHintProblem } from "../src/check/hints.js";
import { UserError } from "../src/graph/errors.js";
import { ShapeError, type OpDefinition } from "../src/ops/op.js";
import { OpDefinitionError, getOp, registerOp } from "../src/ops/registry.js";
import { RunFolder } from "../src/train/run-folder.js";
import { readRunRecord } from "../src/train/run-record.js";

export interface LoadedOpModule {
  /** The path as given on the command line. */
  readonly file: string;
  /** The absolute path. */
  readonly path: string;
  /** The names of the ops it registered, in the order it exports them. */
  readonly ops: readonly string[];
}

/** Modules loaded in this process, by absolute path: loading one twice registers nothing new. */
const loaded = new Map<string, LoadedOpModule>();
/** Which module registered each op, for the message about a name already taken. */
const ownerOf = new Map<string, string>();

/** Loads each module in turn (each once) and registers its ops. */
export async function loadOpModules(files: readonly string[]): Promise<LoadedOpModule[]> {
  const modules: LoadedOpModule[] = [];
  for (const file of files) {
    const module = await loadOpModule(file);
    if (!modules.some((m) => m.path === module.path)) modules.push(module);
  }
  return modules;
}

/** The modules of custom ops a run was trained with (recorded in its config.json), loaded again. */
export async function loadRunOpModules(runDir: string): Promise<LoadedOpModule[]> {
  const record = readRunRecord(RunFolder.open(runDir).path("config.json"));
  return loadOpModules(record.op_modules ?? []);
}

async function loadOpModule(file: string): Promise<LoadedOpModule> {
  const path = resolve(process.cwd(), file);
  const known = loaded.get(path);
  if (known) return { ...known, file };
  const fail = (problem: string, at = file) => new UserError(`${at}: ${oneParagraph(problem)}`);

  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw fail(`no such file (--ops takes the path of a JavaScript module, relative to the current directory, ${process.cwd()}).`);
  }
  if (!isFile) throw fail("is not a file: --ops takes the path of a JavaScript module (.js, .mjs or .cjs).");

  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const { at, problem } = importProblem(err, file, path);
    throw fail(problem, at);
  }

  const exported = namespace.default;
  if (exported === undefined) throw fail(noDefaultExport(namespace));
  const defs: unknown[] = Array.isArray(exported) ? exported : [exported];
  if (defs.length === 0) throw fail("its default export is an empty array: there is no op to register.");
  const names: string[] = [];
  defs.forEach((def, i) => {
    const which = Array.isArray(exported) ? `item ${i + 1} of the default export` : "the default export";
    if (typeof def !== "object" || def === null || Array.isArray(def)) {
      throw fail(`${which} is ${describe(def)}, not an op definition. ${CONTRACT}`);
    }
    const { name, summary } = def as { name?: unknown; summary?: unknown };
    if (typeof name !== "string") throw fail(`${which} has no "name": it is not an op definition. ${CONTRACT}`);
    if (typeof summary !== "string") throw fail(`op "${name}": "summary" must be a string, one line saying what the op computes.`);
    if (names.includes(name)) throw fail(`the op "${name}" is exported twice.`);
    // A module that also registered the op itself, on this copy of graphnet: nothing more to do.
    if (getOp(name) === def) {
      names.push(name);
      return;
    }
    if (getOp(name) !== undefined) {
      const owner = ownerOf.get(name);
      throw fail(`op "${name}" is already defined ${owner ? `by ${owner}` : "by graphnet itself"}: give yours another name.`);
    }
    const inputs = (def as { inputs?: unknown }).inputs;
    if (Array.isArray(inputs) && inputs.every((n) => typeof n === "string")) {
      const problem = checkHintProblem(def as { inputs: string[] });
      if (problem) throw fail(`op "${name}": ${problem}`);
    }
    names.push(name);
  });
  for (const def of defs as OpDefinition<any>[]) {
    if (getOp(def.name) === def) continue;
    try {
      registerOp(withForeignShapeErrors(def));
    } catch (err) {
      if (err instanceof OpDefinitionError) throw fail(err.message);
      throw err;
    }
    ownerOf.set(def.name, file);
  }
  const module = { file, path, ops: names };
  loaded.set(path, module);
  return module;
}

const CONTRACT =
  "A module given to --ops exports its ops as its default export: an op definition, or an array of them " +
  "(objects with name, summary, inputs, attrs, shape, kernel, and optionally gradient and check).";

function noDefaultExport(namespace: Record<string, unknown>): string {
  const ops = Object.entries(namespace)
    .filter(([, v]) => typeof v === "object" && v !== null && typeof (v as { kernel?: unknown }).kernel === "function")
    .map(([k]) => k);
  const hint = ops.length > 0 ? ` It has named exports that look like ops: add export default [${ops.join(", ")}];` : "";
  return `has no default export. ${CONTRACT}${hint}`;
}

/**
 * The op as registered: the same definition, except that a ShapeError thrown by its shape rule is made an
 * instance of this copy of graphnet's ShapeError — a module may import its own copy (installed elsewhere),
 * whose class shape inference would not recognise.
 */
function withForeignShapeErrors(def: OpDefinition<any>): OpDefinition<any> {
  const wrapped: OpDefinition<any> = Object.create(def);
  Object.defineProperty(wrapped, "shape", {
    enumerable: true,
    value: (inputs: Parameters<OpDefinition["shape"]>[0], attrs: Parameters<OpDefinition["shape"]>[1]) => {
      try {
        return def.shape(inputs, attrs);
      } catch (err) {
        if (!(err instanceof ShapeError) && err instanceof Error && err.name === "ShapeError") {
          const field = (err as { field?: unknown }).field;
          throw new ShapeError(err.message, typeof field === "string" ? field : "inputs");
        }
        throw err;
      }
    },
  });
  return wrapped;
}

/** Why `import()` failed, and where in the file when that can be told. */
function importProblem(err: unknown, file: string, path: string): { at: string; problem: string } {
  const e = err as Error & { code?: string };
  const message = e instanceof Error ? e.message : String(err);
  if (e?.code === "ERR_UNKNOWN_FILE_EXTENSION") {
    const ext = extname(path);
    if (ext === ".ts" || ext === ".mts" || ext === ".cts") {
      return {
        at: file,
        problem: `Node.js ${process.version} cannot import TypeScript directly: compile the module to JavaScript (npx tsc) and pass the .js file to --ops.`,
      };
    }
    return { at: file, problem: `cannot import a "${ext}" file: --ops takes a JavaScript module (.js, .mjs or .cjs).` };
  }
  if (e?.code === "ERR_MODULE_NOT_FOUND" && /Cannot find package 'graphnet'/.test(message)) {
    return {
      at: file,
      problem:
        `it imports "graphnet", which Node.js cannot find from the module's folder: install graphnet in the project that holds ` +
        `the module (npm install graphnet), or keep the module inside a project that has it.`,
    };
  }
  if (e instanceof SyntaxError) {
    // An import the imported module does not export is a SyntaxError too, found when modules are linked.
    const linking = /^The requested module/.test(message);
    const at = locationInStack(e, path) ?? (linking ? undefined : syntaxErrorLocation(path));
    return { at: at ? `${file}:${at}` : file, problem: linking ? message : `syntax error: ${message}` };
  }
  const at = locationInStack(e, path);
  return { at: at ? `${file}:${at}` : file, problem: `loading the module failed: ${e instanceof Error ? `${e.name}: ` : ""}${message}` };
}

/** "line:column" (or "line") of the first mention of the file in an error's stack. */
function locationInStack(err: unknown, path: string): string | undefined {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  const url = pathToFileURL(path).href;
  for (const line of stack.split("\n")) {
    const at = line.indexOf(url);
    if (at < 0) continue;
    const m = /^:(\d+)(?::(\d+))?/.exec(line.slice(at + url.length));
    if (m) return m[2] ? `${m[1]}:${m[2]}` : m[1];
  }
  return undefined;
}

/**
 * Node.js reports a module's syntax error without its place; `node --check` on the source finds it.
 * Runs only when loading already failed.
 */
function syntaxErrorLocation(path: string): string | undefined {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const type = extname(path) === ".cjs" ? "commonjs" : "module";
  const result = spawnSync(process.execPath, [`--input-type=${type}`, "--check"], { input: source, encoding: "utf8", timeout: 10_000 });
  const lines = (result.stderr ?? "").split("\n");
  const m = /^\[stdin\]:(\d+)/.exec(lines[0] ?? "");
  if (!m) return undefined;
  const caret = (lines[2] ?? "").indexOf("^");
  return caret >= 0 ? `${m[1]}:${caret + 1}` : m[1];
}

function oneParagraph(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}
