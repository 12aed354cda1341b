// Reductions over axes. sum and max are primitives; mean, variance and logsumexp are built
// from them, so their derivatives in both modes come from the chain rule alone.

import { getBackend } from '../backend/index.js';
import type { ReduceOp } from '../backend/kernels.js';
import { ShapeError } from '../errors.js';
import { attachMethods } from '../tensor/methods.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, Tensor } from '../tensor/tensor.js';
import { checkFloat, normalizeAxes } from './broadcast.js';
import { apply, constant } from './dispatch.js';

export interface ReduceAttrs {
  axes: number[];
  keepdim: boolean;
}

const keptShape = (shape: readonly number[], axes: readonly number[]) =>
  shape.map((d, i) => (axes.includes(i) ? 1 : d));

function reduceForward(op: ReduceOp, x: Tensor, { axes, keepdim }: ReduceAttrs): Tensor {
  checkFloat(op, x);
  if (op !== 'sum' && axes.some((a) => x.shape[a] === 0)) {
    throw new ShapeError(`${op}: cannot reduce over an empty axis of shape [${x.shape.join(', ')}]`);
  }
  const kept = keptShape(x.shape, axes);
  const out = allocateUninitialized(
    x.dtype,
    kept.reduce((p, d) => p * d, 1),
  );
  getBackend().reduce(op, x.data, x.shape, axes, out);
  return new Tensor(out, keepdim ? kept : x.shape.filter((_, i) => !axes.includes(i)));
}

/** g reshaped so its reduced axes are back (as size 1), ready to broadcast against the input. */
const restoreAxes = (g: Tensor, x: Tensor, axes: readonly number[]) => g.reshape(keptShape(x.shape, axes));

export const sumOp: Op<ReduceAttrs> = {
  name: 'sum',
  forward: ([x], attrs) => reduceForward('sum', x, attrs),
  vjp: (g, { inputs: [x], attrs }) => [() => restoreAxes(g, x, attrs.axes).broadcastTo(x.shape)],
  jvp: ({ attrs }) => [(t) => t.sum(attrs.axes, attrs.keepdim)],
};

// The gradient of a max flows to the arg-max; ties share it equally (like PyTorch's amax).
function argmaxMask(x: Tensor, out: Tensor, axes: readonly number[]): Tensor {
  const mask = x.eq(restoreAxes(out, x, axes));
  return mask.div(mask.sum(axes, true));
}

export const maxOp: Op<ReduceAttrs> = {
  name: 'max',
  forward: ([x], attrs) => reduceForward('max', x, attrs),
  vjp: (g, { inputs: [x], out, attrs }) => [
    () => restoreAxes(g, x, attrs.axes).mul(argmaxMask(x, out, attrs.axes)),
  ],
  jvp: ({ inputs: [x], out, attrs }) => [
    (t) => t.mul(argmaxMask(x, out, attrs.axes)).sum(attrs.axes, attrs.keepdim),
  ],
};

export type Axes = number | readonly number[] | undefined;

export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return apply(sumOp, [x], { axes: normalizeAxes('sum', axes, x.ndim), keepdim });
}

export function max(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return apply(maxOp, [x], { axes: normalizeAxes('max', axes, x.ndim), keepdim });
}

const countOver = (x: Tensor, axes: Axes) =>
  normalizeAxes('mean', axes, x.ndim).reduce((n, a) => n * x.shape[a], 1);

export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return sum(x, axes, keepdim).div(countOver(x, axes));
}

/**
 * Variance over axes; `correction` 0 gives the population (biased) variance, 1 the sample
 * (unbiased) one, as in torch.var.
 */
export function variance(x: Tensor, axes?: Axes, keepdim = false, correction = 0): Tensor {
  const centered = x.sub(mean(x, axes, true));
  return sum(centered.square(), axes, keepdim).div(Math.max(0, countOver(x, axes) - correction));
}

/** The Euclidean (Frobenius) norm over axes: sqrt(sum(x²)). */
export function norm(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return sum(x.square(), axes, keepdim).sqrt();
}

/** log(sum(exp(x))) computed stably by shifting with the (constant) maximum. */
export function logsumexp(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  // Any shift gives the same value, so it is a constant to both modes (and costs no graph).
  const shift = constant(() => max(x, axes, true));
  const lse = sum(x.sub(shift).exp(), axes, true).log().add(shift);
  return keepdim
    ? lse
    : lse.reshape(lse.shape.filter((_, i) => !normalizeAxes('logsumexp', axes, x.ndim).includes(i)));
}

/** Index of the largest value along one axis (not differentiable), as int32. */
export function argmax(x: Tensor, axis = -1): Tensor {
  const [a] = normalizeAxes('argmax', axis, x.ndim);
  const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const out = allocateUninitialized('int32', outer * inner) as Int32Array;
  getBackend().argmax(x.data, outer, x.shape[a], inner, out);
  return new Tensor(
    out,
    x.shape.filter((_, i) => i !== a),
  );
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    sum(axes?: Axes, keepdim?: boolean): Tensor;
    max(axes?: Axes, keepdim?: boolean): Tensor;
    mean(axes?: Axes, keepdim?: boolean): Tensor;
    variance(axes?: Axes, keepdim?: boolean, correction?: number): Tensor;
    logsumexp(axes?: Axes, keepdim?: boolean): Tensor;
    norm(axes?: Axes, keepdim?: boolean): Tensor;
    argmax(axis?: number): Tensor;
  }
}

attachMethods({ sum, max, mean, variance, logsumexp, norm, argmax });
