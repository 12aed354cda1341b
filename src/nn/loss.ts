// Losses as modules, so a network and its objective compose the PyTorch way. Both average
// over the batch (torch's reduction='mean').

import { crossEntropy, mseLoss } from '../ops/nn.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Integer class labels, one per row of logits. */
export type Labels = Tensor | Int32Array | readonly number[];

/** Mean cross-entropy of logits [batch, classes] against integer labels [batch]. */
export class CrossEntropyLoss extends Module<[Tensor, Labels]> {
  forward(logits: Tensor, labels: Labels): Tensor {
    return crossEntropy(logits, labels);
  }
}

/** Mean squared error between a prediction and a target of the same shape. */
export class MSELoss extends Module<[Tensor, Tensor]> {
  forward(prediction: Tensor, target: Tensor): Tensor {
    return mseLoss(prediction, target);
  }
}
