/** Parsers for option values, failing with a UserError that names the option. */
import { InvalidArgumentError } from "commander";

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}".`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}".`);
    return n;
  };
}

export function rate(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`${name} must be a number in [0, 1), got "${value}".`);
    return n;
  };
}
