/**
 * A run folder: everything a training run leaves behind, for a person or a program to come back to.
 *
 *   config.json        the configured graph and the training configuration used, the data and split
 *   metrics.json/.csv  one row per epoch: training and validation loss and accuracy, learning rate, time
 *   best.safetensors   weights and optimizer state at the best validation loss
 *   last.safetensors   weights and optimizer state where training last stood (for --resume)
 *   result.json        the final test metrics and the confusion matrix (also as confusion.csv)
 *   .lock              while a training uses the folder: its process id and host
 *
 * Every file is written atomically: an interrupted run leaves the previous version intact.
 *
 * A training claims its folder, and nothing else may train into it meanwhile: `claimNew` for a new run
 * (refusing a folder that holds a run, which it would overwrite), `claimExisting` to resume one. The
 * claim is the folder's lock; `release` gives it up, and a claim still held when the process exits is
 * released then. A new run released before it wrote a checkpoint (a start that failed, or was stopped,
 * before its first epoch ended) is discarded: the files it wrote, and the folders it created, are removed,
 * so no folder is left holding only a config.json.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../graph/errors.js";
import { TEMPORARY_FILE, writeFileAtomic } from "../util/atomic-write.js";
import { FolderLock, LOCK_FILE, processIsAlive } from "../util/folder-lock.js";
import { fileSystemError, readFileNamed } from "../util/fs-errors.js";
import { makeDirectories, removeDirectories } from "../util/make-directories.js";

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

const CHECKPOINTS = ["last.safetensors", "best.safetensors"] as const;

/** Every file a run writes: a folder holding any of them holds a run, which a new run would overwrite. */
const RUN_FILES: readonly string[] = [
  ...CHECKPOINTS,
  "config.json",
  "metrics.json",
  "metrics.csv",
  "result.json",
  "confusion.csv",
  "curves.svg",
  "confusion.svg",
  "predictions.svg",
  "report.html",
];

/** Claims still held, released when the process exits (after Ctrl-C, an error, or process.exit). */
const claimed = new Set<RunFolder>();
let releaseAtExit = false;

interface Claim {
  readonly lock: FolderLock;
  /** A new run: discarded if released without a checkpoint. The folders created for it, outermost first. */
  readonly created?: readonly string[];
}

export class RunFolder {
  private claim: Claim | undefined;

  private constructor(readonly dir: string) {}

  /** An existing run folder, to read (evaluate, predict); its config.json must be there. */
  static open(dir: string): RunFolder {
    const folder = new RunFolder(dir);
    if (!folder.has("config.json")) {
      throw new UserError(`${dir}: not a graphnet run folder (it has no config.json; \`graphnet train\` makes run folders).`);
    }
    return folder;
  }

  /**
   * Throws unless a new run may be written into `dir`: it does not exist, or is a folder holding no
   * run's files. Writes nothing: a caller checks this before its slow work, and claims the folder after.
   * A folder holding only a config.json is a start that never finished its first epoch: nothing in it
   * can be resumed, and a new run may take its place.
   */
  static checkFree(dir: string): void {
    if (!existsSync(dir)) return;
    const folder = new RunFolder(dir);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOTDIR") throw fileSystemError("EEXIST", "mkdir", dir);
      throw err;
    }
    const found = RUN_FILES.filter((name) => entries.includes(name));
    if (found.length === 0 || (found.length === 1 && found[0] === "config.json")) return;
    const listed = found.length > 3 ? `${found.slice(0, 3).join(", ")} and ${found.length - 3} more` : found.join(", ");
    if (CHECKPOINTS.some((name) => found.includes(name))) {
      throw new UserError(
        `${dir} already holds a run (${listed}), which a new run would overwrite. Continue it with \`graphnet train --resume ${folder.dir}\`, ` +
          `or choose another folder with --out (or remove this one).`,
      );
    }
    throw new UserError(`${dir} holds files a new run would overwrite (${listed}); choose another folder with --out, or remove them.`);
  }

  /**
   * The folder of a new run, created if need be, and claimed. Refuses a folder that holds a run (see
   * checkFree) or that another training holds. Stale temporary files of a killed run are removed.
   */
  static claimNew(dir: string): RunFolder {
    RunFolder.checkFree(dir);
    const created = makeDirectories(dir);
    const folder = new RunFolder(dir);
    let lock: FolderLock;
    try {
      lock = FolderLock.acquire(dir, "a new training");
    } catch (err) {
      removeDirectories(created);
      throw err;
    }
    try {
      RunFolder.checkFree(dir); // again, now that no one else can start a run here
    } catch (err) {
      lock.release();
      removeDirectories(created);
      throw err;
    }
    folder.hold({ lock, created });
    folder.removeStaleTemporaryFiles();
    return folder;
  }

  /** An existing run folder claimed to continue its training (--resume); stale temporary files are removed. */
  static claimExisting(dir: string): RunFolder {
    const folder = RunFolder.open(dir);
    folder.hold({ lock: FolderLock.acquire(dir, "a resumed training") });
    folder.removeStaleTemporaryFiles();
    return folder;
  }

  /**
   * Gives up the claim (the lock). A new run that has no checkpoint is discarded first: its files and the
   * folders made for it are removed. Safe to call twice, and on a folder never claimed.
   */
  release(): void {
    const claim = this.claim;
    if (!claim) return;
    this.claim = undefined;
    claimed.delete(this);
    const discard = claim.created !== undefined && !this.hasCheckpoint();
    if (discard) this.discard();
    claim.lock.release();
    if (discard) removeDirectories(claim.created!);
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

  hasCheckpoint(): boolean {
    return CHECKPOINTS.some((name) => this.has(name));
  }

  /**
   * The checkpoint to continue from: the last one; the best one when the last was never written (a kill
   * between the two writes at the end of the first epoch — the best one then holds that same state).
   */
  resumeCheckpoint(): string {
    const found = CHECKPOINTS.find((name) => this.has(name));
    if (found === undefined) {
      throw new UserError(
        `${this.dir}: there is nothing to resume: the run has no checkpoint, so it stopped before it finished its first epoch. ` +
          `Start it again (\`graphnet train GRAPH --out ${this.dir}\` takes the folder over).`,
      );
    }
    return this.path(found);
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  readJson<T>(name: string): T {
    const path = this.path(name);
    const text = readFileNamed(path).toString("utf8"); // a file-system error keeps its own wording
    try {
      return JSON.parse(text) as T;
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

  private hold(claim: Claim): void {
    this.claim = claim;
    claimed.add(this);
    if (!releaseAtExit) {
      releaseAtExit = true;
      process.on("exit", () => {
        for (const folder of [...claimed]) {
          try {
            folder.release();
          } catch {
            // Exiting anyway: a lock left behind is stale, and the next claim takes it over.
          }
        }
      });
    }
  }

  /** The run's files and temporary files: only ever on a new run's folder, which held no run when claimed. */
  private discard(): void {
    for (const name of RUN_FILES) rmSync(this.path(name), { force: true });
    this.removeStaleTemporaryFiles();
  }

  /**
   * Temporary files of atomic writes that a killed process left (`.NAME.PID.tmp`). Those of a process
   * still running are left alone: with the folder claimed, that can only be another start trying for the lock.
   */
  private removeStaleTemporaryFiles(): void {
    for (const name of readdirSync(this.dir)) {
      const pid = TEMPORARY_FILE.exec(name)?.[1];
      if (pid === undefined || name === LOCK_FILE) continue;
      if (Number(pid) === process.pid || !processIsAlive(Number(pid))) rmSync(this.path(name), { force: true });
    }
  }
}
