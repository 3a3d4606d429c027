/**
 * How many random cases `checkOp` draws per op, and its seed, unless told: in a module of their own so
 * that the command line can quote them in its help without loading fast-check.
 */
export const OP_CHECK_DEFAULTS = { numRuns: 100, seed: 0 } as const;
