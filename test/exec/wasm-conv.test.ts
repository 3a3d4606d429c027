/**
 * The WebAssembly backend's image kernels (src/exec/backends/wasm/conv.ts) against the ops' reference
 * kernels: conv2d and its two gradient ops on random shapes and paddings (odd sizes, "same", "valid",
 * numbers and pairs, paddings wider than the kernel), the cases they leave to the reference (strides,
 * dilations, other pooling windows), the filter gradient's zero-skipping against its dense product,
 * 2 × 2 max pooling and its gradient bit for bit (ties, −0, NaN), a bias [C, 1, 1] added and summed, the
 * reshapes' copies; and every one of them the same bits on one thread and on two (the worker taking part
 * of each).
 */
import { describe, expect, it } from "vitest";
import { Executor, Model, compilePlan, differentiate, loadGraphFile, type Graph, type GraphNode } from "../../src/index.js";
import { createOptimizer } from "../../src/train/optimizers.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { mnist } from "../support/small-mnist.js";

/** A small deterministic generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A graph of one op over fed inputs of fixed shapes. */
function oneOp(op: string, shapes: number[][], attrs: Record<string, unknown> = {}): Graph {
  const nodes: GraphNode[] = shapes.map((shape, i): GraphNode => ({ id: `in${i}`, op: "input", inputs: [], attrs: { shape } }));
  nodes.push({ id: "out", op, inputs: shapes.map((_, i) => `in${i}`), attrs: attrs as GraphNode["attrs"] });
  return { name: `one-${op}`, nodes };
}

interface Run {
  readonly out: Float32Array;
  /** Whether the backend's own kernel ran (not the op's reference kernel). */
  readonly fast: boolean;
  /** Parts the worker ran (2 threads). */
  readonly workerRan: number;
}

/** Runs the graph with these inputs on a backend: "ts", or "wasm" on 1 or 2 threads (every big kernel shared). */
async function run(graph: Graph, inputs: Float32Array[], backend: "ts" | "wasm", threads = 1, mostlyZeros: string[] = []): Promise<Run> {
  const plan = compilePlan(graph, { outputs: ["out"], dtype: "float32", mostlyZeros });
  const e = new Executor(plan, backend === "wasm" ? { backend, threads, sharing: "always" } : {});
  await e.ready;
  inputs.forEach((data, i) => e.view(`in${i}`).set(data));
  e.run({ training: true });
  const result = { out: Float32Array.from(e.view("out")), fast: e.fastNodes.includes("out"), workerRan: e.threadStats().workerRan };
  await e.close();
  return result;
}

function randomInputs(shapes: number[][], rng: () => number, fill: (rng: () => number) => number = (r) => r() * 2 - 1): Float32Array[] {
  return shapes.map((shape) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => fill(rng)));
}

/** |a − e| ≤ atol + rtol·|e| elementwise, naming the first element that is not. */
function expectClose(actual: Float32Array, expected: Float32Array, what: string, atol = 1e-4, rtol = 1e-4) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) expect.fail(`${what}: element ${i}: ${a} (wasm) against ${e} (reference)`);
  }
}

type Padding = number | [number, number] | "same" | "valid";

/** A convolution's three one-op graphs: forward, input gradient, filter gradient, with their input shapes. */
function convGraphs(n: number, c: number, h: number, w: number, f: number, kh: number, kw: number, attrs: Record<string, unknown>, oh: number, ow: number) {
  return [
    {
      graph: oneOp(
        "conv2d",
        [
          [n, c, h, w],
          [f, c, kh, kw],
        ],
        attrs,
      ),
      shapes: [
        [n, c, h, w],
        [f, c, kh, kw],
      ],
    },
    {
      graph: oneOp(
        "conv2d_grad_input",
        [
          [n, f, oh, ow],
          [f, c, kh, kw],
        ],
        { ...attrs, input_size: [h, w] },
      ),
      shapes: [
        [n, f, oh, ow],
        [f, c, kh, kw],
      ],
    },
    {
      graph: oneOp(
        "conv2d_grad_filter",
        [
          [n, c, h, w],
          [n, f, oh, ow],
        ],
        { ...attrs, kernel_size: [kh, kw] },
      ),
      shapes: [
        [n, c, h, w],
        [n, f, oh, ow],
      ],
    },
  ];
}

