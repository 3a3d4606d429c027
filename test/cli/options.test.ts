/**
 * Option values: numbers are read in decimal only (`--lr 0x10` was taken as 16), and `predict` says what
 * it needs when given no digit. The many cases run in-process through the program's own `main` (the
 * same commander program the executable runs, its stderr captured); two go through the executable.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Command } from "commander";
import { parseDecimal } from "../../cli/options.js";
import { main } from "../../cli/program.js";
import { addTrainingFlags } from "../../cli/training-flags.js";
import { trainingOverrides } from "../../cli/training-overrides.js";

describe("numbers in decimal", () => {
  it.each([
    ["12", 12],
    ["0.001", 0.001],
    [".5", 0.5],
    ["5.", 5],
    ["-3", -3],
    ["+2", 2],
    ["1e-3", 0.001],
    ["2E3", 2000],
    ["007", 7],
  ])("%s is %d", (text, value) => {
    expect(parseDecimal(text)).toBe(value);
  });

  it.each(["0x10", "0X1f", "0b11", "0o7", "Infinity", "-Infinity", "NaN", "", " ", " 1", "1 ", "1_000", "1,5", "e3", "1e", "--1", "1.2.3", "١٢"])(
    "%j is not a decimal number",
    (text) => {
      expect(parseDecimal(text)).toBeUndefined();
    },
  );
});

describe("flags given a value that is not a decimal number, or no digit to predict", () => {
  let stderr: string;
  beforeEach(() => {
    stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each<[string[], string]>([
    [["train", "graphs/mnist.graph.json", "--lr", "0x10"], `--lr takes a number written in decimal (such as 0.001 or 1e-3), got "0x10".`],
    [["train", "graphs/mnist.graph.json", "--epochs", "0b11"], `--epochs takes a number written in decimal (such as 0.001 or 1e-3), got "0b11".`],
    [["train", "graphs/mnist.graph.json", "--test-size", "Infinity"], `--test-size takes a number written in decimal (such as 0.001 or 1e-3), got "Infinity".`],
    [["train", "graphs/mnist.graph.json", "--seed", ""], `--seed takes a number written in decimal (such as 0.001 or 1e-3), got "".`],
    [["predict", "some/run", "--index", "0x1"], `--index must be a whole number ≥ 0, written in decimal, got "0x1".`],
    [["inspect", "graphs/mnist.graph.json", "--plan", "--batch", "1_000"], `--batch must be a positive integer, written in decimal, got "1_000".`],
    [["gradcheck", "--runs", "0o7"], `--runs must be a positive integer, written in decimal, got "0o7".`],
    [["gradcheck", "graphs/mnist.graph.json", "--dropout", "0x0"], `--dropout must be a number in [0, 1), written in decimal, got "0x0".`],
  ])("%j is refused, naming the flag", async (argv, message) => {
    expect(await main(argv)).toBe(1);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("predict with neither --index nor a picture says what it needs", async () => {
    expect(await main(["predict", "some/run"])).toBe(1);
    expect(stderr).toBe(
      "graphnet: predict needs a digit: give --index N (the N-th image of the run's test split) or --image FILE (a PNG or JPEG picture of a digit).\n",
    );
  });

  it("predict with both says to choose", async () => {
    expect(await main(["predict", "some/run", "digit.png", "--index", "3"])).toBe(1);
    expect(stderr).toBe("graphnet: predict takes one digit: --index 3 or digit.png, not both.\n");
  });

  it("predict with --image and --index says to choose", async () => {
    expect(await main(["predict", "some/run", "--image", "digit.jpg", "--index", "3"])).toBe(1);
    expect(stderr).toBe("graphnet: predict takes one digit: --index 3 or digit.jpg, not both.\n");
  });

  it("predict with two different pictures says to choose", async () => {
    expect(await main(["predict", "some/run", "a.png", "--image", "b.png"])).toBe(1);
    expect(stderr).toBe("graphnet: predict takes one picture: a.png or --image b.png, not both.\n");
  });
});

describe("training flags", () => {
  const overrides = (argv: string[]) => trainingOverrides(addTrainingFlags(new Command()).exitOverride().parse(argv, { from: "user" }).opts());

  it("set the training keys they name, whatever commander calls their attributes (--batch-size: batchSize)", () => {
    expect(overrides(["--batch-size", "32", "--lr", "0.01", "--activations", "relu, tanh", "--dropout", "--no-augment", "--lr-schedule", "cosine"])).toEqual({
      batch_size: 32,
      learning_rate: 0.01,
      activation_functions: ["relu", "tanh"],
      use_dropout: true,
      use_data_augmentation: false,
      lr_schedule: "cosine",
    });
  });

  it("with a value the training schema refuses are reported under the flag's name", () => {
    expect(() => overrides(["--batch-size", "0"])).toThrow(/^--batch-size: /);
  });
});

describe("through the executable", () => {
  const BIN = join(process.cwd(), "dist", "cli", "main.js");
  const graphnet = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });

  it("--lr 0x10 is refused before anything runs", () => {
    const r = graphnet("train", "graphs/mnist.graph.json", "--lr", "0x10", "--out", join("no", "such", "run"));
    expect(r.stderr).toBe(
      `graphnet: option '--lr <rate>' argument '0x10' is invalid. --lr takes a number written in decimal (such as 0.001 or 1e-3), got "0x10". (run with --help for usage)\n`,
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
  });

  it("predict RUN alone says what it needs", () => {
    const r = graphnet("predict", "some/run");
    expect(r.stderr).toBe(
      "graphnet: predict needs a digit: give --index N (the N-th image of the run's test split) or --image FILE (a PNG or JPEG picture of a digit).\n",
    );
    expect(r.status).toBe(1);
  });
});
