/**
 * `graphnet gradcheck [GRAPH]`: the autodiff's gradients against float64 central differences.
 *
 *   - With a graph file: the gradient of its loss with respect to every parameter, on a random batch.
 *   - Without one: ops by themselves, each on many random cases drawn with fast-check — every built-in
 *     op, or the ops of the modules given with --ops, or those named with --op. A failing case is shrunk
 *     to a smallest one and printed.
 *
 * Exits with 1 when anything fails.
 */
import { Command } from "commander";
import {
  OP_CHECK_DEFAULTS,
  UserError,
  checkGradients,
  checkOp,
  formatOpFailure,
  formatShape,
  getOp,
  listOps,
  loadGraphSource,
  trainingConfig,
  withDropoutRate,
  type GradcheckReport,
  type OpCheckReport,
  type OpDefinition,
} from "../../src/index.js";
import { didYouMean } from "../../src/graph/closest.js";
import { positiveInt, nonNegativeInt, rate } from "../options.js";
import { formatInt, formatTable } from "../table.js";
import { ExitWith } from "../exit.js";
import type { CliContext } from "../program.js";

interface GradcheckCommandOptions {
  batch: number;
  seed: number;
  checks?: number;
  all?: boolean;
  dropout?: number;
  op?: string[];
  runs?: number;
}

/** Options that only make sense with a graph file, and those that only make sense without one. */
const GRAPH_ONLY = ["batch", "checks", "all", "dropout"] as const;
const OPS_ONLY = ["op", "runs"] as const;

export function gradcheckCommand(context: CliContext): Command {
  return new Command("gradcheck")
    .description(
      "Compare the autodiff's gradients with float64 central differences: a graph's parameters, or (without a graph file) " +
        "ops by themselves on random shapes and values — every built-in op, the ops of --ops modules, or those named with --op.",
    )
    .argument("[graph]", "a graph JSON file; without it, ops are checked")
    .option("--op <name>", "check this op, built in or from --ops (repeat for several); without a graph file", (v: string, prev: string[] | undefined) => [
      ...(prev ?? []),
      v,
    ])
    .option("--runs <n>", `random cases per op (default ${OP_CHECK_DEFAULTS.numRuns}); without a graph file`, positiveInt("--runs"))
    .option("--seed <n>", "seed of the parameters, the batch and the elements checked; for ops, of the random cases", nonNegativeInt("--seed"), 0)
    .option("--batch <n>", "batch size of the random batch", positiveInt("--batch"), 4)
    .option("--checks <n>", "elements checked per parameter, picked at random", positiveInt("--checks"))
    .option("--all", "check every element of every parameter (slow for large layers)")
    .option(
      "--dropout <rate>",
      "dropout rate while checking, with a fixed mask; dropout nodes are checked at the training section's dropout_rate even when use_dropout is off (0: check without)",
      rate("--dropout"),
    )
    .action((file: string | undefined, options: GradcheckCommandOptions, command: Command) => {
      const given = (names: readonly string[]) => names.filter((n) => command.getOptionValueSource(n) === "cli").map((n) => `--${n}`);
      if (file === undefined) {
        const misplaced = given(GRAPH_ONLY);
        if (misplaced.length > 0)
          throw new UserError(
            `${misplaced.join(", ")} ${misplaced.length > 1 ? "apply" : "applies"} to checking a graph file: give one (graphnet gradcheck GRAPH).`,
          );
        checkOpsCommand(context, options);
        return;
      }
      const misplaced = given(OPS_ONLY);
      if (misplaced.length > 0) {
        throw new UserError(
          `${misplaced.join(", ")} ${misplaced.length > 1 ? "check ops" : "checks ops"} on random inputs, without a graph file (found ${file}).`,
        );
      }
      checkGraphCommand(file, options);
    });
}