/** The output size of a stride-1, dilation-1 convolution along one axis (or undefined if the kernel does not fit). */
function outSize(size: number, kernel: number, padding: Padding, axis: 0 | 1): number | undefined {
  if (padding === "same") return size;
  const p = padding === "valid" ? 0 : typeof padding === "number" ? padding : padding[axis];
  const out = size + 2 * p - kernel + 1;
  return out >= 1 ? out : undefined;
}

describe("the wasm backend's convolution kernels", () => {
  it("conv2d, conv2d_grad_input and conv2d_grad_filter (stride 1) match the reference kernels on random shapes and paddings", async () => {
    const rng = lcg(7);
    const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
    const paddings: Padding[] = ["same", "valid", 0, 1, 2, [1, 0], [0, 2]];
    // Some chosen cases first: paddings wider than the kernel (the input gradient's padding negative), a
    // 1-wide image, a kernel as wide as the image, and "same" with a shift too long to copy a tap's rows
    // as one stretch.
    const chosen: [number, number, number, number, number, number, number, Padding][] = [
      [2, 3, 6, 7, 4, 1, 1, 3],
      [1, 2, 5, 1, 3, 3, 1, [1, 0]],
      [2, 1, 4, 9, 2, 4, 9, "valid"],
      [1, 2, 5, 40, 3, 3, 35, "same"],
    ];
    let cases = 0;
    while (cases < 18) {
      const [n, c, h, w, f, kh, kw, padding] =
        chosen[cases] ?? ([int(1, 4), int(1, 5), int(1, 11), int(1, 11), int(1, 9), int(1, 5), int(1, 5), paddings[int(0, paddings.length - 1)]!] as const);
      const oh = outSize(h, kh, padding, 0);
      const ow = outSize(w, kw, padding, 1);
      if (oh === undefined || ow === undefined) continue;
      cases++;
      for (const { graph, shapes } of convGraphs(n, c, h, w, f, kh, kw, { padding }, oh, ow)) {
        const what = `${graph.name} x [${n}, ${c}, ${h}, ${w}], w [${f}, ${c}, ${kh}, ${kw}], padding ${JSON.stringify(padding)}`;
        const inputs = randomInputs(shapes, rng);
        const reference = await run(graph, inputs, "ts");
        const wasm = await run(graph, inputs, "wasm");
        expect(wasm.fast, `${what}: the backend's own kernel`).toBe(true);
        expectClose(wasm.out, reference.out, what);
      }
    }
  });

  it("sum in float32 in a fixed order, whichever product an image takes (dense, or skipping δ's or the image's zeros): a float32 formula's bits", async () => {
    // What the kernels promise, written out: every output a float32 running sum from +0 of float32
    // products, over the taps (c, p, q) in order for conv2d, (f, p, q) of the reversed filters for the input
    // gradient, and for the filter gradient over the output positions of each image, the images' sums added
    // in order within each half of the batch, then the halves. δ's and x's images alternate between mostly
    // zeros and dense, so that both products run.
    const f32 = Math.fround;
    const rng = lcg(41);
    // 42 and 35 output positions: the zero-skipping input gradient takes them in pairs, the odd one alone.
    for (const [n, c, h, w, f] of [
      [4, 3, 7, 6, 5],
      [2, 2, 5, 7, 3],
    ] as const) {
      const [kh, kw, pt, pl] = [3, 3, 1, 1];
      const sparseEveryOther = (plane: number) => (_: unknown, i: number) => (Math.floor(i / plane) % 2 === 0 && rng() < 0.85 ? 0 : f32(rng() - 0.5));
      const x = Float32Array.from({ length: n * c * h * w }, sparseEveryOther(c * h * w));
      const dy = Float32Array.from({ length: n * f * h * w }, sparseEveryOther(f * h * w));
      const W = Float32Array.from({ length: f * c * kh * kw }, () => rng() - 0.5);
      const at = (v: Float32Array, b: number, ch: number, chans: number, y: number, xx: number) =>
        y < 0 || y >= h || xx < 0 || xx >= w ? 0 : v[((b * chans + ch) * h + y) * w + xx]!;
      const forward = new Float32Array(n * f * h * w);
      const gradInput = new Float32Array(n * c * h * w);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++) {
            for (let o = 0; o < f; o++) {
              let acc = 0;
              for (let ch = 0; ch < c; ch++)
                for (let p = 0; p < kh; p++)
                  for (let q = 0; q < kw; q++) acc = f32(acc + f32(W[((o * c + ch) * kh + p) * kw + q]! * at(x, b, ch, c, y + p - pt, xx + q - pl)));
              forward[((b * f + o) * h + y) * w + xx] = acc;
            }
            for (let ch = 0; ch < c; ch++) {
              let acc = 0;
              for (let o = 0; o < f; o++)
                for (let p = 0; p < kh; p++)
                  for (let q = 0; q < kw; q++)
                    acc = f32(
                      acc + f32(W[((o * c + ch) * kh + (kh - 1 - p)) * kw + (kw - 1 - q)]! * at(dy, b, o, f, y + p - (kh - 1 - pt), xx + q - (kw - 1 - pl))),
                    );
              gradInput[((b * c + ch) * h + y) * w + xx] = acc;
            }
          }
      const gradFilter = new Float32Array(f * c * kh * kw);
      for (let o = 0; o < f; o++)
        for (let ch = 0; ch < c; ch++)
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const half = (from: number, to: number) => {
                let total = 0;
                for (let b = from; b < to; b++) {
                  let acc = 0;
                  for (let y = 0; y < h; y++)
                    for (let xx = 0; xx < w; xx++) acc = f32(acc + f32(dy[((b * f + o) * h + y) * w + xx]! * at(x, b, ch, c, y + p - pt, xx + q - pl)));
                  total = f32(total + acc);
                }
                return total;
              };
              gradFilter[((o * c + ch) * kh + p) * kw + q] = f32(half(0, n / 2) + half(n / 2, n));
            }
      const [forwardGraph, inputGraph, filterGraph] = convGraphs(n, c, h, w, f, kh, kw, { padding: "same" }, h, w);
      for (const zeroSkip of [[], ["in0"]])
        expect(Array.from((await run(filterGraph!.graph, [x, dy], "wasm", 1, zeroSkip)).out), `[${n}, ${c}, ${h}, ${w}] filter gradient, ${zeroSkip}`).toEqual(
          Array.from(gradFilter),
        );
      expect(Array.from((await run(forwardGraph!.graph, [x, W], "wasm")).out), "conv2d").toEqual(Array.from(forward));
      expect(Array.from((await run(inputGraph!.graph, [dy, W], "wasm")).out), "input gradient").toEqual(Array.from(gradInput));
    }
  });

  it("leaves strides and dilations above 1 to the reference kernels", async () => {
    const rng = lcg(11);
    for (const attrs of [
      { stride: 2, padding: "same" },
      { dilation: 2, padding: 2 },
      { stride: [1, 2], padding: 1 },
    ]) {
      const [n, c, h, w, f, kh, kw] = [2, 3, 9, 8, 4, 3, 3];
      const probe = compilePlan(
        oneOp(
          "conv2d",
          [
            [n, c, h, w],
            [f, c, kh, kw],
          ],
          attrs,
        ),
        { outputs: ["out"], dtype: "float32" },
      );
      const [, , oh, ow] = probe.values.get("out")!.shape;
      for (const { graph, shapes } of convGraphs(n, c, h, w, f, kh, kw, attrs, oh!, ow!)) {
        const inputs = randomInputs(shapes, rng);
        const wasm = await run(graph, inputs, "wasm");
        expect(wasm.fast, `${graph.name} ${JSON.stringify(attrs)}`).toBe(false);
        expectClose(wasm.out, (await run(graph, inputs, "ts")).out, `${graph.name} ${JSON.stringify(attrs)}`);
      }
    }
  });

  it("the filter gradient skips the zeros of δ's mostly-zero images (as under a max pooling) and matches the reference", async () => {
    const rng = lcg(37);
    for (const [n, c, h, w, f, zeros] of [
      [4, 3, 9, 7, 5, 0.8],
      [3, 16, 14, 14, 32, 0.75],
      [2, 2, 6, 5, 3, 0.3],
    ] as const) {
      const { graph, shapes } = convGraphs(n, c, h, w, f, 3, 3, { padding: "same" }, h, w)[2]!;
      // δ's images alternate between mostly zeros and dense, so both products run in one call.
      const plane = f * h * w;
      const dy = Float32Array.from({ length: n * plane }, (_, i) => (Math.floor(i / plane) % 2 === 0 && rng() < zeros ? 0 : rng() - 0.5));
      const inputs = [randomInputs([shapes[0]!], rng)[0]!, dy];
      const what = `filter gradient, δ ${zeros * 100} % zeros in every other image, [${n}, ${c}, ${h}, ${w}] → ${f}`;
      const wasm = await run(graph, inputs, "wasm");
      expect(wasm.fast, what).toBe(true);
      expectClose(wasm.out, (await run(graph, inputs, "ts")).out, what);
    }
  });

  it("the filter gradient of a mostly-zero image input skips its zeros and gives the dense kernel's bits", async () => {
    const rng = lcg(13);
    const [n, c, h, w, f] = [5, 1, 13, 11, 16];
    const { graph, shapes } = convGraphs(n, c, h, w, f, 3, 3, { padding: "same" }, h, w)[2]!;
    const inputs = [randomInputs([shapes[0]!], rng, (r) => (r() < 0.8 ? 0 : r()))[0]!, randomInputs([shapes[1]!], rng)[0]!];
    const sparse = await run(graph, inputs, "wasm", 1, ["in0"]);
    const dense = await run(graph, inputs, "wasm", 1, []);
    expect(Array.from(sparse.out)).toEqual(Array.from(dense.out));
    expectClose(sparse.out, (await run(graph, inputs, "ts")).out, "zero-skipping filter gradient");
  });
});

