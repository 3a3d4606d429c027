/** The shape every refusal of a user's mistake must have, checked in one place. */
import { expect } from "vitest";
import { UserError } from "../../src/graph/errors.js";

/**
 * Calls `read`, expects it to throw a UserError whose message is one line starting with `prefix` (the
 * file it names, and more when a test asks) and matching each pattern; returns the message.
 */
export function expectRefusal(read: () => unknown, prefix: string, ...patterns: RegExp[]): string {
  let error: unknown;
  try {
    read();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(UserError);
  const message = (error as Error).message;
  expect(message.startsWith(prefix), `"${message}" starts with "${prefix}"`).toBe(true);
  expect(message).not.toContain("\n");
  for (const pattern of patterns) expect(message).toMatch(pattern);
  return message;
}
