/**
 * The planner: from a graph and the values a caller wants, a plan that is plain data —
 * a schedule (which node runs at which step), each value's lifetime, and its offset in one arena.
 *
 * Layout of the arena: parameters first (contiguous, in graph order: the optimizer walks them as one
 * block), then inputs, then the work area where values whose lifetimes do not overlap share memory.
 * Offsets in the work area are chosen greedily by size, largest first, each at the lowest offset that
 * no value alive at the same time occupies (the "greedy by size" strategy of TFLite's arena planner).
 */
import { GraphError } from "../graph/errors.js";
import { sizeOf, type ConcreteShape, type Graph, type GraphNode } from "../graph/ir.js";
import { concretize, inferShapes } from "../graph/shapes.js";
import { topologicalOrder } from "../graph/topology.js";
import { getOp } from "../ops/registry.js";

export type DType = "float32" | "float64";

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8 };

/** Offsets are multiples of this many elements (64 bytes in float32: a cache line, and SIMD-aligned). */
export const ALIGN_ELEMENTS = 16;

export interface PlanOptions {
  /** The values the caller reads after a run: they stay intact until the next run. */
  readonly outputs: readonly string[];
  /** Sizes of the symbolic dimensions, e.g. { batch: 16 }. */
  readonly sizes?: Readonly<Record<string, number>>;
  readonly dtype?: DType;
  /** Let values whose lifetimes do not overlap share memory (default true). Off: one buffer per value. */
  readonly reuse?: boolean;
}

export type Storage = "parameter" | "input" | "work";

export interface PlannedValue {
  readonly id: string;
  readonly op: string;
  readonly shape: ConcreteShape;
  readonly elements: number;
  readonly storage: Storage;
  /** Offset into the arena, in elements. */
  readonly offset: number;
  /** The step that computes it (-1 for parameters and inputs, which exist before the run). */
  readonly firstStep: number;
  /** The last step that reads it (Infinity when it must survive the run: an output, a parameter, an input). */
  readonly lastStep: number;
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
  /** Elements of the whole arena (parameters, inputs and the shared work area). */
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

  const needed = ancestorsOf(byId, options.outputs);
  const symbolic = inferShapes(graph);
  const order = topologicalOrder(graph).filter((id) => needed.has(id));

  // Schedule: every needed node that computes something, in topological order.
  const kind = (node: GraphNode): Storage => {
    const role = getOp(node.op)?.role ?? "compute";
    return role === "parameter" ? "parameter" : role === "input" ? "input" : "work";
  };
  const scheduled = order.filter((id) => kind(byId.get(id)!) === "work");
  const stepOf = new Map(scheduled.map((id, step) => [id, step]));
  const lastUse = new Map<string, number>();
  scheduled.forEach((id, step) => {
    for (const input of byId.get(id)!.inputs) lastUse.set(input, step);
  });
  const wanted = new Set(options.outputs);

  interface Draft {
    id: string;
    op: string;
    shape: ConcreteShape;
    elements: number;
    storage: Storage;
    firstStep: number;
    lastStep: number;
    offset: number;
  }
  const drafts: Draft[] = order.map((id) => {
    const node = byId.get(id)!;
    const shape = concretize(symbolic.get(id)!, sizes);
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
      lastStep: pinned ? Infinity : (lastUse.get(id) ?? stepOf.get(id)!),
      offset: 0,
    };
  });

  // Parameters, then inputs, each packed in graph order; then the work area.
  let end = 0;
  for (const storage of ["parameter", "input"] as const) {
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
  const arenaElements = workBase + workElements;

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

function ancestorsOf(byId: ReadonlyMap<string, GraphNode>, ids: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...ids];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.inputs);
  }
  return seen;
}

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
