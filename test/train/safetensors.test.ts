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

  it("reads back what it wrote, through an atomic write that leaves no temporary file", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-st-"));
    const path = join(dir, "weights.safetensors");
    writeSafetensors(path, tensors, { note: "first" });
    writeSafetensors(path, tensors, { note: "second" });
    expect(readdirSync(dir)).toEqual(["weights.safetensors"]);
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ note: "second" });
    expect([...back.tensors.keys()]).toEqual(["W1", "b1"]);
    expect([...back.tensors.get("W1")!.data]).toEqual([...tensors.get("W1")!.data]);
    expect(back.tensors.get("b1")!.shape).toEqual([3]);
    expect(readFileSync(path).length).toBeGreaterThan(60);
  });

  it("rejects a file that is not safetensors with a message naming it", () => {
    expect(() => decodeSafetensors(new Uint8Array([1, 2, 3]), "x.safetensors")).toThrow(UserError);
    expect(() => decodeSafetensors(new Uint8Array(16).fill(255), "x.safetensors")).toThrow(/x\.safetensors: not a safetensors file/);
  });
});
