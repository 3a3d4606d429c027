/**
 * Reading JSON text strictly, for people: a syntax error says where (line and column, 1-based), what
 * was expected and what was found; and any value of the document can be traced back to its line.
 *
 * jsonc-parser does the scanning, in strict mode (no comments, no trailing commas). JSON.parse then
 * builds the value, so that what graphnet reads is exactly what every other JSON tool reads.
 */
import { findNodeAtLocation, parseTree, printParseErrorCode, visit, type Node as JsonNode, type ParseOptions } from "jsonc-parser";
import { GraphError } from "./errors.js";
import type { JsonPath } from "./json-path.js";

export interface TextPosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units as editors count them. */
  readonly column: number;
}

export interface JsonText {
  readonly value: unknown;
  /** Where the value at `path` starts; for a path that does not exist, where its nearest existing parent starts. */
  locate(path: JsonPath): TextPosition;
}

const STRICT: ParseOptions = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false };

/** Parses `text` (the content of `file`), or throws a GraphError at the first syntax error or duplicate key. */
export function readJsonText(text: string, file: string): JsonText {
  const lines = new LineIndex(text);
  const fail = (problem: string, offset: number): never => {
    throw new GraphError(problem, { file, ...lines.positionOf(offset) });
  };

  const scan = scanStrictly(text, file);
  if (scan.error) {
    const { problem, offset } = explainSyntaxError(text, scan.error, lines);
    fail(`invalid JSON: ${problem}`, offset);
  }
  if (scan.duplicate) {
    const { key, offset, firstOffset } = scan.duplicate;
    fail(
      `the key ${JSON.stringify(key)} appears twice in the same object (first at ${positionWords(lines.positionOf(firstOffset))}). ` +
        `JSON readers keep only the last one, so the other would be silently ignored: remove or rename one of them.`,
      offset,
    );
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // jsonc-parser found nothing wrong, JSON.parse did: report JSON.parse's words at its position.
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    fail(`invalid JSON: ${message}.`, at ? Number(at[1]) : 0);
  }

  let tree: JsonNode | undefined | null = null;
  return {
    value,
    locate(path) {
      tree ??= parseTree(text, [], STRICT);
      return lines.positionOf(offsetOf(tree, path));
    },
  };
}

function offsetOf(tree: JsonNode | undefined, path: JsonPath): number {
  if (!tree) return 0;
  for (let length = path.length; length >= 0; length--) {
    const node = findNodeAtLocation(tree, path.slice(0, length) as (string | number)[]);
    if (node) return node.offset;
  }
  return tree.offset;
}

// ---------------------------------------------------------------------------------------------------
// Scanning

type ErrorName = ReturnType<typeof printParseErrorCode>;

interface OpenContainer {
  readonly kind: "object" | "array";
  readonly offset: number;
  readonly keys: Map<string, number>;
}

interface SyntaxProblem {
  readonly name: ErrorName;
  readonly offset: number;
  readonly length: number;
  /** The innermost object or array open at the error, if any. */
  readonly container: OpenContainer | undefined;
  /** The top-level value was complete: anything more is extra. */
  readonly afterRoot: boolean;
}

interface Scan {
  readonly error?: SyntaxProblem;
  readonly duplicate?: { readonly key: string; readonly offset: number; readonly firstOffset: number };
}

/** One pass over the text: the first syntax error, and the first key repeated within an object. */
function scanStrictly(text: string, file: string): Scan {
  const open: OpenContainer[] = [];
  let rootDone = false;
  let error: SyntaxProblem | undefined;
  let duplicate: Scan["duplicate"];
  // jsonc-parser ends an unclosed object or array before it reports the missing bracket.
  let lastClosed: OpenContainer | undefined;
  const close = () => {
    lastClosed = open.pop();
    if (open.length === 0) rootDone = true;
  };
  try {
    visit(
      text,
      {
        onObjectBegin: (offset) => void open.push({ kind: "object", offset, keys: new Map() }),
        onArrayBegin: (offset) => void open.push({ kind: "array", offset, keys: new Map() }),
        onObjectEnd: close,
        onArrayEnd: close,
        onLiteralValue: () => {
          if (open.length === 0) rootDone = true;
        },
        onObjectProperty: (key, offset) => {
          const keys = open[open.length - 1]?.keys;
          if (!keys) return;
          const firstOffset = keys.get(key);
          if (firstOffset === undefined) keys.set(key, offset);
          else duplicate ??= { key, offset, firstOffset };
        },
        onError: (code, offset, length) => {
          if (error) return;
          const name = printParseErrorCode(code);
          const closing = name === "CloseBraceExpected" || name === "CloseBracketExpected";
          const container = closing ? lastClosed : open[open.length - 1];
          error = { name, offset, length, container, afterRoot: !closing && rootDone && open.length === 0 };
        },
      },
      STRICT,
    );
  } catch (err) {
    // jsonc-parser descends recursively: thousands of nested brackets overflow the stack.
    if (err instanceof RangeError) throw new GraphError("invalid JSON: the document nests arrays and objects too deeply to be a graph.", { file });
    throw err;
  }
  return { ...(error ? { error } : {}), ...(duplicate ? { duplicate } : {}) };
}

// ---------------------------------------------------------------------------------------------------
// Explaining

const A_VALUE = "a value (a string in double quotes, a number, true, false, null, an object or an array)";