describe("the wasm backend's pooling and channel-bias kernels", () => {
  /** Values with many ties, signed zeros and a NaN or two: max pooling must pick what the reference picks. */
  const tied = (r: () => number) => {
    const u = r();
    return u < 0.02 ? NaN : u < 0.3 ? 0 : u < 0.45 ? -0 : Math.floor(r() * 4) - 1;
  };

  it("max_pool2d and max_pool2d_grad with 2 × 2 windows of stride 2 give the reference's bits, odd sizes too", async () => {
    const rng = lcg(17);
    for (const [n, c, h, w] of [
      [2, 3, 8, 8],
      [1, 2, 7, 9],
      [3, 1, 2, 3],
      [2, 5, 11, 17],
      [2, 3, 6, 14],
      [1, 2, 5, 13],
    ] as const) {
      const pooled = [n, c, Math.floor(h / 2), Math.floor(w / 2)];
      const forward = oneOp("max_pool2d", [[n, c, h, w]], { window: 2 });
      const x = randomInputs([[n, c, h, w]], rng, tied)[0]!;
      const ref = await run(forward, [x], "ts");
      const fast = await run(forward, [x], "wasm");
      expect(fast.fast).toBe(true);
      expect(Array.from(fast.out), `max_pool2d [${n}, ${c}, ${h}, ${w}]`).toEqual(Array.from(ref.out));
      const backward = oneOp("max_pool2d_grad", [pooled, [n, c, h, w]], { window: 2, stride: 2 });
      const dy = randomInputs([pooled], rng, (r) => (r() < 0.1 ? -0 : r() * 2 - 1))[0]!;
      const refGrad = await run(backward, [dy, x], "ts");
      const fastGrad = await run(backward, [dy, x], "wasm");
      expect(fastGrad.fast).toBe(true);
      expect(Array.from(fastGrad.out), `max_pool2d_grad [${n}, ${c}, ${h}, ${w}]`).toEqual(Array.from(refGrad.out));
    }
  });

  it("leaves other pooling windows to the reference kernels", async () => {
    const rng = lcg(19);
    for (const attrs of [{ window: 3 }, { window: 2, stride: 1 }, { window: 2, padding: 1 }]) {
      const graph = oneOp("max_pool2d", [[2, 3, 8, 7]], attrs);
      const x = randomInputs([[2, 3, 8, 7]], rng)[0]!;
      const wasm = await run(graph, [x], "wasm");
      expect(wasm.fast, JSON.stringify(attrs)).toBe(false);
      expect(Array.from(wasm.out)).toEqual(Array.from((await run(graph, [x], "ts")).out));
    }
  });

  it("adds a bias [C, 1, 1] over [N, C, H, W] (either order) and sums [N, C, H, W] back to it", async () => {
    const rng = lcg(23);
    for (const [n, c, h, w] of [
      [3, 5, 7, 9],
      [2, 16, 4, 4],
      [1, 1, 1, 3],
    ] as const) {
      const what = `[${n}, ${c}, ${h}, ${w}]`;
      const [x, b] = randomInputs(
        [
          [n, c, h, w],
          [c, 1, 1],
        ],
        rng,
      );
      for (const [graph, inputs] of [
        [
          oneOp("add", [
            [n, c, h, w],
            [c, 1, 1],
          ]),
          [x!, b!],
        ],
        [
          oneOp("add", [
            [c, 1, 1],
            [n, c, h, w],
          ]),
          [b!, x!],
        ],
      ] as const) {
        const wasm = await run(graph, [...inputs], "wasm");
        expect(wasm.fast, `add ${what}`).toBe(true);
        expect(Array.from(wasm.out), `add ${what}`).toEqual(Array.from((await run(graph, [...inputs], "ts")).out));
      }
      const sum = oneOp("sum_to", [[n, c, h, w]], { shape: [c, 1, 1] });
      const wasm = await run(sum, [x!], "wasm");
      expect(wasm.fast, `sum_to ${what}`).toBe(true);
      expectClose(wasm.out, (await run(sum, [x!], "ts")).out, `sum_to ${what}`, 1e-5, 1e-6);
    }
  });
});

