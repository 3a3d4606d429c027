/**
 * The planner: from a graph and the values a caller wants, a plan that is plain data —
 * a schedule (which node runs at which step), each value's lifetime, and its offset in one arena.
 *
 * Layout of the arena: parameters first (contiguous, in graph order: the optimizer walks them as one
 * block), then the non-trainable state, then inputs, then the work area where values whose lifetimes do not overlap share memory.
 * Offsets in the work area are chosen greedily by size, largest first, each at the lowest offset that
 * no value alive at the same time occupies (the "greedy by size" strategy of TFLite's arena planner).
 */
import { GraphError } from "../graph/errors.js";
import { formatShape, sizeOf, type ConcreteShape, type Graph, type GraphNode, type Shape } from "../graph/ir.js";
import { checkDimensionSize, concretize, inferShapes } from "../graph-file/shapes.js";
import { checkStateUpdates } from "../graph-file/state-updates.js";
import { ancestorsOf, topologicalOrder } from "../graph/topology.js";
import { getOp } from "../ops/registry.js";
import { formatExactBytes } from "../util/format-bytes.js";

export type DType = "float32" | "float64";

const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8 };

/** Offsets are multiples of this many elements (64 bytes in float32: a cache line, and SIMD-aligned). */
const ALIGN_ELEMENTS = 16;

/**
 * The largest arena compilePlan lays out unless told otherwise: 4 GiB, which is 2^30 elements in
 * float32 and 2^29 in float64. A plan is refused when it would need more, before anything is allocated.
 *
 * Why 4 GiB: the report's network plans a training step at the largest batch_size (65,536) in about
 * 0.3 GiB of float32 (0.6 GiB in float64, as gradcheck runs), so the limit leaves ample room; and it stays
 * below the memory of an ordinary machine, so a batch size with a few digits too many fails at once with
 * a message saying what to do, instead of failing to allocate, swapping, or computing for minutes. A
 * caller that really wants more passes `maxArenaBytes`.
 */
export const MAX_ARENA_BYTES = 2 ** 32;

/**
 * The longest typed array Node makes (2^32 elements in Node 20's V8). The arena is one typed array, so
 * no plan can exceed it, whatever `maxArenaBytes` says; every value, a view into the arena, is smaller.
 */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

export interface PlanOptions {
  /** The values the caller reads after a run: they stay intact until the next run. */
  readonly outputs: readonly string[];
  /** Sizes of the symbolic dimensions, e.g. { batch: 16 }. */
  readonly sizes?: Readonly<Record<string, number>>;
  readonly dtype?: DType;
  /** Let values whose lifetimes do not overlap share memory (default true). Off: one buffer per value. */
  readonly reuse?: boolean;
  /** Refuse a plan whose arena would take more bytes than this (default MAX_ARENA_BYTES, 4 GiB). */
  readonly maxArenaBytes?: number;
  /**
   * Inputs whose values are mostly zeros (MNIST's pixels are four fifths zeros): a backend may skip their
   * zeros in a product, which gives the same result. Default: none.
   */
  readonly mostlyZeros?: readonly string[];
  /**
   * Schedule the parameters' gradients (the graph's `gradients`, where no other node reads them) after
   * every other step, and give each value computed before them memory of its own for the whole run. A
   * training step then computes everything that goes row by row over the batch (the forward pass, the
   * loss, the deltas) before the weight gradients, which sum over the rows: the wasm backend hands that
   * first part to its worker thread as one job (backends/wasm/chain.ts), then the gradients as another
   * (call-group.ts), and the two threads, each at its own step of a job, must not write where the other
   * still reads. The values are the same; the arena holds every value at once (for the report's MLP at
   * batch 256, 2.7 MB instead of 1.8). Default false.
   */
  readonly gradientsLast?: boolean;
}

/** Where a value lives: with the parameters, the non-trainable state or the fed inputs (all across runs), or in the shared work area. */
export type Storage = "parameter" | "state" | "input" | "work";

