/**
 * Parsers for option values, failing with a message that names the option.
 *
 * Numbers are read as a person writes them, in decimal: 12, 0.001, .5, -3, 1e-3. JavaScript's Number()
 * also takes "0x10" (16), "0b11", "0o7", "Infinity", and "" or "  " (0); a flag given such a value was
 * most likely mistyped, and is refused rather than read as something else.
 */
import { InvalidArgumentError } from "commander";

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The value of a decimal number, or undefined for anything else (see the module comment). */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** A finite decimal number. */
export function decimal(name: string) {
  return (value: string): number => {
    const n = parseDecimal(value);
    if (n === undefined || !Number.isFinite(n))
      throw new InvalidArgumentError(`${name} takes a number written in decimal (such as 0.001 or 1e-3), got "${value}".`);
    return n;
  };
}

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = parseDecimal(value);
    if (n === undefined || !Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a positive integer, written in decimal, got "${value}".`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = parseDecimal(value);
    if (n === undefined || !Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, written in decimal, got "${value}".`);
    return n;
  };
}

export function rate(name: string) {
  return (value: string): number => {
    const n = parseDecimal(value);
    if (n === undefined || n < 0 || n >= 1) throw new InvalidArgumentError(`${name} must be a number in [0, 1), written in decimal, got "${value}".`);
    return n;
  };
}
