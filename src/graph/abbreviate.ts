/**
 * Long lists in messages: a message names what is wrong in one paragraph, so a list of 100,000 ids (the
 * nodes of a long chain) is cut to its first and last few, with the number left out in between.
 */

export interface AbbreviateOptions {
  /** Items kept at the start (default 5) */
  readonly head?: number;
  /** and at the end (default 3). */
  readonly tail?: number;
  /** What goes between two items (default ", "). */
  readonly separator?: string;
}

/** "a, b, c, d, e, … 99,992 more …, x, y, z"; a list short enough is written whole. */
export function abbreviate(items: readonly string[], { head = 5, tail = 3, separator = ", " }: AbbreviateOptions = {}): string {
  // Cutting out a single item would make the message no shorter.
  if (items.length <= head + tail + 1) return items.join(separator);
  const omitted = items.length - head - tail;
  return [...items.slice(0, head), `… ${omitted.toLocaleString("en-US")} more …`, ...items.slice(items.length - tail)].join(separator);
}
