/**
 * A run folder: everything a training run leaves behind, for a person or a program to come back to.
 *
 *   config.json        the configured graph and the training configuration used, the data and split
 *   metrics.json/.csv  one row per epoch: training and validation loss and accuracy, learning rate, time
 *   best.safetensors   weights and optimizer state at the best validation loss
 *   last.safetensors   weights and optimizer state where training last stood (for --resume)
 *   result.json        the final test metrics and the confusion matrix (also as confusion.csv)
 *
 * Every file is written atomically: an interrupted run leaves the previous version intact.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../graph/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export interface EpochMetrics {
  readonly epoch: number;
  readonly train_loss: number;
  readonly train_accuracy: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
  readonly learning_rate: number;
  readonly seconds: number;
  readonly samples_per_s: number;
}

export class RunFolder {
  constructor(readonly dir: string) {}

  static create(dir: string): RunFolder {
    mkdirSync(dir, { recursive: true });
    return new RunFolder(dir);
  }

  /** An existing run folder; its config.json must be there. */
  static open(dir: string): RunFolder {
    const folder = new RunFolder(dir);
    if (!existsSync(folder.path("config.json"))) {
      throw new UserError(`${dir}: not a graphnet run folder (it has no config.json; \`graphnet train\` makes run folders).`);
    }
    return folder;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  get bestCheckpoint(): string {
    return this.path("best.safetensors");
  }

  get lastCheckpoint(): string {
    return this.path("last.safetensors");
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  readJson<T>(name: string): T {
    const path = this.path(name);
    try {
      return JSON.parse(readFileSync(path, "utf8")) as T;
    } catch (err) {
      throw new UserError(`${path}: cannot be read as JSON (${(err as Error).message}).`);
    }
  }

  has(name: string): boolean {
    return existsSync(this.path(name));
  }

  writeMetrics(history: readonly EpochMetrics[]): void {
    this.writeJson("metrics.json", history);
    const columns = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "samples_per_s"] as const;
    const rows = history.map((m) => columns.map((c) => String(m[c])).join(","));
    writeFileAtomic(this.path("metrics.csv"), `${[columns.join(","), ...rows].join("\n")}\n`);
  }

  writeConfusion(confusion: readonly (readonly number[])[]): void {
    const header = ["true\\predicted", ...confusion.map((_, k) => String(k))].join(",");
    const rows = confusion.map((row, k) => [String(k), ...row.map(String)].join(","));
    writeFileAtomic(this.path("confusion.csv"), `${[header, ...rows].join("\n")}\n`);
  }
}
