/** What `graphnet schema` accepts; what it does is ../commands/schema.ts, loaded when it runs. */
import { Command } from "commander";

export function schemaCommand(): Command {
  return new Command("schema")
    .description(
      "Print the JSON Schema of graph files, for editors: the built-in ops and those of --ops modules, each with its attributes; any other op name is flagged.",
    )
    .option("--write <file>", "write it to a file instead (graphs/graph.schema.json is generated this way; with --ops MODULE, one that knows the module's ops)")
    .action(async (options) => (await import("../commands/schema.js")).schemaAction(options));
}