describe("a convolutional layer — conv2d, bias [C, 1, 1], relu — fused into the convolution", () => {
  const layer = (n: number, c: number, h: number, w: number, f: number, withRelu: boolean, padding: Padding): Graph => ({
    name: "conv-layer",
    nodes: [
      { id: "x", op: "input", inputs: [], attrs: { shape: [n, c, h, w] } },
      { id: "W", op: "parameter", inputs: [], attrs: { shape: [f, c, 3, 3], init: "zeros" } },
      { id: "b", op: "parameter", inputs: [], attrs: { shape: [f, 1, 1], init: "zeros" } },
      { id: "xW", op: "conv2d", inputs: ["x", "W"], attrs: { padding } },
      { id: "z", op: "add", inputs: ["xW", "b"], attrs: {} },
      ...(withRelu ? [{ id: "a", op: "relu", inputs: ["z"], attrs: {} }] : []),
    ],
  });

  /** The graph's outputs on wasm (sharing "always" on 2 threads), fed these values. */
  async function outputsOf(graph: Graph, outputs: string[], values: Record<string, Float32Array>, threads: number) {
    const e = new Executor(compilePlan(graph, { outputs, dtype: "float32" }), { backend: "wasm", threads, sharing: "always" });
    await e.ready;
    for (const [id, v] of Object.entries(values)) e.view(id).set(v);
    e.run();
    const result = Object.fromEntries(outputs.map((id) => [id, Array.from(e.view(id))]));
    await e.close();
    return result;
  }

  it("gives the separate kernels' bits, odd plane sizes, 1 and 2 threads", async () => {
    for (const [n, c, h, w, f, padding] of [
      [3, 2, 7, 5, 5, "same"],
      [6, 4, 12, 12, 8, "same"],
      [2, 3, 9, 6, 3, "valid"],
    ] as const) {
      for (const withRelu of [true, false]) {
        const g = layer(n, c, h, w, f, withRelu, padding);
        const outputs = withRelu ? ["z", "a"] : ["z"];
        const rng = lcg(n + c + h + w + f);
        const values = {
          x: Float32Array.from({ length: n * c * h * w }, () => rng() - 0.5),
          W: Float32Array.from({ length: f * c * 9 }, () => rng() - 0.5),
          b: Float32Array.from({ length: f }, () => rng() - 0.5),
        };
        const what = `[${n}, ${c}, ${h}, ${w}] → ${f}, relu ${withRelu}`;
        // The convolution as an output of its own has a second reader: nothing is fused.
        const apart = await outputsOf(g, [...outputs, "xW"], values, 1);
        for (const threads of [1, 2]) {
          const fused = await outputsOf(g, outputs, values, threads);
          for (const id of outputs) expect(fused[id], `${what}, ${threads} threads: ${id}`).toEqual(apart[id]);
        }
      }
    }
  });
});

