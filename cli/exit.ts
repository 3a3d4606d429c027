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
