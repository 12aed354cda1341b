// The fused softmax cross-entropy against the composition it replaces, and its VJP and JVP
// against central differences in float64 (the fused backward and, inside a graph, the composed one).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossEntropy, oneHot, Rng, randn, type Tensor } from '../src/index.js';
import { checkForwardOverReverse, checkGradients } from './helpers/gradcheck.js';

const rng = new Rng(19);
const normal = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { dtype, rng });

function composed(logits: Tensor, labels: number[]): Tensor {
  const target = oneHot(labels, logits.shape[1], logits.dtype);
  return logits.logSoftmax(-1).mul(target).sum(1).mean().neg();
}

test('crossEntropy is the mean of -log softmax at each label, in float32 and float64', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const logits = normal([6, 4], dtype).mul(5);
    const labels = [0, 3, 1, 1, 2, 3];
    const loss = crossEntropy(logits, labels);
    assert.deepEqual(loss.shape, []);
    assert.equal(loss.dtype, dtype);
    const expected = composed(logits, labels).item();
    assert.ok(Math.abs(loss.item() - expected) <= (dtype === 'float32' ? 1e-5 : 1e-12) * Math.abs(expected));
  }
});

test('crossEntropy: VJP and JVP match central differences, and forward over reverse', () => {
  for (const [rows, classes] of [
    [1, 1],
    [3, 2],
    [5, 7],
  ]) {
    const labels = Array.from({ length: rows }, (_, r) => (r * 3) % classes);
    const f = (logits: Tensor) => crossEntropy(logits, labels);
    const inputs = [normal([rows, classes])];
    const checked = checkGradients(f, inputs);
    checkForwardOverReverse(f, inputs, { ...checked, wrt: [0] });
  }
});
