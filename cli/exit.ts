import { constants } from "node:os";
import { pathToFileURL } from "node:url";

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

/**
 * The exit code of an unexpected error — a bug, not a user's mistake (those exit with 1): EX_SOFTWARE of
 * sysexits.h, "an internal software error", so that a script can tell the two apart.
 */
export const EXIT_INTERNAL_ERROR = 70;

/** What the report of an unexpected error says, besides the error. */
export interface BugReportContext {
  /** graphnet's version. */
  readonly version: string;
  /** Where to report a bug: package.json's `bugs` or `repository` URL, if it names one. */
  readonly reportAt: string | undefined;
  /** The modules given with --ops, to blame one of them when the error was thrown in its code. */
  readonly opModules: readonly { readonly file: string; readonly path: string }[];
  /** --debug or GRAPHNET_DEBUG=1: the stack trace follows the line. */
  readonly debug: boolean;
}

/**
 * An unexpected error, for stderr: one line that names it and asks for a bug report (to graphnet, or to
 * the author of the --ops module whose code threw it), then the stack trace only when asked for.
 */
export function internalErrorReport(err: unknown, context: BugReportContext): string {
  const what = oneLine(err instanceof Error ? `${err.name}: ${err.message}` : `${typeof err} ${String(err)}`);
  const forStack = context.debug ? "" : " (run it again with --debug, or GRAPHNET_DEBUG=1, for the stack trace)";
  const inModule = opModuleFrame(err, context.opModules);
  const line =
    inModule !== undefined
      ? `graphnet: ${inModule}: the op module given with --ops threw ${what}. The error is in that module's code, not in graphnet${forStack}.`
      : `graphnet: internal error: ${what}. This is a bug in graphnet ${context.version}, not a mistake of yours: please ` +
        `${context.reportAt ? `report it at ${context.reportAt}` : "report it to the graphnet maintainers"}, with the command that ran into it and its stack trace${forStack}.`;
  const stack = context.debug && err instanceof Error && err.stack ? `${err.stack}\n` : "";
  return `${line}\n${stack}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** "FILE:LINE:COLUMN" when the error's innermost stack frame is in one of the op modules. */
function opModuleFrame(err: unknown, modules: BugReportContext["opModules"]): string | undefined {
  if (!(err instanceof Error) || typeof err.stack !== "string" || modules.length === 0) return undefined;
  // Only the innermost frame: an error graphnet throws while it runs the module's code is graphnet's.
  const innermost = /^\s+at (.*)$/m.exec(err.stack)?.[1];
  const at = innermost === undefined ? null : /\(?(file:\/\/[^\s()]+):(\d+):(\d+)\)?$/.exec(innermost);
  const module = at ? modules.find((m) => pathToFileURL(m.path).href === at[1]) : undefined;
  return module && `${module.file}:${at![2]}:${at![3]}`;
}
