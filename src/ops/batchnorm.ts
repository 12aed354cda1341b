// batchNorm(x, weight, bias): training-mode batch normalisation of x [rows, features] as one
// op, y = x̂·weight + bias with x̂ = (x - mean)·s, s = 1/sqrt(var + eps), the batch's mean and
// biased variance per feature. Fused, the forward reads x twice and the backward reads x and
// g twice; the primitives it replaces took about eight passes each way.
//
// Cotangents, with m the row count and sums over the rows:
//   gbias = Σ g,  gweight = Σ g·x̂,  gx = weight·s·(g - gbias/m - x̂·gweight/m).
// A backward pass that builds no graph takes all three from one kernel call; inside a graph
// (higher derivatives) or a jvp they are written with ops, which differentiate further.
// Tangent: dx̂ = s·(dc - x̂·mean(x̂·dc)) with dc = dx - mean(dx), so
//   dy = weight·dx̂ + dweight·x̂ + dbias.

import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import { formatShape, ShapeError } from '../errors.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, Tensor } from '../tensor/tensor.js';
import { checkFloat, promote } from './broadcast.js';
import { apply, isDifferentiating } from './dispatch.js';
import { mean, sum } from './reduce.js';

interface BatchNormAttrs {
  eps: number;
  /** The batch's per-feature statistics, written by the forward pass (float arrays of x's dtype). */
  stats: { mean: FloatArray; variance: FloatArray } | null;
}

const specOf = (x: Tensor, eps: number) => ({ rows: x.shape[0], features: x.shape[1], eps });

/** x̂ and s from x by ops, so that they carry x's tangents and record x's graph. */
function standardize(x: Tensor, eps: number): { xhat: Tensor; s: Tensor } {
  const centered = x.sub(mean(x, 0, true));
  const s = mean(centered.square(), 0, true).add(eps).sqrt().reciprocal();
  return { xhat: centered.mul(s), s };
}

/** The three cotangents from one kernel call, as plain tensors (no graph is being built). */
function fusedCotangents(g: Tensor, [x, weight]: readonly Tensor[], attrs: BatchNormAttrs): Tensor[] {
  const { stats, eps } = attrs;
  const features = x.shape[1];
  const gx = allocateUninitialized(x.dtype, x.size) as FloatArray;
  const gWeight = allocateUninitialized(x.dtype, features) as FloatArray;
  const gBias = allocateUninitialized(x.dtype, features) as FloatArray;
  const data = (t: Tensor) => t.data as FloatArray;
  getBackend().batchNormBackward({
    g: data(g),
    x: data(x),
    weight: data(weight),
    mean: stats!.mean,
    variance: stats!.variance,
    gx,
    gWeight,
    gBias,
    ...specOf(x, eps),
  });
  return [new Tensor(gx, x.shape), new Tensor(gWeight, [features]), new Tensor(gBias, [features])];
}

/** The same cotangents written with ops, for graphs that differentiate them again. */
function composedCotangents(g: Tensor, [x, weight]: readonly Tensor[], { eps }: BatchNormAttrs): Tensor[] {
  const rows = x.shape[0];
  const { xhat, s } = standardize(x, eps);
  const gBias = sum(g, 0);
  const gWeight = sum(g.mul(xhat), 0);
  const gx = g
    .sub(gBias.div(rows))
    .sub(xhat.mul(gWeight.div(rows)))
    .mul(s.mul(weight));
  return [gx, gWeight, gBias];
}

export const batchNormOp: Op<BatchNormAttrs> = {
  name: 'batchNorm',
  forward([x, weight, bias], attrs) {
    checkFloat('batchNorm', x, weight, bias);
    const features = x.shape[1];
    const out = allocateUninitialized(x.dtype, x.size) as FloatArray;
    const stats = {
      mean: allocateUninitialized(x.dtype, features) as FloatArray,
      variance: allocateUninitialized(x.dtype, features) as FloatArray,
    };
    const data = (t: Tensor) => t.data as FloatArray;
    getBackend().batchNormForward({
      x: data(x),
      weight: data(weight),
      bias: data(bias),
      out,
      ...stats,
      ...specOf(x, attrs.eps),
    });
    attrs.stats = stats;
    return new Tensor(out, x.shape);
  },
  vjp(g, { inputs, attrs }) {
    let cotangents: Tensor[] | null = null;
    const all = () => {
      cotangents ??= isDifferentiating()
        ? composedCotangents(g, inputs, attrs)
        : fusedCotangents(g, inputs, attrs);
      return cotangents;
    };
    return [() => all()[0], () => all()[1], () => all()[2]];
  },
  jvp({ inputs: [x, weight], attrs: { eps } }) {
    const { xhat, s } = standardize(x, eps);
    return [
      (tx) => {
        const centered = tx.sub(mean(tx, 0, true));
        return centered.sub(xhat.mul(mean(xhat.mul(centered), 0, true))).mul(s.mul(weight));
      },
      (tw) => tw.mul(xhat),
      // The bias's tangent [features] is broadcast over the rows by the tangent sum.
      (tb) => tb,
    ];
  },
};

/** Training-mode batch normalisation: its output and the batch's per-feature mean and biased variance. */
export interface BatchNormResult {
  out: Tensor;
  mean: Tensor;
  variance: Tensor;
}

/**
 * Normalises x [rows, features] per feature with the batch's mean and biased variance, then
 * scales by weight [features] and shifts by bias [features] (BatchNorm1d's training pass).
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): BatchNormResult {
  const features = x.shape[1];
  if (
    x.ndim !== 2 ||
    weight.ndim !== 1 ||
    bias.ndim !== 1 ||
    weight.shape[0] !== features ||
    bias.shape[0] !== features
  ) {
    throw new ShapeError(
      `batchNorm: input ${formatShape(x.shape)}, weight ${formatShape(weight.shape)} and bias ${formatShape(bias.shape)} ` +
        'must be [rows, features], [features] and [features]',
    );
  }
  const operands = [x, weight, bias];
  const sameDType = operands.every((t) => t.dtype === x.dtype);
  const attrs: BatchNormAttrs = { eps, stats: null };
  const out = apply(batchNormOp, sameDType ? operands : promote('batchNorm', operands), attrs);
  const { mean: batchMean, variance } = attrs.stats!;
  return { out, mean: new Tensor(batchMean, [features]), variance: new Tensor(variance, [features]) };
}
