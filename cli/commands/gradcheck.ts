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
import type { Command } from "commander";
import { checkGradients, type GradcheckReport } from "../../src/check/gradcheck.js";
import { OP_CHECK_DEFAULTS, checkOp, formatOpFailure, type OpCheckReport } from "../../src/check/op-check.js";
import { loadGraphSource } from "../../src/graph-file/load.js";
import { describeDropout, withDropoutRate } from "../../src/graph/configure.js";
import type { Graph } from "../../src/graph/ir.js";
import { UserError } from "../../src/graph/errors.js";
import { formatShape } from "../../src/graph/ir.js";
import { trainingConfig } from "../../src/graph/training.js";
import type { OpDefinition } from "../../src/ops/op.js";
import { getOp, listOps } from "../../src/ops/registry.js";
import { didYouMean } from "../../src/graph/closest.js";
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

/** `graphnet gradcheck`, its command line parsed by ../usage/gradcheck.ts. */
export function gradcheckAction(context: CliContext, file: string | undefined, options: GradcheckCommandOptions, command: Command): void {
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
    throw new UserError(`${misplaced.join(", ")} ${misplaced.length > 1 ? "check ops" : "checks ops"} on random inputs, without a graph file (found ${file}).`);
  }
  checkGraphCommand(file, options);
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
  process.stdout.write(`${describeGraphCheck(file, report, options.batch, describeCheckedDropout(graph, dropout))}\n`);
  if (!report.pass) throw new ExitWith(1);
}

/**
 * The dropout the check ran with, as the graph has it: each node's rate (one fixing its own named), with a
 * fixed mask; "dropout off" when the nodes drop nothing; null for a graph with no dropout node.
 */
function describeCheckedDropout(graph: Graph, rate: number): string | null {
  const summary = describeDropout(graph, { use_dropout: true, dropout_rate: rate }).summary;
  if (summary) return `${summary} with a fixed mask`;
  return graph.nodes.some((n) => n.op === "dropout") ? "dropout off" : null;
}

function describeGraphCheck(file: string, report: GradcheckReport, batch: number, dropout: string | null): string {
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
    [`random batch of ${batch}`, dropout, `loss ${report.lossValue.toPrecision(8)}`].filter((part) => part !== null).join(", "),
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
