// Normalisation layers: shift and scale activations to zero mean and unit variance, over the
// batch (BatchNorm1d) or over each sample's features (LayerNorm), then apply a learned affine map.

import type { DType } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { batchNorm } from '../ops/batchnorm.js';
import { noGrad } from '../ops/dispatch.js';
import { full, ones, type Tensor, zeros } from '../tensor/tensor.js';
import { checkSize, Module, parameterDType } from './module.js';

export interface BatchNormOptions {
  eps?: number;
  /**
   * Weight of the newest batch in the running statistics (default 0.1); null averages all
   * batches seen so far equally (a cumulative moving average), as in torch.
   */
  momentum?: number | null;
  /** Learn a per-feature scale (weight) and shift (bias) (default true). */
  affine?: boolean;
  dtype?: DType;
}

/**
 * Batch normalisation over [batch, features] or [batch, features, length] inputs.
 * Training normalises with the batch mean and biased variance and folds the batch into the
 * running statistics (the unbiased variance, as torch does); evaluation normalises with the
 * running statistics. Buffers are named as torch names them; `num_batches_tracked` is an
 * int32 scalar here where torch stores int64.
 */
export class BatchNorm1d extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    checkSize('BatchNorm1d', 'numFeatures', numFeatures);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const dtype = parameterDType('BatchNorm1d', options.dtype);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures], { dtype })) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures], { dtype })) : null;
    this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
    this.runningVar = this.registerBuffer('running_var', ones([numFeatures], { dtype }));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int32' }));
  }

  protected override stateProblem(name: string, value: Tensor): string | undefined {
    if (name !== 'running_var') return undefined;
    const negative = value.data.findIndex((v) => v < 0);
    return negative < 0
      ? undefined
      : `holds the variance ${value.data[negative]} at index ${negative}; a variance is never negative`;
  }

  forward(x: Tensor): Tensor {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        `BatchNorm1d(${this.numFeatures}): input of shape ${formatShape(x.shape)} must be ` +
          `[batch, ${this.numFeatures}] or [batch, ${this.numFeatures}, length]`,
      );
    }
    // Statistics are per feature: reduce over every axis but 1, and shape them to broadcast.
    const axes = x.ndim === 2 ? [0] : [0, 2];
    const perFeature = x.ndim === 2 ? [this.numFeatures] : [this.numFeatures, 1];
    const asFeature = (t: Tensor) => t.reshape(perFeature);
    if (!this.training) {
      // (x - mean)·scale + bias with scale = weight/sqrt(var + eps): two passes over x.
      let scale = asFeature(this.runningVar).add(this.eps).sqrt().reciprocal();
      if (this.weight) scale = scale.mul(asFeature(this.weight));
      let shift = asFeature(this.runningMean).mul(scale).neg();
      if (this.bias) shift = shift.add(asFeature(this.bias));
      return x.mul(scale).add(shift);
    }
    const count = x.size / this.numFeatures;
    if (count < 2) {
      throw new ChainruleError(
        `BatchNorm1d: training needs more than one value per feature, got input of shape ${formatShape(x.shape)}; ` +
          'use a batch of at least 2, or call eval() first',
      );
    }
    if (x.ndim === 2 && this.weight && this.bias) {
      const fused = batchNorm(x, this.weight, this.bias, this.eps);
      this.updateRunningStats(fused.mean, fused.variance, count);
      return fused.out;
    }
    const mean = x.mean(axes, true);
    const centered = x.sub(mean);
    const variance = centered.square().mean(axes, true);
    this.updateRunningStats(mean, variance, count);
    // The weight folds into the per-feature inverse deviation, saving a pass over the batch.
    let scale = variance.add(this.eps).sqrt().reciprocal();
    if (this.weight) scale = scale.mul(asFeature(this.weight));
    const y = centered.mul(scale);
    return this.bias ? y.add(asFeature(this.bias)) : y;
  }

  private updateRunningStats(mean: Tensor, biasedVariance: Tensor, count: number): void {
    noGrad(() => {
      const tracked = (this.numBatchesTracked.data[0] += 1);
      const factor = this.momentum ?? 1 / tracked;
      const blend = (running: Tensor, batch: Tensor) =>
        running.data.set(running.mul(1 - factor).add(batch.reshape(running.shape).mul(factor)).data);
      blend(this.runningMean, mean);
      blend(this.runningVar, biasedVariance.mul(count / (count - 1)));
    });
  }
}

export interface LayerNormOptions {
  eps?: number;
  /** Learn a scale (weight) and shift (bias) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/** Normalises each sample over its trailing `normalizedShape` axes (biased variance), like torch. */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0) {
      throw new ChainruleError('LayerNorm: normalizedShape must name at least one axis size');
    }
    for (const d of this.normalizedShape) checkSize('LayerNorm', 'each normalizedShape size', d);
    this.eps = options.eps ?? 1e-5;
    const dtype = parameterDType('LayerNorm', options.dtype);
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape, { dtype })) : null;
    this.bias = affine ? this.registerParameter('bias', zeros(this.normalizedShape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    const n = this.normalizedShape.length;
    const trailing = x.shape.slice(x.ndim - n);
    if (x.ndim < n || trailing.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(
        `LayerNorm(${formatShape(this.normalizedShape)}): input of shape ${formatShape(x.shape)} must end in ` +
          formatShape(this.normalizedShape),
      );
    }
    const axes = Array.from({ length: n }, (_, i) => x.ndim - n + i);
    const centered = x.sub(x.mean(axes, true));
    const variance = centered.square().mean(axes, true);
    let y = centered.mul(variance.add(this.eps).sqrt().reciprocal());
    if (this.weight) y = y.mul(this.weight);
    return this.bias ? y.add(this.bias) : y;
  }
}
