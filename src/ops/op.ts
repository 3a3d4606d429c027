/**
 * What an op is: the one API through which built-in ops and users' own ops are defined.
 *
 * An op is four things side by side, as in JAX's primitives:
 *   - an attribute schema (JSON Schema), so graph files are validated and editors can complete them;
 *   - a shape rule, from the input shapes (which may hold a symbolic batch dimension) to the output shape;
 *   - a kernel factory: given concrete shapes, it returns a function computing the output into a buffer
 *     (everything that depends only on shapes is computed once, when the plan is compiled);
 *   - a gradient rule, which *builds graph nodes* for the input gradients from the output's gradient.
 *     It never computes numbers, so the backward graph can be inspected, drawn, planned and run.
 */
import type { Static, TSchema } from "#typebox";
import type { OpCheck } from "./check-hints.js";
import type { Attrs, ConcreteShape, GraphNode, Shape } from "../graph/ir.js";

export type FloatArray = Float32Array | Float64Array;

/** Per-run facts a kernel may read. Only randomised ops (dropout) and ops with state (batch_norm) care. */
export interface RunContext {
  /**
   * Training mode: dropout is active, and an op that updates state (OpDefinition.updates) updates it.
   * Evaluation mode: dropout is the identity, and state is only read.
   */
  readonly training: boolean;
  /** Seed of every random op in the plan. */
  readonly seed: number;
  /** Counter of training steps: a random op draws a new mask for each step and the same mask within one. */
  readonly step: number;
}

export interface KernelSpec<A> {
  readonly nodeId: string;
  readonly attrs: A;
  readonly inputShapes: readonly ConcreteShape[];
  readonly outputShape: ConcreteShape;
}

/**
 * Computes a node's output. `inputs[i]` and `output` are exactly sized views; the output never shares
 * memory with an input. A kernel writes only its output — except, in training mode, the inputs its op
 * declares in `updates` — and must not allocate: it runs once per node per training step.
 */
export type Kernel = (inputs: readonly FloatArray[], output: FloatArray, run: RunContext) => void;

/** A value in the graph being built: the id of the node that produces it. */
export type ValueRef = string;

/** What a gradient rule sees and the one thing it can do: add nodes to the backward graph. */
export interface GradientBuilder<A> {
  /** The forward node being differentiated. */
  readonly node: GraphNode & { readonly attrs: A };
  /** Its inputs, as values of the graph. */
  readonly inputs: readonly ValueRef[];
  /** Its output. */
  readonly output: ValueRef;
  /** d(loss)/d(output): same shape as the output. */
  readonly dy: ValueRef;
  /** Whether the gradient of input i is wanted; a rule may skip building what nobody needs. */
  needs(i: number): boolean;
  shapeOf(value: ValueRef): Shape;
  /** Adds a node and returns its value. Its shape is inferred at once, so a broken rule fails here. */
  emit(op: string, inputs: readonly ValueRef[], attrs?: Attrs): ValueRef;
}

/**
 * A gradient rule returns, for each input, its gradient (or null when the input is not differentiable
 * or not needed). A gradient may have the *output's* shape where the op broadcasts: autodiff sums it
 * back to the input's shape, in one place, for every op.
 */
export type GradientRule<A> = (g: GradientBuilder<A>) => readonly (ValueRef | null)[];

/** How the executor treats an op's node. */
export type OpRole =
  /** Computed by its kernel every run. */
  | "compute"
  /** Fed by the caller before each run (images, labels). */
  | "input"
  /** Trainable state: lives across runs, initialised once, updated by the optimizer. */
  | "parameter"
  /**
   * Non-trainable state (a batch norm's running averages): lives across runs beside the parameters,
   * initialised once, saved in checkpoints; updated in training mode by the one node that declares it
   * in `updates`, never by the optimizer, and never differentiated.
   */
  | "state";

/**
 * How the WebAssembly backend computes an op with one of its module's exports (asm/kernels.ts), called
 * over the op's views by byte offsets: the backend shares the call with its worker thread and checks it
 * against the op's own kernel (test/exec/wasm-backend.test.ts).
 */
export interface WasmCall {
  /** The export's name. */
  readonly export: string;
  /**
   * How it is called, every input of the output's shape:
   *   "elements" — export(inputs…, out, count), over every element;
   *   "rows"     — export(inputs…, out, rows, n), over the rows of the last axis (n values each).
   */
  readonly over: "elements" | "rows";
  /** "high" when each value costs an exponential or more: then even small calls are worth sharing. */
  readonly cost?: "low" | "high";
}

/**
 * A backend's own kernel for an op, in place of the op's `kernel` where it covers the case: given the
 * same spec and the backend's context (for "wasm", a WasmKernelContext: its memory, module and worker),
 * a Kernel over the backend's views — or, for the built-in ops, whose calls the backend knows how to
 * make, a WasmCall — or undefined where it does not cover the case (the op's own kernel runs then).
 */
// `context: never` accepts a function of any backend's context type: the backend that calls it knows its own.
export type BackendKernel<A> = (spec: KernelSpec<A>, context: never) => Kernel | WasmCall | undefined;

