/**
 * Ops of one's own from the command line, end to end with the built executable: `graphnet gradcheck`
 * checking ops (built in, from --ops modules, broken on purpose), clean errors for modules that cannot
 * be loaded, and graph files using custom ops in every command.
 *
 * Modules written here live in a temporary project whose node_modules/graphnet links to this repository,
 * as in a project that installed graphnet, so that they can `import … from "graphnet"`.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const ROOT = process.cwd();
const BIN = join(ROOT, "dist", "cli", "main.js");
const EXAMPLES = ["./examples/ops/leaky_relu.js", "./examples/ops/softplus.js", "./examples/ops/log_softmax.js"];
const WITH_EXAMPLES = EXAMPLES.flatMap((m) => ["--ops", m]);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `graphnet` in `cwd` (default: the repository's root). */
function graphnet(args: readonly string[], cwd = ROOT): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A temporary project that has graphnet installed (a link to this repository), holding the given files. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "graphnet-ops-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "graphnet"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "my-ops", private: true, type: "module" }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** One line on stderr naming the file, exit code 1, nothing on stdout, no stack trace. */
function expectCleanError(r: Result, pattern: RegExp): void {
  expect(r.stderr.trim(), r.stderr).toMatch(pattern);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
}

const checkedBuiltins = BUILTIN_OPS.filter((op) => op.gradient !== undefined && op.role === undefined && !op.check?.skip).map((op) => op.name);

const BROKEN = `
import { ShapeError, sizeOf } from "graphnet";

// leaky_relu whose gradient rule forgets alpha: 0 where x < 0 instead of alpha · dy.
export const leakyReluWrong = {
  name: "leaky_relu_wrong",
  summary: "leaky relu with a wrong gradient",
  inputs: ["x"],
  attrs: { type: "object", properties: { alpha: { type: "number" } }, additionalProperties: false },
  shape: ([x]) => x,
  kernel: ({ attrs: { alpha = 0.01 }, outputShape }) => {
    const n = sizeOf(outputShape);
    return ([x], out) => { for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : alpha * x[i]; };
  },
  gradient: (g) => [g.emit("relu_grad", [g.dy, g.inputs[0]])],
  check: { nearKink: ([x]) => x.data.some((v) => Math.abs(v) < 1e-3) },
};

// Sums each row, but the shape rule forgets to drop the summed axis: the kernel writes one element per row.
export const rowSumWrong = {
  name: "row_sum_wrong",
  summary: "row sums with a wrong shape rule",
  inputs: ["x"],
  attrs: { type: "object" },
  shape: ([x]) => {
    if (x.length === 0) throw new ShapeError("needs an axis to sum along");
    return x;
  },
  kernel: ({ inputShapes: [x] }) => {
    const length = x[x.length - 1];
    const rows = sizeOf(x) / length;
    return ([xs], out) => {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let j = 0; j < length; j++) sum += xs[r * length + j];
        out[r] = sum;
      }
    };
  },
  gradient: (g) => [g.emit("broadcast_to", [g.dy], { shape: [...g.shapeOf(g.inputs[0])] })],
};

export default [leakyReluWrong, rowSumWrong];
`;

