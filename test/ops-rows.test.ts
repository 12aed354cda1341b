// Forward-Forward's per-row ops against the compositions they replace, and their VJPs and
// JVPs against central differences in float64 (and forward over reverse).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../src/errors.js';
import { Rng, randn, rmsNormalize, sumSquares, type Tensor, zeros } from '../src/index.js';
import { checkForwardOverReverse, checkGradients } from './helpers/gradcheck.js';

const rng = new Rng(17);
const normal = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { dtype, rng });
const EPS = 1e-8;
const normalize = (x: Tensor) => rmsNormalize(x, EPS);
const composedNormalize = (x: Tensor) => x.div(x.square().mean(1, true).sqrt().add(EPS));

function assertNear(actual: Tensor, expected: Tensor, tolerance: number): void {
  assert.deepEqual(actual.shape, expected.shape);
  for (let i = 0; i < expected.size; i++)
    assert.ok(
      Math.abs(actual.data[i] - expected.data[i]) <= tolerance,
      `element ${i}: ${actual.data[i]} vs ${expected.data[i]}`,
    );
}

test('sumSquares and rmsNormalize are the compositions they fuse, in float32 and float64', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const tolerance = dtype === 'float32' ? 1e-4 : 1e-10;
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [20, 1000],
    ]) {
      const x = normal([rows, cols], dtype);
      assertNear(sumSquares(x), x.square().sum(1), tolerance * cols);
      assertNear(normalize(x), composedNormalize(x), tolerance);
    }
  }
});

test('rmsNormalize leaves an all-zero row zero, with a zero gradient', () => {
  const x = zeros([2, 3]).requireGrad();
  const y = normalize(x);
  assert.deepEqual([...y.data], [0, 0, 0, 0, 0, 0]);
  y.sum().backward();
  assert.ok([...x.grad!.data].every((v) => Number.isFinite(v)));
});

test('sumSquares and rmsNormalize: VJP and JVP match central differences, and forward over reverse', () => {
  for (const [rows, cols] of [
    [1, 1],
    [4, 3],
    [5, 9],
  ]) {
    for (const f of [sumSquares, normalize]) {
      const inputs = [normal([rows, cols])];
      const checked = checkGradients(f, inputs);
      checkForwardOverReverse(f, inputs, { ...checked, wrt: [0] });
    }
  }
});

test('sumSquares and rmsNormalize refuse anything but [rows, cols], naming the shape', () => {
  assert.throws(() => sumSquares(normal([3])), {
    name: 'ShapeError',
    message: /sumSquares: x must be \[rows, cols\], got \[3\]/,
  });
  assert.throws(() => rmsNormalize(normal([2, 3, 4]), EPS), ShapeError);
});
