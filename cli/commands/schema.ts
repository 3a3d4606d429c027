/** `graphnet schema`: the JSON Schema of graph files, generated from the op registry. */
import { Command } from "commander";
import { graphSchemaText, writeGraphSchema } from "../../src/index.js";

export function schemaCommand(): Command {
  return new Command("schema")
    .description("Print the JSON Schema of graph files (built-in ops and their attributes).")
    .option("--write <file>", "write it to a file instead (graphs/graph.schema.json is generated this way)")
    .action((options: { write?: string }) => {
      if (options.write) writeGraphSchema(options.write);
      else process.stdout.write(graphSchemaText());
    });
}
