/** `graphnet eval RUN_DIR`: the test metrics of a run's best weights, with the confusion matrix. */
import { checkFiniteMetrics } from "../../src/train/finite-metrics.js";
import { loadWeights, reopenSession } from "../../src/train/session.js";
import { loadRunOpModules } from "../op-modules.js";
import { formatTable } from "../table.js";

/** `graphnet eval`, its command line parsed by ../usage/eval.ts. */
export async function evalAction(dir: string, options: { checkpoint: "best" | "last" }): Promise<void> {
  await loadRunOpModules(dir); // the custom ops the run was trained with
  const session = reopenSession(dir);
  const checkpoint = loadWeights(session, options.checkpoint);
  for (const warning of session.warnings) process.stderr.write(`warning: ${warning}\n`);
  const test = session.model.evaluate(session.data, session.split.test);
  checkFiniteMetrics(checkpoint, { "test accuracy": test.accuracy, "test loss": test.loss });
  const k = test.confusion.length;
  const classes = [...Array(k).keys()];
  const rows = test.confusion.map((row, t) => [
    String(t),
    ...row.map(String),
    (
      row[t]! /
      Math.max(
        1,
        row.reduce((a, b) => a + b, 0),
      )
    ).toFixed(3),
  ]);
  process.stdout.write(
    [
      `${session.record.graph.name}, ${checkpoint}: ${session.split.test.length.toLocaleString("en-US")} test ${session.data.values ? "samples" : "images"}`,
      `test accuracy ${test.accuracy.toFixed(4)}, loss ${test.loss.toFixed(4)}`,
      "",
      "confusion matrix (rows: true class, columns: predicted)",
      formatTable([{ title: "true" }, ...classes.map((c) => ({ title: String(c), align: "right" as const })), { title: "recall", align: "right" }], rows),
      "",
    ].join("\n"),
  );
}
