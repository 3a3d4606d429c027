/**
 * Attributes drawn from an op's attribute schema, for an op whose check hints give none: without them an
 * op was only ever checked at its defaults, and a gradient that ignored an attribute (an ELU's backward
 * op computing with α = 1 whatever α was) passed every case.
 *
 * The mapping covers the attributes whose values a schema says well enough to draw: numbers and integers
 * (within their bounds; an unbounded side is 3 from the other, or [−3, 3] when neither is given, as the
 * input values are; a hundredth inside an exclusive bound), booleans, and a choice among constants (an
 * enum, a const, a union of literals). Arrays and free strings (shapes, axes, ids) are structural: an op
 * that has them says how to draw them in its check hints. An optional attribute is left out now and
 * then, so its default is checked too; each choice shrinks towards the simplest (left out, the low end,
 * the first constant), so a failing case comes back small. A drawn attribute the op's shape rule refuses
 * puts the case aside, as a refused shape does.
 */
import fc from "fast-check";
import type { AttrValue, Attrs } from "../graph/ir.js";

type Schema = Readonly<Record<string, unknown>>;

/** How far an unbounded side of a number's range reaches from the other side (or from 0). */
const SPAN = 3;
/** How far inside an exclusive bound a drawn number stays. */
const INSIDE = 0.01;

// Builders for fc.gen() (module-level functions of plain values: fast-check caches an arbitrary per call).
const numberIn = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const integerIn = (min: number, max: number) => fc.integer({ min, max });

/** A value for one attribute's schema, or undefined when the schema is not one this mapping draws. */
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

/** Whether attributes can be drawn for this schema at all (for a check that says which ops it varies). */
export function drawsAttrs(schema: Schema): boolean {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  return Object.values(properties).some((property) => drawerFor(property) !== undefined);
}

function drawerFor(schema: Schema): Drawer | undefined {
  const constants = constantsOf(schema);
  if (constants !== undefined) return (g) => constants[constants.length > 1 ? g(integerIn, 0, constants.length - 1) : 0]!;
  if (schema.type === "boolean") return (g) => g(fc.boolean);
  if (schema.type === "number" || schema.type === "integer") {
    const integer = schema.type === "integer";
    const [min, max] = rangeOf(schema, integer);
    if (!(min <= max)) return undefined;
    return integer ? (g) => g(integerIn, min, max) : (g) => g(numberIn, min, max);
  }
  return undefined;
}

/** The constants a schema allows, when it allows only constants: enum, const, or a union of those. */
function constantsOf(schema: Schema): readonly AttrValue[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum as AttrValue[];
  if ("const" in schema) return [schema.const as AttrValue];
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (!Array.isArray(union)) return undefined;
  const parts = union.map(constantsOf);
  return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
}

/** The range numbers are drawn from: the schema's bounds, closed a little inside exclusive ones, unbounded sides SPAN away. */
function rangeOf(schema: Schema, integer: boolean): [number, number] {
  const num = (key: string) => (typeof schema[key] === "number" ? (schema[key] as number) : undefined);
  const step = integer ? 1 : INSIDE;
  const low = num("minimum") ?? (num("exclusiveMinimum") !== undefined ? num("exclusiveMinimum")! + step : undefined);
  const high = num("maximum") ?? (num("exclusiveMaximum") !== undefined ? num("exclusiveMaximum")! - step : undefined);
  const min = low ?? (high !== undefined ? Math.min(high - SPAN, -SPAN) : -SPAN);
  const max = high ?? Math.max(min + SPAN, SPAN);
  return integer ? [Math.ceil(min), Math.floor(max)] : [min, max];
}
