// The fused ops against the compositions they replace, and their VJPs and JVPs against
// central differences in float64, like every op.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../src/errors.js';
import { linear, mm, Rng, randn } from '../src/index.js';
import { checkGradients } from './helpers/gradcheck.js';

const rng = new Rng(11);
const normal = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { dtype, rng });

test('linear is x·Wᵀ + b, in float32 and float64', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const [x, w, b] = [normal([7, 5], dtype), normal([3, 5], dtype), normal([3], dtype)];
    const fused = linear(x, w, b);
    const composed = mm(x, w, false, true).add(b);
    assert.deepEqual(fused.shape, [7, 3]);
    for (let i = 0; i < fused.size; i++) assert.ok(Math.abs(fused.data[i] - composed.data[i]) <= 1e-6);
  }
});

test('linear promotes mixed dtypes like the ops it fuses', () => {
  const fused = linear(normal([4, 3], 'float32'), normal([2, 3]), normal([2], 'float32'));
  assert.equal(fused.dtype, 'float64');
});

test('linear: VJP and JVP match central differences for every input', () => {
  for (const [batch, inputs, outputs] of [
    [1, 1, 1],
    [4, 3, 5],
    [9, 17, 6],
  ]) {
    checkGradients(linear, [normal([batch, inputs]), normal([outputs, inputs]), normal([outputs])]);
  }
});

test('linear rejects operands that do not fit, naming the shapes', () => {
  assert.throws(() => linear(normal([2, 3]), normal([4, 5]), normal([4])), {
    name: 'ShapeError',
    message: /input \[2, 3\], weight \[4, 5\] and bias \[4\] must be \[batch, in\], \[out, in\] and \[out\]/,
  });
  assert.throws(() => linear(normal([2, 5]), normal([4, 5]), normal([3])), ShapeError);
});
