// The op library: importing it attaches the arithmetic methods to Tensor.

import { conv2dOp, foldOp, locallyConnected2dOp, unfoldOp } from './conv.js';
import { avgPool2dOp, maxPool2dOp, putOp, takeOp } from './conv-pool.js';
import { registerDispatchOps } from './dispatch.js';
import { add, binaryOps, unaryOps, whereOp } from './elementwise.js';
import { matmulOp } from './linalg.js';
import { maxOp, sumOp } from './reduce.js';
import { broadcastTo, broadcastToOp, castOp, concatOp, permuteOp, reshapeOp, sliceOp } from './shape.js';

registerDispatchOps({ add, broadcastTo }, reshapeOp);

/** Every primitive, by name: the table the gradient checks iterate over. */
export const primitives = {
  ...unaryOps,
  ...binaryOps,
  where: whereOp,
  sum: sumOp,
  max: maxOp,
  matmul: matmulOp,
  reshape: reshapeOp,
  permute: permuteOp,
  broadcastTo: broadcastToOp,
  slice: sliceOp,
  concat: concatOp,
  cast: castOp,
  unfold: unfoldOp,
  fold: foldOp,
  conv2d: conv2dOp,
  locallyConnected2d: locallyConnected2dOp,
  maxPool2d: maxPool2dOp,
  avgPool2d: avgPool2dOp,
  take: takeOp,
  put: putOp,
};

export { AnomalyError, detectAnomaly, setDetectAnomaly } from './anomaly.js';
export { type BatchNormResult, batchNorm } from './batchnorm.js';
export { type ConvOptions, conv2d, fold, locallyConnected2d, unfold } from './conv.js';
export { avgPool2d, maxPool2d, put, take } from './conv-pool.js';
export type { Size2, WindowOptions } from './conv-window.js';
export { enableGrad, graphMemory, isGradEnabled, noGrad, resetGraphPeak } from './dispatch.js';
export { add, clamp, div, maximum, minimum, mul, pow, sub, sumTo, where } from './elementwise.js';
export { matmul, mm } from './linalg.js';
export { linear } from './linear.js';
export { crossEntropy, logSoftmax, mseLoss, softmax } from './nn.js';
export { argmax, logsumexp, max, mean, norm, sum, variance } from './reduce.js';
export { rmsNormalize, sumSquares } from './rows.js';
export {
  broadcastTo,
  cast,
  concat,
  gather,
  oneHot,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  transpose,
  unsqueeze,
} from './shape.js';
