/**
 * `graphnet gradcheck FILE`: the autodiff's gradient of the loss with respect to every parameter,
 * against float64 central differences. Exits with 1 when any parameter fails.
 */
import { Command } from "commander";
import { checkGradients, formatShape, loadGraphFile, trainingConfig, withDropoutRate, type GradcheckReport } from "../../src/index.js";
import { inFile } from "../in-file.js";
import { positiveInt, nonNegativeInt, rate } from "../options.js";
import { formatInt, formatTable } from "../table.js";
import { ExitWith } from "../exit.js";

interface GradcheckCommandOptions {
  batch: number;
  seed: number;
  checks?: number;
  all?: boolean;
  dropout?: number;
}

export function gradcheckCommand(): Command {
  return new Command("gradcheck")
    .description("Compare the autodiff's gradients with float64 central differences, parameter by parameter.")
    .argument("<graph>", "a graph JSON file")
    .option("--batch <n>", "batch size of the random batch", positiveInt("--batch"), 4)
    .option("--seed <n>", "seed of the parameters, the batch and the elements checked", nonNegativeInt("--seed"), 0)
    .option("--checks <n>", "elements checked per parameter, picked at random", positiveInt("--checks"))
    .option("--all", "check every element of every parameter (slow for large layers)")
    .option(
      "--dropout <rate>",
      "dropout rate while checking, with a fixed mask; dropout nodes are checked at the training section's dropout_rate even when use_dropout is off (0: check without)",
      rate("--dropout"),
    )
    .action((file: string, options: GradcheckCommandOptions) => {
      const forward = loadGraphFile(file);
      const dropout = options.dropout ?? trainingConfig(forward).dropout_rate;
      const graph = withDropoutRate(forward, dropout);
      const report = inFile(file, () =>
        checkGradients(graph, {
          sizes: { batch: options.batch },
          seed: options.seed,
          maxChecksPerValue: options.all ? Infinity : (options.checks ?? 24),
        }),
      );
      process.stdout.write(`${describe(file, report, options.batch, dropout)}\n`);
      if (!report.pass) throw new ExitWith(1);
    });
}

function describe(file: string, report: GradcheckReport, batch: number, dropout: number): string {
  const exp = (x: number) => x.toExponential(2);
  const rows = report.rows.map((r) => [
    r.id,
    formatShape(r.shape),
    `${formatInt(r.checked)} / ${formatInt(r.elements)}`,
    exp(r.maxAbsError),
    exp(r.maxRelError),
    r.pass ? "pass" : `FAIL at [${r.worst.index.join(", ")}]: autodiff ${r.worst.analytic.toPrecision(8)}, numeric ${r.worst.numeric.toPrecision(8)}`,
  ]);
  const failed = report.rows.filter((r) => !r.pass).length;
  return [
    `gradcheck ${file}: d${report.loss}/d(parameter) by autodiff against float64 central differences`,
    `random batch of ${batch}, dropout ${dropout > 0 ? `${dropout} with a fixed mask` : "off"}, loss ${report.lossValue.toPrecision(8)}`,
    "",
    formatTable(
      [
        { title: "parameter" },
        { title: "shape" },
        { title: "checked", align: "right" },
        { title: "max abs err", align: "right" },
        { title: "max rel err", align: "right" },
        { title: "result" },
      ],
      rows,
    ),
    "",
    report.pass ? `${report.rows.length} of ${report.rows.length} parameters pass` : `${failed} of ${report.rows.length} parameters FAIL`,
  ].join("\n");
}
