/**
 * The `graphnet` command: commander commands over the library, and nothing else.
 *
 * Each command is two modules: cli/usage/NAME.ts says what it accepts (its arguments, options and help:
 * commander and nothing heavier), cli/commands/NAME.ts what it does, imported by the action when the
 * command runs. So `graphnet --version`, `--help` and a mistyped option load no part of the library,
 * and each command loads only what it needs (test/cli/lazy-loading.test.ts holds both). A new command
 * is a pair of such modules and a line in COMMANDS.
 *
 * A user's mistake (a bad file, a bad flag) prints one paragraph and exits with 1, and so does a
 * file-system error (no such file, a full disk, no permission: the one wording of src/util/fs-errors.ts);
 * anything else is a bug (graphnet's, or an --ops module's): one line asking for a report, exit code 70,
 * and the stack trace only with --debug or GRAPHNET_DEBUG=1.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { GraphError, UserError } from "../src/graph/errors.js";
import { fileSystemProblem } from "../src/util/fs-errors.js";
import { EXIT_INTERNAL_ERROR, ExitWith, internalErrorReport } from "./exit.js";
import type { LoadedOpModule } from "./op-modules.js";
import { evalCommand } from "./usage/eval.js";
import { exportCommand } from "./usage/export.js";
import { gradcheckCommand } from "./usage/gradcheck.js";
import { importCommand } from "./usage/import.js";
import { inspectCommand } from "./usage/inspect.js";
import { predictCommand } from "./usage/predict.js";
import { renderCommand } from "./usage/render.js";
import { schemaCommand } from "./usage/schema.js";
import { trainCommand } from "./usage/train.js";

/** What the program knows before a command runs: the op modules given with --ops, loaded. */
export interface CliContext {
  opModules: LoadedOpModule[];
}

/** The commands, in the order `graphnet --help` lists them. */
const COMMANDS: readonly ((context: CliContext) => Command)[] = [
  trainCommand,
  evalCommand,
  predictCommand,
  inspectCommand,
  renderCommand,
  exportCommand,
  importCommand,
  gradcheckCommand,
  schemaCommand,
];

function buildProgram(context: CliContext = { opModules: [] }): Command {
  const program = new Command("graphnet")
    .description("A dataflow-graph engine with reverse-mode automatic differentiation.")
    .version(ownPackage().version)
    .option(
      "--ops <module>",
      "register the ops a JavaScript module exports (its path relative to the current directory; repeat for several), before any command runs",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--debug", "on an unexpected error (a bug), print its stack trace too (or set GRAPHNET_DEBUG=1)")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (message, write) => write(usageError(message)) })
    .exitOverride()
    // A program-level option, so it may stand before or after the command's name, and every command has it.
    .hook("preAction", async () => {
      const files = (program.opts() as { ops?: string[] }).ops ?? [];
      if (files.length > 0) context.opModules = await (await import("./op-modules.js")).loadOpModules(files);
    });
  for (const command of COMMANDS.map((define) => define(context))) {
    // Subcommands report usage errors like the program: one line, exit code 1, no process.exit.
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/**
 * commander's report of a usage error (an unknown option, a missing argument), as one line like every
 * error of graphnet's, saying where the usage is (showHelpAfterError would put that on a line of its own).
 */
function usageError(message: string): string {
  const text = message
    .replace(/^error: /, "")
    .trim()
    .replace(/\s*\n\s*/g, " ");
  return `graphnet: ${text} (run with --help for usage)\n`;
}

interface OwnPackage {
  readonly version: string;
  readonly bugs?: string | { readonly url?: string };
  readonly repository?: string | { readonly url?: string };
}

/** graphnet's own package.json (not the npm_package_* of whatever project runs it). */
function ownPackage(): OwnPackage {
  return createRequire(import.meta.url)("graphnet/package.json") as OwnPackage;
}

/** Where package.json says bugs are reported, if it says. */
function reportAt({ bugs, repository }: OwnPackage): string | undefined {
  const url = (field: string | { readonly url?: string } | undefined) => (typeof field === "string" ? field : field?.url);
  return url(bugs) ?? url(repository);
}

export async function main(argv: readonly string[]): Promise<number> {
  const context: CliContext = { opModules: [] };
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof ExitWith) return err.exitCode;
    if (err instanceof CommanderError) return err.exitCode; // commander already printed the message
    if (err instanceof UserError) {
      process.stderr.write(`graphnet: ${err.message}${unknownOpHint(err)}\n`);
      return 1;
    }
    const problem = fileSystemProblem(err);
    if (problem !== undefined) {
      process.stderr.write(`graphnet: ${problem}\n`);
      return 1;
    }
    const own = ownPackage();
    const debug = (program.opts() as { debug?: boolean }).debug === true || isSet(process.env.GRAPHNET_DEBUG);
    process.stderr.write(internalErrorReport(err, { version: own.version, reportAt: reportAt(own), opModules: context.opModules, debug }));
    return EXIT_INTERNAL_ERROR;
  }
}

/** An environment flag: set, and not "0" or "false". */
function isSet(value: string | undefined): boolean {
  return value !== undefined && !["", "0", "false"].includes(value.trim().toLowerCase());
}

/** On the command line, an op of one's own is registered with --ops: say so where a graph names an unknown op. */
function unknownOpHint(err: UserError): string {
  return err instanceof GraphError && err.location.field === "op" && err.problem.startsWith("unknown op")
    ? " From the command line, load the module that defines it with --ops FILE."
    : "";
}
