/** What `graphnet train` accepts; what it does is ../commands/train.ts, loaded when it runs. */
import { Command, Option } from "commander";
import type { BackendName } from "../../src/exec/executor.js";
import type { CliContext } from "../program.js";
import { addTrainingFlags } from "../training-flags.js";

/**
 * The backend `graphnet train` runs on unless told otherwise: the WebAssembly SIMD kernels, held equal to
 * the reference kernels by test/exec/wasm-backend.test.ts and 10–20 times faster (README, Performance).
 */
const DEFAULT_BACKEND: BackendName = "wasm";

export function trainCommand(context: CliContext): Command {
  const command = new Command("train")
    .description(
      "Train a graph on MNIST (bundled, no download) or on your own data (--data) and write a run folder: configuration, metrics, checkpoints, test results.",
    )
    .argument("[graph]", "a graph JSON file with a loss, labels and features inputs, and outputs.probs")
    .option(
      "--data <dir-or-file>",
      "instead of the bundled MNIST: a directory of MNIST-layout idx files (train-images-idx3-ubyte, …, plain or .gz), or a file of samples: a .csv table (a label column, numeric features), an .npz (arrays x and y), or an .npy of features with --labels",
    )
    .option("--labels <file>", "with --data FEATURES.npy: the .npy file of their labels (one class number per sample)")
    .option(
      "--label-column <name-or-number>",
      'with --data FILE.csv: the label column, by header name or number from 0 (default: a column named "label", else the last)',
    )
    .addOption(
      new Option("--split <kind>", "report: all images shuffled, test_size then val_size (42,000/14,000/14,000); official: the 60,000/10,000 files")
        .choices(["report", "official"])
        .default("report"),
    )
    .option("--out <dir>", "the run folder (default: runs/<graph name>-<timestamp>)")
    .option("--resume <run-dir>", "continue a run from its last checkpoint; with --epochs or --patience, train a finished run further")
    .option(
      "--init-from <dir-or-file>",
      "start from these weights instead of the graph's initialisation (by parameter id): a run folder or a folder written by graphnet import (their best.safetensors), or a checkpoint file",
    )
    .option("--quiet", "print only the final summary")
    .option("--verbose", "also print where the wall clock went: start-up, data, model, training, validation, checkpoints, test, pictures")
    .addOption(
      new Option("--backend <name>", "wasm: WebAssembly SIMD kernels, the arena in WebAssembly memory; ts: the plain TypeScript reference kernels")
        .choices(["wasm", "ts"])
        .default(DEFAULT_BACKEND),
    )
    .addOption(
      new Option(
        "--threads <n>",
        "wasm: threads for the big kernels and the optimizer (default: 2 on two cores or more, the second sitting out while steps run faster without it, as when other work keeps a core busy; 1 or 2 forces it)",
      ).choices(["1", "2"]),
    );
  addTrainingFlags(command);
  return command.action(async (graphFile: string | undefined, options) => (await import("../commands/train.js")).trainAction(context, graphFile, options));
}