describe.concurrent("graphnet gradcheck without a graph file checks ops on random cases", () => {
  it("with no arguments, checks every built-in op, and they pass", async () => {
    const r = await graphnet(["gradcheck"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^gradcheck \d+ built-in ops: the autodiff against float64 central differences, on 100 random cases per op \(--seed 0\)$/m);
    for (const name of checkedBuiltins) expect(r.stdout).toMatch(new RegExp(`^${name}\\s+[\\w, ]+\\s+100\\s+[\\d.]+ s\\s+pass$`, "m"));
    expect(r.stdout).toMatch(/^relu_grad\s+dy, x\s+—\s+skipped: a backward op, checked through relu's gradient$/m);
    expect(r.stdout).toMatch(/^input\s+—\s+—\s+skipped: fed before each run, not computed$/m);
    expect(r.stdout).toContain(`${checkedBuiltins.length} of ${checkedBuiltins.length} ops pass (`);
    expect(r.code).toBe(0);
  });

  it("--op selects the ops to check, --runs the number of cases; an unknown name is refused with a suggestion", async () => {
    const r = await graphnet(["gradcheck", "--op", "softmax", "--op", "matmul", "--runs", "25"]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((line) => /^[a-z_]+ {2,}.*\s(pass|FAIL|skipped)/.test(line));
    expect(rows).toHaveLength(2);
    expect(r.stdout).toMatch(/^softmax\s+x\s+25\s+[\d.]+ s\s+pass$/m);
    expect(r.stdout).toMatch(/^matmul\s+a, b\s+25\s+[\d.]+ s\s+pass$/m);
    expect(r.stdout).toContain("2 of 2 ops pass");
    expectCleanError(await graphnet(["gradcheck", "--op", "softmx"]), /^graphnet: --op "softmx": no such op\. Did you mean "softmax"\?/);
    expectCleanError(
      await graphnet(["gradcheck", "graphs/mnist.graph.json", "--op", "relu"]),
      /^graphnet: --op checks ops on random inputs, without a graph file/,
    );
    expectCleanError(await graphnet(["gradcheck", "--batch", "3"]), /^graphnet: --batch applies to checking a graph file/);
  });

  it("the README's example is examples/ops/softplus.js, whole", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Adding an op"));
    const block = /```js\n([\s\S]*?)```\n/.exec(section)![1];
    expect(block).toBe(readFileSync(join(ROOT, "examples/ops/softplus.js"), "utf8"));
  });

  it("the examples in examples/ops pass, and npx graphnet runs them from the repository's root", async () => {
    const r = await graphnet(["gradcheck", ...WITH_EXAMPLES]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^gradcheck 4 ops of \.\/examples\/ops\/leaky_relu\.js, \.\/examples\/ops\/softplus\.js, \.\/examples\/ops\/log_softmax\.js:/);
    for (const name of ["my_leaky_relu", "my_softplus", "my_log_softmax"]) expect(r.stdout).toMatch(new RegExp(`^${name}\\s+x\\s+100\\s+[\\d.]+ s\\s+pass$`, "m"));
    expect(r.stdout).toMatch(/^my_leaky_relu_grad\s+dy, x\s+—\s+skipped: a backward op, checked through my_leaky_relu's gradient$/m);
    expect(r.stdout).toContain("3 of 3 ops pass (1 skipped)");
    expect(r.code).toBe(0);

    const npx = await new Promise<Result>((resolve) =>
      execFile(
        "npx",
        ["graphnet", "gradcheck", "--ops", "./examples/ops/leaky_relu.js", "--runs", "10"],
        // On a fresh clone npx links this folder into its cache as a package, and npm would run its
        // `prepare` (a rebuild of dist/) under the other tests' running CLIs: the build is already there.
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, npm_config_ignore_scripts: "true" } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(npx.stdout, npx.stderr).toContain("1 of 1 ops pass (1 skipped)");
    expect(npx.code).toBe(0);
  });

  it("a wrong gradient and a wrong shape rule fail, each with its shrunk case printed, and exit code 1", async () => {
    const dir = project({ "broken.js": BROKEN });
    const r = await graphnet(["gradcheck", "--ops", "./broken.js"], dir);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^leaky_relu_wrong\s+x\s+\d+\s+[\d.]+ s\s+FAIL: wrong gradient$/m);
    expect(r.stdout).toMatch(/^row_sum_wrong\s+x\s+\d+\s+[\d.]+ s\s+FAIL: shape rule$/m);

    // The wrong gradient: which input and element, analytic against numeric, on the smallest case.
    const gradient = r.stdout.slice(r.stdout.indexOf("leaky_relu_wrong: "), r.stdout.indexOf("row_sum_wrong: "));
    expect(gradient).toMatch(/^leaky_relu_wrong: the gradient of input "x" is wrong at element \[\]: autodiff 0, numeric -0\.02\.$/m);
    expect(gradient).toMatch(/^ {2}smallest failing case \(case \d+ of the run with --seed 0, shrunk \d+ times\):$/m);
    expect(gradient).toMatch(/^ {4}x +\[\] +-3$/m);
    expect(gradient).toMatch(/^ {4}output +\[\] +-0\.03$/m);
    expect(gradient).toMatch(/^ {4}weights +\[\] +-2 +\(loss = Σ output ⊙ weights\)$/m);
    expect(gradient).toMatch(/^ {2}d loss \/ d x\[\]: autodiff 0, numeric -0\.02$/m);

    // The wrong shape rule: the element the kernel never wrote, on the smallest shape that shows it.
    const shape = r.stdout.slice(r.stdout.indexOf("row_sum_wrong: "));
    expect(shape).toMatch(
      /^row_sum_wrong: the kernel did not write element \[1\] of its output: the shape rule gives \[2\] \(2 elements\), more than the kernel computes\.$/m,
    );
    expect(shape).toMatch(/^ {4}x +\[2\] +-3, -3$/m);
    expect(shape).toMatch(/^ {4}output +\[2\] +-6, NaN$/m);
    expect(r.stdout).toMatch(/^2 of 2 ops FAIL$/m);
    expect(r.code).toBe(1);
  });
});

describe.concurrent("--ops: a module that cannot be loaded is one paragraph naming the file, exit code 1", () => {
  const op = (name: string) =>
    `{ name: "${name}", summary: "s", inputs: ["x"], attrs: { type: "object" }, shape: ([x]) => x, kernel: () => () => {}, gradient: (g) => [g.dy] }`;
  const modules: [string, string, string, RegExp][] = [
    [
      "a missing file",
      "none.js",
      "",
      /^graphnet: \.\/none\.js: no such file \(--ops takes the path of a JavaScript module, relative to the current directory, /,
    ],
    [
      "a syntax error, with its line and column",
      "syntax.js",
      `export default [\n  { name: "x", };\n];\n`,
      /^graphnet: \.\/syntax\.js:2:17: syntax error: Unexpected token ';'$/,
    ],
    [
      "an exception while it loads",
      "throws.js",
      `const ops = [];\nops.push(undefinedThing);\nexport default ops;\n`,
      /^graphnet: \.\/throws\.js:2:\d+: loading the module failed: ReferenceError: undefinedThing is not defined$/,
    ],
    [
      "an export that is not an op",
      "fn.js",
      `export default function register() {}\n`,
      /^graphnet: \.\/fn\.js: the default export is a function, not an op definition\. A module given to --ops exports its ops as its default export/,
    ],
    [
      "an array item that is not an op",
      "item.js",
      `export default [${op("fine_op")}, { nom: "x" }];\n`,
      /^graphnet: \.\/item\.js: item 2 of the default export has no "name": it is not an op definition\./,
    ],
    [
      "no default export",
      "named.js",
      `export const myOp = ${op("my_op")};\n`,
      /^graphnet: \.\/named\.js: has no default export\. .* It has named exports that look like ops: add export default \[myOp\];$/,
    ],
    [
      "a name taken by a built-in op",
      "dup.js",
      `export default [${op("relu")}];\n`,
      /^graphnet: \.\/dup\.js: op "relu" is already defined by graphnet itself: give yours another name\.$/,
    ],
    [
      "a definition registerOp refuses",
      "bad.js",
      `export default [{ ...${op("bad_op")}, kernel: 3 }];\n`,
      /^graphnet: \.\/bad\.js: op definition "bad_op": "kernel" must be a function\.$/,
    ],
    [
      "malformed check hints",
      "hints.js",
      `export default [{ ...${op("hinted")}, check: { wrt: ["y"] } }];\n`,
      /^graphnet: \.\/hints\.js: op "hinted": "check\.wrt" names "y", which is not an input of the op \(x\)\.$/,
    ],
    [
      "a TypeScript file",
      "ops.ts",
      `export default [];\n`,
      /^graphnet: \.\/ops\.ts: Node\.js v\d+\.\d+\.\d+ cannot import TypeScript directly: compile the module to JavaScript/,
    ],
  ];
  const dir = project(Object.fromEntries(modules.filter(([, , text]) => text !== "").map(([, file, text]) => [file, text])));
  it.each(modules)("%s", async (_what, file, _text, pattern) => {
    expectCleanError(await graphnet(["gradcheck", "--ops", `./${file}`], dir), pattern);
  });

  it("an op defined by two modules names the first", async () => {
    const two = project({ "a.js": `export default [${op("twice")}];\n`, "b.js": `export default ${op("twice")};\n` });
    expectCleanError(
      await graphnet(["inspect", "x.json", "--ops", "a.js", "--ops", "b.js"], two),
      /^graphnet: b\.js: op "twice" is already defined by a\.js: give yours another name\.$/,
    );
  });
});

describe.concurrent("graph files using ops of one's own", () => {
  it("inspect and gradcheck GRAPH accept --ops, before or after the command", async () => {
    const inspect = await graphnet(["inspect", "examples/ops/mlp.graph.json", "--backward", ...WITH_EXAMPLES]);
    expect(inspect.stderr).toBe("");
    expect(inspect.stdout).toMatch(/^a1\s+my_leaky_relu\s+z1\s+\[batch, 128\]$/m);
    expect(inspect.stdout).toMatch(/^a2\s+my_softplus\s+z2\s+\[batch, 64\]$/m);
    expect(inspect.stdout).toMatch(/^log_probs\s+my_log_softmax\s+z3\s+\[batch, 10\]$/m);
    expect(inspect.stdout).toMatch(/^grad\/z1\s+my_leaky_relu_grad\s+grad\/a1, z1\s+\[batch, 128\]\s+δ ⊙ \(Z > 0 \? 1 : α\)$/m);
    expect(inspect.code).toBe(0);

    const check = await graphnet([...WITH_EXAMPLES, "gradcheck", "examples/ops/mlp.graph.json", "--batch", "2", "--checks", "6"]);
    expect(check.stderr).toBe("");
    expect(check.stdout).toContain("6 of 6 parameters pass");
    expect(check.code).toBe(0);
  });

  it("without --ops, the unknown op is reported with the hint to load its module", async () => {
    expectCleanError(
      await graphnet(["inspect", "examples/ops/mlp.graph.json"]),
      /^graphnet: examples\/ops\/mlp\.graph\.json:\d+:\d+: node "a1", field "op": unknown op "my_leaky_relu"\..* load the module that defines it with --ops FILE\.$/,
    );
  });

  it("train, eval and predict accept --ops too", async () => {
    const data = writeSmallMnist(200, 50, false);
    const run = join(mkdtempSync(join(tmpdir(), "graphnet-ops-run-")), "run");
    const train = await graphnet([
      "train",
      "examples/ops/mlp.graph.json",
      ...WITH_EXAMPLES,
      "--data",
      data,
      "--epochs",
      "1",
      "--batch-size",
      "32",
      "--out",
      run,
      "--quiet",
    ]);
    expect(train.stderr).toBe("");
    expect(train.stdout).toMatch(/^test accuracy 0\.\d{4}/);
    expect(train.code).toBe(0);
    const evaluation = await graphnet(["eval", run, ...WITH_EXAMPLES]);
    expect(evaluation.stdout).toMatch(/^test accuracy 0\.\d{4}, loss \d+\.\d{4}$/m);
    expect(evaluation.code).toBe(0);
    const predict = await graphnet(["predict", run, "--index", "0", ...WITH_EXAMPLES]);
    expect(predict.stdout).toMatch(/^predicted \d \(true label \d\)$/m);
    expect(predict.code).toBe(0);
    // The run folder records the modules: eval and predict find the ops without being told again.
    expect(JSON.parse(readFileSync(join(run, "config.json"), "utf8")).op_modules).toHaveLength(3);
    const bare = await graphnet(["eval", run]);
    expect(bare.stdout).toBe(evaluation.stdout);
    expect(bare.code).toBe(0);
  });
});
