// chainrule's public API. Everything a user imports comes from here.

import './engine.js';

export { jacfwd, jacrev, jvp, jvpAt } from './autodiff/forward.js';
export {
  type BackwardOptions,
  type BackwardStep,
  backward,
  grad,
  topologicalOrder,
  valueAndGrad,
  vjp,
  zeroGrad,
} from './autodiff/reverse.js';
export { getBackend, setBackend, useFastestBackend, withBackend } from './backend/index.js';
export type { DType, Kernels } from './backend/kernels.js';
export { ReferenceKernels } from './backend/reference/index.js';
export {
  createWasmKernels,
  createWasmKernelsSync,
  WasmKernels,
  wasmSimdSupported,
} from './backend/wasm/index.js';
export { IDX_FILE_NAMES, loadDataset, readIdxFile } from './data/datasets.js';
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
export { type BuiltProgram, buildProgram } from './expr/build.js';
export { ExpressionError } from './expr/error.js';
export { type Explanation, explain } from './expr/explain.js';
export { type Program, parseProgram } from './expr/parse.js';
export { writeFileAtomic } from './io/atomic.js';
export { decodeSafetensors, encodeSafetensors, type Safetensors } from './io/safetensors.js';
export { loadSafetensors, saveSafetensors } from './io/safetensors-file.js';
export { BP_DEFAULTS, type BPConfig, bpFromSnapshot, createBPTrainer, seedNetwork } from './learn/bp.js';
export { type Checkpoint, decodeCheckpoint, encodeCheckpoint, snapshotOf } from './learn/checkpoint.js';
export { trainingData } from './learn/data.js';
export { createFFTrainer, FF_PRESETS, type FFConfig, FFTrainer, ffFromSnapshot } from './learn/ff.js';
export {
  createFGTrainer,
  exactGradientByForwardMode,
  FG_DEFAULTS,
  type FGConfig,
  fgFromSnapshot,
  forwardGradient,
} from './learn/fg.js';
export { type EpochMetrics, evaluate, type TrainEvent, type TrainingData, trainLoop } from './learn/loop.js';
export { algorithm, type TrainerOptions } from './learn/registry.js';
export { ALGORITHMS, type Algorithm, type Trainer, type TrainerSnapshot } from './learn/types.js';
export * from './nn/index.js';
export * from './ops/index.js';
export * from './optim/index.js';
export type { Node, Op } from './tensor/node.js';
export { manualSeed, Rng } from './tensor/random.js';
export {
  arange,
  eye,
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
