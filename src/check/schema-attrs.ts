/**
 * Attributes drawn from an op's attribute schema, for an op whose check hints give none: without them an
 * op was only ever checked at its defaults, and a gradient that ignored an attribute (an ELU's backward
 * op computing with α = 1 whatever α was) passed every case.
 *
 * The mapping covers the attributes whose values a schema says well enough to draw: numbers and integers
 * (within their bounds, a hundredth inside an exclusive one, and at most 3 either side of the simplest value
 * the bounds allow — 0, or the bound nearest it — as the input values are), booleans, constants (an enum, a
 * const), tuples and lists of those (a list 0 to 3 items longer than its minItems), and unions of any of
 * them (a conv's padding: a number, [rows, columns], "same" or "valid"). Free strings (ids, symbols),
 * objects and schemas built with $ref, allOf, not or if are not drawn: an alternative of a union that is one
 * is left out, an optional attribute that is one is left at its default, and an op with a required one must
 * say how to draw it in its check hints (checkOp fails it with a message naming the attribute). An optional attribute is left out now and then, so its default
 * is checked too; each choice shrinks towards the simplest (left out, the low end, the first alternative,
 * the shortest list), so a failing case comes back small. A drawn attribute the op's schema or shape rule
 * refuses (axes out of range, a window larger than the drawn input) puts the case aside, as a refused
 * shape does.
 */
import fc from "fast-check";
import type { AttrValue, Attrs } from "../graph/ir.js";
import { evenValue } from "./arbitraries.js";

type Schema = Readonly<Record<string, unknown>>;

/** How far a drawn number reaches from the simplest value its bounds allow; also how much longer than its minItems a list may be. */
const SPAN = 3;
/** How far inside an exclusive bound a drawn number stays. */
const INSIDE = 0.01;

// Builders for fc.gen() (module-level functions of plain values: fast-check caches an arbitrary per call).
// Numbers are spread evenly, as input values are: fc.double's spread puts most of them within 1e-100 of 0,
// where a slope or a scale that is ignored makes no measurable difference.
const numberIn = (min: number, max: number) => evenValue(min, max);
const integerIn = (min: number, max: number) => fc.integer({ min, max });

/** Draws a value for one attribute's schema (drawerFor gives undefined for a schema this mapping does not draw). */
type Drawer = (g: fc.GeneratorValue) => AttrValue;

/**
 * Attributes for `schema` (an object schema), or undefined when one of its required attributes cannot be
 * drawn (the op keeps {} then, as before) or it has none that can.
 */
export function drawAttrsFromSchema(schema: Schema, g: fc.GeneratorValue): Attrs | undefined {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const drawers = Object.entries(properties).map(([name, property]) => [name, drawerFor(property)] as const);
  if (drawers.some(([name, drawer]) => required.has(name) && drawer === undefined)) return undefined;
  const drawable = drawers.filter((entry): entry is readonly [string, Drawer] => entry[1] !== undefined);
  if (drawable.length === 0) return undefined;
  const attrs: Record<string, AttrValue> = {};
  for (const [name, drawer] of drawable) {
    if (!required.has(name) && !g(fc.boolean)) continue;
    attrs[name] = drawer(g);
  }
  return attrs;
}

/**
 * The first required attribute this mapping cannot draw, with why in a few words ("a string with no values
 * listed"), or undefined when every required one can be drawn. Without check.attrs such an op cannot be
 * checked: every case would lack the attribute.
 */
export function undrawableRequiredAttr(schema: Schema): { readonly name: string; readonly why: string } | undefined {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const name of (schema.required ?? []) as string[]) {
    const property = properties[name];
    if (property === undefined) return { name, why: "the schema requires it but does not describe it" };
    if (drawerFor(property) === undefined) return { name, why: `it is ${whyNotDrawn(property)}` };
  }
  return undefined;
}

