// Pooling over NCHW images. A max pool passes each window's largest input through unchanged,
// so both directions of the chain rule go through the argmax: the tangent is read there
// (take), the cotangent is added back there (put, take's adjoint). An average pool is linear:
// the mean of each window's unfolded pixels, whose adjoint spreads a cotangent evenly over
// its window and folds the shares back onto the image.

import { getBackend } from '../backend/index.js';
import type { FloatArray, Window2dSpec } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import type { Op } from '../tensor/node.js';
import { allocate, type Shape, sizeOf, Tensor } from '../tensor/tensor.js';
import { checkFloat } from './broadcast.js';
import { foldOp, unfoldOp } from './conv.js';
import { resolveWindow, type Size2, type Window2d, type WindowOptions, windowSpec } from './conv-window.js';
import { apply, constant } from './dispatch.js';

// ---- take and put: reading and adding at flat indices ------------------------------------------

export interface IndexAttrs {
  /** Flat offsets into the larger tensor (the input of take, the output of put). */
  indices: Int32Array;
  /** The output's shape. */
  shape: number[];
}

export const takeOp: Op<IndexAttrs> = {
  name: 'take',
  forward([x], { indices, shape }) {
    checkFloat('take', x);
    const out = allocate(x.dtype, indices.length) as FloatArray;
    getBackend().gather(x.data as FloatArray, indices, out);
    return new Tensor(out, shape);
  },
  vjp: (g, { inputs: [x], attrs: { indices } }) => [() => put(g, indices, x.shape)],
  jvp: ({ attrs }) => [(t) => apply(takeOp, [t], attrs)],
};

export const putOp: Op<IndexAttrs> = {
  name: 'put',
  forward([values], { indices, shape }) {
    checkFloat('put', values);
    const out = allocate(values.dtype, sizeOf(shape)) as FloatArray;
    getBackend().scatterAdd(values.data as FloatArray, indices, out);
    return new Tensor(out, shape);
  },
  vjp: (g, { inputs: [values], attrs: { indices } }) => [() => take(g, indices, values.shape)],
  jvp: ({ attrs }) => [(t) => apply(putOp, [t], attrs)],
};

function checkIndices(owner: string, indices: Int32Array, size: number): void {
  for (const i of indices) {
    if (!(i >= 0 && i < size)) {
      throw new ShapeError(
        `${owner}: index ${i} is outside the ${size} elements; indices must lie in [0, ${size - 1}]`,
      );
    }
  }
}

/** The elements of x at flat `indices`, shaped `shape` (torch.take, reshaped). */
export function take(x: Tensor, indices: Int32Array, shape: Shape = [indices.length]): Tensor {
  if (sizeOf(shape) !== indices.length) {
    throw new ShapeError(`take: ${indices.length} indices cannot fill shape ${formatShape(shape)}`);
  }
  checkIndices('take', indices, x.size);
  return apply(takeOp, [x], { indices, shape: [...shape] });
}

/** A zero tensor of `shape` with each value added at its flat index (repeated indices add up). */
export function put(values: Tensor, indices: Int32Array, shape: Shape): Tensor {
  if (values.size !== indices.length) {
    throw new ShapeError(
      `put: ${values.size} values but ${indices.length} indices; give one index per value`,
    );
  }
  checkIndices('put', indices, sizeOf(shape));
  return apply(putOp, [values], { indices, shape: [...shape] });
}

// ---- max pooling ---------------------------------------------------------------------------------

export interface Pool2dAttrs {
  window: Window2d;
}

function maxPool(x: Tensor, window: Window2d): { out: Tensor; argmax: Int32Array } {
  checkFloat('maxPool2d', x);
  const spec = windowSpec('maxPool2d', x.shape, window);
  const shape = [spec.batch, spec.channels, spec.outH, spec.outW];
  const out = allocate(x.dtype, sizeOf(shape)) as FloatArray;
  const argmax = new Int32Array(out.length);
  getBackend().maxPool2d(x.data as FloatArray, out, argmax, spec);
  return { out: new Tensor(out, shape), argmax };
}

/** The argmax each max pool's forward found, by its output, for the rules to reuse. */
const argmaxOf = new WeakMap<Tensor, Int32Array>();
const windowArgmax = (out: Tensor) => argmaxOf.get(out)!;

export const maxPool2dOp: Op<Pool2dAttrs> = {
  name: 'maxPool2d',
  forward([x], { window }) {
    const { out, argmax } = maxPool(x, window);
    argmaxOf.set(out, argmax);
    return out;
  },
  // The argmax came from the kernel, so it needs none of put's checks.
  vjp: (g, { inputs: [x], out }) => [
    () => apply(putOp, [g], { indices: windowArgmax(out), shape: [...x.shape] }),
  ],
  jvp: ({ out }) => [(t) => apply(takeOp, [t], { indices: windowArgmax(out), shape: [...out.shape] })],
};

/** Checks torch's rule for pooling: padding at most half the kernel, so no window is all padding. */
function poolWindow(owner: string, x: Tensor, kernelSize: Size2, options: WindowOptions): Window2d {
  const window = resolveWindow(owner, kernelSize, options, kernelSize);
  window.padding.forEach((p, i) => {
    if (p > window.kernel[i] / 2) {
      throw new ChainruleError(
        `${owner}: padding ${p} is more than half the kernel size ${window.kernel[i]}; a window could then hold ` +
          'only padding. Use padding <= kernelSize / 2',
      );
    }
  });
  windowSpec(owner, x.shape, window);
  return window;
}

/**
 * The maximum of each window of each channel, like torch.nn.functional.max_pool2d (stride
 * defaults to the kernel size; padding never wins).
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, options: WindowOptions = {}): Tensor {
  return apply(maxPool2dOp, [x], { window: poolWindow('maxPool2d', x, kernelSize, options) });
}

// ---- average pooling ---------------------------------------------------------------------------

/** x's channels as single-channel images, the way pooling treats them. */
function planes(spec: Window2dSpec): number[] {
  return [spec.batch * spec.channels, 1, spec.height, spec.width];
}

export const avgPool2dOp: Op<Pool2dAttrs> = {
  name: 'avgPool2d',
  forward([x], { window }) {
    checkFloat('avgPool2d', x);
    const spec = windowSpec('avgPool2d', x.shape, window);
    const windows = unfoldOp.forward([new Tensor(x.data, planes(spec))], { window });
    return new Tensor(constant(() => windows.mean(1)).data, [
      spec.batch,
      spec.channels,
      spec.outH,
      spec.outW,
    ]);
  },
  vjp: (g, { inputs: [x], attrs: { window } }) => [
    () => {
      const spec = windowSpec('avgPool2d', x.shape, window);
      const taps = spec.kernelH * spec.kernelW;
      const positions = spec.outH * spec.outW;
      const shares = g
        .reshape([spec.batch * spec.channels, 1, positions])
        .broadcastTo([spec.batch * spec.channels, taps, positions])
        .div(taps);
      return apply(foldOp, [shares], { window, outputSize: [spec.height, spec.width] }).reshape(x.shape);
    },
  ],
  jvp: ({ attrs }) => [(t) => apply(avgPool2dOp, [t], attrs)],
};

/**
 * The mean of each window of each channel, like torch.nn.functional.avg_pool2d with its
 * defaults (stride = kernel size; padding counts as zeros in the mean).
 */
export function avgPool2d(
  x: Tensor,
  kernelSize: Size2,
  options: Omit<WindowOptions, 'dilation'> = {},
): Tensor {
  return apply(avgPool2dOp, [x], { window: poolWindow('avgPool2d', x, kernelSize, options) });
}
