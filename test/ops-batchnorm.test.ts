// The fused batch norm against the ops it replaces, and its VJP and JVP against central
// differences in float64 (the fused backward and, inside a graph, the composed one).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../src/errors.js';
import { batchNorm, grad, Rng, randn, type Tensor, tensor } from '../src/index.js';
import { checkForwardOverReverse, checkGradients } from './helpers/gradcheck.js';

const rng = new Rng(13);
const normal = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { dtype, rng });
const EPS = 1e-5;

/** The composition batchNorm fuses: BatchNorm1d's training pass written with primitives. */
function composed(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const centered = x.sub(x.mean(0, true));
  const variance = centered.square().mean(0, true);
  return centered.div(variance.add(EPS).sqrt()).mul(weight).add(bias);
}

const fused = (x: Tensor, weight: Tensor, bias: Tensor) => batchNorm(x, weight, bias, EPS).out;

test('batchNorm is the composition it fuses, with the batch mean and biased variance, in float32 and float64', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const [x, w, b] = [normal([9, 5], dtype).mul(3).add(2), normal([5], dtype), normal([5], dtype)];
    const result = batchNorm(x, w, b, EPS);
    const expected = composed(x, w, b);
    assert.deepEqual(result.out.shape, [9, 5]);
    assert.equal(result.out.dtype, dtype);
    const tolerance = dtype === 'float32' ? 1e-5 : 1e-12;
    for (let i = 0; i < expected.size; i++)
      assert.ok(Math.abs(result.out.data[i] - expected.data[i]) <= tolerance, `element ${i}`);
    const mean = x.mean(0);
    const variance = x.sub(x.mean(0, true)).square().mean(0);
    for (let f = 0; f < 5; f++) {
      assert.ok(Math.abs(result.mean.data[f] - mean.data[f]) <= tolerance);
      assert.ok(Math.abs(result.variance.data[f] - variance.data[f]) <= tolerance * 10);
    }
  }
});

test('batchNorm: VJP and JVP match central differences for every input', () => {
  for (const [rows, features] of [
    [2, 1],
    [4, 3],
    [7, 6],
  ]) {
    checkGradients(fused, [normal([rows, features]), normal([features]), normal([features])]);
  }
});

test('batchNorm: the composed VJP (inside a graph) carries tangents and second derivatives', () => {
  const inputs = [normal([5, 3]), normal([3]), normal([3])];
  const checked = checkGradients(fused, inputs);
  checkForwardOverReverse(fused, inputs, { ...checked, wrt: [0, 1, 2] });
  // Second derivative by reverse over reverse: d/dx of Σ (d/dx Σ y·c)², against the composition's.
  const c = normal([5, 3]);
  const secondOrder = (f: typeof fused) =>
    grad((x: Tensor) => {
      const [gx] = grad((x2: Tensor) => f(x2, inputs[1], inputs[2]).mul(c).sum())(x);
      return gx.square().sum();
    })(inputs[0]);
  const [ours] = secondOrder(fused);
  const [theirs] = secondOrder(composed);
  for (let i = 0; i < ours.size; i++) assert.ok(Math.abs(ours.data[i] - theirs.data[i]) <= 1e-9);
});

test('batchNorm promotes mixed dtypes and refuses operands that do not fit, naming the shapes', () => {
  assert.equal(
    batchNorm(normal([4, 3], 'float32'), normal([3]), normal([3], 'float32')).out.dtype,
    'float64',
  );
  assert.throws(() => batchNorm(normal([4, 3]), normal([2]), normal([3])), {
    name: 'ShapeError',
    message:
      /input \[4, 3\], weight \[2\] and bias \[3\] must be \[rows, features\], \[features\] and \[features\]/,
  });
  assert.throws(() => batchNorm(normal([4, 3, 2]), normal([3]), normal([3])), ShapeError);
  const ints = (values: number[][] | number[]) => tensor(values, { dtype: 'int32' });
  assert.throws(() => batchNorm(ints([[1, 2]]), ints([1, 1]), ints([0, 0])), /batchNorm/);
});