export interface PlannedValue {
  readonly id: string;
  readonly op: string;
  readonly shape: ConcreteShape;
  readonly elements: number;
  readonly storage: Storage;
  /** Offset into the arena, in elements. */
  readonly offset: number;
  /** The step that computes it (-1 for parameters, state and inputs, which exist before the run). */
  readonly firstStep: number;
  /** The last step that reads it (Infinity when it must survive the run: an output, a parameter, a state, an input). */
  readonly lastStep: number;
  /** An input said to hold mostly zeros (PlanOptions.mostlyZeros). */
  readonly mostlyZeros: boolean;
}

export interface PlanStep {
  readonly node: GraphNode;
  readonly output: PlannedValue;
  readonly inputs: readonly PlannedValue[];
}

export interface Plan {
  readonly dtype: DType;
  readonly sizes: Readonly<Record<string, number>>;
  readonly outputs: readonly string[];
  readonly steps: readonly PlanStep[];
  readonly values: ReadonlyMap<string, PlannedValue>;
  /** Elements of the whole arena (parameters, state, inputs and the shared work area). */
  readonly arenaElements: number;
  readonly parameterElements: number;
  /** Bytes of the arena, against the bytes one buffer per value would take. */
  readonly arenaBytes: number;
  readonly naiveBytes: number;
}

export function compilePlan(graph: Graph, options: PlanOptions): Plan {
  const dtype = options.dtype ?? "float32";
  const sizes = options.sizes ?? {};
  const reuse = options.reuse ?? true;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const id of options.outputs) {
    if (!byId.has(id)) throw new GraphError(`cannot plan for output "${id}": no such node in graph "${graph.name}".`, { field: "outputs" });
  }

  for (const [symbol, size] of Object.entries(sizes)) checkDimensionSize(symbol, size);
  // A kernel that updates its inputs must be writing state, in storage no other value shares.
  checkStateUpdates(graph);

  const needed = ancestorsOf(options.outputs, byId);
  const symbolic = inferShapes(graph);
  const topological = topologicalOrder(graph).filter((id) => needed.has(id));
  const order = options.gradientsLast ? gradientsLast(graph, topological, byId) : topological;

  // Schedule: every needed node that computes something, in topological order.
  const kind = (node: GraphNode): Storage => {
    const role = getOp(node.op)?.role ?? "compute";
    return role === "parameter" || role === "state" || role === "input" ? role : "work";
  };
  const scheduled = order.filter((id) => kind(byId.get(id)!) === "work");
  const stepOf = new Map(scheduled.map((id, step) => [id, step]));
  // With gradientsLast, the steps before the first gradient: their values each keep their memory to the
  // last step (the gradients read them, and may be computed by two threads at once: none may take it).
  const gradientIds = new Set(Object.values(graph.gradients ?? {}));
  const rowsEnd = options.gradientsLast ? scheduled.findIndex((id) => gradientIds.has(id)) : -1;
  const lastUse = new Map<string, number>();
  scheduled.forEach((id, step) => {
    for (const input of byId.get(id)!.inputs) lastUse.set(input, step);
  });
  const wanted = new Set(options.outputs);
  const mostlyZeros = new Set(options.mostlyZeros ?? []);
  for (const id of mostlyZeros) {
    if (byId.get(id)?.op === undefined || kind(byId.get(id)!) !== "input") {
      throw new GraphError(`cannot plan "${id}" as mostly zeros: it is not an input of graph "${graph.name}" (only fed values can be).`, {
        field: "mostlyZeros",
      });
    }
  }

  const symbolicShapes = order.map((id) => symbolic.get(id)!);
  /** Every needed value, with its concrete shape and lifetime, at the given sizes (offsets not yet set). */
  const draftsAt = (at: Readonly<Record<string, number>>): Draft[] =>
    order.map((id, i) => {
      const node = byId.get(id)!;
      const shape = concretize(symbolicShapes[i]!, at);
      const storage = kind(node);
      const pinned = storage !== "work" || wanted.has(id);
      return {
        id,
        op: node.op,
        shape,
        elements: sizeOf(shape),
        storage,
        firstStep: storage === "work" ? stepOf.get(id)! : -1,
        // A computed value nobody reads is still written once: it lives for its own step.
        lastStep: pinned ? Infinity : Math.max(lastUse.get(id) ?? stepOf.get(id)!, storage === "work" && stepOf.get(id)! < rowsEnd ? scheduled.length - 1 : -1),
        mostlyZeros: mostlyZeros.has(id),
        offset: 0,
      };
    });

  const drafts = draftsAt(sizes);
  const { parameterElements, workBase, arenaElements } = layOut(drafts, reuse);
  // Before anything is allocated: an absurd size fails here, saying what would fit.
  checkArenaSize({
    graph,
    dtype,
    sizes,
    drafts,
    arenaElements,
    maxBytes: options.maxArenaBytes ?? MAX_ARENA_BYTES,
    symbolicShapes,
    arenaElementsAt: (other) => layOut(draftsAt(other), reuse).arenaElements,
  });
  const work = drafts.filter((d) => d.storage === "work");

  const values = new Map<string, PlannedValue>(drafts.map((d) => [d.id, Object.freeze({ ...d })]));
  const steps: PlanStep[] = scheduled.map((id) => {
    const node = byId.get(id)!;
    return { node, output: values.get(id)!, inputs: node.inputs.map((i) => values.get(i)!) };
  });
  const bytes = BYTES_PER_ELEMENT[dtype];
  // One buffer per value, laid out with the same alignment: exactly the arena of a plan with reuse off, so
  // the two are comparable (an unaligned sum could be smaller than a small graph's aligned reuse arena).
  const naiveElements = workBase + work.reduce((n, d) => n + align(d.elements), 0);
  return {
    dtype,
    sizes: { ...sizes },
    outputs: [...options.outputs],
    steps,
    values,
    arenaElements,
    parameterElements,
    arenaBytes: arenaElements * bytes,
    naiveBytes: naiveElements * bytes,
  };
}