export interface OpDefinition<A = Attrs> {
  readonly name: string;
  /** One line for `graphnet inspect`, the docs and the schema's descriptions. */
  readonly summary: string;
  readonly role?: OpRole;
  /** Names of the inputs, in order; their count is the op's arity. */
  readonly inputs: readonly string[];
  /**
   * Names of the inputs this op's kernel overwrites in training mode (and only then): non-trainable
   * state it updates once per training run, such as a batch norm's running averages. Each must be fed
   * by a node of role "state", and no two nodes may update the same state (checkStateUpdates). Every
   * other input, and all of them in evaluation mode, the kernel leaves alone. The gradient rule gives
   * these inputs no gradient (null).
   */
  readonly updates?: readonly string[];
  /** JSON Schema of the attributes object. */
  readonly attrs: TSchema | Record<string, unknown>;
  /** Output shape from input shapes; throws ShapeError with a message a person can act on. */
  readonly shape: (inputShapes: readonly Shape[], attrs: A) => Shape;
  readonly kernel: (spec: KernelSpec<A>) => Kernel;
  /** Faster kernels by backend name (see BackendKernel): "wasm" is the one backend with its own so far. */
  readonly fast?: { readonly wasm?: BackendKernel<A> };
  readonly gradient?: GradientRule<A>;
  /**
   * The formula a backward node implements, for pictures and listings (for example "δ = A − Y"); a
   * function of the node's attributes and input ids when it depends on them (a matmul's transposes).
   */
  readonly formula?: string | ((attrs: A, inputs: readonly string[]) => string);
  /**
   * Hints for `graphnet gradcheck` (checkOp): how to draw random inputs this op accepts — shape templates,
   * attribute samples, value ranges, the inputs to differentiate, kinks to avoid. Without it the op is
   * checked as an elementwise op. See src/ops/check-hints.ts.
   */
  readonly check?: OpCheck<A>;
  /**
   * How `graphnet export` writes a node of this op as ONNX operators (see OnnxLowering). Ops without it
   * cannot be exported: the backward-only ops need none, and a graph holding a node of one is refused.
   */
  readonly onnx?: OnnxLowering<A>;
}

/** An ONNX attribute, tagged with its ONNX type (a JavaScript number alone cannot tell INT from FLOAT). */
export type OnnxAttribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

/**
 * What an op's ONNX lowering sees of the node it writes, and the two things it can do: add ONNX nodes
 * (of the default domain, opset 17) and add constant tensors. The last node it adds must produce
 * `output`, the node's id, which the nodes reading it use.
 */
export interface OnnxExportContext<A> {
  readonly node: GraphNode & { readonly attrs: A };
  /** The ONNX names of the node's inputs, in the op's order. */
  readonly inputs: readonly string[];
  /** Its inputs' shapes and its output's ("batch" stays a symbol: ONNX's symbolic dimension). */
  readonly inputShapes: readonly Shape[];
  readonly outputShape: Shape;
  /** The name the node's value must have in the ONNX graph (its id). */
  readonly output: string;
  /**
   * Adds an ONNX node reading `inputs` ("" for an optional input left out) and returns the name of its
   * output: `output` when given, else a fresh name derived from the node's id.
   */
  emit(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttribute>>, output?: string): string;
  /** A constant tensor (an initializer): int64 for shapes and axes, float for numbers; a scalar without `dims`. */
  constant(values: readonly number[], type: "int64" | "float", dims?: readonly number[]): string;
}

/** An op's ONNX lowering: `export` adds the ONNX nodes that compute one node of the op (OnnxExportContext). */
export interface OnnxLowering<A> {
  readonly export: (context: OnnxExportContext<A>) => void;
}

/** The lowering of an op that is one ONNX operator over the node's inputs, with fixed attributes. */
export function onnxOperator<A = Attrs>(opType: string, attrs?: Readonly<Record<string, OnnxAttribute>>): OnnxLowering<A> {
  return { export: (c) => void c.emit(opType, c.inputs, attrs, c.output) };
}

/** Thrown by shape rules. `field` is "inputs" or an attribute name, for the error message. */
export class ShapeError extends Error {
  constructor(
    message: string,
    readonly field: string = "inputs",
  ) {
    super(message);
    this.name = "ShapeError";
  }
}

/**
 * Typed helper for writing an op in TypeScript: the attribute type follows from the TypeBox schema.
 * Users writing plain JavaScript pass the same object shape with a plain JSON Schema.
 */
export function defineOp<S extends TSchema>(def: Omit<OpDefinition<NoInfer<Static<S>>>, "attrs"> & { readonly attrs: S }): OpDefinition<Static<S>> {
  return def;
}

/** The formula of a node of this op, if the op has one. */
export function formulaOf<A>(op: OpDefinition<A>, node: { readonly attrs: A; readonly inputs: readonly string[] }): string | undefined {
  return typeof op.formula === "function" ? op.formula(node.attrs, node.inputs) : op.formula;
}