describe("the wasm backend's reshapes", () => {
  it("reshape and flatten copy their input by the module's copy", async () => {
    const rng = lcg(31);
    for (const [graph, shape] of [
      [oneOp("flatten", [[3, 5, 7, 2]]), [3, 5, 7, 2]],
      [oneOp("reshape", [[6, 35]], { shape: [-1, 5, 7] }), [6, 35]],
      [oneOp("reshape", [[1, 3]], { shape: [3] }), [1, 3]],
    ] as const) {
      const x = randomInputs([[...shape]], rng)[0]!;
      const wasm = await run(graph, [x], "wasm");
      expect(wasm.fast, graph.name).toBe(true);
      expect(Array.from(wasm.out), graph.name).toEqual(Array.from(x));
    }
  });
});

describe("the image kernels on two threads", () => {
  it("give the same bits as on one thread, the worker taking part of each", async () => {
    const rng = lcg(29);
    const [n, c, h, w, f] = [7, 4, 12, 13, 8];
    const graphs = [
      ...convGraphs(n, c, h, w, f, 3, 3, { padding: "same" }, h, w),
      ...convGraphs(n, c, h, w, f, 3, 2, { padding: "valid" }, h - 2, w - 1),
      { graph: oneOp("max_pool2d", [[n, 8, 24, 25]], { window: 2 }), shapes: [[n, 8, 24, 25]] },
      {
        graph: oneOp(
          "max_pool2d_grad",
          [
            [n, 8, 12, 12],
            [n, 8, 24, 25],
          ],
          { window: 2 },
        ),
        shapes: [
          [n, 8, 12, 12],
          [n, 8, 24, 25],
        ],
      },
      {
        graph: oneOp("add", [
          [n, 8, 24, 25],
          [8, 1, 1],
        ]),
        shapes: [
          [n, 8, 24, 25],
          [8, 1, 1],
        ],
      },
      { graph: oneOp("sum_to", [[n, 8, 24, 25]], { shape: [8, 1, 1] }), shapes: [[n, 8, 24, 25]] },
      { graph: oneOp("flatten", [[n, 8, 24, 25]]), shapes: [[n, 8, 24, 25]] },
    ];
    for (const { graph, shapes } of graphs) {
      const inputs = randomInputs(shapes, rng);
      const one = await run(graph, inputs, "wasm", 1);
      const two = await run(graph, inputs, "wasm", 2);
      expect(one.fast && two.fast, graph.name).toBe(true);
      expect(two.workerRan, `${graph.name}: parts the worker ran`).toBeGreaterThan(0);
      expect(Array.from(two.out), graph.name).toEqual(Array.from(one.out));
    }
    // The filter gradient of a mostly-zero image input too.
    const { graph, shapes } = convGraphs(n, 1, 28, 28, 16, 3, 3, { padding: "same" }, 28, 28)[2]!;
    const inputs = [randomInputs([shapes[0]!], rng, (r) => (r() < 0.8 ? 0 : r()))[0]!, randomInputs([shapes[1]!], rng)[0]!];
    const one = await run(graph, inputs, "wasm", 1, ["in0"]);
    const two = await run(graph, inputs, "wasm", 2, ["in0"]);
    expect(two.workerRan).toBeGreaterThan(0);
    expect(Array.from(two.out)).toEqual(Array.from(one.out));
  });
});

