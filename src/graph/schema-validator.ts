/**
 * JSON Schema validation (ajv), reduced to what error messages need: the path of the offending value
 * and a sentence about what was expected there and what was found.
 */
import { Ajv, type ErrorObject } from "ajv";
import { didYouMean } from "./closest.js";

// verbose: errors carry the offending data and the schema that refused it, so messages can quote both.
// No optimisation passes over the generated code: they take more time as a schema compiles (a good part of
// a short command's start-up) than they ever save on validating a graph file.
const ajv = new Ajv({ allErrors: false, strict: false, verbose: true, code: { optimize: false } });

export interface SchemaProblem {
  /** JSON pointer segments to the offending value, e.g. ["nodes", 3, "attrs", "rate"]. */
  readonly path: readonly (string | number)[];
  /** What was expected and what was found, as a sentence ending with a full stop: "must be >= 1 (found 0)." */
  readonly message: string;
}

export type SchemaValidator = (value: unknown) => SchemaProblem | null;

export function compileSchema(schema: object): SchemaValidator {
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? null : explain(validate.errors ?? []));
}

/**
 * The same validator, compiled when it first validates. For graphnet's own schemas (the built-in ops'
 * attributes, the training section, the files of a run folder), which the tests compile: compiling them
 * all as their modules load would cost every command a good part of its start-up, and most are never used.
 */
export function compileSchemaOnFirstUse(schema: object): SchemaValidator {
  let validate: SchemaValidator | undefined;
  return (value) => (validate ??= compileSchema(schema))(value);
}

type Schema = Record<string, unknown>;

/**
 * With allErrors off, ajv stops at the first keyword that fails, so that keyword's error comes last.
 * When it is anyOf or oneOf, the errors of each alternative come before it.
 */
function explain(errors: readonly ErrorObject[]): SchemaProblem {
  const failed = errors[errors.length - 1];
  if (!failed) return { path: [], message: "does not match the schema." };
  if (failed.keyword === "anyOf" || failed.keyword === "oneOf") return explainAlternatives(failed, errors);
  return { path: pathOf(failed), ...describe(failed) };
}

/**
 * None of the alternatives matched. If only one of them accepts the value's type (a number where
 * "an integer ≥ 1 or a symbol" is asked), that is the one the person meant: report why it failed.
 * Otherwise list what would have been accepted.
 */
function explainAlternatives(failed: ErrorObject, errors: readonly ErrorObject[]): SchemaProblem {
  const prefix = `${failed.schemaPath}/`;
  const byBranch = new Map<number, ErrorObject[]>();
  for (const error of errors) {
    if (!error.schemaPath.startsWith(prefix)) continue;
    const branch = Number(error.schemaPath.slice(prefix.length).split("/")[0]);
    byBranch.set(branch, [...(byBranch.get(branch) ?? []), error]);
  }
  const alternatives = Array.isArray(failed.schema) ? (failed.schema as Schema[]) : [];
  const wrongKindOnly = (branchErrors: ErrorObject[]) => branchErrors.every((e) => e.keyword === "type" && e.instancePath === failed.instancePath);
  const plausible = [...byBranch.values()].filter((branchErrors) => !wrongKindOnly(branchErrors));
  const allConstants = alternatives.length > 0 && alternatives.every((s) => "const" in s);
  if (plausible.length === 1 && !allConstants) return explain(plausible[0]!);

  const path = pathOf(failed);
  if (allConstants)
    return {
      path,
      message: mustBeOneOf(
        alternatives.map((s) => s.const),
        failed.data,
      ),
    };
  const expected = alternatives.map(describeSchema).join(" or ");
  return { path, message: `must be ${expected || "one of the allowed forms"} (found ${summarize(failed.data)}).` };
}

function describe(error: ErrorObject): Omit<SchemaProblem, "path"> {
  const p = error.params as Record<string, unknown>;
  const found = summarize(error.data);
  switch (error.keyword) {
    case "required":
      return { message: "is required but missing." };
    case "additionalProperties": {
      const known = Object.keys(((error.parentSchema as Schema | undefined)?.properties as Schema | undefined) ?? {});
      const name = String(p.additionalProperty);
      const hint = didYouMean(name, known) || (known.length > 0 ? ` The fields allowed here are ${known.join(", ")}.` : " No fields are allowed here.");
      return { message: `is not a known field here.${hint}` };
    }
    case "enum":
      return { message: mustBeOneOf(p.allowedValues as unknown[], error.data) };
    case "const":
      return { message: `must be ${JSON.stringify(p.allowedValue)} (found ${found}).` };
    case "type":
      return { message: `must be ${article(String(p.type))} (found ${found}).` };
    case "pattern": {
      const description = (error.parentSchema as Schema | undefined)?.description;
      const wanted = typeof description === "string" ? `must be ${description}, matching` : "must match";
      return { message: `${wanted} the pattern ${String(p.pattern)} (found ${found}).` };
    }
    case "minItems":
    case "maxItems":
    case "minLength":
    case "maxLength":
    case "minProperties":
    case "maxProperties": {
      const limit = Number(p.limit);
      const unit = { Items: "item", Length: "character", Properties: "field" }[error.keyword.slice(3) as "Items" | "Length" | "Properties"];
      const bound = error.keyword.startsWith("min") ? "at least" : "at most";
      return { message: `must have ${bound} ${limit} ${unit}${limit === 1 ? "" : "s"} (found ${found}).` };
    }
    default:
      return { message: `${error.message ?? "does not match the schema"} (found ${found}).` };
  }
}

function mustBeOneOf(allowed: readonly unknown[], data: unknown): string {
  const names = allowed.map((v) => JSON.stringify(v));
  const hint =
    typeof data === "string"
      ? didYouMean(
          data,
          allowed.filter((v): v is string => typeof v === "string"),
        )
      : "";
  return `must be one of ${names.join(", ")} (found ${summarize(data)}).${hint}`;
}

/** A few words for what a schema accepts: its description, its constant, or its type. */
function describeSchema(schema: Schema): string {
  if (typeof schema.description === "string") return schema.description;
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (typeof schema.type === "string" || Array.isArray(schema.type)) return article(String(schema.type));
  return "a value of another form";
}

function pathOf(error: ErrorObject): (string | number)[] {
  const path: (string | number)[] = error.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (error.keyword === "required") path.push(String((error.params as Record<string, unknown>).missingProperty));
  if (error.keyword === "additionalProperties") path.push(String((error.params as Record<string, unknown>).additionalProperty));
  return path;
}

/** A value as a message quotes it: short values in full, long ones by their kind and size. */
export function summarize(value: unknown): string {
  if (typeof value === "number") return String(value); // JSON would print NaN and Infinity as null
  const text = JSON.stringify(value);
  if (text !== undefined && text.length <= 40) return text;
  if (typeof value === "string") return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === "object" && value !== null) return `an object with the fields ${truncateList(Object.keys(value))}`;
  return String(value);
}

function truncateList(items: readonly string[]): string {
  return items.length <= 5 ? items.join(", ") : `${items.slice(0, 5).join(", ")}, …`;
}

function article(type: string): string {
  const words = type.split(",").map((t) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`));
  return words.join(" or ");
}
