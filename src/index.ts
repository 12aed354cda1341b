// chainrule's public API. Everything a user imports comes from here.

import './ops/index.js';
import './autodiff/reverse.js';

export { jacfwd, jacrev, jvp } from './autodiff/forward.js';
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
export { getBackend, setBackend, withBackend } from './backend/index.js';
export type { DType, Kernels } from './backend/kernels.js';
export { ReferenceKernels } from './backend/reference/index.js';
export { ChainruleError, ShapeError } from './errors.js';
export * from './ops/index.js';
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
