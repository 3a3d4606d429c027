/**
 * Errors meant for people. A GraphError says where (file, line and column, node, field) and what was
 * found against what was expected, in one paragraph. The CLI prints its message and exits non-zero;
 * anything that is not a UserError is a bug in graphnet and keeps its stack trace.
 */

/** Base class of every error caused by what the user gave us (a file, a flag), not by a bug. */
export class UserError extends Error {
  override name = "UserError";
}

export interface ErrorLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly nodeId?: string;
  /** The field of the node (or of the document, when there is no node) that is wrong, e.g. "inputs" or "attrs.rate". */
  readonly field?: string;
  /**
   * Where the offending value sits in the JSON document, e.g. ["nodes", 3, "attrs", "rate"]. Not printed:
   * a loader that holds the file's text turns it into a line and a column.
   */
  readonly path?: readonly (string | number)[];
}

export class GraphError extends UserError {
  override name = "GraphError";

  constructor(
    /** What is wrong and what was expected, without the location. */
    readonly problem: string,
    readonly location: ErrorLocation = {},
  ) {
    super(formatGraphError(problem, location));
  }

  /** The same error, located more precisely (a file, a line). Fields already known are kept. */
  locatedAt(more: ErrorLocation): GraphError {
    return new GraphError(this.problem, { ...more, ...definedOnly(this.location) });
  }
}

function definedOnly(location: ErrorLocation): ErrorLocation {
  return Object.fromEntries(Object.entries(location).filter(([, v]) => v !== undefined)) as ErrorLocation;
}

function formatGraphError(problem: string, where: ErrorLocation): string {
  let place = where.file ?? "graph";
  if (where.line !== undefined) place += `:${where.line}${where.column !== undefined ? `:${where.column}` : ""}`;
  const parts: string[] = [];
  if (where.nodeId !== undefined) parts.push(`node "${where.nodeId}"`);
  if (where.field !== undefined) parts.push(`field "${where.field}"`);
  const subject = parts.length > 0 ? ` ${parts.join(", ")}:` : "";
  return `${place}:${subject} ${problem}`;
}
