/** What `graphnet schema` accepts; what it does is ../commands/schema.ts, loaded when it runs. */
import { Command } from "commander";

export function schemaCommand(): Command {
  return new Command("schema")
    .description("Print the JSON Schema of graph files (built-in ops and their attributes).")
    .option("--write <file>", "write it to a file instead (graphs/graph.schema.json is generated this way)")
    .action(async (options) => (await import("../commands/schema.js")).schemaAction(options));
}
