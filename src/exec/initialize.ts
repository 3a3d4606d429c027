/**
 * Parameter initialisation from each parameter node's `init` attribute, seeded.
 * As in the report: biases zero (a batch norm's scale γ one); weights from an "adjusted normal": He (std
 * √(2/fan_in)) before relu, Xavier (std √(1/fan_in)) otherwise. fan_in is what each output sums over: the
 * first dimension of a [fan_in, fan_out] weight, C·KH·KW of a convolution's [F, C, KH, KW] filter.
 * The non-trainable state is set from its `init` too (zeros or ones: nothing random), here, so that
 * whatever initialises a plan's parameters readies all it keeps across runs.
 */
import type { Graph } from "../graph/ir.js";
import { STATE_INITIALIZERS } from "../ops/state.js";
import { Random, hashString } from "../util/random.js";
import type { Executor } from "./executor.js";

export function initializeParameters(executor: Executor, graph: Graph, seed: number): void {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const id of executor.parameterIds()) {
    const attrs = byId.get(id)!.attrs as { init: string; std?: number };
    const view = executor.view(id);
    const shape = executor.value(id).shape;
    const fanIn = shape.length >= 3 ? shape.slice(1).reduce((n, d) => n * d, 1) : shape.length >= 1 ? shape[0]! : 1;
    // Each parameter has its own stream, so adding a parameter does not change the others' values.
    const random = new Random((seed ^ hashString(id)) >>> 0);
    const std =
      attrs.init === "he_normal"
        ? Math.sqrt(2 / fanIn)
        : attrs.init === "xavier_normal"
          ? Math.sqrt(1 / fanIn)
          : attrs.init === "normal"
            ? (attrs.std ?? 1)
            : 0;
    if (attrs.init === "ones") view.fill(1);
    else for (let i = 0; i < view.length; i++) view[i] = std === 0 ? 0 : std * random.normal();
  }
  for (const id of executor.stateIds()) {
    const init = byId.get(id)!.attrs.init as keyof typeof STATE_INITIALIZERS;
    executor.view(id).fill(STATE_INITIALIZERS[init]);
  }
}
