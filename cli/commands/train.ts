/** `graphnet train GRAPH`: trains a graph on MNIST (or idx data, or a .csv, .npz or .npy file) and writes a run folder. */
import { statSync } from "node:fs";
import { extname } from "node:path";
import type { BackendName } from "../../src/exec/executor.js";
import { describeDropout, describeNetwork } from "../../src/graph/configure.js";
import { UserError } from "../../src/graph/errors.js";
import type { TrainingSection } from "../../src/graph/training.js";
import { defaultThreads } from "../../src/train/model.js";
import { PhaseClock } from "../../src/train/phases.js";
import { describeRunData } from "../../src/train/run-data.js";
import { recordResult, reopenSession, startSession, type Session, type TrainRequest } from "../../src/train/session.js";
import { TABLE_EXTENSIONS } from "../../src/data/table.js";
import { train } from "../../src/train/trainer.js";
import { EXTENSION_KEYS, extendSession, type Extension } from "../../src/train/extend.js";
import { startPictureThread, type PictureThread } from "../../viz/picture-thread.js";
import { ExitWith, signalExitCode } from "../exit.js";
import { watchInterrupts } from "../interrupts.js";
import { loadRunOpModules } from "../op-modules.js";
import type { CliContext } from "../program.js";
import { progressReporter } from "../progress.js";
import { flagFor } from "../training-flags.js";
import { trainingOverrides } from "../training-overrides.js";
import { plural } from "../../src/graph/plural.js";

interface TrainOptions {
  data?: string;
  labels?: string;
  labelColumn?: string;
  split: "report" | "official";
  out?: string;
  resume?: string;
  initFrom?: string;
  quiet?: boolean;
  verbose?: boolean;
  backend: BackendName;
  threads?: string;
  [flag: string]: unknown;
}

/** `graphnet train`, its command line parsed by ../usage/train.ts. */
export async function trainAction(context: CliContext, graphFile: string | undefined, options: TrainOptions): Promise<void> {
  // From the process's start to here: node, graphnet's modules, the command line.
  const phases = new PhaseClock();
  phases.add("start-up", performance.now() / 1000);
  const overrides = trainingOverrides(options);
  if (options.resume !== undefined) await loadRunOpModules(options.resume);
  // Its libraries load while the data is read and the model built, where a core is free for it.
  const pictures = startPictureThread(options.backend === "wasm" ? Number(options.threads ?? defaultThreads()) : 1);
  try {
    await trainAndDraw(context, graphFile, options, overrides, phases, pictures);
  } finally {
    pictures.dispose();
  }
}

async function trainAndDraw(
  context: CliContext,
  graphFile: string | undefined,
  options: TrainOptions,
  overrides: TrainingSection,
  phases: PhaseClock,
  pictures: PictureThread,
): Promise<void> {
  const { session, notice } = openSession(
    graphFile,
    options,
    overrides,
    context.opModules.map((m) => m.path),
    phases,
  );
  const dropoutWarning = describeDropout(session.record.graph, session.config).warning;
  for (const warning of [...session.warnings, ...(dropoutWarning ? [dropoutWarning] : [])]) process.stderr.write(`warning: ${warning}\n`);
  const quiet = options.quiet === true;
  const interrupts = watchInterrupts();
  try {
    if (!quiet) process.stderr.write(`${describeSession(session)}\n${notice ? `${notice}\n` : ""}`);
    // Drawn in this thread, the live page's modules load now, not inside an epoch's time; their time counts as the pictures'.
    const preparing = await pictures.prepare(session);
    const progress = progressReporter({ quiet, epochs: session.config.num_epochs });
    const outcome = await train({
      ...session,
      // After each epoch report.html shows the run so far, reloading itself, so that it can be watched.
      events: { ...progress, epoch: (metrics, info) => (progress.epoch?.(metrics, info), void pictures.live(session)) },
      shouldStop: () => interrupts.signal !== undefined,
      resume: options.resume !== undefined,
      phases,
    }).catch(async (err: unknown) => {
      await pictures.live(session, `stopped: ${(err as Error).message}`);
      throw err;
    });
    const result = recordResult(session, outcome, phases);
    const failure = session.model.workerFailure;
    if (failure) process.stderr.write(`note: the worker thread stopped (${failure}); the kernels ran on one thread.\n`);
    if (!result) {
      await pictures.live(session, `interrupted; continue with graphnet train --resume ${session.folder.dir}`);
      throw new ExitWith(signalExitCode(interrupts.signal ?? "SIGINT"));
    }
    // The model holds the best weights now: the predictions drawn are the ones the test measured.
    const drawing = performance.now();
    await pictures.write(session, { ...outcome, test: outcome.test! });
    phases.add("pictures", preparing + (performance.now() - drawing) / 1000);
    process.stdout.write(
      `test accuracy ${result.test_accuracy.toFixed(4)} (loss ${result.test_loss.toFixed(4)}) with the weights of epoch ${result.best_epoch} of ${result.epochs}` +
        `${outcome.status === "stopped early" ? " (stopped early)" : ""}, ${result.train_seconds.toFixed(1)} s of training; run folder ${session.folder.dir}\n`,
    );
    if (options.verbose) process.stderr.write(`${describePhases(phases)}\n`);
  } finally {
    interrupts.dispose();
    session.folder.release();
  }
}

