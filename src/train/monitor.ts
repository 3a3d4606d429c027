/**
 * What early stopping and the best checkpoint watch. The validation loss is the default (the report's
 * rule); the validation accuracy is what a reader of the results counts, and on a nearly solved task the
 * two part ways: the loss keeps rewarding confidence on images already right after the accuracy has
 * stopped moving. A tie in accuracy (a count of images, so ties are common) goes to the lower loss.
 */
import type { MonitorName } from "../graph/training.js";

export interface ValidationFigures {
  readonly val_loss: number;
  readonly val_accuracy: number;
}

/** Whether an epoch's figures beat the best so far (none yet: any finite figures do). */
export function improves(candidate: ValidationFigures, best: ValidationFigures | undefined, monitor: MonitorName): boolean {
  if (!best) return Number.isFinite(candidate.val_loss) || monitor === "val_accuracy";
  if (monitor === "val_loss") return candidate.val_loss < best.val_loss;
  return candidate.val_accuracy > best.val_accuracy || (candidate.val_accuracy === best.val_accuracy && candidate.val_loss < best.val_loss);
}

/** The monitored figure in words, for messages: "validation loss". */
export function monitoredFigure(monitor: MonitorName): string {
  return monitor === "val_loss" ? "validation loss" : "validation accuracy";
}
