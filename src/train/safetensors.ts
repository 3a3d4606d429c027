/**
 * The safetensors format (Hugging Face), so that PyTorch, NumPy and others read our weights:
 *   8 bytes   little-endian u64: N, the length of the header
 *   N bytes   JSON: { name: { dtype: "F32", shape: [...], data_offsets: [begin, end] }, "__metadata__": { string: string } }
 *   the data  each tensor's bytes, little-endian, at its offsets counted from the end of the header
 */
import { Type, type Static } from "#typebox";
import { UserError } from "../graph/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { readGivenFile } from "../util/fs-errors.js";
import { formatCheck, formatProblem } from "./schema-check.js";

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const expected = tensor.shape.reduce((a, b) => a * b, 1);
    if (expected !== tensor.data.length)
      throw new Error(`tensor "${name}": shape [${tensor.shape.join(", ")}] needs ${expected} values, got ${tensor.data.length}`);
    header[name] = { dtype: "F32", shape: [...tensor.shape], data_offsets: [offset, offset + tensor.data.byteLength] };
    offset += tensor.data.byteLength;
  }
  // The header is padded with spaces to a multiple of 8 bytes, so the data is aligned.
  let json = JSON.stringify(header);
  while ((Buffer.byteLength(json) + 8) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    out.set(littleEndian(bytes), at);
    at += bytes.length;
  }
  return out;
}

/** One tensor's entry in the header. graphnet writes and reads F32 only; other dtypes are refused by name below. */
const TensorEntrySchema = Type.Object(
  {
    dtype: Type.String({ description: 'the element type, "F32"' }),
    shape: Type.Array(Type.Integer({ minimum: 0 }), { description: "the size of each dimension, whole numbers ≥ 0" }),
    data_offsets: Type.Array(Type.Integer({ minimum: 0 }), {
      minItems: 2,
      maxItems: 2,
      description: "[begin, end], byte offsets counted from the end of the header",
    }),
  },
  { additionalProperties: false },
);

/** The header: tensors by name, and an optional map of strings under "__metadata__". */
const HeaderSchema = Type.Object({ __metadata__: Type.Optional(Type.Record(Type.String(), Type.String())) }, { additionalProperties: TensorEntrySchema });

type Header = { __metadata__?: Record<string, string> } & Record<string, Static<typeof TensorEntrySchema>>;

const header = formatCheck<Header>(HeaderSchema, "safetensors header");

const BYTES_PER_F32 = 4;

export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.length < 8) throw new UserError(`${file}: not a safetensors file (shorter than its 8-byte header length).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw new UserError(`${file}: not a safetensors file (its header length ${headerLength} exceeds the file).`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString("utf8"));
  } catch {
    throw new UserError(`${file}: not a safetensors file (its header is not JSON).`);
  }
  const { __metadata__: metadata = {}, ...entries } = header.check(parsed, file);
  const dataStart = 8 + headerLength;
  const dataBytes = bytes.length - dataStart;
  const tensors = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(entries)) {
    const problem = (what: string) => new UserError(formatProblem(file, "safetensors header", [name], what));
    if (entry.dtype !== "F32") throw problem(`tensor of dtype ${JSON.stringify(entry.dtype)}; graphnet reads F32 tensors only.`);
    const [begin, end] = entry.data_offsets as [number, number];
    const needed = entry.shape.reduce((a, b) => a * b, 1) * BYTES_PER_F32;
    if (end < begin) throw problem(`data_offsets [${begin}, ${end}] end before they begin.`);
    if (end - begin !== needed) {
      throw problem(`shape [${entry.shape.join(", ")}] of F32 takes ${needed} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}.`);
    }
    if (end > dataBytes) throw problem(`data_offsets [${begin}, ${end}] reach past the end of the file, whose data holds ${dataBytes} bytes.`);
    // A copy: the data may start at any byte (8-byte alignment is customary, not required), and a
    // Float32Array view needs a multiple of 4. (Not bytes.slice: on a Node Buffer that is a view.)
    const copy = littleEndian(new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)));
    tensors.set(name, { shape: entry.shape, data: new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / BYTES_PER_F32) });
  }
  checkDataTiled(entries, dataBytes, file);
  return { tensors, metadata };
}

/**
 * The format's rule, as its reference reader enforces it: the tensors' byte spans cover the data exactly,
 * one after another, with no overlap, no gap and nothing after the last. Two tensors sharing bytes
 * would be one edit away from corrupting each other; bytes no tensor holds mean the file is not what
 * its header says.
 */
function checkDataTiled(entries: Record<string, { data_offsets: number[] }>, dataBytes: number, file: string): void {
  const spans = Object.entries(entries)
    .map(([name, entry]) => ({ name, begin: entry.data_offsets[0]!, end: entry.data_offsets[1]! }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  const refuse = (what: string) => new UserError(formatProblem(file, "safetensors header", [], what));
  let covered = 0;
  let previous: (typeof spans)[number] | undefined;
  for (const span of spans) {
    if (span.begin < covered) {
      throw refuse(
        `tensors "${previous!.name}" [${previous!.begin}, ${previous!.end}] and "${span.name}" [${span.begin}, ${span.end}] share bytes: each byte of the data belongs to one tensor.`,
      );
    }
    if (span.begin > covered) {
      throw refuse(
        `bytes [${covered}, ${span.begin}) of the data belong to no tensor (before "${span.name}"): the tensors' data_offsets must follow one another with no gap.`,
      );
    }
    covered = span.end;
    previous = span;
  }
  if (covered !== dataBytes) {
    throw refuse(`the data holds ${dataBytes} bytes but its tensors end at byte ${covered}: the file holds bytes its header does not describe.`);
  }
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(readGivenFile(path, "the checkpoint"), path);
}

const bigEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;

/** safetensors is little-endian; on a big-endian host every 4-byte word is swapped. */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (!bigEndianHost) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) for (let k = 0; k < 4; k++) out[i + k] = bytes[i + 3 - k]!;
  return out;
}
