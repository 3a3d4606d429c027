/**
 * Reading an ONNX file: the bytes decoded by the schema, then checked to be a model graphnet can read —
 * each way a file can fail (cut short, not protobuf at all, protobuf but not a model, weights stored in
 * another file) said in one line naming the file.
 */
import { UserError } from "../graph/errors.js";
import { onnx, toNumber, type DecodedGraph, type TensorProto } from "./proto.js";

export interface DecodedModel {
  readonly model: DecodedModelProto;
  readonly graph: DecodedGraph;
  /** The version of the default operator set ("" or "ai.onnx") the model was written for. */
  readonly opset: number;
}

type DecodedModelProto = ReturnType<typeof onnx.ModelProto.decode>;

export function decodeModel(bytes: Uint8Array, file: string): DecodedModel {
  if (bytes.length === 0) throw new UserError(`${file}: not an ONNX model: the file is empty.`);
  let model: DecodedModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    const message = (err as Error).message;
    const truncated = /index out of range/.test(message);
    throw new UserError(
      truncated
        ? `${file}: not a whole ONNX model: the file ends in the middle of a protobuf message (${bytes.length.toLocaleString("en-US")} bytes): it is truncated, or not an ONNX file at all.`
        : `${file}: not an ONNX model: the file is not protobuf (${message}).`,
    );
  }
  if (!model.graph || ((model.graph.node ?? []).length === 0 && (model.graph.output ?? []).length === 0) || model.opsetImport.length === 0) {
    throw new UserError(
      `${file}: not an ONNX model: it decodes as protobuf but holds no model graph${model.opsetImport.length === 0 ? " or operator set" : ""}.`,
    );
  }
  const defaults = model.opsetImport.filter((o) => o.domain === "" || o.domain === "ai.onnx" || o.domain == null);
  if (defaults.length === 0)
    throw new UserError(`${file}: the model imports no version of ONNX's default operator set (only ${model.opsetImport.map((o) => o.domain).join(", ")}).`);
  return { model, graph: model.graph as DecodedGraph, opset: toNumber(defaults[0]!.version) };
}

/** A tensor's values as numbers, with its dimensions: float, double, int32 and int64 tensors, inline or raw. */
export function tensorValues(tensor: TensorProto, file: string): { dims: number[]; values: Float64Array | Float32Array } {
  const T = onnx.TensorProto.DataType;
  const dims = (tensor.dims ?? []).map(toNumber);
  const count = dims.reduce((n, d) => n * d, 1);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new UserError(
      `${file}: tensor "${tensor.name}" keeps its values in another file (external data), which graphnet does not read; save the model with its weights inside.`,
    );
  }
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const fromRaw = (width: number, read: (offset: number) => number) => {
    if (raw!.length !== count * width)
      throw new UserError(`${file}: tensor "${tensor.name}" holds ${raw!.length} bytes, but ${count} values of its type take ${count * width}.`);
    return Float64Array.from({ length: count }, (_, i) => read(i * width));
  };
  let values: Float64Array | Float32Array;
  switch (tensor.dataType) {
    case T.FLOAT:
      values = view ? Float32Array.from(fromRaw(4, (o) => view.getFloat32(o, true))) : Float32Array.from(tensor.floatData ?? []);
      break;
    case T.DOUBLE:
      values = view ? fromRaw(8, (o) => view.getFloat64(o, true)) : Float64Array.from(tensor.doubleData ?? []);
      break;
    case T.INT64:
      values = view ? fromRaw(8, (o) => Number(view.getBigInt64(o, true))) : Float64Array.from((tensor.int64Data ?? []).map(toNumber));
      break;
    case T.INT32:
      values = view ? fromRaw(4, (o) => view.getInt32(o, true)) : Float64Array.from(tensor.int32Data ?? []);
      break;
    default: {
      const name = (T as unknown as Record<number, string>)[tensor.dataType ?? 0] ?? String(tensor.dataType);
      throw new UserError(`${file}: tensor "${tensor.name}" is of type ${name}; graphnet reads float, double, int32 and int64 tensors.`);
    }
  }
  if (values.length !== count)
    throw new UserError(`${file}: tensor "${tensor.name}" holds ${values.length} values, but its dimensions [${dims.join(", ")}] make ${count}.`);
  return { dims, values };
}
