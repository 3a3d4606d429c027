/**
 * The training flags a user gave (training-flags.ts), checked by the training schema on their own: a bad
 * value is a UserError naming its flag ("--lr: must be > 0"). Apart from the flags' table, so that reading
 * the command line does not load the schema.
 */
import { GraphError, UserError } from "../src/graph/errors.js";
import { trainingConfig, type TrainingSection } from "../src/graph/training.js";
import { flagFor, givenOverrides } from "./training-flags.js";

/** The overrides the user gave, as a partial training section, checked by the training schema. */
export function trainingOverrides(options: Record<string, unknown>): TrainingSection {
  const overrides = givenOverrides(options);
  try {
    trainingConfig({ training: overrides as TrainingSection });
  } catch (err) {
    const key = err instanceof GraphError ? err.location.field?.replace(/^training\./, "").split(/[.[]/)[0] : undefined;
    if (err instanceof GraphError && key !== undefined) throw new UserError(`${flagFor(key) ?? key}: ${err.problem}`);
    throw err;
  }
  return overrides as TrainingSection;
}