/**
 * `order` (topological) with the parameters' gradients that no node reads moved after every other node,
 * in their own order: still topological, as nothing reads them. (Only the gradients themselves move: the
 * deltas they are computed from are read by them alone too, but belong to the part that goes row by row.)
 */
function gradientsLast(graph: Graph, order: readonly string[], byId: ReadonlyMap<string, GraphNode>): string[] {
  const read = new Set(order.flatMap((id) => byId.get(id)!.inputs));
  const gradients = new Set(Object.values(graph.gradients ?? {}));
  const last = (id: string) => gradients.has(id) && !read.has(id);
  return [...order.filter((id) => !last(id)), ...order.filter(last)];
}

interface Draft {
  id: string;
  op: string;
  shape: ConcreteShape;
  elements: number;
  storage: Storage;
  firstStep: number;
  lastStep: number;
  mostlyZeros: boolean;
  offset: number;
}

/** Sets every draft's offset: parameters, then state, then inputs, each packed in graph order; then the work area. */
function layOut(drafts: Draft[], reuse: boolean): { parameterElements: number; workBase: number; arenaElements: number } {
  let end = 0;
  for (const storage of ["parameter", "state", "input"] as const) {
    for (const d of drafts.filter((v) => v.storage === storage)) {
      d.offset = end;
      end = align(end + d.elements);
    }
  }
  const parameterElements = drafts.filter((d) => d.storage === "parameter").reduce((n, d) => Math.max(n, align(d.offset + d.elements)), 0);
  const work = drafts.filter((d) => d.storage === "work");
  const workBase = end;
  const workElements = reuse ? placeGreedyBySize(work) : placeOneEach(work);
  for (const d of work) d.offset += workBase;
  return { parameterElements, workBase, arenaElements: workBase + workElements };
}

interface ArenaCheck {
  readonly graph: Graph;
  readonly dtype: DType;
  readonly sizes: Readonly<Record<string, number>>;
  readonly drafts: readonly Draft[];
  readonly arenaElements: number;
  readonly maxBytes: number;
  /** The symbolic shapes of the planned values, to tell which symbols the plan's size depends on. */
  readonly symbolicShapes: readonly Shape[];
  /** The arena's elements at other sizes. */
  readonly arenaElementsAt: (sizes: Readonly<Record<string, number>>) => number;
}

