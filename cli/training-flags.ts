/**
 * Flags that override the training section of a graph file, one per configuration key. The flags are
 * checked by the training schema on their own (training-overrides.ts, when train runs), before they are
 * merged with the file's section (which its loading checked): a bad flag is reported under its name, a bad
 * value in the file under the file's.
 */
import { Command, Option } from "commander";
import type { TrainingSection } from "../src/index.js";
import { decimal } from "./options.js";

type Key = keyof TrainingSection & string;

interface Flag {
  readonly key: Key;
  readonly flags: string;
  readonly description: string;
  /** How the value is read: a number, or a comma-separated list; a string when absent; a switch without a value. */
  readonly value?: "number" | "list";
}

const list = (value: string) => value.split(",").map((s) => s.trim());

const FLAGS: readonly Flag[] = [
  { key: "num_epochs", flags: "--epochs <n>", description: "number of epochs, at most", value: "number" },
  { key: "batch_size", flags: "--batch-size <n>", description: "samples per training batch", value: "number" },
  { key: "learning_rate", flags: "--lr <rate>", description: "learning rate α", value: "number" },
  { key: "optimizer", flags: "--optimizer <name>", description: "adam, rmsprop or sgd" },
  { key: "beta1", flags: "--beta1 <x>", description: "Adam's β₁", value: "number" },
  { key: "beta2", flags: "--beta2 <x>", description: "Adam's β₂", value: "number" },
  { key: "epsilon", flags: "--epsilon <x>", description: "ε of Adam and RMSprop", value: "number" },
  { key: "decay_rate", flags: "--decay-rate <x>", description: "RMSprop's decay rate β", value: "number" },
  { key: "momentum", flags: "--momentum <x>", description: "SGD momentum μ (0: plain SGD)", value: "number" },
  { key: "bias_correction", flags: "--bias-correction", description: "Adam with bias-corrected moments (the report's Adam has none)" },
  { key: "weight_decay", flags: "--weight-decay <x>", description: "decoupled weight decay λ (W ← W − α·λ·W)", value: "number" },
  { key: "lr_schedule", flags: "--lr-schedule <name>", description: "constant or cosine (decaying to 0 over the epochs)" },
  { key: "activation_functions", flags: "--activations <list>", description: "hidden activations in order, e.g. relu,tanh", value: "list" },
  { key: "use_data_augmentation", flags: "--augment", description: "train on randomly shifted and rotated images" },
  { key: "max_shift", flags: "--max-shift <pixels>", description: "augmentation: largest shift", value: "number" },
  { key: "max_rotation", flags: "--max-rotation <degrees>", description: "augmentation: largest rotation", value: "number" },
  { key: "use_dropout", flags: "--dropout", description: "dropout on (at dropout_rate)" },
  { key: "dropout_rate", flags: "--dropout-rate <p>", description: "dropout probability", value: "number" },
  { key: "patience", flags: "--patience <n>", description: "early stopping patience in epochs (0: never stop early)", value: "number" },
  { key: "monitor", flags: "--monitor <metric>", description: "what early stopping and the best checkpoint watch: val_loss or val_accuracy" },
  { key: "seed", flags: "--seed <n>", description: "seed of weights, shuffles, dropout and augmentation", value: "number" },
  { key: "random_state", flags: "--random-state <n>", description: "seed of the train/validation/test split", value: "number" },
  { key: "test_size", flags: "--test-size <x>", description: "share of the data held out for testing", value: "number" },
  { key: "val_size", flags: "--val-size <x>", description: "share of the rest used for validation", value: "number" },
];

/** Switches a graph file may turn on, which a flag turns off again: the switch's long name, the negation's spec and description. */
const NEGATIONS: Readonly<Record<string, readonly [flags: string, description: string]>> = {
  "--augment": ["--no-augment", "no augmentation, whatever the graph file says"],
  "--dropout": ["--no-dropout", "no dropout at dropout_rate, whatever the graph file says (a node with its own rate keeps it)"],
};

/** Commander's reading of a flag's spec: its long name (option.long, "--batch-size") and the attribute it sets (option.attributeName(), "batchSize"). */
const optionOf = (flag: Flag) => new Option(flag.flags, flag.description);

/** The flag that sets a configuration key, for error messages ("--lr" for learning_rate). */
export function flagFor(key: string): string | undefined {
  const flag = FLAGS.find((f) => f.key === key);
  return flag && optionOf(flag).long;
}

export function addTrainingFlags(command: Command): Command {
  for (const flag of FLAGS) {
    const option = optionOf(flag);
    if (flag.value === "number") option.argParser(decimal(option.long!));
    if (flag.value === "list") option.argParser(list);
    command.addOption(option);
    const negation = NEGATIONS[option.long!];
    if (negation) command.addOption(new Option(...negation));
  }
  return command;
}

/** The overrides the user gave, as a partial training section: commander's attribute names mapped back to the keys. */
export function givenOverrides(options: Record<string, unknown>): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const flag of FLAGS) {
    const name = optionOf(flag).attributeName();
    if (options[name] !== undefined) overrides[flag.key] = options[name];
  }
  return overrides;
}
