/**
 * The ONNX protobuf schema, as onnx-proto compiles it (protobufjs' static code): the one place that
 * knows the package is CommonJS. Everything else reads and writes plain ModelProto objects through it.
 */
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
/** A decoded graph: its lists always present (protobufjs fills repeated fields with []). */
export type DecodedGraph = onnxProto.onnx.GraphProto;

/** The operator set graphnet writes: 17 has LayerNormalization, and ONNX Runtime runs it everywhere. */
export const OPSET = 17;
/** IR version 8, the one of opset 17 (ONNX 1.12) and the newest onnx-proto's schema describes. */
export const IR_VERSION = 8;

/** An int64 field as protobufjs decodes it (a number, or a Long beyond 2⁵³), as a number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  return value === null || value === undefined ? 0 : typeof value === "number" ? value : value.toNumber();
}
