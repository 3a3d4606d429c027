/** `graphnet schema`: the JSON Schema of graph files, generated from the op registry. */
import { graphSchemaText, writeGraphSchema } from "../../src/graph-file/document-schema.js";

/** `graphnet schema`, its command line parsed by ../usage/schema.ts. */
export function schemaAction(options: { write?: string }): void {
  if (options.write) writeGraphSchema(options.write);
  else process.stdout.write(graphSchemaText());
}
