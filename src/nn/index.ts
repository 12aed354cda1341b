// Neural-network building blocks in PyTorch's shape: modules with named parameters and buffers.

export {
  AvgPool2d,
  Conv2d,
  type Conv2dOptions,
  LocallyConnected2d,
  type LocallyConnected2dOptions,
  MaxPool2d,
} from './conv.js';
export {
  Dropout,
  type DropoutOptions,
  Flatten,
  Linear,
  type LinearOptions,
  ReLU,
  Sequential,
  Sigmoid,
  Softplus,
  Tanh,
} from './layers.js';
export { CrossEntropyLoss, type Labels, MSELoss } from './loss.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type StateDict,
} from './module.js';
export { BatchNorm1d, type BatchNormOptions, LayerNorm, type LayerNormOptions } from './normalization.js';
