/**
 * Checkpoints: the weights, the optimizer's state and where training stood, in one safetensors file.
 * The weights keep their graph ids as tensor names ("W1", "b1", …), so that
 * `safetensors.numpy.load_file("best.safetensors")["W1"]` is the first layer's weight matrix; the
 * optimizer's moments are "optimizer.m.W1" and so on; the rest is JSON under the metadata key "graphnet".
 */
import { UserError } from "../graph/errors.js";
import type { EpochMetrics } from "./run-folder.js";
import { readSafetensors, writeSafetensors, type Tensor } from "./safetensors.js";

export const CHECKPOINT_FORMAT = "graphnet-checkpoint/1";

/** Where training stood when the checkpoint was written: enough to continue bit for bit. */
export interface Progress {
  /** Epochs completed. */
  readonly epoch: number;
  /** Batches of the next epoch already done (non-zero after an interruption mid-epoch). */
  readonly batchInEpoch: number;
  /** State of the random generator when the current epoch began (it draws the epoch's shuffle). */
  readonly randomAtEpochStart: readonly number[];
  /** State of the random generator now (augmentation draws continue from it). */
  readonly randomNow: readonly number[];
  /** Loss and sample count summed over the current epoch's batches so far. */
  readonly epochLossSum: number;
  readonly epochCorrect: number;
  readonly epochSamples: number;
  readonly epochSeconds: number;
  readonly bestValidationLoss: number;
  readonly bestEpoch: number;
  readonly epochsWithoutImprovement: number;
}

export interface Checkpoint {
  readonly parameters: Map<string, Float32Array>;
  readonly shapes: Map<string, readonly number[]>;
  readonly optimizer: { readonly name: string; readonly steps: number; readonly state: Record<string, Float32Array[]> };
  readonly progress: Progress;
  /**
   * The metrics of the epochs completed, as metrics.json lists them. The checkpoint is written before
   * metrics.json, so a run killed between the two resumes with its history whole. Absent from
   * checkpoints written before graphnet kept it there (metrics.json is read instead).
   */
  readonly history?: readonly EpochMetrics[];
}

export function saveCheckpoint(path: string, checkpoint: Checkpoint, parameterOrder: readonly string[]): void {
  const tensors = new Map<string, Tensor>();
  for (const id of parameterOrder) tensors.set(id, { shape: checkpoint.shapes.get(id)!, data: checkpoint.parameters.get(id)! });
  for (const [slot, arrays] of Object.entries(checkpoint.optimizer.state)) {
    arrays.forEach((data, i) => {
      const id = parameterOrder[i]!;
      tensors.set(`optimizer.${slot}.${id}`, { shape: checkpoint.shapes.get(id)!, data });
    });
  }
  const meta = {
    format: CHECKPOINT_FORMAT,
    parameters: parameterOrder,
    optimizer: { name: checkpoint.optimizer.name, steps: checkpoint.optimizer.steps, slots: Object.keys(checkpoint.optimizer.state) },
    progress: checkpoint.progress,
    ...(checkpoint.history ? { history: checkpoint.history } : {}),
  };
  // JSON has no Infinity: the best loss before any epoch is written as null.
  writeSafetensors(path, tensors, { graphnet: JSON.stringify(meta, (_k, v) => (v === Infinity ? null : v)) });
}

export function loadCheckpoint(path: string): Checkpoint {
  const file = readSafetensors(path);
  let meta: {
    format: string;
    parameters: string[];
    optimizer: { name: string; steps: number; slots: string[] };
    progress: Progress;
    history?: EpochMetrics[];
  };
  try {
    meta = JSON.parse(file.metadata.graphnet ?? "");
  } catch {
    throw new UserError(`${path}: this safetensors file is not a graphnet checkpoint (its metadata has no "graphnet" entry).`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new UserError(`${path}: checkpoint format "${meta.format}" is not "${CHECKPOINT_FORMAT}".`);
  const tensor = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new UserError(`${path}: the checkpoint lacks the tensor "${name}".`);
    return t;
  };
  const parameters = new Map(meta.parameters.map((id) => [id, tensor(id).data]));
  const shapes = new Map(meta.parameters.map((id) => [id, tensor(id).shape]));
  const state = Object.fromEntries(meta.optimizer.slots.map((slot) => [slot, meta.parameters.map((id) => tensor(`optimizer.${slot}.${id}`).data)]));
  const progress = { ...meta.progress, bestValidationLoss: meta.progress.bestValidationLoss ?? Infinity };
  return {
    parameters,
    shapes,
    optimizer: { name: meta.optimizer.name, steps: meta.optimizer.steps, state },
    progress,
    ...(meta.history ? { history: meta.history } : {}),
  };
}