describe("the CNN (graphs/mnist-cnn.graph.json) on the wasm backend", () => {
  it("runs every conv, pooling, bias and reshape step of its training step by the backend's own kernels", () => {
    const backward = differentiate(loadGraphFile("graphs/mnist-cnn.graph.json"));
    const plan = compilePlan(backward, { outputs: ["loss", ...Object.values(backward.gradients!)], sizes: { batch: 4 }, dtype: "float32" });
    const e = new Executor(plan, { backend: "wasm" });
    const images = plan.steps.filter(
      (s) => /conv2d|pool|flatten|reshape/.test(s.node.op) || ((s.node.op === "add" || s.node.op === "sum_to") && s.inputs[0]!.shape.length === 4),
    );
    expect(images.map((s) => s.node.op).sort()).toEqual([
      "add",
      "add",
      "conv2d",
      "conv2d",
      "conv2d_grad_filter",
      "conv2d_grad_filter",
      "conv2d_grad_input",
      "flatten",
      "max_pool2d",
      "max_pool2d",
      "max_pool2d_grad",
      "max_pool2d_grad",
      "reshape",
      "sum_to",
      "sum_to",
    ]);
    expect(images.map((s) => s.node.id).filter((id) => !e.fastNodes.includes(id))).toEqual([]);
  });

  it("trains to the same bits on one thread and on two, the worker taking part of every big kernel", async () => {
    const data = mnist();
    const graph = loadGraphFile("graphs/mnist-cnn.graph.json");
    const order = Uint32Array.from({ length: 256 }, (_, i) => (i * 7_919) % 60_000);
    const run = async (threads: number) => {
      const model = new Model(graph, { batchSize: 32, seed: 5, backend: "wasm", threads, sharing: "always", data });
      await model.ready;
      const optimizer = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
      const losses = [0, 32, 64].map((start) => {
        const { loss } = model.step(data, order, start, 32, optimizer.steps);
        optimizer.step(model.parameters, model.gradients, 0.001);
        return loss;
      });
      const stats = model.threadStats();
      const weights = model.parameters.map((p) => Array.from(p));
      await model.close();
      return { losses, weights, stats };
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.stats.workerRan).toBeGreaterThan(20);
    expect(two.stats).toMatchObject({ takenBack: 0, failure: undefined });
    expect(two.losses).toEqual(one.losses);
    expect(two.weights).toEqual(one.weights);
  });
});
