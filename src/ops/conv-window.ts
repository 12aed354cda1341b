// Sliding windows over NCHW images: the options that describe one (kernel, stride, padding,
// dilation), resolved once into a Window2d, and the shape checks every spatial op and layer
// shares, each error naming the op or layer, the shape and the fix.

import type { Window2dSpec } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import type { Shape } from '../tensor/tensor.js';

/** A size for both spatial axes, or [height, width]. */
export type Size2 = number | readonly [number, number];

export interface WindowOptions {
  /** Step between windows (default 1; pooling defaults to the kernel size). */
  stride?: Size2;
  /** Implicit padding added to both sides of each axis (default 0). */
  padding?: Size2;
  /** Spacing between the taps of the kernel (default 1). */
  dilation?: Size2;
}

/** A resolved window: [height, width] pairs. */
export interface Window2d {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/** A Size2 as [height, width], checked to be integers >= min. */
export function pair(owner: string, what: string, value: Size2 | undefined, fallback: Size2, min: number) {
  const given = value ?? fallback;
  const resolved: [number, number] = typeof given === 'number' ? [given, given] : [given[0], given[1]];
  const valid =
    (typeof given === 'number' || given.length === 2) &&
    resolved.every((v) => Number.isInteger(v) && v >= min);
  if (!valid) {
    throw new ChainruleError(
      `${owner}: ${what} must be an integer >= ${min} or a [height, width] pair of them, got ${JSON.stringify(value)}`,
    );
  }
  return resolved;
}

/** Resolves kernel size and options; `defaultStride` is 1 for convolutions, the kernel for pooling. */
export function resolveWindow(
  owner: string,
  kernelSize: Size2,
  options: WindowOptions,
  defaultStride: Size2 = 1,
): Window2d {
  const kernel = pair(owner, 'kernelSize', kernelSize, kernelSize, 1);
  return {
    kernel,
    stride: pair(owner, 'stride', options.stride, defaultStride, 1),
    padding: pair(owner, 'padding', options.padding, 0, 0),
    dilation: pair(owner, 'dilation', options.dilation, 1, 1),
  };
}

/** "kernel 5x5, stride 1, padding 2" for error messages and describe(). */
export function windowText({ kernel, stride, padding, dilation }: Window2d): string {
  const text = (p: [number, number]) => (p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`);
  const parts = [`kernel ${kernel[0]}x${kernel[1]}`];
  if (stride[0] !== 1 || stride[1] !== 1) parts.push(`stride ${text(stride)}`);
  if (padding[0] || padding[1]) parts.push(`padding ${text(padding)}`);
  if (dilation[0] !== 1 || dilation[1] !== 1) parts.push(`dilation ${text(dilation)}`);
  return parts.join(', ');
}

/** Checks that x is a batch of images [batch, channels, height, width]. */
export function checkImages(owner: string, shape: Shape): void {
  if (shape.length === 4) return;
  const fix =
    shape.length === 3
      ? `add the batch axis with x.unsqueeze(0) to get [1, ${shape.join(', ')}]`
      : shape.length === 2
        ? `reshape flat rows to images, e.g. x.reshape([${shape[0]}, 1, 28, 28]) for 784 pixels`
        : 'reshape it to [batch, channels, height, width]';
  throw new ShapeError(
    `${owner}: input of shape ${formatShape(shape)} is ${shape.length}-D, but it takes 4-D images ` +
      `[batch, channels, height, width]; ${fix}`,
  );
}

/** The output extent of a window along one axis (torch's floor formula). */
const extent = (size: number, k: number, s: number, p: number, d: number) =>
  Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

/** The kernels' description of `window` sliding over images of `shape`, checking that it fits. */
export function windowSpec(owner: string, shape: Shape, window: Window2d): Window2dSpec {
  checkImages(owner, shape);
  const [batch, channels, height, width] = shape;
  const { kernel, stride, padding, dilation } = window;
  const outH = extent(height, kernel[0], stride[0], padding[0], dilation[0]);
  const outW = extent(width, kernel[1], stride[1], padding[1], dilation[1]);
  if (outH < 1 || outW < 1) {
    const span = kernel.map((k, i) => dilation[i] * (k - 1) + 1);
    throw new ShapeError(
      `${owner}: the ${kernel[0]}x${kernel[1]} kernel${dilation[0] > 1 || dilation[1] > 1 ? ` (dilated to ${span[0]}x${span[1]})` : ''} ` +
        `is larger than the padded input ${height + 2 * padding[0]}x${width + 2 * padding[1]} of input shape ${formatShape(shape)}; ` +
        'use a smaller kernel or dilation, more padding, or a larger image',
    );
  }
  return {
    batch,
    channels,
    height,
    width,
    kernelH: kernel[0],
    kernelW: kernel[1],
    strideH: stride[0],
    strideW: stride[1],
    padH: padding[0],
    padW: padding[1],
    dilationH: dilation[0],
    dilationW: dilation[1],
    outH,
    outW,
  };
}