/** Why drawerFor gives nothing for `schema`, in a few words. */
function whyNotDrawn(schema: Schema): string {
  const keyword = ["$ref", "allOf", "not", "if"].find((k) => k in schema);
  if (keyword !== undefined) return `a schema built with ${keyword}, which is not read for drawing`;
  if (schema.anyOf ?? schema.oneOf) return "a union none of whose alternatives can be drawn";
  if (schema.type === "string") return "a string with no values listed: only an enum or a const is drawn";
  if (schema.type === "object") return "an object (objects are not drawn)";
  if (schema.type === "number" || schema.type === "integer") return `a${schema.type === "integer" ? "n integer" : " number"} whose bounds leave no value`;
  if (schema.type === "array") return "a list whose items cannot be drawn";
  return "a schema without a type to draw from";
}

function drawerFor(schema: Schema): Drawer | undefined {
  if (Array.isArray(schema.enum)) return choice((schema.enum as AttrValue[]).map((value) => () => value));
  if ("const" in schema) return () => schema.const as AttrValue;
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  // A union draws one of the alternatives it can draw (a free string beside a number is left out).
  if (Array.isArray(union)) return choice(union.map(drawerFor).filter((d): d is Drawer => d !== undefined));
  if (schema.type === "boolean") return (g) => g(fc.boolean);
  if (schema.type === "number" || schema.type === "integer") {
    const integer = schema.type === "integer";
    const [min, max] = rangeOf(schema, integer);
    if (!(min <= max)) return undefined;
    return integer ? (g) => g(integerIn, min, max) : (g) => g(numberIn, min, max);
  }
  if (schema.type === "array") return arrayDrawer(schema);
  return undefined;
}

/** One of `drawers`, the first when shrunk; undefined when there is none. */
function choice(drawers: readonly Drawer[]): Drawer | undefined {
  if (drawers.length === 0) return undefined;
  if (drawers.length === 1) return drawers[0];
  return (g) => drawers[g(integerIn, 0, drawers.length - 1)]!(g);
}

/**
 * A tuple (`items` a list of schemas) draws each of its items; a list (`items` one schema) draws a length
 * from minItems to SPAN more (within maxItems), the shortest when shrunk. uniqueItems is not arranged: a
 * repeated item is refused by the schema and the case put aside.
 */
function arrayDrawer(schema: Schema): Drawer | undefined {
  const { items } = schema;
  if (Array.isArray(items)) {
    const parts = (items as Schema[]).map(drawerFor);
    if (parts.some((part) => part === undefined)) return undefined;
    return (g) => parts.map((part) => part!(g));
  }
  if (typeof items !== "object" || items === null) return undefined;
  const item = drawerFor(items as Schema);
  if (item === undefined) return undefined;
  const shortest = typeof schema.minItems === "number" ? schema.minItems : 0;
  const longest = Math.min(typeof schema.maxItems === "number" ? schema.maxItems : Infinity, shortest + SPAN);
  if (!(shortest <= longest)) return undefined;
  return (g) => Array.from({ length: g(integerIn, shortest, longest) }, () => item(g));
}

/**
 * The range numbers are drawn from: the schema's bounds (a little inside exclusive ones) met with SPAN on
 * either side of the simplest value they allow (0, or the bound nearest it). A wide range ([1, 65536] for a
 * window) is drawn near its low end, where the values that fit the small drawn shapes are.
 */
function rangeOf(schema: Schema, integer: boolean): [number, number] {
  const num = (key: string) => (typeof schema[key] === "number" ? (schema[key] as number) : undefined);
  const step = integer ? 1 : INSIDE;
  const low = num("minimum") ?? (num("exclusiveMinimum") !== undefined ? num("exclusiveMinimum")! + step : -Infinity);
  const high = num("maximum") ?? (num("exclusiveMaximum") !== undefined ? num("exclusiveMaximum")! - step : Infinity);
  const simplest = Math.min(Math.max(0, low), high);
  const min = Math.max(low, simplest - SPAN);
  const max = Math.min(high, simplest + SPAN);
  return integer ? [Math.ceil(min), Math.floor(max)] : [min, max];
}
