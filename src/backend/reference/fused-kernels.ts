// Reference kernels of the fused ops (src/ops/batchnorm.ts, src/ops/rows.ts, src/ops/cross-entropy.ts): statistics summed in float64,
// two passes where that is the plain way to write it, each result rounded once on store.

import type {
  BatchNormBackwardArgs,
  BatchNormForwardArgs,
  FloatArray,
  SoftmaxCrossEntropyArgs,
  SoftmaxCrossEntropyBackwardArgs,
} from '../kernels.js';

/** Each feature's mean and biased variance over the rows of x [rows, features], in float64. */
function featureMoments(x: FloatArray, rows: number, features: number) {
  const mean = new Float64Array(features);
  const variance = new Float64Array(features);
  for (let r = 0; r < rows; r++) for (let f = 0; f < features; f++) mean[f] += x[r * features + f];
  for (let f = 0; f < features; f++) mean[f] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < features; f++) {
      const d = x[r * features + f] - mean[f];
      variance[f] += d * d;
    }
  }
  for (let f = 0; f < features; f++) variance[f] /= rows;
  return { mean, variance };
}

export function batchNormForward({
  x,
  weight,
  bias,
  out,
  mean,
  variance,
  rows,
  features,
  eps,
}: BatchNormForwardArgs): void {
  const moments = featureMoments(x, rows, features);
  mean.set(moments.mean);
  variance.set(moments.variance);
  for (let f = 0; f < features; f++) {
    const scale = (weight ? weight[f] : 1) / Math.sqrt(moments.variance[f] + eps);
    const shift = bias ? bias[f] : 0;
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      out[i] = (x[i] - moments.mean[f]) * scale + shift;
    }
  }
}

export function batchNormBackward({
  g,
  x,
  weight,
  mean,
  variance,
  gx,
  gWeight,
  gBias,
  rows,
  features,
  eps,
}: BatchNormBackwardArgs): void {
  for (let f = 0; f < features; f++) {
    const s = 1 / Math.sqrt(variance[f] + eps);
    let sumG = 0;
    let sumGXhat = 0;
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      sumG += g[i];
      sumGXhat += g[i] * (x[i] - mean[f]) * s;
    }
    gBias[f] = sumG;
    gWeight[f] = sumGXhat;
    const scale = (weight ? weight[f] : 1) * s;
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      const xhat = (x[i] - mean[f]) * s;
      gx[i] = scale * (g[i] - sumG / rows - (xhat * sumGXhat) / rows);
    }
  }
}

export function rowSumSquares(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let c = 0; c < cols; c++) total += x[r * cols + c] * x[r * cols + c];
    out[r] = total;
  }
}

export function rmsNormalizeRows(
  x: FloatArray,
  out: FloatArray,
  rows: number,
  cols: number,
  eps: number,
): void {
  const squares = new Float64Array(rows);
  rowSumSquares(x, squares, rows, cols);
  for (let r = 0; r < rows; r++) {
    const scale = 1 / (Math.sqrt(squares[r] / cols) + eps);
    for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * cols + c] * scale;
  }
}

export function softmaxCrossEntropy({
  logits,
  labels,
  probabilities,
  losses,
  rows,
  classes,
}: SoftmaxCrossEntropyArgs): void {
  for (let r = 0; r < rows; r++) {
    const at = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[at + c]);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(logits[at + c] - max);
    for (let c = 0; c < classes; c++) probabilities[at + c] = Math.exp(logits[at + c] - max) / total;
    losses[r] = max + Math.log(total) - logits[at + labels[r]];
  }
}

export function softmaxCrossEntropyBackward({
  probabilities,
  labels,
  scale,
  gx,
  rows,
  classes,
}: SoftmaxCrossEntropyBackwardArgs): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < classes; c++) {
      const i = r * classes + c;
      gx[i] = scale * (probabilities[i] - (c === labels[r] ? 1 : 0));
    }
  }
}
