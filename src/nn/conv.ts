// Spatial layers in PyTorch's shape: Conv2d, LocallyConnected2d, MaxPool2d and AvgPool2d over
// NCHW images. Conv2d's parameters are torch.nn.Conv2d's (weight [out, in/groups, kh, kw],
// bias [out]) with its default initialisation, so state dicts move between the two.

import type { DType } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { type ConvOptions, conv2d, locallyConnected2d } from '../ops/conv.js';
import { avgPool2d, maxPool2d } from '../ops/conv-pool.js';
import {
  checkImages,
  resolveWindow,
  type Size2,
  type Window2d,
  type WindowOptions,
  windowSpec,
  windowText,
} from '../ops/conv-window.js';
import type { Rng } from '../tensor/random.js';
import { rand, type Tensor } from '../tensor/tensor.js';
import { checkSize, Module, parameterDType } from './module.js';

export interface Conv2dOptions extends ConvOptions {
  /** Learn a bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (the global one, see manualSeed, by default). */
  rng?: Rng;
  dtype?: DType;
}

/**
 * torch's default for convolutions and Linear: kaiming_uniform_(a=sqrt(5)) gives
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and the bias is drawn from the same range.
 */
function uniformInit(layer: string, fanIn: number, options: { rng?: Rng; dtype?: DType }) {
  const bound = 1 / Math.sqrt(fanIn);
  return { low: -bound, high: bound, rng: options.rng, dtype: parameterDType(layer, options.dtype) };
}

/** Checks that x holds images with the layer's channel count. */
function checkChannels(layer: string, x: Tensor, channels: number): void {
  checkImages(layer, x.shape);
  if (x.shape[1] !== channels) {
    throw new ShapeError(
      `${layer}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels, but the layer takes ${channels}; ` +
        `feed [batch, ${channels}, height, width] or build the layer with inChannels ${x.shape[1]}`,
    );
  }
}

/** 2-D convolution over NCHW images, like torch.nn.Conv2d. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly window: Window2d;
  readonly groups: number;
  readonly #label: string;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dOptions = {},
  ) {
    super();
    checkSize('Conv2d', 'inChannels', inChannels);
    checkSize('Conv2d', 'outChannels', outChannels);
    this.groups = options.groups ?? 1;
    checkSize('Conv2d', 'groups', this.groups);
    this.window = resolveWindow('Conv2d', kernelSize, options);
    this.#label = `Conv2d(${inChannels}, ${outChannels}, ${windowText(this.window)}${this.groups > 1 ? `, groups ${this.groups}` : ''})`;
    for (const [what, count] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (count % this.groups !== 0) {
        throw new ChainruleError(
          `${this.#label}: ${what} ${count} do not divide into ${this.groups} groups; ` +
            `use a multiple of ${this.groups} channels or a number of groups that divides ${count}`,
        );
      }
    }
    const [kh, kw] = this.window.kernel;
    const perGroup = inChannels / this.groups;
    const init = uniformInit('Conv2d', perGroup * kh * kw, options);
    this.weight = this.registerParameter('weight', rand([outChannels, perGroup, kh, kw], init));
    this.bias = options.bias === false ? null : this.registerParameter('bias', rand([outChannels], init));
  }

  forward(x: Tensor): Tensor {
    checkChannels(this.#label, x, this.inChannels);
    windowSpec(this.#label, x.shape, this.window);
    const { stride, padding, dilation } = this.window;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups: this.groups });
  }
}

export interface LocallyConnected2dOptions extends WindowOptions {
  bias?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/**
 * A convolution without weight sharing: a separate filter bank at every output position
 * (the receptive fields of the Forward-Forward paper's locally connected networks). It is
 * built for one image size; weight [outH, outW, out, in, kh, kw], bias [out, outH, outW].
 */
export class LocallyConnected2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly window: Window2d;
  readonly #label: string;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly inputSize: Size2,
    kernelSize: Size2,
    options: LocallyConnected2dOptions = {},
  ) {
    super();
    checkSize('LocallyConnected2d', 'inChannels', inChannels);
    checkSize('LocallyConnected2d', 'outChannels', outChannels);
    this.window = resolveWindow('LocallyConnected2d', kernelSize, options);
    const [height, width] = resolveWindow('LocallyConnected2d inputSize', inputSize, {}).kernel;
    this.#label = `LocallyConnected2d(${inChannels}, ${outChannels}, ${height}x${width} input, ${windowText(this.window)})`;
    const { outH, outW } = windowSpec(this.#label, [1, inChannels, height, width], this.window);
    const [kh, kw] = this.window.kernel;
    const init = uniformInit('LocallyConnected2d', inChannels * kh * kw, options);
    this.weight = this.registerParameter('weight', rand([outH, outW, outChannels, inChannels, kh, kw], init));
    this.bias =
      options.bias === false ? null : this.registerParameter('bias', rand([outChannels, outH, outW], init));
  }

  forward(x: Tensor): Tensor {
    checkChannels(this.#label, x, this.inChannels);
    const [outH, outW] = this.weight.shape;
    const { outH: h, outW: w } = windowSpec(this.#label, x.shape, this.window);
    if (h !== outH || w !== outW) {
      throw new ShapeError(
        `${this.#label}: input of shape ${formatShape(x.shape)} gives ${h}x${w} window positions, but the layer ` +
          `has filters for ${outH}x${outW}; resize the images or build the layer for inputSize [${x.shape[2]}, ${x.shape[3]}]`,
      );
    }
    const { stride, padding, dilation } = this.window;
    const y = locallyConnected2d(x, this.weight, { stride, padding, dilation });
    return this.bias ? y.add(this.bias) : y;
  }
}

/** Window maxima of each channel, like torch.nn.MaxPool2d (stride defaults to the kernel size). */
export class MaxPool2d extends Module {
  readonly window: Window2d;
  readonly #label: string;

  constructor(kernelSize: Size2, stride?: Size2, padding: Size2 = 0, dilation: Size2 = 1) {
    super();
    this.window = resolveWindow('MaxPool2d', kernelSize, { stride, padding, dilation }, kernelSize);
    this.#label = `MaxPool2d(${windowText(this.window)})`;
  }

  forward(x: Tensor): Tensor {
    windowSpec(this.#label, x.shape, this.window);
    const { kernel, stride, padding, dilation } = this.window;
    return maxPool2d(x, kernel, { stride, padding, dilation });
  }
}

/** Window means of each channel, like torch.nn.AvgPool2d (padding counts as zeros in the mean). */
export class AvgPool2d extends Module {
  readonly window: Window2d;
  readonly #label: string;

  constructor(kernelSize: Size2, stride?: Size2, padding: Size2 = 0) {
    super();
    this.window = resolveWindow('AvgPool2d', kernelSize, { stride, padding }, kernelSize);
    this.#label = `AvgPool2d(${windowText(this.window)})`;
  }

  forward(x: Tensor): Tensor {
    windowSpec(this.#label, x.shape, this.window);
    const { kernel, stride, padding } = this.window;
    return avgPool2d(x, kernel, { stride, padding });
  }
}