function openSession(
  graphFile: string | undefined,
  options: TrainOptions,
  overrides: TrainingSection,
  opModules: readonly string[],
  phases: PhaseClock,
): { session: Session; notice?: string } {
  if (options.resume !== undefined) {
    const others = [
      graphFile !== undefined ? `the graph ${graphFile}` : null,
      ...Object.keys(overrides)
        .filter((key) => !(EXTENSION_KEYS as readonly string[]).includes(key))
        .map((key) => flagFor(key) ?? key),
      options.data !== undefined ? "--data" : null,
      options.labels !== undefined ? "--labels" : null,
      options.labelColumn !== undefined ? "--label-column" : null,
      options.out !== undefined ? "--out" : null,
      options.initFrom !== undefined ? "--init-from" : null,
    ].filter((given): given is string => given !== null);
    if (others.length > 0) {
      throw new UserError(
        `--resume continues a run as it was configured, only longer if asked (--epochs, --patience): give the run folder without ${others.join(", ")}.`,
      );
    }
    const reopened = phases.time("setup", () =>
      reopenSession(options.resume!, { backend: options.backend, training: true, ...(options.threads ? { threads: Number(options.threads) } : {}) }),
    );
    try {
      return extendSession(reopened, overrides as Extension);
    } catch (err) {
      reopened.folder.release();
      throw err;
    }
  }
  if (graphFile === undefined) throw new UserError("train needs a graph file (graphnet train graphs/mnist.graph.json) or --resume RUN_DIR.");
  const session = startSession({
    graphFile,
    overrides,
    opModules,
    split: options.split,
    backend: options.backend,
    ...(options.threads ? { threads: Number(options.threads) } : {}),
    ...dataRequest(options),
    ...(options.out ? { outDir: options.out } : {}),
    ...(options.initFrom !== undefined ? { initFrom: options.initFrom } : {}),
    phases,
  });
  return { session };
}

/** --data as a folder of idx files, or as a file of samples (by its extension: .csv, .npz, .npy). */
function dataRequest(options: TrainOptions): Pick<TrainRequest, "dataDir" | "dataFile" | "labelsFile" | "labelColumn"> {
  const given = options.data;
  const isTable = given !== undefined && (TABLE_EXTENSIONS as readonly string[]).includes(extname(given).toLowerCase());
  if (given !== undefined && !isTable && isFile(given)) {
    throw new UserError(`--data ${given}: a file of samples must be a .csv, .npz or .npy file; for MNIST-layout idx files, give their folder.`);
  }
  return {
    ...(given !== undefined ? (isTable ? { dataFile: given } : { dataDir: given }) : {}),
    ...(options.labels !== undefined ? { labelsFile: options.labels } : {}),
    ...(options.labelColumn !== undefined ? { labelColumn: options.labelColumn } : {}),
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function describeSession(session: Session): string {
  const c = session.config;
  const d = session.record.data;
  const extras = [
    c.use_data_augmentation ? `augmentation (shift ≤ ${c.max_shift} px, rotation ≤ ${c.max_rotation}°)` : null,
    describeDropout(session.record.graph, c).summary,
    c.bias_correction ? "bias correction" : null,
    c.weight_decay > 0 ? `weight decay ${c.weight_decay}` : null,
    c.lr_schedule !== "constant" ? `${c.lr_schedule} schedule` : null,
  ].filter(Boolean);
  return (
    `${session.record.graph.name}: ${describeNetwork(session.record.graph)}, ${c.optimizer} lr ${c.learning_rate}, batch ${c.batch_size}, ${plural(c.num_epochs, "epoch")}, patience ${c.patience}${c.monitor === "val_loss" ? "" : ` on ${c.monitor}`}, seed ${c.seed}` +
    `${extras.length ? `, ${extras.join(", ")}` : ""}\n` +
    `data: ${describeRunData(d)}, ${d.split} split ${d.train.toLocaleString("en-US")} / ${d.validation.toLocaleString("en-US")} / ${d.test.toLocaleString("en-US")}; run folder ${session.folder.dir}`
  );
}

/** Where the wall clock went, phase by phase, and all of it: what --verbose prints after the summary. */
function describePhases(phases: PhaseClock): string {
  const seconds = phases.toJSON();
  const listed = Object.entries(seconds).map(([phase, s]) => `${phase} ${s.toFixed(2)} s`);
  return `wall clock ${(performance.now() / 1000).toFixed(1)} s: ${listed.join(", ")}`;
}
