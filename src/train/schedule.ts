/**
 * Learning-rate schedules, as a function of progress through training.
 *   constant  α
 *   cosine    α·½(1 + cos(π·t/T)), from α down to 0 over the T steps of num_epochs (Loshchilov and Hutter's SGDR without restarts)
 */
import type { ScheduleName } from "../graph/training.js";

export function learningRateAt(schedule: ScheduleName, base: number, step: number, totalSteps: number): number {
  if (schedule === "constant") return base;
  const t = Math.min(step / Math.max(totalSteps, 1), 1);
  return base * 0.5 * (1 + Math.cos(Math.PI * t));
}
