/**
 * A trainable model: one graph, planned for training and for evaluation, over one set of parameters.
 *
 * The training plan computes the loss, the class probabilities and every parameter's gradient for a
 * batch; the evaluation plans the probabilities and the graph's own loss node, in evaluation mode (no
 * dropout, a batch norm's running averages), for larger batches. Each plan has its own arena;
 * the parameters live in the training arena, and are copied into the others (≈ 0.4 MB) before they
 * run — once per evaluation, never per step. So does the non-trainable state (a batch norm's running
 * averages), which each training step updates in the arena it runs in: a short last batch's arena
 * hands it back to the training arena.
 */
import { availableParallelism } from "node:os";
import { differentiate } from "../autodiff/differentiate.js";
import { rowChainsOff } from "../exec/backend.js";
import { Executor, type BackendName, type Sharing, type ThreadStats } from "../exec/executor.js";
import { initializeParameters } from "../exec/initialize.js";
import type { ParameterUpdates } from "../exec/parameter-updates.js";
import { compilePlan } from "../exec/plan.js";
import { withoutIdentityDropout } from "../graph/configure.js";
import { GraphError, UserError } from "../graph/errors.js";
import { modelRoles, type ModelRoles } from "../graph-file/roles.js";
import { inferShapes } from "../graph-file/shapes.js";
import { sameShape, type Graph } from "../graph/ir.js";
import { argmax } from "../exec/batches.js";
import type { Dataset } from "../data/mnist.js";
import type { FloatArray } from "../ops/op.js";
import type { Checkpoint } from "./checkpoint.js";
import { OPTIMIZER_STATE_FACTOR } from "./optimizers.js";

// What training needs of the graph (features, labels, a loss computed from both, probs): src/graph-file/roles.ts.
export { modelRoles, type ModelRoles } from "../graph-file/roles.js";

export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  /** confusion[true][predicted] counts. */
  readonly confusion: number[][];
}

const EVAL_BATCH = 1000;

/** The threads a model's training step runs on unless told: 2 where the machine has two cores or more. */
export function defaultThreads(): number {
  return Math.min(2, availableParallelism());
}

export class Model {
  readonly graph: Graph;
  readonly backward: Graph;
  readonly roles: ModelRoles;
  readonly batchSize: number;
  readonly classes: number;
  readonly parameterIds: readonly string[];
  /** The non-trainable state (running averages), in arena order: updated by the training steps, never by the optimizer. */
  readonly stateIds: readonly string[];
  /** The executor of a training step at the full batch size: its arena holds the parameters the optimizer updates. */
  private readonly trainingStep: Executor;
  private readonly trainGradients: readonly FloatArray[];
  private readonly trainParameters: readonly FloatArray[];
  private readonly trainState: readonly FloatArray[];
  /** The executors of the short last batches of an epoch, by their number of rows (made when first needed). */
  private readonly shortBatchSteps = new Map<number, Executor>();
  /** The evaluation executors by their batch size: EVAL_BATCH, and the size of a set's last batch. */
  private readonly evaluators = new Map<number, Executor>();
  private readonly evaluationGraph: Graph;
  private readonly seed: number;
  /** Where the plans run: "ts" (the reference kernels) or "wasm" (WebAssembly SIMD kernels). */
  readonly backend: BackendName;
  /** The inputs planned as mostly zeros: the images, unless told otherwise (see PlanOptions.mostlyZeros). */
  private readonly mostlyZeros: readonly string[];
  private readonly threads: number;
  private readonly sharing: Sharing | undefined;

