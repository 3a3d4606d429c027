/**
 * The `graphnet` command: commander commands over the library, and nothing else.
 * A user's mistake (a bad file, a bad flag) prints one paragraph and exits with 1; anything else is a
 * bug in graphnet and keeps its stack trace.
 */
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
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  program.addCommand(trainCommand());
  program.addCommand(evalCommand());
  program.addCommand(predictCommand());
  program.addCommand(inspectCommand());
  program.addCommand(gradcheckCommand());
  program.addCommand(schemaCommand());
  return program;
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

