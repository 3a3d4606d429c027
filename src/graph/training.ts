/**
 * The `training` section of a graph file: how the trainer fits the graph — the report's configuration
 * (Table 3) with its values as defaults. The network's shape (input_size, hidden_layers, output_size)
 * is not here: the graph's nodes say it.
 *
 * One table, TRAINING_FIELDS, holds every key with its type, range, default and meaning; the schema,
 * the defaults and the TypeScript type all follow from it. Adding a key is adding one line there.
 */
import { Type, type Static } from "#typebox";
import { GraphError } from "./errors.js";
import type { Graph } from "./ir.js";
import { formatPath } from "./json-path.js";
import { compileSchemaOnFirstUse } from "./schema-validator.js";

export const OPTIMIZERS = ["adam", "rmsprop", "sgd"] as const;
export const ACTIVATIONS = ["relu", "sigmoid", "tanh"] as const;
export const LR_SCHEDULES = ["constant", "cosine"] as const;
export const MONITORS = ["val_loss", "val_accuracy"] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type ScheduleName = (typeof LR_SCHEDULES)[number];
export type MonitorName = (typeof MONITORS)[number];

/**
 * The largest batch_size. MNIST's training split holds 36,000 samples (60,000 less the test and
 * validation shares), so a larger batch is one epoch in one step; and at 65,536 the report's network
 * plans a training step (loss and gradients) in about 0.3 GiB of float32, well inside compilePlan's
 * limit of 4 GiB, while a typo such as 1600000 would need gigabytes.
 */
export const MAX_BATCH_SIZE = 65_536;

/** A probability or a decay factor: 0 ≤ x < 1. */
const rate = (value: number, description: string) => Type.Number({ minimum: 0, exclusiveMaximum: 1, default: value, description });
/** A share of a data set: 0 < x < 1. */
const fraction = (value: number, description: string) => Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: value, description });

