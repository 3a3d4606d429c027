/**
 * The `graphnet` command: commander commands over the library, and nothing else.
 * A user's mistake (a bad file, a bad flag) prints one paragraph and exits with 1, and so does a
 * file-system error (no such file, a full disk, no permission: the one wording of src/util/fs-errors.ts);
 * anything else is a bug in graphnet and keeps its stack trace.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { GraphError, UserError } from "../src/index.js";
import { fileSystemProblem } from "../src/util/fs-errors.js";
import { ExitWith } from "./exit.js";
import { gradcheckCommand } from "./commands/gradcheck.js";
import { inspectCommand } from "./commands/inspect.js";
import { schemaCommand } from "./commands/schema.js";
import { trainCommand } from "./commands/train.js";
import { evalCommand } from "./commands/eval.js";
import { predictCommand } from "./commands/predict.js";
import { renderCommand } from "./commands/render.js";
import { loadOpModules, type LoadedOpModule } from "./op-modules.js";

/** What the program knows before a command runs: the op modules given with --ops, loaded. */
export interface CliContext {
  opModules: LoadedOpModule[];
}

export function buildProgram(): Command {
  const context: CliContext = { opModules: [] };
  const program = new Command("graphnet")
    .description("A dataflow-graph engine with reverse-mode automatic differentiation.")
    .version(ownVersion())
    .option(
      "--ops <module>",
      "register the ops a JavaScript module exports (its path relative to the current directory; repeat for several), before any command runs",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (message, write) => write(`graphnet: ${message.replace(/^error: /, "")}`) })
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
    gradcheckCommand(context),
    schemaCommand(),
  ]) {
    // Subcommands report usage errors like the program: one line, exit code 1, no process.exit.
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/** graphnet's own version, from its package.json (not the npm_package_version of whatever project runs it). */
function ownVersion(): string {
  return (createRequire(import.meta.url)("graphnet/package.json") as { version: string }).version;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: "user" });
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
    throw err;
  }
}

/** On the command line, an op of one's own is registered with --ops: say so where a graph names an unknown op. */
function unknownOpHint(err: UserError): string {
  return err instanceof GraphError && err.location.field === "op" && err.problem.startsWith("unknown op")
    ? " From the command line, load the module that defines it with --ops FILE."
    : "";
}
