// chainrule's public API without the parts that need Node (files, the Node worker pool): the
// entry for browsers and bundlers. No module reachable from here imports node:*
// (test/web-browser-entry.test.ts checks). src/index.ts adds the Node-only pieces.

export type { Arg, Argnums, ArgnumsOption, AuxOption } from './autodiff/args.js';
export { jvp, jvpAt } from './autodiff/forward.js';
export { type Hessians, hessian, hvp, type Jacobians, jacfwd, jacrev } from './autodiff/jacobian.js';
export {
  type BackwardOptions,
  type BackwardStep,
  backward,
  type Differentiable,
  type Grads,
  grad,
  gradients,
  topologicalOrder,
  valueAndGrad,
  vjp,
  zeroGrad,
} from './autodiff/reverse.js';
export { type InAxes, type OutAxes, vmap } from './autodiff/vmap.js';
export { getBackend, setBackend, useFastestBackend, withBackend } from './backend/index.js';
export type { DType, Kernels } from './backend/kernels.js';
export { ReferenceKernels } from './backend/reference/index.js';
export {
  createWasmKernels,
  createWasmKernelsSync,
  relaxedSimdSupported,
  type WasmBuild,
  WasmKernels,
  wasmSimdSupported,
} from './backend/wasm/index.js';
export { type IdxArray, type IdxDType, isGzip, parseIdx } from './data/idx.js';
export {
  type Batch,
  DataLoader,
  type DataLoaderOptions,
  datasetStats,
  fitNormalization,
  type Normalization,
  type NormalizeKind,
  normalizePixels,
  parseNormalization,
} from './data/loader.js';
export {
  DATASET_CLASSES,
  type Dataset,
  type DatasetName,
  datasetFromIdx,
  type Split,
  splitFromIdx,
} from './data/split.js';
export { ChainruleError, ShapeError } from './errors.js';
export { type BuiltProgram, buildProgram, operandText } from './expr/build.js';
export { ExpressionError } from './expr/error.js';
export {
  type Explanation,
  explain,
  type ForwardPass,
  type LocalDerivative,
  type ReverseStep,
} from './expr/explain.js';
export {
  adjointProductText,
  barred,
  dotted,
  factorText,
  inputDerivativesText,
  localDerivativeText,
  partialText,
  ratioText,
  SEED_EXPRESSION,
  SEED_VALUES,
  tangentSumText,
} from './expr/notation.js';
export { type Program, parseProgram } from './expr/parse.js';
export { decodeSafetensors, encodeSafetensors, type Safetensors } from './io/safetensors.js';
export {
  type Checkpoint,
  checkpointRunInfo,
  decodeCheckpoint,
  encodeCheckpoint,
  type RunInfo,
  snapshotOf,
} from './learn/checkpoint.js';
export { trainingData } from './learn/data.js';
export { type FFRecurrentArchitecture, RECURRENT_DAMPING } from './learn/ff-recurrent-model.js';
export type { FeedbackMlpArchitecture, LocalMlpArchitecture } from './learn/local-models.js';
export {
  type EpochMetrics,
  evaluate,
  LOSS_SMOOTHING,
  type TrainEvent,
  type TrainingData,
  trainLoop,
} from './learn/loop.js';
export {
  type Architecture,
  buildModel,
  type CnnArchitecture,
  checkModelTensors,
  describeArchitecture,
  type FFStackArchitecture,
  inputShapeOf,
  type MlpArchitecture,
  readArchitecture,
} from './learn/models.js';
export {
  ALGORITHMS,
  createTrainer,
  presetOf,
  type RuleConfig,
  resolveConfig,
  restoreTrainer,
  rule,
} from './learn/registry.js';
export type { BPConfig } from './learn/rules/bp.js';
export { FF_PRESETS, type FFConfig, type FFTrainer } from './learn/rules/ff.js';
export { exactGradientByForwardMode, type FGConfig, forwardGradient } from './learn/rules/fg.js';
export { planRun, type Run, type RunRequest } from './learn/run.js';
export type {
  Algorithm,
  Capabilities,
  CheckpointMetadata,
  LayerStats,
  RuleDescriptor,
  RulePreset,
  RunSettings,
  StepOptions,
  StepResult,
  Trainer,
  TrainerSnapshot,
} from './learn/types.js';
export * from './nn/index.js';
export * from './ops/index.js';
export * from './optim/index.js';
export { RULE_COLORS } from './report/rule-colors.js';
export type { Node, Op } from './tensor/node.js';
export { manualSeed, Rng } from './tensor/random.js';
export { keep, type PoolStats, poolStats, ReleasedTensorError, tidy } from './tensor/scope.js';
export {
  arange,
  eye,
  formatNumber,
  full,
  type NestedArray,
  ones,
  rand,
  randn,
  type Shape,
  Tensor,
  tensor,
  zeros,
} from './tensor/tensor.js';
export {
  check,
  checkChoice,
  describeRange,
  inRange,
  parse,
  parseWidths,
  type Quantity,
  RANGES,
  type Range,
} from './validate.js';
