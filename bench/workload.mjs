// The workload `npm run bench` and `npm run profile` measure: the report's network (graphs/mnist.graph.json,
// Adam as its training section says) — or another graph file, such as the CNN of graphs/mnist-cnn.graph.json —
// on real MNIST batches drawn in one fixed shuffled order of the report's training split.
import { join } from "node:path";

/** The dataset and the order batches are drawn in (batch b: order[b·batch …], wrapping around). */
export async function loadWorkload(root) {
  const { loadMnist, reportSplit, Random } = await import(join(root, "dist/src/index.js"));
  const data = loadMnist();
  const order = new Random(1).shuffle(Uint32Array.from(reportSplit(data.count, 0.2, 0.25, 42).train));
  return { data, order };
}

/** graphnet training a graph file (the report's network unless `graph` names another, relative to the root) on the workload. */
export async function graphnetTrainer(root, { data, order }, { batch, backend = "wasm", threads, zeroSkip = true, graph: graphFile = "graphs/mnist.graph.json" }) {
  const { Model, loadGraphFile, createOptimizer, trainingConfig } = await import(join(root, "dist/src/index.js"));
  const graph = loadGraphFile(join(root, graphFile));
  const config = trainingConfig(graph);
  // threads undefined: the Model's default, what a user gets (2 threads where there are two cores, the worker
  // sitting out steps while it does not pay).
  const model = new Model(graph, { batchSize: batch, seed: 1, backend, zeroSkip, ...(threads === undefined ? {} : { threads }), data });
  await model.ready; // the worker thread is up
  // The model's backend runs the updates (older builds took the arena itself: kept for A/B runs against them).
  const optimizer = createOptimizer(config, model.parameterSizes(), model.parameterUpdates?.() ?? model.optimizerArena);
  const batches = Math.floor(order.length / batch);
  return {
    model,
    optimizer,
    /** Forward and backward of batch b (the batch filled from the image bytes); returns its loss. */
    forwardBackward: (b) => model.step(data, order, (b % batches) * batch, batch, optimizer.steps).loss,
    update: () => optimizer.step(model.parameters, model.gradients, config.learning_rate),
  };
}