function checkGraphCommand(file: string, options: GradcheckCommandOptions): void {
  const source = loadGraphSource(file);
  const forward = source.graph;
  const dropout = options.dropout ?? trainingConfig(forward).dropout_rate;
  const graph = withDropoutRate(forward, dropout);
  const report = source.guard(() =>
    checkGradients(graph, {
      sizes: { batch: options.batch },
      seed: options.seed,
      maxChecksPerValue: options.all ? Infinity : (options.checks ?? 24),
    }),
  );
  process.stdout.write(`${describeGraphCheck(file, report, options.batch, dropout)}\n`);
  if (!report.pass) throw new ExitWith(1);
}

function describeGraphCheck(file: string, report: GradcheckReport, batch: number, dropout: number): string {
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

function checkOpsCommand(context: CliContext, options: GradcheckCommandOptions): void {
  const { ops, what } = selectOps(context, options.op);
  const numRuns = options.runs ?? OP_CHECK_DEFAULTS.numRuns;
  process.stdout.write(`gradcheck ${what}: the autodiff against float64 central differences, on ${numRuns} random cases per op (--seed ${options.seed})\n\n`);
  const reports: OpCheckReport[] = [];
  const rows: string[][] = [];
  for (const def of ops) {
    const report = checkOp(def, { numRuns, seed: options.seed });
    reports.push(report);
    rows.push([
      def.name,
      def.inputs.join(", ") || "—",
      report.status === "skip" ? "—" : String(report.cases),
      report.status === "skip" ? "" : `${(report.milliseconds / 1000).toFixed(2)} s`,
      report.status === "pass" ? "pass" : report.status === "skip" ? `skipped: ${report.reason}` : `FAIL: ${FAILURE_KIND[report.failure!.kind]}`,
    ]);
  }
  const table = formatTable(
    [{ title: "op" }, { title: "inputs" }, { title: "cases", align: "right" }, { title: "time", align: "right" }, { title: "result" }],
    rows,
  );
  const failed = reports.filter((r) => r.status === "fail");
  const passed = reports.filter((r) => r.status === "pass").length;
  const skipped = reports.length - failed.length - passed;
  const summary =
    (failed.length === 0 ? `${passed} of ${passed} ops pass` : `${failed.length} of ${passed + failed.length} ops FAIL`) +
    (skipped > 0 ? ` (${skipped} skipped)` : "");
  const details = failed.map((r) => `${formatOpFailure(r)}\n\n`).join("");
  process.stdout.write(`${table}\n\n${details}${summary}\n`);
  if (failed.length > 0) throw new ExitWith(1);
}

const FAILURE_KIND: Record<NonNullable<OpCheckReport["failure"]>["kind"], string> = {
  hints: "check hints",
  generate: "no inputs drawn",
  shape: "shape rule",
  kernel: "kernel",
  "gradient rule": "gradient rule",
  gradient: "wrong gradient",
};

/** The ops to check: those named with --op, else those of the --ops modules, else every built-in op. */
function selectOps(context: CliContext, names: readonly string[] | undefined): { ops: OpDefinition<any>[]; what: string } {
  if (names && names.length > 0) {
    const ops = [...new Set(names)].map((name) => {
      const def = getOp(name);
      if (def) return def;
      const hint = didYouMean(
        name,
        listOps().map((op) => op.name),
      );
      const modules = context.opModules.length === 0 ? " (an op of your own needs its module: --ops FILE)" : "";
      throw new UserError(`--op "${name}": no such op.${hint}${modules}`);
    });
    return { ops, what: ops.length === 1 ? `op ${ops[0]!.name}` : `${ops.length} ops` };
  }
  if (context.opModules.length > 0) {
    const ops = context.opModules.flatMap((m) => m.ops.map((name) => getOp(name)!));
    return { ops, what: `${ops.length} op${ops.length === 1 ? "" : "s"} of ${context.opModules.map((m) => m.file).join(", ")}` };
  }
  const ops = listOps();
  return { ops, what: `${ops.length} built-in ops` };
}
