/**
 * The `graphnet` command: commander commands over the library, and nothing else.
 * A user's mistake (a bad file, a bad flag) prints one paragraph and exits with 1; anything else is a
 * bug in graphnet and keeps its stack trace.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { UserError } from "../src/index.js";
import { ExitWith } from "./exit.js";
import { gradcheckCommand } from "./commands/gradcheck.js";
import { inspectCommand } from "./commands/inspect.js";
import { schemaCommand } from "./commands/schema.js";
import { trainCommand } from "./commands/train.js";
import { evalCommand } from "./commands/eval.js";
import { predictCommand } from "./commands/predict.js";

export function buildProgram(): Command {
  const program = new Command("graphnet")
    .description("A dataflow-graph engine with reverse-mode automatic differentiation.")
    .version(ownVersion())
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (message, write) => write(`graphnet: ${message.replace(/^error: /, "")}`) })
    .exitOverride();
  for (const command of [trainCommand(), evalCommand(), predictCommand(), inspectCommand(), gradcheckCommand(), schemaCommand()]) {
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
      process.stderr.write(`graphnet: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
