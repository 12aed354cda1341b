// Composite functions of neural networks, written from primitives (their derivatives in
// both modes follow from the chain rule over the primitives' rules), and cross-entropy, a
// fused op of its own (src/ops/cross-entropy.ts).

import { ShapeError } from '../errors.js';
import { attachMethods } from '../tensor/methods.js';
import { Tensor } from '../tensor/tensor.js';
import { softmaxCrossEntropy } from './cross-entropy.js';
import { classIndices } from './shape.js';

export function softmax(x: Tensor, axis = -1): Tensor {
  return x.sub(x.logsumexp(axis, true)).exp();
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.sub(x.logsumexp(axis, true));
}

/**
 * Mean cross-entropy between logits [batch, classes] and integer class labels [batch]:
 * -mean(log softmax(logits)[i, label_i]).
 */
export function crossEntropy(logits: Tensor, labels: Tensor | Int32Array | readonly number[]): Tensor {
  if (logits.ndim !== 2) {
    throw new ShapeError(`crossEntropy: logits must be [batch, classes], got [${logits.shape.join(', ')}]`);
  }
  const count = labels instanceof Tensor ? labels.size : labels.length;
  if (count !== logits.shape[0]) {
    throw new ShapeError(`crossEntropy: ${logits.shape[0]} rows of logits but ${count} labels`);
  }
  return softmaxCrossEntropy(logits, classIndices(labels, logits.shape[1]));
}

/** Mean squared error. */
export function mseLoss(prediction: Tensor, target: Tensor): Tensor {
  return prediction.sub(target).square().mean();
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
  }
}

attachMethods({ softmax, logSoftmax });
