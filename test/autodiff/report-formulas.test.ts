/**
 * The backward graph that autodiff derives for the report's MLP computes the report's hand-derived
 * backpropagation (section 3), number for number:
 *   δ⁽ᴸ⁾ = A⁽ᴸ⁾ − Y
 *   ∂L/∂W⁽ˡ⁾ = (1/m) A⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁾,   ∂L/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁾
 *   δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ᵀ) ⊙ σ′(Z⁽ˡ⁾)
 * The formulas are evaluated here directly, in float64, on the same weights and batch.
 */
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { Executor, compilePlan, differentiate, initializeParameters, loadGraphFile, type Graph } from "../../src/index.js";
import { Random } from "../../src/util/random.js";

type Activation = "relu" | "sigmoid" | "tanh";
const sigma: Record<Activation, (z: number) => number> = {
  relu: (z) => Math.max(z, 0),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  tanh: (z) => Math.tanh(z),
};
const sigmaPrime: Record<Activation, (z: number) => number> = {
  relu: (z) => (z > 0 ? 1 : 0),
  sigmoid: (z) => sigma.sigmoid(z) * (1 - sigma.sigmoid(z)),
  tanh: (z) => 1 - Math.tanh(z) ** 2,
};

/** A dense row-major matrix in float64, with just the operations the formulas use. */
class M {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data = new Float64Array(rows * cols),
  ) {}
  at(i: number, j: number): number {
    return this.data[i * this.cols + j]!;
  }
  static from(rows: number, cols: number, data: ArrayLike<number>): M {
    return new M(rows, cols, Float64Array.from(data));
  }
  map(f: (x: number, i: number, j: number) => number): M {
    const out = new M(this.rows, this.cols);
    for (let i = 0; i < this.rows; i++) for (let j = 0; j < this.cols; j++) out.data[i * this.cols + j] = f(this.at(i, j), i, j);
    return out;
  }
  times(other: M): M {
    const out = new M(this.rows, other.cols);
    for (let i = 0; i < this.rows; i++)
      for (let j = 0; j < other.cols; j++) {
        let s = 0;
        for (let k = 0; k < this.cols; k++) s += this.at(i, k) * other.at(k, j);
        out.data[i * other.cols + j] = s;
      }
    return out;
  }
  get T(): M {
    const out = new M(this.cols, this.rows);
    for (let i = 0; i < this.rows; i++) for (let j = 0; j < this.cols; j++) out.data[j * this.rows + i] = this.at(i, j);
    return out;
  }
  plusRow(b: Float64Array): M {
    return this.map((x, _i, j) => x + b[j]!);
  }
  sumRows(): Float64Array {
    const out = new Float64Array(this.cols);
    for (let i = 0; i < this.rows; i++) for (let j = 0; j < this.cols; j++) out[j]! += this.at(i, j);
    return out;
  }
}

function withActivations(graph: Graph, a1: Activation, a2: Activation): Graph {
  return produce(graph, (draft) => {
    for (const node of draft.nodes) {
      if (node.id === "a1") node.op = a1;
      if (node.id === "a2") node.op = a2;
    }
  });
}

const pairs: [Activation, Activation][] = [
  ["relu", "relu"],
  ["sigmoid", "sigmoid"],
  ["tanh", "tanh"],
  ["relu", "tanh"],
];

describe("autodiff on the report's MLP equals the report's backpropagation formulas", () => {
  const file = loadGraphFile("graphs/mnist.graph.json");

  it.each(pairs)("hidden activations %s, %s", (act1, act2) => {
    const m = 8;
    const graph = differentiate(withActivations(file, act1, act2));
    const grads = graph.gradients!;
    const plan = compilePlan(graph, { outputs: ["loss", ...Object.values(grads)], sizes: { batch: m }, dtype: "float64" });
    const executor = new Executor(plan);
    initializeParameters(executor, graph, 7);
    const random = new Random(11);
    // Non-zero biases, so that a bias term that went missing would show.
    for (const b of ["b1", "b2", "b3"]) executor.view(b).forEach((_, i, v) => (v[i] = 0.1 * random.normal()));
    const x = Float64Array.from({ length: m * 784 }, () => (random.uniform() < 0.8 ? 0 : random.uniform()));
    const labels = Array.from({ length: m }, () => random.int(10));
    const y = new Float64Array(m * 10);
    labels.forEach((k, i) => (y[i * 10 + k] = 1));
    executor.feed("x", x);
    executor.feed("y", y);
    executor.run({ training: true });

    // The report's formulas, directly.
    const param = (id: string, rows: number, cols: number) => M.from(rows, cols, executor.view(id));
    const bias = (id: string) => Float64Array.from(executor.view(id));
    const [W1, W2, W3] = [param("W1", 784, 128), param("W2", 128, 64), param("W3", 64, 10)];
    const X = M.from(m, 784, x);
    const Y = M.from(m, 10, y);
    const Z1 = X.times(W1).plusRow(bias("b1"));
    const A1 = Z1.map(sigma[act1]);
    const Z2 = A1.times(W2).plusRow(bias("b2"));
    const A2 = Z2.map(sigma[act2]);
    const Z3 = A2.times(W3).plusRow(bias("b3"));
    const A3 = Z3.map((z, i) => {
      let max = -Infinity;
      for (let k = 0; k < 10; k++) max = Math.max(max, Z3.at(i, k));
      let sum = 0;
      for (let k = 0; k < 10; k++) sum += Math.exp(Z3.at(i, k) - max);
      return Math.exp(z - max) / sum;
    });
    const delta3 = A3.map((a, i, j) => a - Y.at(i, j)); // δ⁽ᴸ⁾ = A⁽ᴸ⁾ − Y
    const delta2 = delta3.times(W3.T).map((d, i, j) => d * sigmaPrime[act2](Z2.at(i, j)));
    const delta1 = delta2.times(W2.T).map((d, i, j) => d * sigmaPrime[act1](Z1.at(i, j)));
    const expected: Record<string, Float64Array> = {
      W3: A2.T.times(delta3).map((v) => v / m).data,
      b3: delta3.sumRows().map((v) => v / m),
      W2: A1.T.times(delta2).map((v) => v / m).data,
      b2: delta2.sumRows().map((v) => v / m),
      W1: X.T.times(delta1).map((v) => v / m).data,
      b1: delta1.sumRows().map((v) => v / m),
    };

    for (const [id, want] of Object.entries(expected)) {
      const got = executor.read(grads[id]!);
      expect(got.length, id).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      const scale = Math.max(...want.map(Math.abs));
      expect(scale, `${id} is not trivially zero`).toBeGreaterThan(1e-6);
      expect(worst / scale, `${id}: max |autodiff − formula| / max |formula|`).toBeLessThan(1e-12);
    }
    // The loss is the report's cross-entropy, −(1/m) Σᵢ Σₖ yᵢₖ log Aᵢₖ.
    let loss = 0;
    for (let i = 0; i < m; i++) loss -= Math.log(A3.at(i, labels[i]!)) / m;
    expect(executor.read("loss")[0]).toBeCloseTo(loss, 12);
  });
});
