/**
 * The op registry: one table from op name to definition. It holds the built-in ops from the moment this
 * module loads — registered through the checks of `registerOp`, as a user's module registers its own —
 * so whoever asks it for an op needs no other import to have filled it first. A built-in op's attribute
 * schema is compiled when a graph first uses the op (the tests compile every one), so that loading the
 * registry does not cost every command the compilation of some forty schemas; a user's op's is compiled
 * as it registers, so a schema that cannot compile is reported by `registerOp`.
 */
import { compileSchema, compileSchemaOnFirstUse, type SchemaValidator } from "../graph/schema-validator.js";
import { BUILTIN_OPS } from "./builtin.js";
import type { OpDefinition } from "./op.js";

interface RegisteredOp {
  readonly def: OpDefinition<any>;
  readonly validateAttrs: SchemaValidator;
}

const registry = new Map<string, RegisteredOp>();

const OP_NAME = /^[a-z][a-z0-9_]*$/;

/** Thrown when an op definition itself is malformed (a programming error in the op's module). */
export class OpDefinitionError extends Error {
  override name = "OpDefinitionError";
}

export interface RegisterOptions {
  /** Replace an op already registered under the same name instead of refusing. */
  readonly replace?: boolean;
}

export function registerOp(def: OpDefinition<any>, options: RegisterOptions = {}): void {
  register(def, options, compileSchema);
}

function register(def: OpDefinition<any>, options: RegisterOptions, compile: (schema: object) => SchemaValidator): void {
  const where = `op definition "${String((def as { name?: unknown })?.name)}"`;
  if (typeof def !== "object" || def === null) throw new OpDefinitionError(`registerOp expects an op definition object, got ${typeof def}.`);
  if (typeof def.name !== "string" || !OP_NAME.test(def.name)) {
    throw new OpDefinitionError(`${where}: "name" must be lower_snake_case (letters, digits, underscores, starting with a letter).`);
  }
  if (!Array.isArray(def.inputs) || !def.inputs.every((n) => typeof n === "string")) {
    throw new OpDefinitionError(`${where}: "inputs" must be an array of input names, one per argument.`);
  }
  for (const fn of ["shape", "kernel"] as const) {
    if (typeof def[fn] !== "function") throw new OpDefinitionError(`${where}: "${fn}" must be a function.`);
  }
  if (def.updates !== undefined && !(Array.isArray(def.updates) && def.updates.every((name) => def.inputs.includes(name)))) {
    throw new OpDefinitionError(`${where}: "updates", when given, must list names of the op's inputs (${def.inputs.join(", ")}).`);
  }
  if (def.gradient !== undefined && typeof def.gradient !== "function") {
    throw new OpDefinitionError(`${where}: "gradient", when given, must be a function.`);
  }
  if (def.fast !== undefined && (typeof def.fast !== "object" || def.fast === null || (def.fast.wasm !== undefined && typeof def.fast.wasm !== "function"))) {
    throw new OpDefinitionError(`${where}: "fast", when given, must be an object of fast kernels by backend name, { wasm: (spec, context) => kernel }.`);
  }
  if (def.onnx !== undefined && (typeof def.onnx !== "object" || def.onnx === null || typeof def.onnx.export !== "function")) {
    throw new OpDefinitionError(`${where}: "onnx", when given, must be an object with the op's ONNX lowering, { export: (context) => { … } }.`);
  }
  if (typeof def.attrs !== "object" || def.attrs === null) {
    throw new OpDefinitionError(`${where}: "attrs" must be a JSON Schema object (use {"type": "object"} for an op without attributes).`);
  }
  if (registry.has(def.name) && !options.replace) {
    throw new OpDefinitionError(`${where}: an op named "${def.name}" is already registered; pass { replace: true } to override it.`);
  }
  let validateAttrs: SchemaValidator;
  try {
    validateAttrs = compile(def.attrs);
  } catch (err) {
    throw new OpDefinitionError(`${where}: "attrs" is not a valid JSON Schema: ${(err as Error).message}`);
  }
  registry.set(def.name, { def, validateAttrs });
}

export function getOp(name: string): OpDefinition<any> | undefined {
  return registry.get(name)?.def;
}

/** The op's definition; throws for an unknown name (callers that face user input check `getOp` first). */
export function requireOp(name: string): OpDefinition<any> {
  const def = getOp(name);
  if (!def) throw new Error(`internal: op "${name}" is not registered`);
  return def;
}

export function attrValidator(name: string): SchemaValidator | undefined {
  return registry.get(name)?.validateAttrs;
}

export function listOps(): OpDefinition<any>[] {
  return [...registry.values()].map((r) => r.def).sort((a, b) => a.name.localeCompare(b.name));
}

for (const op of BUILTIN_OPS) register(op, {}, compileSchemaOnFirstUse);
