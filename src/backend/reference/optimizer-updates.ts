// The reference optimiser updates: torch.optim's formulas (1.13), step by step. Each
// intermediate that torch stores is read back from its array, so float32 state rounds as
// torch's does. See Kernels.sgd and Kernels.adam for the formulas.

import { type AdamStep, adamScalars, type FloatArray, type SGDStep, sgdCoefficients } from '../kernels.js';

export function sgdUpdate(
  param: FloatArray,
  grad: FloatArray,
  buffer: FloatArray | null,
  step: SGDStep,
): void {
  const { lr, weightDecay } = step;
  const n = param.length;
  if (!buffer) {
    for (let i = 0; i < n; i++) {
      const p = param[i];
      param[i] = p - lr * (grad[i] + weightDecay * p);
    }
    return;
  }
  const { decay, keep, gradWeight, bufferWeight } = sgdCoefficients(step);
  for (let i = 0; i < n; i++) {
    const p = param[i];
    const d = grad[i] + weightDecay * p;
    buffer[i] = decay * buffer[i] + keep * d;
    param[i] = p - lr * (gradWeight * d + bufferWeight * buffer[i]);
  }
}

export function adamUpdate(
  param: FloatArray,
  grad: FloatArray,
  expAvg: FloatArray,
  expAvgSq: FloatArray,
  step: AdamStep,
): void {
  const { stepSize, biasCorrection2Sqrt, shrink, l2, keep1, keep2 } = adamScalars(step);
  const { beta1, beta2, eps } = step;
  // torch divides by sqrt(1 - β2^t); multiplying by its reciprocal differs by an ulp and is faster.
  const invBiasCorrection2Sqrt = 1 / biasCorrection2Sqrt;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const p = param[i] * shrink;
    const g = grad[i] + l2 * p;
    expAvg[i] = beta1 * expAvg[i] + keep1 * g;
    expAvgSq[i] = beta2 * expAvgSq[i] + keep2 * g * g;
    param[i] = p - (stepSize * expAvg[i]) / (Math.sqrt(expAvgSq[i]) * invBiasCorrection2Sqrt + eps);
  }
}
