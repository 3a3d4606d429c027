import { constants } from "node:os";

/**
 * A command that ran to the end but must report failure (a gradient check that failed) throws
 * ExitWith after printing its output; `main` turns it into the exit code, without a message.
 */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = "ExitWith";
  }
}

/** The shell's exit code for a command ended by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
