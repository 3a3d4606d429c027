/**
 * Training a run further than it was configured: `train --resume RUN --epochs N [--patience P]`. A resumed
 * run otherwise continues exactly as it was configured; these two settings only say how long it goes on,
 * so changing them keeps every epoch already trained valid. (A learning-rate schedule follows the new
 * length: a cosine schedule is stretched over the new number of epochs from the step the run is at.)
 *
 * A finished run is extended only when the new settings let it train at least one more epoch; otherwise
 * the one line says which setting to raise, and to what.
 */
import { UserError } from "../graph/errors.js";
import { trainingConfig, type TrainingConfig } from "../graph/training.js";
import { plural } from "../graph/plural.js";
import { monitoredFigure } from "./monitor.js";
import { readMetrics } from "./run-record.js";
import type { RunResult, Session } from "./session.js";

/** The settings a resumed run may change, by their training keys. */
export const EXTENSION_KEYS = ["num_epochs", "patience"] as const;
export type Extension = Partial<Pick<TrainingConfig, (typeof EXTENSION_KEYS)[number]>>;

/** The flag of each setting, for messages (the command's own names). */
const FLAG: Record<(typeof EXTENSION_KEYS)[number], string> = { num_epochs: "--epochs", patience: "--patience" };

/**
 * The session with the extension applied and recorded in its config.json, and a line saying what
 * changed (none when nothing did). Refused, before anything is written, when the run could not train
 * one more epoch with these settings.
 */
export function extendSession(session: Session, extension: Extension): { session: Session; notice?: string } {
  const { folder, config: before } = session;
  const config = trainingConfig({ training: { ...before, ...extension } });
  const done = folder.has("metrics.json") ? readMetrics(folder.path("metrics.json")).length : 0;
  if (config.num_epochs < done) {
    throw new UserError(`${FLAG.num_epochs} ${config.num_epochs}: ${folder.dir} has trained ${plural(done, "epoch")} already; to extend it, give more than ${done}.`);
  }
  if (folder.has("result.json")) checkFinishedRunGoesOn(session, folder.readJson<RunResult>("result.json"), config, done);

  const changes = EXTENSION_KEYS.filter((key) => config[key] !== before[key]).map((key) => `${FLAG[key]} ${before[key]} → ${config[key]}`);
  if (changes.length === 0) return { session };
  const stretched = config.lr_schedule !== "constant" && config.num_epochs !== before.num_epochs;
  const record = { ...session.record, training: config };
  folder.writeJson("config.json", record);
  return {
    session: { ...session, record, config },
    notice: `extending the run: ${changes.join(", ")}${stretched ? ` (the ${config.lr_schedule} schedule now spans ${plural(config.num_epochs, "epoch")})` : ""}`,
  };
}

/** Throws unless a finished run, with these settings, would train at least one more epoch. */
function checkFinishedRunGoesOn(session: Session, result: RunResult, config: TrainingConfig, done: number): void {
  const dir = session.folder.dir;
  if (result.status === "stopped early") {
    const since = done - result.best_epoch;
    if (config.patience > 0 && since >= config.patience) {
      throw new UserError(
        `${dir} stopped early: its ${monitoredFigure(config.monitor)} has not improved for ${plural(since, "epoch")} (best: epoch ${result.best_epoch}); ` +
          `to train it further, give ${FLAG.patience} above ${since} (or 0, never stop early)${config.num_epochs > done ? "" : ` and ${FLAG.num_epochs} above ${done}`}.`,
      );
    }
  }
  if (config.num_epochs <= done) {
    throw new UserError(`${dir} has finished: it trained its ${plural(done, "epoch")}; to train it further, give ${FLAG.num_epochs} with more than ${done}.`);
  }
}
