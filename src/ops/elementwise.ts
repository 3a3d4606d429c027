/**
 * Builders for the elementwise ops, so that each op's file says only what is particular to it:
 * its formula and its gradient.
 */
import type { OpCheck } from "./check-hints.js";
import { formatShape, sameShape, sizeOf, type Shape } from "../graph/ir.js";
import { NO_ATTRS, type NoAttrs } from "./attrs.js";
import { binaryKernel, broadcastShapes } from "./broadcast.js";
import { ShapeError, onnxOperator, type GradientRule, type OnnxLowering, type OpDefinition, type WasmCall } from "./op.js";

/** A call of the WebAssembly export `name` over every element (the backend calls it where no operand broadcasts). */
function elementwiseCall(name: string): () => WasmCall {
  const call: WasmCall = { export: name, over: "elements" };
  return () => call;
}

/** y = f(x), elementwise. */
export function unaryOp(def: {
  name: string;
  summary: string;
  f: (x: number) => number;
  /** The WebAssembly export computing f over the elements (as the op's `fast.wasm`). */
  wasm?: string;
  gradient?: GradientRule<NoAttrs>;
  formula?: string;
  check?: OpCheck<NoAttrs>;
  /** The ONNX operator computing the same (its name, for onnxOperator), or a lowering of its own. */
  onnx?: string | OnnxLowering<NoAttrs>;
}): OpDefinition<NoAttrs> {
  const { f } = def;
  return {
    name: def.name,
    summary: def.summary,
    inputs: ["x"],
    attrs: NO_ATTRS,
    shape: ([x]) => x!,
    kernel: ({ outputShape }) => {
      const n = sizeOf(outputShape);
      return ([x], out) => {
        for (let k = 0; k < n; k++) out[k] = f(x![k]!);
      };
    },
    ...(def.wasm ? { fast: { wasm: elementwiseCall(def.wasm) } } : {}),
    ...(def.gradient ? { gradient: def.gradient } : {}),
    ...(def.formula ? { formula: def.formula } : {}),
    ...(def.check ? { check: def.check } : {}),
    ...(def.onnx ? { onnx: typeof def.onnx === "string" ? onnxOperator(def.onnx) : def.onnx } : {}),
  };
}

/** out = f(a, b), elementwise with broadcasting. */
export function binaryOp(def: {
  name: string;
  summary: string;
  inputs?: [string, string];
  f: (a: number, b: number) => number;
  /** Broadcasting allowed (add, mul) or shapes must match (the activation derivatives). */
  broadcast: boolean;
  /** The WebAssembly export computing f over the elements of two operands of the output's shape. */
  wasm?: string;
  gradient?: GradientRule<NoAttrs>;
  formula?: string;
  check?: OpCheck<NoAttrs>;
  /** The ONNX operator computing the same (its name, for onnxOperator), or a lowering of its own. */
  onnx?: string | OnnxLowering<NoAttrs>;
}): OpDefinition<NoAttrs> {
  const { f } = def;
  return {
    name: def.name,
    summary: def.summary,
    inputs: def.inputs ?? ["a", "b"],
    attrs: NO_ATTRS,
    shape: ([a, b]) => (def.broadcast ? broadcastShapes(a!, b!) : sameShapes(a!, b!)),
    kernel: ({ inputShapes: [a, b], outputShape }) => binaryKernel(a!, b!, outputShape, f),
    ...(def.wasm ? { fast: { wasm: elementwiseCall(def.wasm) } } : {}),
    ...(def.gradient ? { gradient: def.gradient } : {}),
    ...(def.formula ? { formula: def.formula } : {}),
    ...(def.check ? { check: def.check } : {}),
    ...(def.onnx ? { onnx: typeof def.onnx === "string" ? onnxOperator(def.onnx) : def.onnx } : {}),
  };
}

export function sameShapes(a: Shape, b: Shape): Shape {
  if (!sameShape(a, b)) throw new ShapeError(`both inputs must have the same shape, got ${formatShape(a)} and ${formatShape(b)}.`);
  return a;
}