  /**
   * `backend`: "ts" (default) or "wasm"; `zeroSkip` (default true) plans the images as mostly zeros,
   * as MNIST's are, so that the wasm backend skips their zeros in the first layer (same results); and `threads` (default 2 where the machine has two cores) gives the training step's big
   * kernels and the optimizer's update a worker thread. `data`, the dataset training batches will come
   * from: on the wasm backend its bytes are copied once into the training arena (up to 1 GiB of them),
   * where each batch is then gathered by one kernel call. `sharing`: as ExecutorOptions.sharing (tests).
   */
  constructor(
    graph: Graph,
    options: { batchSize: number; seed: number; backend?: BackendName; zeroSkip?: boolean; threads?: number; sharing?: Sharing; data?: Dataset },
  ) {
    this.graph = graph;
    this.seed = options.seed;
    this.backend = options.backend ?? "ts";
    this.threads = options.threads ?? defaultThreads();
    // Threads left to the default: the worker also sits out whole steps while they run faster without it
    // (a busy machine); a number given is a setting forced.
    this.sharing = options.sharing ?? (options.threads === undefined ? "adaptive" : undefined);
    // Planned without its identity dropouts (dropout switched off): they would only copy.
    const planned = withoutIdentityDropout(graph);
    this.roles = modelRoles(planned);
    this.mostlyZeros = (options.zeroSkip ?? true) ? [this.roles.features] : [];
    this.backward = differentiate(planned);
    this.batchSize = options.batchSize;
    this.trainingStep = this.trainingExecutor(options.batchSize, options.seed, true, options.data);
    this.parameterIds = this.trainingStep.parameterIds();
    this.trainParameters = this.parameterIds.map((id) => this.trainingStep.view(id));
    this.trainGradients = this.parameterIds.map((id) => this.trainingStep.view(this.backward.gradients![id]!));
    this.stateIds = this.trainingStep.stateIds();
    this.trainState = this.stateIds.map((id) => this.trainingStep.view(id));
    this.classes = this.trainingStep.value(this.roles.labels).shape[1]!;
    this.evaluationGraph = planned;
    initializeParameters(this.trainingStep, graph, options.seed);
  }

  /** The parameters (live views into the training arena) and their gradients after `step`. */
  get parameters(): readonly FloatArray[] {
    return this.trainParameters;
  }

  get gradients(): readonly FloatArray[] {
    return this.trainGradients;
  }

  /** Why the worker thread of the training arena stopped, if it did (training then ran on one thread). */
  get workerFailure(): string | undefined {
    return this.trainingStep.threadStats().failure;
  }

  /** Resolved when the training arena's worker thread is up (at once without one): Executor.ready. */
  get ready(): Promise<void> {
    return this.trainingStep.ready;
  }

  /** What the training arena's worker thread has done: Executor.threadStats(). */
  threadStats(): ThreadStats {
    return this.trainingStep.threadStats();
  }

  /** Ends the worker thread of every arena (training then runs on the main thread alone); resolved when they have ended. */
  async close(): Promise<void> {
    await Promise.all([this.trainingStep, ...this.evaluators.values(), ...this.shortBatchSteps.values()].map((executor) => executor.close()));
  }

  /** How an optimizer's updates run on the training arena, where its state then lives (one for each optimizer). */
  parameterUpdates(): ParameterUpdates {
    return this.trainingStep.parameterUpdates();
  }

  /** Number of values each parameter holds, in `parameterIds` order. */
  parameterSizes(): number[] {
    return this.trainParameters.map((p) => p.length);
  }

  /** Each parameter's concrete shape, as the plan laid it out. */
  parameterShapes(): Map<string, readonly number[]> {
    return new Map(this.parameterIds.map((id) => [id, this.trainingStep.value(id).shape]));
  }

  /** Each state's concrete shape, as the plan laid it out. */
  stateShapes(): Map<string, readonly number[]> {
    return new Map(this.stateIds.map((id) => [id, this.trainingStep.value(id).shape]));
  }

  /**
   * Forward and backward over samples order[start … start+rows), in training mode, with the given
   * dropout step; the state (running averages) is updated once. `prepare` may transform the batch in
   * place (augmentation) before it runs.
   * Returns the batch's mean loss and how many samples it classified right.
   */
  step(
    data: Dataset,
    order: ArrayLike<number>,
    start: number,
    rows: number,
    dropoutStep: number,
    prepare?: (x: FloatArray, rows: number) => void,
  ): { loss: number; correct: number } {
    const executor = rows === this.batchSize ? this.trainingStep : this.shortBatchStep(rows);
    const x = executor.view(this.roles.features);
    const y = executor.view(this.roles.labels);
    executor.batches.fill(data, order, start, rows, x, y, this.classes);
    prepare?.(x, rows);
    executor.run({ training: true, step: dropoutStep });
    if (executor !== this.trainingStep) {
      // The gradients of a short last batch land in its own arena: bring them over for the optimizer,
      // and the state it updated back to the training arena.
      this.parameterIds.forEach((id, i) => this.trainGradients[i]!.set(executor.view(this.backward.gradients![id]!)));
      this.stateIds.forEach((id, i) => this.trainState[i]!.set(executor.view(id)));
    }
    return {
      loss: executor.view(this.roles.loss)[0]!,
      correct: executor.batches.countCorrect(executor.view(this.roles.probs), y, rows, this.classes),
    };
  }

