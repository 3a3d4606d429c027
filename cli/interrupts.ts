/**
 * Ctrl-C and SIGTERM (what containers, systemd and CI send) during a training: the first asks the run to
 * stop after its current batch, with a checkpoint; a second quits at once, with the signal's exit code
 * (130 for SIGINT, 143 for SIGTERM). Whatever ends the process, the run folder's claim is released on
 * the way out (RunFolder releases its claims at exit).
 */
import { signalPoint } from "../src/util/test-signal.js";
import { signalExitCode } from "./exit.js";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export interface Interrupts {
  /** The first signal received, if any: the run should stop. */
  readonly signal: NodeJS.Signals | undefined;
  /** Stops listening (the signals' default actions apply again). */
  dispose(): void;
}

export function watchInterrupts(): Interrupts {
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalPoint("interrupt");
    const name = signal === "SIGINT" ? "Ctrl-C" : signal;
    if (first !== undefined) {
      process.stderr.write(`\n${name} again: quitting at once, without saving the batches since the last checkpoint.\n`);
      process.exit(signalExitCode(signal));
    }
    first = signal;
    process.stderr.write(`\n${name}: stopping after this batch (Ctrl-C again to quit at once)…\n`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return {
    get signal() {
      return first;
    },
    dispose() {
      for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}
