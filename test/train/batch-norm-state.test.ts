/**
 * The non-trainable state through training: a network with a batch norm trains, its running averages
 * move (a short last batch's too), the evaluator reads them from the training arena, checkpoints hold
 * them, a resumed run continues with them bit for bit, and `inspect` lists them apart from the parameters.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { describeGraph } from "../../cli/commands/inspect.js";
import { Model, UserError, loadCheckpoint, loadGraphFile, startSession, train, type EpochMetrics, type Graph, type TrainingSection } from "../../src/index.js";
import { mnist, writeSmallMnist } from "../support/small-mnist.js";

/** 784 → 16 (batch norm, relu) → 10: the batch norm's state is bn1_mean and bn1_var. */
const BN_GRAPH: Graph = {
  name: "mnist-bn",
  nodes: [
    { id: "x", op: "input", inputs: [], attrs: { shape: ["batch", 784], feed: "features" } },
    { id: "y", op: "input", inputs: [], attrs: { shape: ["batch", 10], feed: "labels" } },
    { id: "W1", op: "parameter", inputs: [], attrs: { shape: [784, 16], init: "he_normal" } },
    { id: "bn1_gamma", op: "parameter", inputs: [], attrs: { shape: [16], init: "ones" } },
    { id: "bn1_beta", op: "parameter", inputs: [], attrs: { shape: [16], init: "zeros" } },
    { id: "bn1_mean", op: "state", inputs: [], attrs: { shape: [16], init: "zeros" } },
    { id: "bn1_var", op: "state", inputs: [], attrs: { shape: [16], init: "ones" } },
    { id: "W2", op: "parameter", inputs: [], attrs: { shape: [16, 10], init: "xavier_normal" } },
    { id: "b2", op: "parameter", inputs: [], attrs: { shape: [10], init: "zeros" } },
    { id: "xW1", op: "matmul", inputs: ["x", "W1"], attrs: {} },
    { id: "bn1", op: "batch_norm", inputs: ["xW1", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var"], attrs: { momentum: 0.2 } },
    { id: "a1", op: "relu", inputs: ["bn1"], attrs: {} },
    { id: "xW2", op: "matmul", inputs: ["a1", "W2"], attrs: {} },
    { id: "z2", op: "add", inputs: ["xW2", "b2"], attrs: {} },
    { id: "probs", op: "softmax", inputs: ["z2"], attrs: {} },
    { id: "loss", op: "softmax_cross_entropy", inputs: ["z2", "y"], attrs: {} },
  ],
  loss: "loss",
  outputs: { probs: "probs" },
};

const STATE = ["bn1_mean", "bn1_var"];
// 200 images: 120 to train on, in 7 batches of 16 and a short one of 8.
const OPTIONS: TrainingSection = { num_epochs: 2, batch_size: 16, learning_rate: 0.01, patience: 0 };

let dataDir: string;
let graphFile: string;
beforeAll(() => {
  dataDir = writeSmallMnist(200, 60);
  graphFile = join(mkdtempSync(join(tmpdir(), "graphnet-bn-")), "mnist-bn.graph.json");
  writeFileSync(graphFile, JSON.stringify(BN_GRAPH));
});

function session(backend: "ts" | "wasm" = "ts") {
  const outDir = join(mkdtempSync(join(tmpdir(), "graphnet-bn-run-")), "run");
  return startSession({ graphFile, dataDir, outDir, overrides: OPTIONS, backend, threads: 1 });
}

const tensors = (map: ReadonlyMap<string, Float32Array>) => Object.fromEntries([...map].map(([id, t]) => [id, [...t]]));
const losses = (rows: readonly EpochMetrics[]) => rows.map((m) => [m.epoch, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy]);

describe("a batch norm's running averages in a model", () => {
  const model = () => new Model(loadGraphFile(graphFile), { batchSize: 16, seed: 3, threads: 1 });
  const order = Uint32Array.from({ length: 64 }, (_, i) => i);

  it("are state, not parameters: the optimizer gets no gradient for them", () => {
    const m = model();
    expect(m.stateIds).toEqual(STATE);
    expect(m.parameterIds).toEqual(["W1", "bn1_gamma", "bn1_beta", "W2", "b2"]);
    expect(tensors(m.stateSnapshot())).toEqual({ bn1_mean: new Array(16).fill(0), bn1_var: new Array(16).fill(1) });
  });

  it("move once per training step, a short last batch's too, and evaluation reads them", () => {
    const m = model();
    const data = mnist();
    const start = tensors(m.stateSnapshot());
    const before = m.evaluate(data, order);
    m.step(data, order, 0, 16, 0);
    const afterFull = tensors(m.stateSnapshot());
    expect(afterFull).not.toEqual(start);
    // A short batch runs in an arena of its own: its update comes back to the training arena.
    m.step(data, order, 16, 5, 1);
    expect(tensors(m.stateSnapshot())).not.toEqual(afterFull);
    // The parameters did not change (no optimizer step): only the state did, and evaluation sees it.
    expect(m.evaluate(data, order)).not.toEqual(before);
    const fresh = model();
    fresh.load({ parameters: m.snapshot(), state: m.stateSnapshot(), shapes: new Map([...m.parameterShapes(), ...m.stateShapes()]) }, "snapshot");
    expect(fresh.evaluate(data, order)).toEqual(m.evaluate(data, order));
    expect(fresh.predict(data.images.subarray(0, 784))).toEqual(m.predict(data.images.subarray(0, 784)));
  });

  it("a checkpoint must hold the graph's state, of its shapes, and no other", () => {
    const m = model();
    const shapes = new Map([...m.parameterShapes(), ...m.stateShapes()]);
    expect(() => m.load({ parameters: m.snapshot(), shapes }, "old.safetensors")).toThrow(UserError);
    expect(() => m.load({ parameters: m.snapshot(), shapes }, "old.safetensors")).toThrow(`old.safetensors: has no tensor for the graph's state "bn1_mean".`);
    const extra = new Map([...m.stateSnapshot(), ["bn2_mean", new Float32Array(4)]]);
    expect(() => m.load({ parameters: m.snapshot(), state: extra, shapes: new Map([...shapes, ["bn2_mean", [4]]]) }, "e.safetensors")).toThrow(
      `e.safetensors: holds state for "bn2_mean", which the graph has no state of; the checkpoint was saved from another graph.`,
    );
    const wrong = new Map([...shapes, ["bn1_var", [4, 4]]]);
    expect(() => m.load({ parameters: m.snapshot(), state: m.stateSnapshot(), shapes: wrong }, "w.safetensors")).toThrow(
      `w.safetensors: tensor "bn1_var" has shape [4, 4], but the graph's state "bn1_var" is [16].`,
    );
  });
});

describe("training a network with a batch norm", () => {
  let whole: ReturnType<typeof session>;
  let wholeOutcome: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    whole = session();
    wholeOutcome = await train(whole);
  });

  it("saves the running averages in its checkpoints, by their ids, apart from the weights", () => {
    const last = loadCheckpoint(whole.folder.lastCheckpoint);
    expect([...last.parameters.keys()]).toEqual(["W1", "bn1_gamma", "bn1_beta", "W2", "b2"]);
    expect([...last.state!.keys()]).toEqual(STATE);
    expect(last.shapes.get("bn1_var")).toEqual([16]);
    // They moved away from where they started, and the variance stayed positive.
    expect([...last.state!.get("bn1_mean")!].some((v) => v !== 0)).toBe(true);
    expect([...last.state!.get("bn1_var")!].every((v) => v > 0 && v !== 1)).toBe(true);
    // And the model tested with the best checkpoint holds its state.
    expect(tensors(whole.model.stateSnapshot())).toEqual(tensors(loadCheckpoint(whole.folder.bestCheckpoint).state!));
  });

  it("resumed after an interruption mid-epoch, ends bit for bit where the uninterrupted run ends, state included", async () => {
    const s = session();
    let batches = 0;
    const first = await train({ ...s, shouldStop: () => ++batches >= 3 });
    expect(first.status).toBe("interrupted");
    expect(loadCheckpoint(s.folder.lastCheckpoint).progress).toMatchObject({ epoch: 0, batchInEpoch: 3 });
    // Resumed in a new session (a new process would start from a fresh model).
    const resumed = await train({ ...session(), folder: s.folder, resume: true });
    expect(resumed.status).toBe("completed");
    const [a, b] = [loadCheckpoint(s.folder.lastCheckpoint), loadCheckpoint(whole.folder.lastCheckpoint)];
    expect(tensors(a.state!)).toEqual(tensors(b.state!));
    expect(tensors(a.parameters)).toEqual(tensors(b.parameters));
    expect(losses(resumed.history)).toEqual(losses(loadCheckpoint(whole.folder.lastCheckpoint).history!));
    expect(resumed.test).toEqual(wholeOutcome.test);
  });

  it("on the wasm backend, as on the reference one", async () => {
    const s = session("wasm");
    await train(s);
    const [a, b] = [loadCheckpoint(s.folder.lastCheckpoint), loadCheckpoint(whole.folder.lastCheckpoint)];
    expect([...a.state!.keys()]).toEqual(STATE);
    // Not bit for bit (the wasm products sum in another order), but the same training.
    for (const id of STATE) a.state!.get(id)!.forEach((v, i) => expect(v).toBeCloseTo(b.state!.get(id)![i]!, 3));
  });
});

describe("graphnet inspect", () => {
  it("lists the state apart from the parameters, and counts it apart", () => {
    const summary = describeGraph("mnist-bn.graph.json", BN_GRAPH, undefined);
    const rows = summary.split("\n");
    const row = (id: string) => rows.find((r) => r.startsWith(`${id} `))!.split(/\s{2,}/);
    expect(row("bn1_mean").slice(0, 4)).toEqual(["bn1_mean", "state (zeros)", "—", "[16]"]);
    expect(row("bn1_gamma").slice(0, 5)).toEqual(["bn1_gamma", "parameter (ones)", "—", "[16]", "16"]);
    // 784·16 + 16 + 16 + 16·10 + 10 parameters; 32 values of state.
    expect(summary).toContain("parameters: 12,746 (");
    expect(summary).toContain("state: 32 (128 B in float32), not trained: running averages updated by each training step, saved in checkpoints");
  });
});
