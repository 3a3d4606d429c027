/**
 * Where a training run's wall clock goes, phase by phase: reading the graph and the data, building the
 * model, the training steps, the validation after each epoch, the checkpoints, the test. `graphnet train
 * --verbose` prints them and result.json records them, so that the time around the training itself can
 * be seen and kept small.
 */
export class PhaseClock {
  private readonly seconds = new Map<string, number>();

  /** Runs `work`, adding its wall clock to `phase` (phases met again add up: validation over the epochs). */
  time<T>(phase: string, work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.add(phase, (performance.now() - start) / 1000);
    }
  }

  add(phase: string, seconds: number): void {
    this.seconds.set(phase, (this.seconds.get(phase) ?? 0) + seconds);
  }

  /** Seconds per phase, in the order the phases were first met, to the millisecond. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.seconds].map(([phase, s]) => [phase, Math.round(s * 1000) / 1000]));
  }
}
