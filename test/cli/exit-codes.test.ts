/**
 * `graphnet`'s exit codes beyond success and a user's mistake (1, tested with each command): commander's
 * own help and usage errors, and an unexpected error — a bug — which is one line asking for a report,
 * exit code 70 (EX_SOFTWARE), and its stack trace only with --debug or GRAPHNET_DEBUG=1.
 *
 * In this process through `main`, except where the exit code of a real process is the point. The bug in
 * graphnet is made by mocking one of its modules (the inspect command's table formatting) to throw.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { graphnetInProcess as graphnet, graphnetProcess } from "../support/cli.js";

/** What the mocked table formatting throws, made where it is thrown (its stack is graphnet's), when a test sets it. */
const bug = vi.hoisted(() => ({ throws: undefined as (() => unknown) | undefined }));

vi.mock("../../cli/table.js", async (importOriginal) => {
  const table = await importOriginal<typeof import("../../cli/table.js")>();
  return {
    ...table,
    formatTable: (...args: Parameters<typeof table.formatTable>) => {
      if (bug.throws !== undefined) throw bug.throws();
      return table.formatTable(...args);
    },
  };
});

afterEach(() => {
  bug.throws = undefined;
  vi.unstubAllEnvs();
});

const VERSION = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
const GRAPH = "graphs/mnist.graph.json";
const STACK_LINE = /^\s+at /m;
const lines = (text: string) => text.replace(/\n$/, "").split("\n");

describe("an unexpected error (a bug in graphnet)", () => {
  const report = (what: string, hint: boolean) =>
    `graphnet: internal error: ${what}. This is a bug in graphnet ${VERSION}, not a mistake of yours: please report it to the graphnet maintainers, ` +
    `with the command that ran into it and its stack trace${hint ? " (run it again with --debug, or GRAPHNET_DEBUG=1, for the stack trace)" : ""}.`;

  it("is one line that names it and asks for a bug report, with exit code 70 and no stack trace", async () => {
    vi.stubEnv("GRAPHNET_DEBUG", undefined);
    bug.throws = () => new TypeError("Cannot read properties of undefined (reading 'length')");
    const r = await graphnet("inspect", GRAPH);
    expect(r.code).toBe(70);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`${report("TypeError: Cannot read properties of undefined (reading 'length')", true)}\n`);
  });

  it("a message of several lines, or a thrown value that is not an Error, is still one line", async () => {
    vi.stubEnv("GRAPHNET_DEBUG", "0");
    bug.throws = () => new RangeError("first line\n  second line");
    const several = await graphnet("inspect", GRAPH);
    expect(several.code).toBe(70);
    expect(several.stderr).toBe(`${report("RangeError: first line second line", true)}\n`);
    bug.throws = () => "a string";
    const thrownString = await graphnet("inspect", GRAPH);
    expect(thrownString.code).toBe(70);
    expect(thrownString.stderr).toBe(`${report("string a string", true)}\n`);
  });

  it("--debug (before or after the command) or GRAPHNET_DEBUG=1 adds the stack trace after that line", async () => {
    bug.throws = () => new TypeError("x is not a function");
    for (const argv of [
      ["--debug", "inspect", GRAPH],
      ["inspect", GRAPH, "--debug"],
    ]) {
      const r = await graphnet(...argv);
      expect(r.code).toBe(70);
      const [first, ...stack] = lines(r.stderr);
      expect(first).toBe(report("TypeError: x is not a function", false));
      expect(stack[0]).toBe("TypeError: x is not a function");
      expect(stack.slice(1).every((line) => STACK_LINE.test(line))).toBe(true);
      expect(stack.join("\n")).toMatch(/\/cli\/commands\/inspect\.ts/);
    }
    vi.stubEnv("GRAPHNET_DEBUG", "1");
    const env = await graphnet("inspect", GRAPH);
    expect(env.code).toBe(70);
    expect(lines(env.stderr)[0]).toBe(report("TypeError: x is not a function", false));
    expect(env.stderr).toMatch(STACK_LINE);
  });

  it("a user's mistake and a file-system error are still exit code 1, without the report", async () => {
    bug.throws = () => new TypeError("never reached");
    const missing = await graphnet("inspect", "no/such/graph.json");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^graphnet: no\/such\/graph\.json: .*\n$/);
    expect(missing.stderr).not.toContain("internal error");
  });
});

