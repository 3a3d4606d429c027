/**
 * JSON Schema validation (ajv), reduced to what error messages need: the path of the offending value
 * and a sentence about what was expected there.
 */
import { Ajv, type ErrorObject } from "ajv";

const ajv = new Ajv({ allErrors: false, strict: false });

export interface SchemaProblem {
  /** JSON pointer segments to the offending value, e.g. ["nodes", 3, "attrs", "rate"]. */
  readonly path: readonly (string | number)[];
  /** What was expected, in words. */
  readonly message: string;
}

export type SchemaValidator = (value: unknown) => SchemaProblem | null;

export function compileSchema(schema: object): SchemaValidator {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return null;
    const error = pickMostSpecific(validate.errors ?? []);
    return error ? describe(error) : { path: [], message: "does not match the schema" };
  };
}

function pickMostSpecific(errors: readonly ErrorObject[]): ErrorObject | undefined {
  // The deepest error is the one closest to what the person has to fix.
  return [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
}

function describe(error: ErrorObject): SchemaProblem {
  const path: (string | number)[] = error.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return { path: [...path, String(p.missingProperty)], message: "is required but missing" };
    case "additionalProperties":
      return { path: [...path, String(p.additionalProperty)], message: "is not a known field here" };
    case "enum":
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "type":
      return { path, message: `must be ${article(String(p.type))}` };
    default:
      return { path, message: error.message ?? "does not match the schema" };
  }
}

function article(type: string): string {
  const words = type.split(",").map((t) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`));
  return words.join(" or ");
}
