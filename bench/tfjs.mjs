// TensorFlow.js 4.22 (tfjs-core with its wasm or cpu backend) training the bench's networks on the same
// batches as graphnet: the report's MLP, and the CNN of graphs/mnist-cnn.graph.json written with
// tfjs-core's ops (conv2d, maxPool, matMul) and its Adam optimizer, tfjs-layers not being a dependency.
import { register } from "node:module";
import { join } from "node:path";

/** tfjs-core with its gradients registered and `backend` ("wasm" or "cpu") ready. */
export async function loadTf(root, backend) {
  // tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package adds them); load its
  // ES-module gradient files, whose imports lack the ".js" Node needs, through a resolve hook. The
  // registries are global, so the gradients reach the engine the backends use.
  const hook = `export async function resolve(specifier, context, next) {
    if (/^\\.\\.?\\//.test(specifier) && !/\\.[cm]?js$/.test(specifier) && context.parentURL?.includes("/@tensorflow/tfjs-core/dist/")) {
      try { return await next(specifier + ".js", context); } catch {}
    }
    return next(specifier, context);
  }`;
  register("data:text/javascript," + encodeURIComponent(hook));
  const tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  if (backend === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
  } else {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist") + "/");
    await tf.setBackend("wasm");
  }
  await tf.ready();
  return tf;
}

/** The report's network, 784-128-64-10 (relu, tanh), softmax cross-entropy, Adam: `step(x, y)` returns the loss tensor. */
export function mlpTrainer(tf) {
  const he = (fanIn, shape) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", 1));
  const xavier = (fanIn, fanOut, shape) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / (fanIn + fanOut)), "float32", 2));
  const W1 = he(784, [784, 128]);
  const b1 = tf.variable(tf.zeros([128]));
  const W2 = xavier(128, 64, [128, 64]);
  const b2 = tf.variable(tf.zeros([64]));
  const W3 = xavier(64, 10, [64, 10]);
  const b3 = tf.variable(tf.zeros([10]));
  const vars = [W1, b1, W2, b2, W3, b3];
  const optimizer = tf.train.adam(0.001, 0.9, 0.999, 1e-8);
  return {
    inputShape: (batch) => [batch, 784],
    vars,
    step: (x, y) =>
      optimizer.minimize(
        () => {
          const a1 = tf.relu(tf.add(tf.matMul(x, W1), b1));
          const a2 = tf.tanh(tf.add(tf.matMul(a1, W2), b2));
          const z3 = tf.add(tf.matMul(a2, W3), b3);
          return tf.losses.softmaxCrossEntropy(y, z3);
        },
        true,
        vars,
      ),
  };
}

/**
 * The CNN of graphs/mnist-cnn.graph.json: conv 3×3×16 (same) → relu → max-pool 2 → conv 3×3×32 (same) →
 * relu → max-pool 2 → flatten → dense 128 (relu) → dense 10, softmax cross-entropy, Adam (lr 0.001), the
 * graph's initialisers. In NHWC, the only layout tfjs's cpu and wasm convolutions take: an image batch
 * [batch, 28, 28, 1] has the same bytes as [batch, 784], so it is filled as the MLP's is.
 */
export function cnnTrainer(tf) {
  const he = (fanIn, shape) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", 1));
  const xavier = (fanIn, fanOut, shape) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / (fanIn + fanOut)), "float32", 2));
  const K1 = he(1 * 9, [3, 3, 1, 16]);
  const c1 = tf.variable(tf.zeros([16]));
  const K2 = he(16 * 9, [3, 3, 16, 32]);
  const c2 = tf.variable(tf.zeros([32]));
  const W1 = he(1568, [1568, 128]);
  const b1 = tf.variable(tf.zeros([128]));
  const W2 = xavier(128, 10, [128, 10]);
  const b2 = tf.variable(tf.zeros([10]));
  const vars = [K1, c1, K2, c2, W1, b1, W2, b2];
  const optimizer = tf.train.adam(0.001, 0.9, 0.999, 1e-8);
  return {
    inputShape: (batch) => [batch, 28, 28, 1],
    vars,
    step: (x, y) =>
      optimizer.minimize(
        () => {
          const p1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, K1, 1, "same"), c1)), 2, 2, "valid");
          const p2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(p1, K2, 1, "same"), c2)), 2, 2, "valid");
          const a = tf.relu(tf.add(tf.matMul(tf.reshape(p2, [x.shape[0], 1568]), W1), b1));
          return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(a, W2), b2));
        },
        true,
        vars,
      ),
  };
}

/**
 * The kernels a training step of `makeTrainer`'s network runs that `backend` has not registered: one step
 * at batch 1 is profiled on the cpu backend (which has them all) and its kernels looked up for `backend`.
 * TF.js does not fall back to another backend for a missing kernel: the step throws.
 */
export async function missingKernels(tf, makeTrainer, backend) {
  await import("@tensorflow/tfjs-backend-cpu");
  const current = tf.getBackend();
  await tf.setBackend("cpu");
  const trainer = makeTrainer(tf);
  const x = tf.zeros(trainer.inputShape(1));
  const y = tf.oneHot(tf.tensor1d([3], "int32"), 10);
  const profile = await tf.profile(() => trainer.step(x, y));
  tf.dispose([x, y, ...trainer.vars]);
  await tf.setBackend(current);
  // Names ending in "__op" are ops with a custom gradient (softmaxCrossEntropy), not kernels.
  const used = [...new Set(profile.kernelNames)].filter((name) => !name.endsWith("__op"));
  return used.filter((name) => !tf.getKernel(name, backend));
}
