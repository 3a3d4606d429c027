/**
 * The `graphnet` command: commander commands over the library, and nothing else.
 * A user's mistake (a bad file, a bad flag) prints one paragraph and exits with 1, and so does a
 * file-system error (no such file, a full disk, no permission: the one wording of src/util/fs-errors.ts);
 * anything else is a bug (graphnet's, or an --ops module's): one line asking for a report, exit code 70,
 * and the stack trace only with --debug or GRAPHNET_DEBUG=1.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { GraphError, UserError } from "../src/index.js";
import { fileSystemProblem } from "../src/util/fs-errors.js";
import { EXIT_INTERNAL_ERROR, ExitWith, internalErrorReport } from "./exit.js";
import { gradcheckCommand } from "./commands/gradcheck.js";
import { inspectCommand } from "./commands/inspect.js";
import { schemaCommand } from "./commands/schema.js";
import { trainCommand } from "./commands/train.js";
import { evalCommand } from "./commands/eval.js";
import { predictCommand } from "./commands/predict.js";
import { renderCommand } from "./commands/render.js";
import { exportCommand } from "./commands/export.js";
import { importCommand } from "./commands/import.js";
import { loadOpModules, type LoadedOpModule } from "./op-modules.js";

/** What the program knows before a command runs: the op modules given with --ops, loaded. */
export interface CliContext {
  opModules: LoadedOpModule[];
}

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
      context.opModules = await loadOpModules((program.opts() as { ops?: string[] }).ops ?? []);
    });
  for (const command of [
    trainCommand(context),
    evalCommand(),
    predictCommand(),
    inspectCommand(),
    renderCommand(),
    exportCommand(),
    importCommand(),
    gradcheckCommand(context),
    schemaCommand(),
  ]) {
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
