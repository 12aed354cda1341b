// softmaxCrossEntropy(logits, labels) = mean over rows of logsumexp(row) - row[label], as one
// op: one kernel pass gives the losses and the softmax p, which the backward reuses:
//   d/dlogits = (p - onehot(labels)) / rows,   tangent: mean_r Σ_c (p - onehot)·t.
// A backward pass that builds no graph takes the cotangent from one kernel call; inside a
// graph (higher derivatives) or a jvp it is written with ops, which differentiate further.

import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, Tensor } from '../tensor/tensor.js';
import { checkFloat } from './broadcast.js';
import { apply, isDifferentiating } from './dispatch.js';
import { sum } from './reduce.js';
import { oneHot } from './shape.js';

interface CrossEntropyAttrs {
  /** Class indices, one per row, already checked to lie in [0, classes). */
  labels: Int32Array;
  /** Each row's softmax, written by the forward pass. */
  probabilities: FloatArray | null;
}

/** p - onehot(labels) with ops, so that it carries tangents and records a graph. */
function residual(logits: Tensor, labels: Int32Array): Tensor {
  return logits.softmax(-1).sub(oneHot(labels, logits.shape[1], logits.dtype));
}

export const softmaxCrossEntropyOp: Op<CrossEntropyAttrs> = {
  name: 'softmaxCrossEntropy',
  forward([logits], attrs) {
    checkFloat('crossEntropy', logits);
    const [rows, classes] = logits.shape;
    const probabilities = allocateUninitialized(logits.dtype, logits.size) as FloatArray;
    const losses = new Float64Array(rows);
    getBackend().softmaxCrossEntropy({
      logits: logits.data as FloatArray,
      labels: attrs.labels,
      probabilities,
      losses,
      rows,
      classes,
    });
    attrs.probabilities = probabilities;
    let total = 0;
    for (const loss of losses) total += loss;
    const out = allocateUninitialized(logits.dtype, 1);
    out[0] = total / rows;
    return new Tensor(out, []);
  },
  vjp: (g, { inputs: [logits], attrs }) => [
    () => {
      const rows = logits.shape[0];
      if (isDifferentiating()) return residual(logits, attrs.labels).mul(g.div(rows));
      const gx = allocateUninitialized(logits.dtype, logits.size) as FloatArray;
      getBackend().softmaxCrossEntropyBackward({
        probabilities: attrs.probabilities!,
        labels: attrs.labels,
        scale: g.data[0] / rows,
        gx,
        rows,
        classes: logits.shape[1],
      });
      return new Tensor(gx, logits.shape);
    },
  ],
  jvp: ({ inputs: [logits], attrs }) => [
    (t) => sum(residual(logits, attrs.labels).mul(t)).div(logits.shape[0]),
  ],
};

/** The mean softmax cross-entropy of logits [rows, classes] against checked class indices. */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  return apply(softmaxCrossEntropyOp, [logits], { labels, probabilities: null });
}
