/**
 * The built-in ops, registered through the same `registerOp` call a user's module uses.
 * Importing this module (the library's entry point does) makes them available.
 */
import { add } from "./add.js";
import { constant } from "./constant.js";
import { input } from "./input.js";
import { matmul } from "./matmul.js";
import type { OpDefinition } from "./op.js";
import { parameter } from "./parameter.js";
import { registerOp } from "./registry.js";
import { relu, reluGrad } from "./relu.js";
import { broadcastTo, sumTo } from "./sum_to.js";

export const BUILTIN_OPS: readonly OpDefinition<any>[] = [
  input,
  parameter,
  constant,
  matmul,
  add,
  relu,
  reluGrad,
  sumTo,
  broadcastTo,
];

for (const op of BUILTIN_OPS) registerOp(op, { replace: true });

export { attrValidator, getOp, listOps, registerOp, requireOp } from "./registry.js";
