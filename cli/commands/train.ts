/** `graphnet train GRAPH`: trains a graph on MNIST (or any idx data) and writes a run folder. */
import { Command, Option } from "commander";
import { UserError, type BackendName, recordResult, reopenSession, startSession, train, type Session, type TrainingSection } from "../../src/index.js";
import { ExitWith, signalExitCode } from "../exit.js";
import { watchInterrupts } from "../interrupts.js";
import { loadRunOpModules } from "../op-modules.js";
import type { CliContext } from "../program.js";
import { progressReporter } from "../progress.js";
import { addTrainingFlags, trainingOverrides } from "../training-flags.js";

/**
 * The backend `graphnet train` runs on unless told otherwise: the WebAssembly SIMD kernels, held equal to
 * the reference kernels by test/exec/wasm-backend.test.ts and 10–20 times faster (README, Performance).
 */
const DEFAULT_BACKEND: BackendName = "wasm";

interface TrainOptions {
  data?: string;
  split: "report" | "official";
  out?: string;
  resume?: string;
  initFrom?: string;
  quiet?: boolean;
  backend: BackendName;
  threads?: string;
  [flag: string]: unknown;
}

export function trainCommand(context: CliContext): Command {
  const command = new Command("train")
    .description("Train a graph on MNIST (bundled, no download) and write a run folder: configuration, metrics, checkpoints, test results.")
    .argument("[graph]", "a graph JSON file with a loss, labels and features inputs, and outputs.probs")
    .option("--data <dir>", "a directory of MNIST-layout idx files (train-images-idx3-ubyte, …, plain or .gz) instead of the bundled MNIST")
    .addOption(
      new Option("--split <kind>", "report: all images shuffled, test_size then val_size (42,000/14,000/14,000); official: the 60,000/10,000 files")
        .choices(["report", "official"])
        .default("report"),
    )
    .option("--out <dir>", "the run folder (default: runs/<graph name>-<timestamp>)")
    .option("--resume <run-dir>", "continue an interrupted run from its last checkpoint")
    .option(
      "--init-from <dir-or-file>",
      "start from these weights instead of the graph's initialisation (by parameter id): a run folder or a folder written by graphnet import (their best.safetensors), or a checkpoint file",
    )
    .option("--quiet", "print only the final summary")
    .addOption(
      new Option("--backend <name>", "wasm: WebAssembly SIMD kernels, the arena in WebAssembly memory; ts: the plain TypeScript reference kernels")
        .choices(["wasm", "ts"])
        .default(DEFAULT_BACKEND),
    )
    .addOption(
      new Option(
        "--threads <n>",
        "wasm: threads for the big kernels and the optimizer (default 2 on two cores or more; 1 is faster while other work keeps a core busy)",
      ).choices(["1", "2"]),
    );
  addTrainingFlags(command);
  return command.action(async (graphFile: string | undefined, options: TrainOptions) => {
    const overrides = trainingOverrides(options);
    if (options.resume !== undefined) await loadRunOpModules(options.resume);
    const session = openSession(
      graphFile,
      options,
      overrides,
      context.opModules.map((m) => m.path),
    );
    for (const warning of session.warnings) process.stderr.write(`warning: ${warning}\n`);
    const quiet = options.quiet === true;
    const interrupts = watchInterrupts();
    try {
      if (!quiet) process.stderr.write(`${describeSession(session)}\n`);
      const outcome = await train({
        ...session,
        events: progressReporter({ quiet, epochs: session.config.num_epochs }),
        shouldStop: () => interrupts.signal !== undefined,
        resume: options.resume !== undefined,
      });
      const result = recordResult(session, outcome);
      const failure = session.model.workerFailure;
      if (failure) process.stderr.write(`note: the worker thread stopped (${failure}); the kernels ran on one thread.\n`);
      if (!result) throw new ExitWith(signalExitCode(interrupts.signal ?? "SIGINT"));
      // The model holds the best weights now: the predictions drawn are the ones the test measured.
      // The pictures' libraries (d3, jsdom) load only here, not in every run of the command.
      const { writeRunPictures } = await import("../../viz/index.js");
      writeRunPictures(session, { ...outcome, test: outcome.test! });
      process.stdout.write(
        `test accuracy ${result.test_accuracy.toFixed(4)} (loss ${result.test_loss.toFixed(4)}) with the weights of epoch ${result.best_epoch} of ${result.epochs}` +
          `${outcome.status === "stopped early" ? " (stopped early)" : ""}, ${result.train_seconds.toFixed(1)} s of training; run folder ${session.folder.dir}\n`,
      );
    } finally {
      interrupts.dispose();
      session.folder.release();
    }
  });
}

function openSession(graphFile: string | undefined, options: TrainOptions, overrides: TrainingSection, opModules: readonly string[]): Session {
  if (options.resume !== undefined) {
    if (
      graphFile !== undefined ||
      Object.keys(overrides).length > 0 ||
      options.data !== undefined ||
      options.out !== undefined ||
      options.initFrom !== undefined
    ) {
      throw new UserError(
        `--resume continues a run exactly as it was configured: give only the run folder (found ${graphFile !== undefined ? `the graph ${graphFile}` : "other options"} too).`,
      );
    }
    return reopenSession(options.resume, { backend: options.backend, training: true, ...(options.threads ? { threads: Number(options.threads) } : {}) });
  }
  if (graphFile === undefined) throw new UserError("train needs a graph file (graphnet train graphs/mnist.graph.json) or --resume RUN_DIR.");
  return startSession({
    graphFile,
    overrides,
    opModules,
    split: options.split,
    backend: options.backend,
    ...(options.threads ? { threads: Number(options.threads) } : {}),
    ...(options.data ? { dataDir: options.data } : {}),
    ...(options.out ? { outDir: options.out } : {}),
    ...(options.initFrom !== undefined ? { initFrom: options.initFrom } : {}),
  });
}

function describeSession(session: Session): string {
  const c = session.config;
  const d = session.record.data;
  const extras = [
    c.use_data_augmentation ? `augmentation (shift ≤ ${c.max_shift} px, rotation ≤ ${c.max_rotation}°)` : null,
    c.use_dropout ? `dropout ${c.dropout_rate}` : null,
    c.bias_correction ? "bias correction" : null,
    c.weight_decay > 0 ? `weight decay ${c.weight_decay}` : null,
    c.lr_schedule !== "constant" ? `${c.lr_schedule} schedule` : null,
  ].filter(Boolean);
  return (
    `${session.record.graph.name}: ${c.activation_functions.join("/")}, ${c.optimizer} lr ${c.learning_rate}, batch ${c.batch_size}, ${c.num_epochs} epochs, patience ${c.patience}, seed ${c.seed}` +
    `${extras.length ? `, ${extras.join(", ")}` : ""}\n` +
    `data: ${d.dir ?? "bundled MNIST"}, ${d.split} split ${d.train.toLocaleString("en-US")} / ${d.validation.toLocaleString("en-US")} / ${d.test.toLocaleString("en-US")}; run folder ${session.folder.dir}`
  );
}
