/**
 * Learning-rate schedules: the rate of a step, from the run's settings (learning_rate α and lr_schedule)
 * and the progress through training.
 *   constant  α
 *   cosine    α·½(1 + cos(π·t/T)), from α down to 0 over the T steps of num_epochs (Loshchilov and Hutter's SGDR without restarts)
 */
import type { TrainingConfig } from "../graph/training.js";

/** The settings a schedule reads. */
export type ScheduleSettings = Pick<TrainingConfig, "learning_rate" | "lr_schedule">;

/** The learning rate of the step taken after `step` steps, of `totalSteps` in the whole run. */
export function learningRateAt(settings: ScheduleSettings, step: number, totalSteps: number): number {
  if (settings.lr_schedule === "constant") return settings.learning_rate;
  const t = Math.min(step / Math.max(totalSteps, 1), 1);
  return settings.learning_rate * 0.5 * (1 + Math.cos(Math.PI * t));
}
