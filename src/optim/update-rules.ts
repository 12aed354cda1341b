// The optimisers' arithmetic: one fused pass over each parameter's typed arrays, updating the
// parameter and its state in place. These loops are the optimisers' kernels, kept together
// so a faster backend can take them over. The formulas are torch.optim's (1.13) exactly,
// step by step; each intermediate that torch stores is read back from its array, so float32
// state rounds as torch's does.

import type { FloatArray } from '../backend/kernels.js';

export interface SGDHyperparameters {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * d = g + weightDecay·p;  with momentum: buf = d on the first step, else
 * momentum·buf + (1 - dampening)·d, and d = d + momentum·buf (Nesterov) or buf;  p -= lr·d.
 * `buffer` is null when momentum is 0.
 */
export function sgdUpdate(
  param: FloatArray,
  grad: FloatArray,
  buffer: FloatArray | null,
  firstStep: boolean,
  { lr, momentum, dampening, nesterov, weightDecay }: SGDHyperparameters,
): void {
  const n = param.length;
  if (!buffer) {
    for (let i = 0; i < n; i++) {
      const p = param[i];
      param[i] = p - lr * (grad[i] + weightDecay * p);
    }
    return;
  }
  // The cases become coefficients rather than branches in the loop (twice as fast in V8):
  // buf = decay·buf + keep·d, then the step is gradWeight·d + bufWeight·buf.
  const decay = firstStep ? 0 : momentum;
  const keep = firstStep ? 1 : 1 - dampening;
  const gradWeight = nesterov ? 1 : 0;
  const bufWeight = nesterov ? momentum : 1;
  for (let i = 0; i < n; i++) {
    const p = param[i];
    const d = grad[i] + weightDecay * p;
    buffer[i] = decay * buffer[i] + keep * d;
    param[i] = p - lr * (gradWeight * d + bufWeight * buffer[i]);
  }
}

export interface AdamStepParameters {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the parameter directly (p *= 1 - lr·weightDecay) instead of adding weightDecay·p to g. */
  decoupledWeightDecay: boolean;
  /** The step number, counting from 1, for the bias corrections. */
  step: number;
}

/**
 * m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
 * p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps), with g = grad + weightDecay·p for Adam
 * and p first scaled by 1 - lr·weightDecay for AdamW.
 */
export function adamUpdate(
  param: FloatArray,
  grad: FloatArray,
  expAvg: FloatArray,
  expAvgSq: FloatArray,
  { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step }: AdamStepParameters,
): void {
  const stepSize = lr / (1 - beta1 ** step);
  // torch divides by sqrt(1 - β2^t); multiplying by its reciprocal differs by an ulp and is faster.
  const invBiasCorrection2Sqrt = 1 / Math.sqrt(1 - beta2 ** step);
  const shrink = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  const l2 = decoupledWeightDecay ? 0 : weightDecay;
  const [keep1, keep2] = [1 - beta1, 1 - beta2];
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const p = param[i] * shrink;
    const g = grad[i] + l2 * p;
    expAvg[i] = beta1 * expAvg[i] + keep1 * g;
    expAvgSq[i] = beta2 * expAvgSq[i] + keep2 * g * g;
    param[i] = p - (stepSize * expAvg[i]) / (Math.sqrt(expAvgSq[i]) * invBiasCorrection2Sqrt + eps);
  }
}
