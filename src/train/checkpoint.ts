/**
 * Checkpoints: the weights, the non-trainable state, the optimizer's state and where training stood, in
 * one safetensors file. The weights keep their graph ids as tensor names ("W1", "b1", …), so that
 * `safetensors.numpy.load_file("best.safetensors")["W1"]` is the first layer's weight matrix; so does the
 * state (a batch norm's running averages, "bn1_mean"); the optimizer's moments are "optimizer.m.W1" and
 * so on; the rest is JSON under the metadata key "graphnet".
 */
import { Type, type Static } from "#typebox";
import { UserError } from "../graph/errors.js";
import { sameShape } from "../graph/ir.js";
import { OPTIMIZERS } from "../graph/training.js";
import type { EpochMetrics } from "./run-folder.js";
import { EpochMetricsSchema } from "./run-record.js";
import { formatCheck } from "./schema-check.js";
import type { SavedOptimizerState } from "./optimizers.js";
import { readSafetensors, writeSafetensors, type Tensor } from "./safetensors.js";
import { Random } from "../util/random.js";

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

/** A run's progress before its first batch: epoch 0, nothing seen, its random numbers from the seed. */
export function freshProgress(seed: number): Progress {
  return {
    epoch: 0,
    batchInEpoch: 0,
    randomAtEpochStart: new Random(seed ^ 0x5eed).state(),
    randomNow: [],
    epochLossSum: 0,
    epochCorrect: 0,
    epochSamples: 0,
    epochSeconds: 0,
    bestValidationLoss: Infinity,
    bestEpoch: 0,
    epochsWithoutImprovement: 0,
  };
}

/** An optimizer's state as a checkpoint holds it: its moments by slot ("m", "v", …) then parameter. */
export interface SavedOptimizer extends SavedOptimizerState {
  readonly state: Record<string, Float32Array[]>;
}

export interface Checkpoint {
  readonly parameters: Map<string, Float32Array>;
  /** The non-trainable state (running averages) by id; absent or empty for a graph without any. */
  readonly state?: Map<string, Float32Array>;
  /** The shape of every parameter and every state, by id. */
  readonly shapes: Map<string, readonly number[]>;
  readonly optimizer: SavedOptimizer;
  readonly progress: Progress;
  /**
   * The metrics of the epochs completed, as metrics.json lists them. The checkpoint is written before
   * metrics.json, so a run killed between the two resumes with its history whole. Absent from
   * checkpoints written before graphnet kept it there (metrics.json is read instead).
   */
  readonly history?: readonly EpochMetrics[];
}

const Count = Type.Integer({ minimum: 0, description: "a whole number ≥ 0" });
const Int32 = Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 });
/** A xoroshiro128+ generator's state (src/util/random.ts): four 32-bit integers. */
const RandomState = Type.Array(Int32, { minItems: 4, maxItems: 4, description: "a random generator's state, four 32-bit integers" });

/** The metadata's "graphnet" entry, as JSON: what saveCheckpoint writes, and nothing else. */
const MetadataSchema = Type.Object(
  {
    format: Type.Literal(CHECKPOINT_FORMAT),
    parameters: Type.Array(Type.String(), { uniqueItems: true, description: "the parameters' ids, the names of their tensors" }),
    state: Type.Optional(
      Type.Array(Type.String(), { uniqueItems: true, description: "the non-trainable state's ids, the names of their tensors (absent: none)" }),
    ),
    optimizer: Type.Object(
      {
        name: Type.Union(OPTIMIZERS.map((name) => Type.Literal(name))),
        steps: Count,
        slots: Type.Array(Type.String(), { uniqueItems: true }),
      },
      { additionalProperties: false },
    ),
    progress: Type.Object(
      {
        epoch: Count,
        batchInEpoch: Count,
        randomAtEpochStart: RandomState,
        randomNow: Type.Union([Type.Array(Int32, { maxItems: 0, description: "[] (at an epoch's end)" }), RandomState]),
        epochLossSum: Type.Number(),
        epochCorrect: Count,
        epochSamples: Count,
        epochSeconds: Type.Number({ minimum: 0 }),
        // JSON has no Infinity: the best loss before any epoch is written as null.
        bestValidationLoss: Type.Union([Type.Number(), Type.Null()]),
        bestEpoch: Count,
        epochsWithoutImprovement: Count,
      },
      { additionalProperties: false },
    ),
    history: Type.Optional(Type.Array(EpochMetricsSchema, { description: "the metrics of the epochs completed" })),
  },
  { additionalProperties: false },
);

const metadata = formatCheck<Static<typeof MetadataSchema>>(MetadataSchema, 'checkpoint metadata "graphnet"');

