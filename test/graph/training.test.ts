import { describe, expect, it } from "vitest";
import { DEFAULT_TRAINING, TrainingSchema, trainingConfig } from "../../src/graph/training.js";
import { GraphError } from "../../src/graph/errors.js";
import { parseGraph } from "../../src/graph-file/load.js";
import { graphErrorOf, mnistText, replaceOnce, tinyGraph } from "./helpers.js";

describe("the training section", () => {
  it("defaults to the report's Table 3, with augmentation and dropout off (Table 2's best)", () => {
    expect(DEFAULT_TRAINING).toEqual({
      learning_rate: 0.001,
      num_epochs: 15,
      batch_size: 16,
      optimizer: "adam",
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      decay_rate: 0.9,
      test_size: 0.2,
      val_size: 0.25,
      random_state: 42,
      patience: 5,
      monitor: "val_loss",
      use_data_augmentation: false,
      use_dropout: false,
      dropout_rate: 0.1,
      activation_functions: ["relu", "tanh"],
      // Beyond Table 3, the report's behaviour:
      seed: 42,
      momentum: 0,
      bias_correction: false,
      weight_decay: 0,
      lr_schedule: "constant",
      max_shift: 2,
      max_rotation: 10,
    });
    expect(Object.isFrozen(DEFAULT_TRAINING)).toBe(true);
    expect(Object.isFrozen(DEFAULT_TRAINING.activation_functions)).toBe(true);
  });

  it("describes every key and gives it a default in the schema", () => {
    for (const [key, schema] of Object.entries(TrainingSchema.properties)) {
      expect(typeof schema.description, key).toBe("string");
      expect(schema.default, key).toEqual(DEFAULT_TRAINING[key as keyof typeof DEFAULT_TRAINING]);
    }
    expect(TrainingSchema.additionalProperties).toBe(false);
  });

  it("merges a graph's settings over the defaults", () => {
    expect(trainingConfig(tinyGraph())).toEqual(DEFAULT_TRAINING);
    const config = trainingConfig({ training: { batch_size: 64, optimizer: "rmsprop" } });
    expect(config).toEqual({ ...DEFAULT_TRAINING, batch_size: 64, optimizer: "rmsprop" });
  });

  it("refuses a bad section in a graph built in code", () => {
    graphErrorOf(
      () => trainingConfig({ training: { optimizer: "adamw" } }),
      'field "training.optimizer": must be one of "adam", "rmsprop", "sgd" (found "adamw").',
    );
    expect(() => trainingConfig({ training: { batch_size: 0 } })).toThrow(GraphError);
  });

  it("takes a batch_size up to 65,536 and no more", () => {
    expect(trainingConfig({ training: { batch_size: 65_536 } }).batch_size).toBe(65_536);
    graphErrorOf(() => trainingConfig({ training: { batch_size: 65_537 } }), 'field "training.batch_size": must be <= 65536 (found 65537).');
  });

  it.each([
    ['"learning_rate": 0.001', '"learning_rate": 0', 'field "training.learning_rate": must be > 0 (found 0).'],
    ['"num_epochs": 15', '"num_epochs": 1.5', 'field "training.num_epochs": must be an integer (found 1.5).'],
    ['"optimizer": "adam"', '"optimizer": "Adam"', 'must be one of "adam", "rmsprop", "sgd" (found "Adam"). Did you mean "adam"?'],
    ['"dropout_rate": 0.1', '"dropout_rate": 1', 'field "training.dropout_rate": must be < 1 (found 1).'],
    ['"test_size": 0.2', '"test_size": 0', 'field "training.test_size": must be > 0 (found 0).'],
    ['"use_dropout": false', '"use_dropout": "no"', 'field "training.use_dropout": must be a boolean (found "no").'],
    ['["relu", "tanh"]\n', '["relu", "softplus"]\n', 'field "training.activation_functions[1]": must be one of "relu", "sigmoid", "tanh" (found "softplus").'],
    ['"batch_size": 16', '"batch_size": 1000000', 'field "training.batch_size": must be <= 65536 (found 1000000).'],
    ['"patience": 5', '"patiance": 5', 'field "training.patiance": is not a known field here. Did you mean "patience"?'],
    ['"patience": 5', '"hidden_layers": [128, 64]', 'field "training.hidden_layers": is not a known field here. The fields allowed here are learning_rate'],
  ])("in a file: %s → %s", (from, to, expected) => {
    graphErrorOf(() => parseGraph(replaceOnce(mnistText(), from, to), "mnist.graph.json"), /^mnist\.graph\.json:\d+:\d+: /, expected);
  });
});