const TRAINING_FIELDS = {
  learning_rate: Type.Number({ exclusiveMinimum: 0, default: 0.001, description: "Step size α of the gradient updates." }),
  num_epochs: Type.Integer({ minimum: 1, default: 15, description: "Number of passes over the training data, at most (early stopping may end sooner)." }),
  batch_size: Type.Integer({
    minimum: 1,
    maximum: MAX_BATCH_SIZE,
    default: 16,
    description: `Number of samples per training batch: the size of the "batch" dimension (at most ${MAX_BATCH_SIZE.toLocaleString("en-US")}; the memory of a training step grows with it).`,
  }),
  optimizer: Type.Union(
    OPTIMIZERS.map((name) => Type.Literal(name)),
    { default: "adam", description: "Update rule: adam (momentum and RMS scaling), rmsprop, or plain sgd." },
  ),
  beta1: rate(0.9, "Adam: decay rate β₁ of the first-moment (mean) estimate."),
  beta2: rate(0.999, "Adam: decay rate β₂ of the second-moment (uncentred variance) estimate."),
  epsilon: Type.Number({ exclusiveMinimum: 0, default: 1e-8, description: "Adam and RMSprop: small value ε that prevents division by zero." }),
  decay_rate: rate(0.9, "RMSprop: decay rate β of the running average of squared gradients."),
  test_size: fraction(0.2, "Share of the whole data set held out for the final test."),
  val_size: fraction(0.25, "Share of the remaining (non-test) data used for validation and early stopping."),
  random_state: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1, default: 42, description: "Seed of the train/validation/test split." }),
  patience: Type.Integer({
    minimum: 0,
    default: 5,
    description: "Early stopping: epochs without a better monitored validation figure before training stops (0: never stop early).",
  }),
  monitor: Type.Union(
    MONITORS.map((name) => Type.Literal(name)),
    {
      default: "val_loss",
      description:
        "What early stopping and the best checkpoint watch: val_loss (lower is better) or val_accuracy (higher is better; a tie goes to the lower loss).",
    },
  ),
  use_data_augmentation: Type.Boolean({ default: false, description: "Whether to train on randomly shifted and rotated copies of the images." }),
  use_dropout: Type.Boolean({
    default: false,
    description: "Whether the dropout nodes without a rate of their own are active in training, at dropout_rate (a node that fixes its own rate always is).",
  }),
  dropout_rate: rate(0.1, "Dropout probability p: the share of activations zeroed in training (the rest are scaled by 1/(1-p))."),
  activation_functions: Type.Array(Type.Union(ACTIVATIONS.map((name) => Type.Literal(name))), {
    default: ["relu", "tanh"],
    description:
      'Activation function of each hidden layer, in order; the report\'s best is ["relu", "tanh"]. A run\'s config.json records the graph\'s own ([] for a graph without relu, sigmoid or tanh nodes).',
  }),

  // Beyond the report's table: settings the trainer offers, each defaulting to the report's behaviour.
  seed: Type.Integer({
    minimum: 0,
    maximum: 2 ** 32 - 1,
    default: 42,
    description: "Seed of the weight initialisation, the shuffles, dropout and augmentation.",
  }),
  momentum: rate(0, "SGD: momentum μ (0: plain SGD, as in the report)."),
  bias_correction: Type.Boolean({ default: false, description: "Adam: use bias-corrected moments m̂ and v̂ (the report's Adam has none)." }),
  weight_decay: Type.Number({ minimum: 0, default: 0, description: "Decoupled weight decay λ, W ← W − α·λ·W before each update (0: none)." }),
  lr_schedule: Type.Union(
    LR_SCHEDULES.map((name) => Type.Literal(name)),
    { default: "constant", description: "Learning rate over training: constant, or cosine (from learning_rate down to 0 over num_epochs)." },
  ),
  // A shift of half the image's side (14 of 28 pixels) or more would move most digits out of the picture.
  max_shift: Type.Integer({ minimum: 0, maximum: 14, default: 2, description: "Augmentation: largest shift of an image, in pixels, along each axis." }),
  max_rotation: Type.Number({ minimum: 0, maximum: 180, default: 10, description: "Augmentation: largest rotation of an image, in degrees, either way." }),
};

/** The JSON Schema of the training section. Every key is optional; a missing key takes its default. */
export const TrainingSchema = Type.Partial(Type.Object(TRAINING_FIELDS), {
  additionalProperties: false,
  description: "How to train this graph (the report's Table 3). Every key is optional and defaults to the report's value.",
});

/** The training section as written in a file: any subset of the keys. */
export type TrainingSection = Static<typeof TrainingSchema>;

/** The training configuration with every key settled. */
export type TrainingConfig = Readonly<Required<TrainingSection>>;

/**
 * The report's configuration (Table 3), except that data augmentation and dropout are off: Table 2
 * shows the standard procedure scoring best (0.9772), and the reference implementation has both off
 * unless asked. The keys beyond the table default to what the report does (no momentum, no bias
 * correction, no weight decay, a constant learning rate).
 */
export const DEFAULT_TRAINING: TrainingConfig = Object.freeze(
  Object.fromEntries(Object.entries(TRAINING_FIELDS).map(([key, schema]) => [key, frozenCopy(schema.default)])) as TrainingConfig,
);

function frozenCopy(value: unknown): unknown {
  return Array.isArray(value) ? Object.freeze([...value]) : value;
}

const validateTraining = compileSchemaOnFirstUse(TrainingSchema);

/**
 * The graph's training section with the defaults filled in. A loaded graph was already validated;
 * a graph built in code is checked here, so a bad value never reaches the trainer.
 */
export function trainingConfig(graph: Pick<Graph, "training">): TrainingConfig {
  const section: unknown = graph.training ?? {};
  const problem = validateTraining(section);
  if (problem) throw new GraphError(problem.message, { field: formatPath(["training", ...problem.path]), path: ["training", ...problem.path] });
  return { ...DEFAULT_TRAINING, ...(section as TrainingSection) };
}