/** The problem in words, and the offset it is best pointed at. */
function explainSyntaxError(text: string, error: SyntaxProblem, lines: LineIndex): { problem: string; offset: number } {
  const { offset, length, container } = error;
  const found = describeToken(text, offset, length);
  const token = text.slice(offset, offset + length);
  const at = (problem: string, where = offset) => ({ problem, offset: where });
  const before = previousSignificant(text, offset);

  if (error.afterRoot) {
    return at(`expected the end of the file after the top-level value, found ${found}. A JSON file holds exactly one value; is a bracket closed too early?`);
  }
  switch (error.name) {
    case "InvalidCommentToken":
    case "UnexpectedEndOfComment":
      return at('comments are not allowed: a graph file is plain JSON. Notes about the graph can go in its "description" field.');
    case "UnexpectedEndOfString":
      return at("this string is not closed: add the closing double quote. (A line break inside a string is written \\n.)");
    case "InvalidEscapeCharacter": {
      const bad = offset + badEscapeIndex(token);
      return at(
        `invalid escape ${describeToken(text, bad, 2)} in a string: JSON knows \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t and \\uXXXX. A backslash itself is written \\\\.`,
        bad,
      );
    }
    case "InvalidUnicode": {
      const bad = offset + badEscapeIndex(token);
      return at("invalid \\u escape in a string: \\u must be followed by four hexadecimal digits, as in \\u00e9.", bad);
    }
    case "InvalidCharacter": {
      const index = [...token].findIndex((c) => c.charCodeAt(0) < 0x20);
      const bad = offset + Math.max(0, index);
      return at(
        `a string contains a raw control character (${describeControl(text.charCodeAt(bad))}); inside a string it must be written as an escape such as \\t or \\n.`,
        bad,
      );
    }
    case "InvalidNumberFormat":
    case "UnexpectedEndOfNumber":
      return at(`${found} is not a complete number: JSON numbers look like 16, -3, 0.5 or 1e-8, with digits after the point and after the e.`);
    case "InvalidSymbol":
      return at(explainStrayToken(token, found, container, before));
    case "PropertyNameExpected":
    case "ValueExpected":
      if (before.char === "," && (text[offset] === "}" || text[offset] === "]")) {
        return at(
          `a comma before "${text[offset]}" ends the list with nothing after it: JSON does not allow trailing commas. Remove this comma.`,
          before.offset,
        );
      }
      if (text.trim() === "") return at('the file is empty: expected a graph, an object such as {"name": "…", "nodes": […]}.');
      return error.name === "PropertyNameExpected"
        ? at(`expected a property name in double quotes, found ${found}.`)
        : at(`expected ${A_VALUE}, found ${found}.`);
    case "ColonExpected":
      return at(`expected ":" after the property name, found ${found}.`);
    case "CommaExpected": {
      const [closer, between, item] =
        container?.kind === "array" ? ["]", "the items of this array", "item"] : ["}", "the properties of this object", "property"];
      const hint = token.startsWith('"') || /^[[{\d-]/.test(token) ? ` Is a comma missing after the previous ${item}?` : "";
      return at(`expected "," or "${closer}" between ${between}, found ${found}.${hint}`);
    }
    case "CloseBraceExpected":
    case "CloseBracketExpected": {
      const [closer, kind] = error.name === "CloseBraceExpected" ? ["}", "object"] : ["]", "array"];
      const opened = container ? ` opened at ${positionWords(lines.positionOf(container.offset))}` : "";
      return at(`expected "${closer}" to close the ${kind}${opened}, found ${found}.`);
    }
    case "EndOfFileExpected":
      return at(`expected the end of the file after the top-level value, found ${found}.`);
    default:
      return at(`unexpected ${found}.`);
  }
}

/** A token jsonc-parser could not read at all: a quote of the wrong kind, NaN, a bare word. */
function explainStrayToken(token: string, found: string, container: OpenContainer | undefined, before: { char: string | undefined }): string {
  if (token.startsWith("'")) return `strings and property names take double quotes in JSON, found ${found}.`;
  if (/^-?(NaN|Infinity)$/.test(token)) return `JSON has no ${token}: write a finite number.`;
  if (/^(true|false|null)$/i.test(token)) return `JSON writes true, false and null in lower case, found ${found}.`;
  const wantsKey = container?.kind === "object" && (before.char === "{" || before.char === ",");
  if (wantsKey) return `expected a property name in double quotes, found ${found}.`;
  return `expected ${A_VALUE}, found ${found}.`;
}

/** The index of the first invalid escape in a string token. */
function badEscapeIndex(token: string): number {
  for (let i = 0; i < token.length; i++) {
    if (token[i] !== "\\") continue;
    const next = token[i + 1];
    if (next !== undefined && '"\\/bfnrt'.includes(next)) i++;
    else if (next === "u" && /^[0-9a-fA-F]{4}$/.test(token.slice(i + 2, i + 6))) i += 5;
    else return i;
  }
  return 0;
}

function describeToken(text: string, offset: number, length: number): string {
  if (offset >= text.length) return "the end of the file";
  const token = text.slice(offset, offset + Math.max(1, length));
  const shown = token.length > 24 ? `${token.slice(0, 24)}…` : token;
  return JSON.stringify(shown);
}

function describeControl(code: number): string {
  const names: Record<number, string> = { 9: "a tab", 10: "a line break", 13: "a carriage return" };
  return names[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

function previousSignificant(text: string, offset: number): { char: string | undefined; offset: number } {
  let i = Math.min(offset, text.length) - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  return { char: i >= 0 ? text[i] : undefined, offset: Math.max(i, 0) };
}

function positionWords({ line, column }: TextPosition): string {
  return `line ${line}, column ${column}`;
}

/** Offsets → 1-based lines and columns. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  positionOf(offset: number): TextPosition {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.starts[low]! + 1 };
  }
}
