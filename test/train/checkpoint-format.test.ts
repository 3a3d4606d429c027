/**
 * Checkpoints that parse but are malformed — a safetensors header that is not what the format says, a
 * graphnet metadata entry with a field missing or of the wrong kind, values that are not finite — are
 * each refused with one line naming the file, the field and what was expected (never a TypeError or a
 * RangeError from deeper down). Every case is a file made here, read in-process.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { Model } from "../../src/train/model.js";
import { createOptimizer } from "../../src/train/optimizers.js";
import { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint, type Checkpoint, type Progress, type SavedOptimizer } from "../../src/train/checkpoint.js";
import { decodeSafetensors, encodeSafetensors, readSafetensors, type Tensor } from "../../src/train/safetensors.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { expectRefusal as expectRefusalStartingWith } from "../support/refusal.js";

/** Calls `read` and expects one line, a UserError, that names `path` ("PATH: …") and matches each pattern. */
const expectRefusal = (read: () => unknown, path: string, ...patterns: RegExp[]) => expectRefusalStartingWith(read, `${path}: `, ...patterns);

const dir = mkdtempSync(join(tmpdir(), "graphnet-bad-checkpoints-"));
let files = 0;
const file = (bytes: Uint8Array) => {
  const path = join(dir, `case-${++files}.safetensors`);
  writeFileSync(path, bytes);
  return path;
};

/** A safetensors file with exactly this header (any JSON) and data; its data 8-byte aligned, or deliberately not. */
function craft(header: unknown, data = new Uint8Array(0), aligned = true): Uint8Array {
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== (aligned ? 0 : 1)) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

const progress: Progress = {
  epoch: 2,
  batchInEpoch: 0,
  randomAtEpochStart: [1, -2, 3, 4],
  randomNow: [],
  epochLossSum: 0,
  epochCorrect: 0,
  epochSamples: 0,
  epochSeconds: 0,
  bestValidationLoss: 0.5,
  bestEpoch: 2,
  epochsWithoutImprovement: 0,
};

function goodCheckpoint(): Checkpoint {
  const W1 = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const b1 = Float32Array.from([0.5, -0.5, 0]);
  return {
    parameters: new Map([
      ["W1", W1],
      ["b1", b1],
    ]),
    shapes: new Map([
      ["W1", [2, 3]],
      ["b1", [3]],
    ]),
    optimizer: { name: "adam", steps: 40, state: { m: [W1.map((v) => v / 10), b1.map((v) => v / 10)], v: [W1.map((v) => v * v), b1.map((v) => v * v)] } },
    progress,
  };
}

/** A real checkpoint's tensors and metadata, to be damaged one way at a time. */
function goodParts(): { tensors: Map<string, Tensor>; meta: Record<string, any> } {
  const path = join(dir, "good.safetensors");
  saveCheckpoint(path, goodCheckpoint(), ["W1", "b1"]);
  const read = readSafetensors(path);
  return { tensors: new Map(read.tensors), meta: JSON.parse(read.metadata.graphnet!) };
}

/** A checkpoint whose graphnet metadata is `damage`d; its tensors as saved (or `damage`d too). */
function damaged(damage: (parts: ReturnType<typeof goodParts>) => void): string {
  const parts = goodParts();
  damage(parts);
  return file(encodeSafetensors(parts.tensors, { graphnet: JSON.stringify(parts.meta) }));
}

describe("a checkpoint as saved", () => {
  it("reads back whole: weights, shapes, optimizer state and progress", () => {
    const path = join(dir, "whole.safetensors");
    saveCheckpoint(path, { ...goodCheckpoint(), progress: { ...progress, bestValidationLoss: Infinity } }, ["W1", "b1"]);
    const back = loadCheckpoint(path);
    expect([...back.parameters.get("W1")!]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.shapes.get("W1")).toEqual([2, 3]);
    expect(back.optimizer.name).toBe("adam");
    expect(back.optimizer.steps).toBe(40);
    expect(back.optimizer.state.v![1]![0]).toBe(0.25);
    expect(back.progress.bestValidationLoss).toBe(Infinity);
  });

  it("is never written with a NaN or an infinity in it, and the previous file stays as it was", () => {
    const path = join(dir, "kept.safetensors");
    saveCheckpoint(path, goodCheckpoint(), ["W1", "b1"]);
    const diverged = goodCheckpoint();
    diverged.parameters.get("b1")![1] = NaN;
    expectRefusal(() => saveCheckpoint(path, diverged, ["W1", "b1"]), path, /not written: tensor "b1" holds NaN \(element 1\); training has diverged/);
    const moments = goodCheckpoint();
    moments.optimizer.state.v![0]![4] = Infinity;
    expectRefusal(() => saveCheckpoint(path, moments, ["W1", "b1"]), path, /tensor "optimizer\.v\.W1" holds Infinity \(element 4\)/);
    expect([...loadCheckpoint(path).parameters.get("b1")!]).toEqual([0.5, -0.5, 0]);
  });
});

