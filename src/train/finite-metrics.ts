/**
 * The last guard before a result is reported: a metric that is NaN or ±∞ (an empty set's accuracy, a
 * broken weight's loss) is refused, so that it is never printed or recorded as a result with exit code 0.
 * The causes are refused earlier where they can be (an empty split, a checkpoint holding NaN); this
 * guard keeps the promise for any cause not foreseen there.
 */
import { UserError } from "../graph/errors.js";

/** Throws a UserError naming `source` (what was measured) unless every metric is a finite number. */
export function checkFiniteMetrics(source: string, metrics: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(metrics)) {
    if (!Number.isFinite(value)) {
      throw new UserError(
        `${source}: the ${name} came out ${value}, which is not a result; it is not reported (the weights or the data behind it are not sound).`,
      );
    }
  }
}
