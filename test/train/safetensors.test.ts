import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/graph/errors.js";
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type Tensor } from "../../src/train/safetensors.js";

const tensors = new Map<string, Tensor>([
  ["W1", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
  ["b1", { shape: [3], data: Float32Array.from([0.25, 0, -1e-8]) }],
]);

describe("safetensors", () => {
  it("lays out an 8-byte little-endian header length, a JSON header and the data, 8-byte aligned", () => {
    const bytes = encodeSafetensors(tensors, { epoch: "3" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header.W1).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b1).toEqual({ dtype: "F32", shape: [3], data_offsets: [24, 36] });
    expect(header.__metadata__).toEqual({ epoch: "3" });
    expect(bytes.length).toBe(8 + n + 36);
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 20, true)).toBe(-6.5);
  });

  it("reads back every tensor it wrote, bit for bit, and an overwrite leaves no temporary file", () => {
    // Beside the fixture's tensors, the values a careless writer or reader would lose: −0, a NaN with a
    // payload, ±∞ and the smallest subnormal (the fixture's b1 holds −1e-8).
    const special = new Float32Array(6);
    new Uint32Array(special.buffer).set([0x80000000, 0x7fc00001, 0x7f800000, 0xff800000, 0x00000001, 0xffc12345]);
    const written = new Map([...tensors, ["special", { shape: [2, 3], data: special }]]);
    const dir = mkdtempSync(join(tmpdir(), "graphnet-st-"));
    const path = join(dir, "weights.safetensors");
    writeSafetensors(path, written, { note: "first" });
    writeSafetensors(path, written, { note: "second" });
    expect(readdirSync(dir)).toEqual(["weights.safetensors"]);
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ note: "second" });
    expect([...back.tensors.keys()]).toEqual(["W1", "b1", "special"]);
    for (const [name, tensor] of written) {
      const read = back.tensors.get(name)!;
      expect(read.shape, name).toEqual(tensor.shape);
      expect(bits(read.data), name).toEqual(bits(tensor.data));
    }
    expect(readFileSync(path).length).toBeGreaterThan(60);
  });

  it("rejects a file that is not safetensors with a message naming it", () => {
    expect(() => decodeSafetensors(new Uint8Array([1, 2, 3]), "x.safetensors")).toThrow(UserError);
    expect(() => decodeSafetensors(new Uint8Array(16).fill(255), "x.safetensors")).toThrow(/x\.safetensors: not a safetensors file/);
  });
});

/** A tensor's values as their bit patterns: −0 differs from 0, and each NaN keeps its payload. */
function bits(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)];
}