export function saveCheckpoint(path: string, checkpoint: Checkpoint, parameterOrder: readonly string[]): void {
  const tensors = new Map<string, Tensor>();
  for (const id of parameterOrder) tensors.set(id, { shape: checkpoint.shapes.get(id)!, data: checkpoint.parameters.get(id)! });
  const state = [...(checkpoint.state ?? new Map<string, Float32Array>())];
  for (const [id, data] of state) tensors.set(id, { shape: checkpoint.shapes.get(id)!, data });
  for (const [slot, arrays] of Object.entries(checkpoint.optimizer.state)) {
    arrays.forEach((data, i) => {
      const id = parameterOrder[i]!;
      tensors.set(`optimizer.${slot}.${id}`, { shape: checkpoint.shapes.get(id)!, data });
    });
  }
  // A checkpoint holding NaN or ±∞ could only be resumed into a diverged run: it is never written, and
  // the previous file stays as it was.
  for (const [name, tensor] of tensors) {
    const at = firstNonFinite(tensor.data);
    if (at >= 0) {
      throw new UserError(
        `${path}: not written: tensor "${name}" holds ${tensor.data[at]} (element ${at}); training has diverged. The previous checkpoint, if any, is left as it was; try a smaller --lr.`,
      );
    }
  }
  const meta = {
    format: CHECKPOINT_FORMAT,
    parameters: parameterOrder,
    ...(state.length > 0 ? { state: state.map(([id]) => id) } : {}),
    optimizer: { name: checkpoint.optimizer.name, steps: checkpoint.optimizer.steps, slots: Object.keys(checkpoint.optimizer.state) },
    progress: checkpoint.progress,
    ...(checkpoint.history ? { history: checkpoint.history } : {}),
  };
  writeSafetensors(path, tensors, { graphnet: JSON.stringify(meta, (_k, v) => (v === Infinity ? null : v)) });
}

/**
 * Reads a checkpoint and checks it is whole: its metadata against the schema, a tensor of the recorded
 * shape for every parameter, every state and every optimizer slot, and every value finite. Whether it fits a model
 * is Model.load's check, and whether its optimizer state fits the optimizer is Optimizer.restore's.
 */
export function loadCheckpoint(path: string): Checkpoint {
  const file = readSafetensors(path);
  if (file.metadata.graphnet === undefined) {
    throw new UserError(`${path}: this safetensors file is not a graphnet checkpoint (its metadata has no "graphnet" entry).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(file.metadata.graphnet);
  } catch {
    throw new UserError(`${path}: checkpoint metadata "graphnet" is not JSON.`);
  }
  // Another format's fields would not be this schema's: say which format it is before anything else.
  const format = typeof raw === "object" && raw !== null ? (raw as { format?: unknown }).format : CHECKPOINT_FORMAT;
  if (format !== undefined && format !== CHECKPOINT_FORMAT) {
    throw new UserError(`${path}: checkpoint format ${JSON.stringify(format)} is not "${CHECKPOINT_FORMAT}", the one this graphnet reads.`);
  }
  const meta = metadata.check(raw, path);
  const tensor = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new UserError(`${path}: the checkpoint lacks the tensor "${name}", which its metadata lists.`);
    const at = firstNonFinite(t.data);
    if (at >= 0) throw new UserError(`${path}: tensor "${name}" holds ${t.data[at]} (element ${at}); a checkpoint's values must be finite numbers.`);
    return t;
  };
  const parameters = new Map<string, Float32Array>();
  const shapes = new Map<string, readonly number[]>();
  for (const id of meta.parameters) {
    const t = tensor(id);
    parameters.set(id, t.data);
    shapes.set(id, t.shape);
  }
  const nonTrainable = new Map<string, Float32Array>();
  for (const id of meta.state ?? []) {
    const t = tensor(id);
    nonTrainable.set(id, t.data);
    shapes.set(id, t.shape);
  }
  const state: Record<string, Float32Array[]> = {};
  for (const slot of meta.optimizer.slots) {
    state[slot] = meta.parameters.map((id) => {
      const t = tensor(`optimizer.${slot}.${id}`);
      if (!sameShape(t.shape, shapes.get(id)!)) {
        throw new UserError(
          `${path}: tensor "optimizer.${slot}.${id}" has shape [${t.shape.join(", ")}], but the parameter "${id}" it belongs to is [${shapes.get(id)!.join(", ")}].`,
        );
      }
      return t.data;
    });
  }
  const progress: Progress = { ...meta.progress, bestValidationLoss: meta.progress.bestValidationLoss ?? Infinity };
  return {
    parameters,
    state: nonTrainable,
    shapes,
    optimizer: { name: meta.optimizer.name, steps: meta.optimizer.steps, state },
    progress,
    ...(meta.history ? { history: meta.history as EpochMetrics[] } : {}),
  };
}

/** The index of the first NaN or ±∞, or −1. */
function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}