/**
 * Refuses a plan whose arena would exceed the byte limit or the longest typed array, with the bytes it
 * needs, its largest value, and the largest size of its one symbol (the batch) that would fit.
 */
function checkArenaSize({ graph, dtype, sizes, drafts, arenaElements, maxBytes, symbolicShapes, arenaElementsAt }: ArenaCheck): void {
  const bytesPerElement = BYTES_PER_ELEMENT[dtype];
  const withinLimits = (elements: number) => elements <= MAX_TYPED_ARRAY_LENGTH && elements * bytesPerElement <= maxBytes;
  if (withinLimits(arenaElements)) return;

  const largest = drafts.reduce((a, b) => (b.elements > a.elements ? b : a));
  const symbols = [...new Set(symbolicShapes.flatMap((shape) => shape.filter((d): d is string => typeof d === "string")))];
  const at = symbols.length === 0 ? "" : ` at ${symbols.map((symbol) => `${symbol} = ${count(sizes[symbol]!)}`).join(", ")}`;
  const limit =
    arenaElements * bytesPerElement <= maxBytes
      ? `more than the ${count(MAX_TYPED_ARRAY_LENGTH)} elements a typed array can hold, and the arena is one typed array`
      : `more than the limit of ${formatExactBytes(maxBytes)}`;
  let advice: string;
  if (symbols.length === 1) {
    const symbol = symbols[0]!;
    const best = largestFitting(sizes[symbol]!, (size) => withinLimits(arenaElementsAt({ ...sizes, [symbol]: size })));
    advice =
      best === undefined
        ? `It does not fit even at ${symbol} = 1: check the graph's sizes for a typo.`
        : `Compile it for a smaller ${symbol}: ${symbol} = ${count(best)} is the largest that fits.`;
  } else if (symbols.length === 0) {
    advice = "Its shapes are all fixed by the graph: check its sizes for a typo.";
  } else {
    advice = `Compile it for smaller sizes (${symbols.join(", ")}).`;
  }
  throw new GraphError(
    `the plan for graph "${graph.name}"${at} needs ${formatExactBytes(arenaElements * bytesPerElement)} of ${dtype} memory (an arena of ${count(arenaElements)} elements), ${limit}. ` +
      `Its largest value is "${largest.id}", of shape ${formatShape(largest.shape)}: ${formatExactBytes(largest.elements * bytesPerElement)}. ${advice}`,
  );
}

/** The largest size in [1, tooLarge) for which `fits` holds, by bisection (the arena grows with the size); undefined if 1 does not fit. */
function largestFitting(tooLarge: number, fits: (size: number) => boolean): number | undefined {
  if (!fits(1)) return undefined;
  // Some value of the plan has the symbol as a dimension, so it holds at least `size` elements: no size beyond the longest typed array fits.
  let lo = 1;
  let hi = Math.min(tooLarge, MAX_TYPED_ARRAY_LENGTH + 1);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

const count = (n: number) => n.toLocaleString("en-US");

function align(elements: number): number {
  return Math.ceil(elements / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
}

interface Interval {
  elements: number;
  firstStep: number;
  lastStep: number;
  offset: number;
}

const overlapsInTime = (a: Interval, b: Interval) => a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;

/** Assigns offsets (relative to the work area) and returns the work area's size in elements. */
function placeGreedyBySize(values: Interval[]): number {
  const placed: Interval[] = [];
  let size = 0;
  const bySize = [...values].sort((a, b) => b.elements - a.elements || a.firstStep - b.firstStep);
  for (const value of bySize) {
    const busy = placed.filter((p) => overlapsInTime(p, value)).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of busy) {
      if (offset + value.elements <= p.offset) break;
      offset = Math.max(offset, align(p.offset + p.elements));
    }
    value.offset = offset;
    placed.push(value);
    size = Math.max(size, align(offset + value.elements));
  }
  return size;
}

function placeOneEach(values: Interval[]): number {
  let end = 0;
  for (const value of values) {
    value.offset = end;
    end = align(end + value.elements);
  }
  return end;
}