describe("a safetensors header that is not the format's", () => {
  const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  it.each([
    ["null", null, /safetensors header: must be an object \(found null\)/],
    ["an array", [], /safetensors header: must be an object \(found \[\]\)/],
    ["a tensor without data_offsets", { W1: { dtype: "F32", shape: [2] } }, /field "W1\.data_offsets": is required but missing/],
    ["a tensor without a shape", { W1: { dtype: "F32", data_offsets: [0, 8] } }, /field "W1\.shape": is required but missing/],
    ["a shape that is not a list", { W1: { dtype: "F32", shape: 2, data_offsets: [0, 8] } }, /field "W1\.shape": must be an array \(found 2\)/],
    ["a negative dimension", { W1: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, /field "W1\.shape\[0\]": must be >= 0 \(found -2\)/],
    ["a fractional dimension", { W1: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, /field "W1\.shape\[0\]": must be an integer \(found 1\.5\)/],
    ["three offsets", { W1: { dtype: "F32", shape: [2], data_offsets: [0, 4, 8] } }, /field "W1\.data_offsets": must have at most 2 items/],
    ["an unknown field in a tensor", { W1: { dtype: "F32", shape: [2], data_offsets: [0, 8], stride: 1 } }, /field "W1\.stride": is not a known field/],
    ["metadata that is not a map of strings", { __metadata__: { graphnet: 5 } }, /field "__metadata__\.graphnet": must be a string \(found 5\)/],
    [
      "a byte length that is not a multiple of 4",
      { W1: { dtype: "F32", shape: [2], data_offsets: [0, 6] } },
      /shape \[2\] of F32 takes 8 bytes, but data_offsets \[0, 6\] span 6/,
    ],
    [
      "a shape its bytes do not fill",
      { W1: { dtype: "F32", shape: [3, 2], data_offsets: [0, 8] } },
      /shape \[3, 2\] of F32 takes 24 bytes, but data_offsets \[0, 8\] span 8/,
    ],
    ["offsets that end before they begin", { W1: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, /data_offsets \[8, 4\] end before they begin/],
    [
      "offsets past the file's end",
      { W1: { dtype: "F32", shape: [4], data_offsets: [0, 16] } },
      /data_offsets \[0, 16\] reach past the end of the file, whose data holds 8 bytes/,
    ],
    ["another dtype", { W1: { dtype: "F16", shape: [4], data_offsets: [0, 8] } }, /field "W1": tensor of dtype "F16"; graphnet reads F32 tensors only/],
  ])("%s", (_name, header, message) => {
    const path = file(craft(header, f32([1, 2])));
    expectRefusal(() => readSafetensors(path), path, message);
  });

  it.each([
    [
      "two tensors sharing bytes",
      { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
      /tensors "a" \[0, 8\] and "b" \[4, 12\] share bytes/,
    ],
    [
      "a gap between two tensors",
      { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } },
      /bytes \[4, 8\) of the data belong to no tensor \(before "b"\)/,
    ],
    [
      "a gap before the first tensor",
      { a: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
      /bytes \[0, 4\) of the data belong to no tensor \(before "a"\)/,
    ],
    ["bytes after the last tensor", { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, /the data holds 12 bytes but its tensors end at byte 8/],
  ])("%s (the format's tensors tile the data exactly)", (_name, header, message) => {
    const path = file(craft(header, f32([1, 2, 3])));
    expectRefusal(() => readSafetensors(path), path, message);
  });

  it("a header length past the file, or a header that is not JSON", () => {
    const long = craft({}, new Uint8Array(0));
    new DataView(long.buffer).setBigUint64(0, 1n << 40n, true);
    const path = file(long);
    expectRefusal(() => readSafetensors(path), path, /its header length 1099511627776 exceeds the file/);
    const text = file(Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{no}")]));
    expectRefusal(() => readSafetensors(text), text, /its header is not JSON/);
  });

  it("a header whose length leaves the data unaligned (another writer's choice) is read, not refused", () => {
    const header = { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } };
    const bytes = craft(header, f32([1.5, -2, 3.25]), false);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 4).toBe(1);
    // Through a file (a Node Buffer, whose slice is a view) and from bytes.
    for (const read of [readSafetensors(file(bytes)), decodeSafetensors(bytes, "x")]) {
      expect([...read.tensors.get("b")!.data]).toEqual([-2, 3.25]);
      expect(read.tensors.get("a")!.shape).toEqual([1]);
    }
  });
});

describe("graphnet's metadata in a checkpoint", () => {
  it("a safetensors file from elsewhere (no graphnet entry), or one whose entry is not JSON", () => {
    const foreign = file(encodeSafetensors(new Map(), { format: "pt" }));
    expectRefusal(() => loadCheckpoint(foreign), foreign, /not a graphnet checkpoint \(its metadata has no "graphnet" entry\)/);
    const garbled = file(encodeSafetensors(new Map(), { graphnet: "{progress:" }));
    expectRefusal(() => loadCheckpoint(garbled), garbled, /checkpoint metadata "graphnet" is not JSON/);
  });

  it.each<[string, (p: ReturnType<typeof goodParts>) => void, RegExp]>([
    ["null", (p) => (p.meta = null as never), /checkpoint metadata "graphnet": must be an object \(found null\)/],
    ["another format", (p) => (p.meta.format = "graphnet-checkpoint/9"), /checkpoint format "graphnet-checkpoint\/9" is not "graphnet-checkpoint\/1"/],
    ["no format", (p) => delete p.meta.format, /field "format": is required but missing/],
    ["no progress", (p) => delete p.meta.progress, /checkpoint metadata "graphnet", field "progress": is required but missing/],
    ["parameters not a list", (p) => (p.meta.parameters = "W1"), /field "parameters": must be an array \(found "W1"\)/],
    ["a parameter listed twice", (p) => (p.meta.parameters = ["W1", "W1"]), /field "parameters": .*duplicate/],
    ["an epoch that is a string", (p) => (p.meta.progress.epoch = "3"), /field "progress\.epoch": must be an integer \(found "3"\)/],
    ["a negative batch", (p) => (p.meta.progress.batchInEpoch = -1), /field "progress\.batchInEpoch": must be >= 0 \(found -1\)/],
    [
      "a random state of 3 numbers",
      (p) => (p.meta.progress.randomAtEpochStart = [1, 2, 3]),
      /field "progress\.randomAtEpochStart": must have at least 4 items/,
    ],
    [
      "an unknown optimizer",
      (p) => (p.meta.optimizer.name = "adagrad"),
      /field "optimizer\.name": must be one of "adam", "rmsprop", "sgd" \(found "adagrad"\)/,
    ],
    ["slots not a list", (p) => (p.meta.optimizer.slots = { m: 1 }), /field "optimizer\.slots": must be an array/],
    ["an unknown field", (p) => (p.meta.progress.epochz = 1), /field "progress\.epochz": is not a known field here/],
    ["a history that is not a list", (p) => (p.meta.history = { epoch: 1 }), /field "history": must be an array/],
    ["a history row without its epoch", (p) => (p.meta.history = [{ train_loss: 1 }]), /field "history\[0\]\.epoch": is required but missing/],
    ["a parameter with no tensor", (p) => p.tensors.delete("b1"), /lacks the tensor "b1", which its metadata lists/],
    ["an optimizer slot with no tensor", (p) => p.tensors.delete("optimizer.v.W1"), /lacks the tensor "optimizer\.v\.W1"/],
    [
      "an optimizer slot shaped unlike its parameter",
      (p) => p.tensors.set("optimizer.m.W1", { shape: [3, 2], data: new Float32Array(6) }),
      /tensor "optimizer\.m\.W1" has shape \[3, 2\], but the parameter "W1" it belongs to is \[2, 3\]/,
    ],
    [
      "a NaN weight",
      (p) => p.tensors.set("W1", { shape: [2, 3], data: Float32Array.from([1, 2, NaN, 4, 5, 6]) }),
      /tensor "W1" holds NaN \(element 2\); a checkpoint's values must be finite numbers/,
    ],
    [
      "an infinite moment",
      (p) => p.tensors.set("optimizer.v.b1", { shape: [3], data: Float32Array.from([0, -Infinity, 0]) }),
      /tensor "optimizer\.v\.b1" holds -Infinity \(element 1\)/,
    ],
  ])("%s", (_name, damage, message) => {
    const path = damaged(damage);
    expectRefusal(() => loadCheckpoint(path), path, message);
  });

  it("keeps the history of the epochs completed, when given one", () => {
    const row = { epoch: 1, train_loss: 0.5, train_accuracy: 0.8, val_loss: 0.4, val_accuracy: 0.85, learning_rate: 0.001, seconds: 2, samples_per_s: 180 };
    const path = join(dir, "with-history.safetensors");
    saveCheckpoint(path, { ...goodCheckpoint(), history: [row] }, ["W1", "b1"]);
    expect(loadCheckpoint(path).history).toEqual([row]);
    expect(loadCheckpoint(join(dir, "good.safetensors")).history).toBeUndefined();
  });

  it("the format name is the one this module writes", () => {
    expect(goodParts().meta.format).toBe(CHECKPOINT_FORMAT);
  });
});

describe("a checkpoint loaded into a model", () => {
  // The report's network, whose W1 is [784, 128]; its weights as a checkpoint holds them.
  const model = new Model(loadGraphFile("graphs/mnist.graph.json"), { batchSize: 4, seed: 1, threads: 1 });
  const saved = (): Pick<Checkpoint, "parameters" | "shapes"> => ({ parameters: model.snapshot(), shapes: new Map(model.parameterShapes()) });

  it("takes up weights of the parameters' shapes", () => {
    const checkpoint = saved();
    checkpoint.parameters.get("b3")![9] = 0.125;
    model.load(checkpoint, "ok.safetensors");
    expect(model.snapshot().get("b3")![9]).toBe(0.125);
  });

  it("refuses a tensor of the right size but the wrong shape (a transposed W1), naming it and both shapes, and changes nothing", () => {
    const before = model.snapshot().get("W1")!;
    const transposed = saved();
    transposed.shapes.set("W1", [128, 784]);
    transposed.parameters.set("W1", new Float32Array(784 * 128).fill(0.5));
    expectRefusal(
      () => model.load(transposed, "t.safetensors"),
      "t.safetensors",
      /tensor "W1" has shape \[128, 784\], but the graph's parameter "W1" is \[784, 128\]/,
    );
    expect(model.snapshot().get("W1")).toEqual(before);
  });

  it("refuses weights of another graph: a parameter missing, or one the graph lacks", () => {
    const missing = saved();
    missing.parameters.delete("b2");
    missing.shapes.delete("b2");
    expectRefusal(() => model.load(missing, "m.safetensors"), "m.safetensors", /has no tensor for the graph's parameter "b2"/);
    const extra = saved();
    extra.parameters.set("W4", new Float32Array(4));
    extra.shapes.set("W4", [4]);
    expectRefusal(() => model.load(extra, "e.safetensors"), "e.safetensors", /holds weights for "W4", which the graph has no parameter of/);
  });

  it("end to end: a checkpoint file with W1 transposed is refused when loaded into the model", () => {
    const path = join(dir, "transposed.safetensors");
    const parameters = model.snapshot();
    const shapes = new Map(model.parameterShapes());
    shapes.set("W1", [128, 784]);
    saveCheckpoint(path, { parameters, shapes, optimizer: { name: "sgd", steps: 0, state: {} }, progress }, model.parameterIds);
    expectRefusal(() => model.load(loadCheckpoint(path), path), path, /tensor "W1" has shape \[128, 784\], but the graph's parameter "W1" is \[784, 128\]/);
  });
});

describe("an optimizer's saved state", () => {
  const settings = REPORT_ADAM;
  const sizes = [6, 3];

  it("is taken up by the optimizer that saved it", () => {
    const adam = createOptimizer(settings, sizes);
    adam.restore(goodCheckpoint().optimizer, "c.safetensors");
    expect(adam.steps).toBe(40);
    expect(adam.state().v![1]![0]).toBe(0.25);
  });

  it.each<[string, Parameters<typeof createOptimizer>[0], SavedOptimizer, RegExp]>([
    ["SGD, given Adam's", { ...settings, optimizer: "sgd" }, goodCheckpoint().optimizer, /holds the state of the adam optimizer, but this run trains with sgd/],
    [
      'SGD with momentum (state "u"), given plain SGD\'s',
      { ...settings, optimizer: "sgd", momentum: 0.9 },
      { name: "sgd", steps: 3, state: {} },
      /holds sgd state none, but this run's sgd keeps "u" \(a setting such as momentum differs\)/,
    ],
  ])("is refused by %s, naming the file", (_name, other, state, message) => {
    expectRefusal(() => createOptimizer(other, sizes).restore(state, "c.safetensors"), "c.safetensors", message);
  });

  it("is refused when its arrays are not the parameters' sizes", () => {
    const adam = createOptimizer(settings, [6, 4]);
    expectRefusal(() => adam.restore(goodCheckpoint().optimizer, "c.safetensors"), "c.safetensors", /holds 3 values of m state for parameter 1, which has 4/);
    expect(adam.steps).toBe(0);
  });
});