describe("an error thrown by the code of an --ops module", () => {
  it("names the module's line and blames it, not graphnet: exit code 70 from the process, one line", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-bug-"));
    writeFileSync(
      join(dir, "scale.js"),
      [
        "export default {",
        '  name: "scale", summary: "x times a factor", inputs: ["x"], attrs: { type: "object" }, shape: ([x]) => x,',
        "  kernel: () => ([x], out) => {",
        "    const settings = undefined;",
        "    for (let i = 0; i < out.length; i++) out[i] = x[i] * settings.factor;",
        "  },",
        "  gradient: (g) => [g.dy],",
        "};",
        "",
      ].join("\n"),
    );
    const graph = {
      name: "scaled",
      nodes: [
        { id: "x", op: "input", attrs: { shape: ["batch", 3], feed: "features" } },
        { id: "y", op: "input", attrs: { shape: ["batch", 3], feed: "labels" } },
        { id: "W", op: "parameter", attrs: { shape: [3, 3], init: "xavier_normal" } },
        { id: "xW", op: "matmul", inputs: ["x", "W"] },
        { id: "z", op: "scale", inputs: ["xW"] },
        { id: "loss", op: "softmax_cross_entropy", inputs: ["z", "y"] },
      ],
      loss: "loss",
    };
    writeFileSync(join(dir, "scaled.json"), JSON.stringify(graph));
    const { GRAPHNET_DEBUG: _, ...env } = process.env;
    const r = graphnetProcess(["gradcheck", "scaled.json", "--ops", "./scale.js", "--batch", "2", "--checks", "2"], { cwd: dir, env });
    expect(r.code).toBe(70);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^graphnet: \.\/scale\.js:5:\d+: the op module given with --ops threw TypeError: /);
    expect(r.stderr).toBe(
      `graphnet: ./scale.js:5:${/:5:(\d+):/.exec(r.stderr)![1]}: the op module given with --ops threw TypeError: Cannot read properties of undefined (reading 'factor'). ` +
        "The error is in that module's code, not in graphnet (run it again with --debug, or GRAPHNET_DEBUG=1, for the stack trace).\n",
    );
  });
});

describe("commander's own help and usage errors", () => {
  it("--help prints the usage on stdout and exits with 0, for the program and for a command", async () => {
    const program = await graphnet("--help");
    expect(program.code).toBe(0);
    expect(program.stderr).toBe("");
    expect(program.stdout).toMatch(/^Usage: graphnet \[options\] \[command\]\n/);
    expect(program.stdout).toMatch(/^\s+--debug\s+on an unexpected error/m);
    const train = await graphnet("train", "--help");
    expect(train.code).toBe(0);
    expect(train.stderr).toBe("");
    expect(train.stdout).toMatch(/^Usage: graphnet train \[options\] \[graph\]\n/);
  });

  it("a missing argument, an unknown option, an unknown command, one argument too many: one line and exit code 1", async () => {
    const cases: [string[], string][] = [
      [["inspect"], "missing required argument 'graph'"],
      [["inspect", GRAPH, "--no-such-flag"], "unknown option '--no-such-flag'"],
      [["inspectt", GRAPH], "unknown command 'inspectt' (Did you mean inspect?)"],
      [["inspect", GRAPH, GRAPH], "too many arguments for 'inspect'. Expected 1 argument but got 2."],
    ];
    for (const [argv, message] of cases) {
      const r = await graphnet(...argv);
      expect(r.code, argv.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`graphnet: ${message} (run with --help for usage)\n`);
    }
  });

  it("no command at all: the usage, on stderr, and exit code 1", async () => {
    const r = await graphnet();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Usage: graphnet \[options\] \[command\]\n/);
  });
});
