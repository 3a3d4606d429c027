/**
 * graphnet as a library: load a graph, differentiate it, plan it, run it.
 *
 *   import { loadGraphFile, differentiate, compilePlan, Executor } from "graphnet";
 *
 * The op registry starts with the built-in ops; `registerOp` adds your own through the same call.
 */

export type { Attrs, AttrValue, ConcreteShape, Dim, Graph, GraphNode, Shape } from "./graph/ir.js";
export { formatShape, sizeOf } from "./graph/ir.js";
export { GraphError, UserError, type ErrorLocation } from "./graph/errors.js";
export { loadGraphFile, loadGraphSource, parseGraph, parseGraphSource } from "./graph-file/load.js";
export { GraphSource } from "./graph/source.js";
export { validateGraph } from "./graph-file/validate.js";
export { graphDocumentSchema, graphSchemaText, writeGraphSchema } from "./graph-file/document-schema.js";
export { ACTIVATIONS, DEFAULT_TRAINING, OPTIMIZERS, trainingConfig, type TrainingConfig, type TrainingSection } from "./graph/training.js";
export { inferShapes, concretize } from "./graph-file/shapes.js";
export { topologicalOrder, findCycle } from "./graph/topology.js";
export { withDropoutRate } from "./graph/configure.js";

export type {
  BackendKernel,
  FloatArray,
  GradientBuilder,
  GradientRule,
  Kernel,
  KernelSpec,
  OpDefinition,
  OpRole,
  RunContext,
  ValueRef,
  WasmCall,
} from "./ops/op.js";
export { ShapeError, defineOp, formulaOf } from "./ops/op.js";
export { getOp, listOps, registerOp, OpDefinitionError, type RegisterOptions } from "./ops/registry.js";
export { binaryOp, unaryOp } from "./ops/elementwise.js";
export { broadcastShapes } from "./ops/broadcast.js";

export { differentiate, gradientId, isBackwardNode, type DifferentiateOptions } from "./autodiff/differentiate.js";
export { compilePlan, type DType, type Plan, type PlanOptions, type PlanStep, type PlannedValue } from "./exec/plan.js";
export { BACKENDS, Executor, type BackendName, type ExecutorOptions, type RunOptions, type Sharing, type ThreadStats } from "./exec/executor.js";
export { initializeParameters } from "./exec/initialize.js";
export { checkGradients, type GradcheckOptions, type GradcheckReport, type GradcheckRow } from "./check/gradcheck.js";
export {
  checkOp,
  checkCase,
  formatOpFailure,
  skipReason,
  OP_CHECK_DEFAULTS,
  type OpCase,
  type OpCheckFailure,
  type OpCheckOptions,
  type OpCheckReport,
  type OpFailureKind,
} from "./check/op-check.js";
export { checkHintProblem } from "./check/hints.js";
export type { CheckDraw, CheckTensor, DimTemplate, OpCheck, OpCheckCase, ShapeTemplate, ValueRange } from "./ops/check-hints.js";
export { Random } from "./util/random.js";

export { loadMnist, bundledMnistDir, type Dataset } from "./data/mnist.js";
export { reportSplit, officialSplit, trainTestSplit, splitDataset, SPLIT_KINDS, type Split, type SplitSettings } from "./data/split.js";
export { checkFiniteMetrics } from "./train/finite-metrics.js";
export { readIdx } from "./data/idx.js";
export { Model, type Evaluation } from "./train/model.js";
export { createOptimizer, type Optimizer, type OptimizerSettings } from "./train/optimizers.js";
export type { ParameterUpdates, Update } from "./exec/parameter-updates.js";
export type { Backend, CompiledStep } from "./exec/backend.js";
export type { WasmKernelContext } from "./exec/backends/wasm/kernels.js";
export type { Batches, Samples } from "./exec/batches.js";
export { train, TrainingDivergedError, type TrainingEvents, type TrainingOutcome, type TrainingRun } from "./train/trainer.js";
export { RunFolder, type EpochMetrics } from "./train/run-folder.js";
export { loadCheckpoint, saveCheckpoint, type Checkpoint } from "./train/checkpoint.js";
export { readSafetensors, writeSafetensors } from "./train/safetensors.js";
export { readRunRecord, RunRecordSchema, type StoredRunRecord } from "./train/run-record.js";
export {
  startSession,
  reopenSession,
  recordResult,
  resolveConfig,
  loadWeights,
  type Session,
  type TrainRequest,
  type RunResult,
  type RunRecord,
} from "./train/session.js";
export { digitInputPng, readDigitPng, readDigitPicture, type DigitPicture } from "./data/image.js";
export { digitInput, type DigitInput } from "./data/digit-input.js";
export { MAX_PICTURE_SIDE } from "./data/picture-size.js";
export { activationsOf, withActivations } from "./graph/configure.js";
