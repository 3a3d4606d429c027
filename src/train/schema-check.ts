/**
 * The files graphnet writes and reads back (checkpoints, config.json) are checked against a schema at the
 * moment they are read, as graph files are: a file that parses but is malformed — edited by hand, written
 * by another tool or another version — gives one paragraph naming the file, the field and what was
 * expected, instead of a TypeError somewhere later.
 */
import type { TSchema } from "#typebox";
import { UserError } from "../graph/errors.js";
import { formatPath } from "../graph/json-path.js";
import { compileSchemaOnFirstUse, type SchemaValidator } from "../graph/schema-validator.js";

/** A file's content checked against its schema; `check` throws a UserError or returns the value, typed. */
export interface FormatCheck<T> {
  check(value: unknown, file: string): T;
}

/**
 * `part` names what was checked when it is not the whole file ("safetensors header"), so that a message
 * reads "best.safetensors: safetensors header, field "W1.shape": must be an array (found 5)."
 */
export function formatCheck<T>(schema: TSchema, part?: string): FormatCheck<T> {
  const validate: SchemaValidator = compileSchemaOnFirstUse(schema);
  return {
    check(value, file) {
      const problem = validate(value);
      if (problem) throw new UserError(formatProblem(file, part, problem.path, problem.message));
      return value as T;
    },
  };
}

/** "FILE: PART, field "PATH": PROBLEM", leaving out what is not known. */
export function formatProblem(file: string, part: string | undefined, path: readonly (string | number)[], problem: string): string {
  const where = [part, path.length > 0 ? `field "${formatPath(path)}"` : undefined].filter((s) => s !== undefined).join(", ");
  return `${file}: ${where ? `${where}: ` : ""}${problem}`;
}