  /**
   * Loss, accuracy and confusion matrix over the given samples, in evaluation mode (no dropout). The loss
   * is the graph's own loss node — the function training minimises, not a cross-entropy assumed of the
   * probabilities — averaged over the batches weighted by their rows, as the training loss is; each
   * batch runs at its own size, so a short last batch has no padding rows in its loss.
   */
  evaluate(data: Dataset, indices: ArrayLike<number>): Evaluation {
    this.trainingStep.pauseSteps();
    const k = this.classes;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < indices.length; start += EVAL_BATCH) {
      const rows = Math.min(EVAL_BATCH, indices.length - start);
      // Full batches share one evaluator: its weights are copied in once per evaluation, not per batch.
      const evaluator = start === 0 || rows !== EVAL_BATCH ? this.evaluatorFor(rows) : this.evaluators.get(EVAL_BATCH)!;
      const probs = evaluator.view(this.roles.probs);
      evaluator.batches.fill(data, indices, start, rows, evaluator.view(this.roles.features), evaluator.view(this.roles.labels), k);
      evaluator.run({ training: false });
      lossSum += evaluator.view(this.roles.loss)[0]! * rows;
      for (let r = 0; r < rows; r++) {
        const label = data.labels[indices[start + r]!]!;
        const predicted = argmax(probs, r * k, k);
        confusion[label]![predicted]!++;
        if (predicted === label) correct++;
      }
    }
    return { loss: lossSum / indices.length, accuracy: correct / indices.length, confusion };
  }

  /** Class probabilities of one image given as 784 values in [0, 1]. */
  predict(image: ArrayLike<number>): Float64Array {
    const evaluator = this.evaluatorFor(1);
    const x = evaluator.view(this.roles.features);
    x.fill(0);
    x.set(image);
    evaluator.view(this.roles.labels).fill(0);
    evaluator.run({ training: false });
    return Float64Array.from(evaluator.view(this.roles.probs).subarray(0, this.classes));
  }

  /** A copy of every parameter, by id. */
  snapshot(): Map<string, Float32Array> {
    return new Map(this.parameterIds.map((id, i) => [id, Float32Array.from(this.trainParameters[i]!)]));
  }

  /** A copy of every state (running averages), by id. */
  stateSnapshot(): Map<string, Float32Array> {
    return new Map(this.stateIds.map((id, i) => [id, Float32Array.from(this.trainState[i]!)]));
  }

  /**
   * Takes up a checkpoint's weights and state (read from `source`): refused, before anything changes,
   * unless it holds every parameter and every state of the graph with its shape, and no other. A
   * matching count is not enough: a W1 saved as [128, 784] would load into a [784, 128] parameter as
   * nonsense.
   */
  load(checkpoint: Pick<Checkpoint, "parameters" | "shapes" | "state">, source: string): void {
    const state = checkpoint.state ?? new Map<string, Float32Array>();
    checkTensors(checkpoint.parameters, checkpoint.shapes, this.parameterShapes(), "parameter", "weights", source);
    checkTensors(state, checkpoint.shapes, this.stateShapes(), "state", "state", source);
    this.restore(checkpoint.parameters, source);
    this.stateIds.forEach((id, i) => this.trainState[i]!.set(state.get(id)!));
  }

  /** Sets every parameter from values of the right length (a snapshot of this model; load checks a checkpoint). */
  restore(values: ReadonlyMap<string, ArrayLike<number>>, source: string): void {
    this.parameterIds.forEach((id, i) => {
      const value = values.get(id);
      if (!value) throw new GraphError(`${source} has no values for parameter "${id}".`, { nodeId: id });
      if (value.length !== this.trainParameters[i]!.length) {
        throw new GraphError(`${source} holds ${value.length} values for parameter "${id}", which has ${this.trainParameters[i]!.length}.`, { nodeId: id });
      }
      this.trainParameters[i]!.set(value);
    });
  }

  /** Whether every value of the training graph is a matrix of rows (or a vector, or a scalar): no images. */
  private rowsOnly(): boolean {
    return [...inferShapes(this.backward).values()].every((shape) => shape.length <= 2);
  }

  /** `resident`: for the main one, the dataset its batches will come from (see ExecutorOptions.resident). */
  private trainingExecutor(batch: number, seed: number, main = false, resident?: Dataset): Executor {
    const outputs = [this.roles.loss, this.roles.probs, ...Object.values(this.backward.gradients ?? {})];
    // The weight gradients last: on the wasm backend, everything before them goes row by row over the
    // batch, which a worker thread takes its rows of as one job (backends/wasm/chain.ts). Not for one
    // thread, nor for a graph of images (values of rank above 2: the image ops' kernels are not row
    // chains): the values would only take more memory (twice the arena for the CNNs).
    const gradientsLast = this.backend === "wasm" && main && this.threads > 1 && !rowChainsOff() && this.rowsOnly();
    const plan = compilePlan(this.backward, { outputs, sizes: { batch }, dtype: "float32", mostlyZeros: this.mostlyZeros, gradientsLast });
    return new Executor(plan, {
      seed,
      backend: this.backend,
      // The main training arena also holds the optimizer's state, beside the parameters it updates, and
      // the resident dataset.
      reserveElements: main ? OPTIMIZER_STATE_FACTOR * plan.parameterElements : 0,
      ...(main && resident ? { resident: { data: resident, maxRows: batch } } : {}),
      threads: main ? this.threads : 1,
      ...(this.sharing ? { sharing: this.sharing } : {}),
    });
  }

  private shortBatchStep(rows: number): Executor {
    let executor = this.shortBatchSteps.get(rows);
    if (!executor) {
      executor = this.trainingExecutor(rows, this.seed);
      this.shortBatchSteps.set(rows, executor);
    }
    this.copyParametersAndStateTo(executor);
    return executor;
  }

  /** The evaluation executor for batches of `rows`, planned when first needed, with the current weights and state. */
  private evaluatorFor(rows: number): Executor {
    let evaluator = this.evaluators.get(rows);
    if (!evaluator) {
      const outputs = [this.roles.probs, this.roles.loss];
      const plan = compilePlan(this.evaluationGraph, { outputs, sizes: { batch: rows }, dtype: "float32", mostlyZeros: this.mostlyZeros });
      evaluator = new Executor(plan, { seed: this.seed, backend: this.backend });
      this.evaluators.set(rows, evaluator);
    }
    this.copyParametersAndStateTo(evaluator);
    return evaluator;
  }

  private copyParametersAndStateTo(target: Executor): void {
    for (const [i, id] of this.parameterIds.entries()) target.view(id).set(this.trainParameters[i]!);
    for (const [i, id] of this.stateIds.entries()) target.view(id).set(this.trainState[i]!);
  }
}

/**
 * Refuses tensors that do not match the graph's values of one kind (parameters or state): one the graph
 * has no such value of, a value without its tensor, a tensor of another shape.
 */
function checkTensors(
  tensors: ReadonlyMap<string, unknown>,
  savedShapes: ReadonlyMap<string, readonly number[]>,
  shapes: ReadonlyMap<string, readonly number[]>,
  kind: "parameter" | "state",
  what: string,
  source: string,
): void {
  const foreign = [...tensors.keys()].filter((id) => !shapes.has(id));
  if (foreign.length > 0) {
    throw new UserError(
      `${source}: holds ${what} for ${foreign.map((id) => `"${id}"`).join(", ")}, which the graph has no ${kind} of; the checkpoint was saved from another graph.`,
    );
  }
  for (const [id, shape] of shapes) {
    const saved = savedShapes.get(id);
    if (!saved || !tensors.has(id)) throw new UserError(`${source}: has no tensor for the graph's ${kind} "${id}".`);
    if (!sameShape(saved, shape)) {
      throw new UserError(`${source}: tensor "${id}" has shape [${saved.join(", ")}], but the graph's ${kind} "${id}" is [${shape.join(", ")}].`);
    }
  }
}
