// The spatial layers: torch's parameter shapes and initialisation, output shapes, and the
// errors for bad shapes, each naming the layer, the shape and the fix.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AvgPool2d,
  ChainruleError,
  Conv2d,
  conv2d,
  fold,
  LocallyConnected2d,
  MaxPool2d,
  type Module,
  maxPool2d,
  put,
  Rng,
  randn,
  ShapeError,
  take,
  unfold,
  zeros,
} from '../src/index.js';

const rng = new Rng(3);

test('Conv2d has torch parameter shapes and its default uniform initialisation', () => {
  const conv = new Conv2d(6, 8, [3, 2], { groups: 2, rng });
  assert.deepEqual(conv.weight.shape, [8, 3, 3, 2]);
  assert.deepEqual(conv.bias?.shape, [8]);
  assert.deepEqual(Object.keys(conv.stateDict()), ['weight', 'bias']);
  const bound = 1 / Math.sqrt(3 * 3 * 2);
  for (const p of conv.parameters()) {
    assert.ok(p.data.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...p.data.map(Math.abs)) > bound / 2, 'the draws fill the range');
  }
  assert.equal(new Conv2d(1, 2, 3, { bias: false }).bias, null);
  assert.equal(new Conv2d(1, 2, 3, { dtype: 'float64' }).weight.dtype, 'float64');
});

test('Conv2d and the pooling layers give torch output shapes', () => {
  const x = randn([2, 3, 11, 9], { rng });
  const cases: [Module, number[]][] = [
    [new Conv2d(3, 4, 3, { rng }), [2, 4, 9, 7]],
    [new Conv2d(3, 6, 5, { stride: 2, padding: 2, groups: 3, rng }), [2, 6, 6, 5]],
    [new Conv2d(3, 4, 3, { dilation: [2, 1], padding: 1, rng }), [2, 4, 9, 9]],
    [new MaxPool2d(2), [2, 3, 5, 4]],
    [new MaxPool2d(3, 2, 1), [2, 3, 6, 5]],
    [new AvgPool2d([2, 3], 1), [2, 3, 10, 7]],
    [new LocallyConnected2d(3, 5, [11, 9], 3, { stride: 2, rng }), [2, 5, 5, 4]],
  ];
  for (const [layer, shape] of cases) assert.deepEqual(layer.forward(x).shape, shape);
});

test('LocallyConnected2d holds a filter bank per output position', () => {
  const local = new LocallyConnected2d(2, 3, [5, 6], 3, { padding: 1, rng });
  assert.deepEqual(local.weight.shape, [5, 6, 3, 2, 3, 3]);
  assert.deepEqual(local.bias?.shape, [3, 5, 6]);
  // With every position's filters equal, it is a convolution.
  const filters = randn([3, 2, 3, 3], { rng });
  for (let p = 0; p < 30; p++) local.weight.data.set(filters.data, p * filters.size);
  local.bias?.data.fill(0);
  const x = randn([2, 2, 5, 6], { rng });
  const expected = conv2d(x, filters, null, { padding: 1 });
  const actual = local.forward(x);
  for (let i = 0; i < actual.size; i++) assert.ok(Math.abs(actual.data[i] - expected.data[i]) < 1e-5);
});

/** Asserts that fn throws a ShapeError or ChainruleError whose message contains every part. */
function assertError(fn: () => unknown, kind: typeof ChainruleError, parts: string[]): void {
  assert.throws(fn, (error: Error) => {
    assert.ok(error instanceof kind, `${error.name}: ${error.message}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `'${error.message}' mentions '${part}'`);
    return true;
  });
}

test('a 3-D or flat input names the layer, the shape and the fix', () => {
  const conv = new Conv2d(1, 4, 5);
  assertError(() => conv.forward(zeros([1, 28, 28])), ShapeError, [
    'Conv2d(1, 4, kernel 5x5)',
    '[1, 28, 28]',
    'x.unsqueeze(0)',
  ]);
  assertError(() => conv.forward(zeros([8, 784])), ShapeError, ['[8, 784]', 'x.reshape([8, 1, 28, 28])']);
  assertError(() => new MaxPool2d(2).forward(zeros([4, 4])), ShapeError, [
    'MaxPool2d(kernel 2x2, stride 2)',
    '[4, 4]',
  ]);
});

test('a kernel larger than the padded input names the layer, the shape and the fix', () => {
  assertError(() => new Conv2d(1, 2, 5, { padding: 1 }).forward(zeros([1, 1, 2, 8])), ShapeError, [
    'Conv2d(1, 2, kernel 5x5, padding 1)',
    'larger than the padded input 4x10',
    '[1, 1, 2, 8]',
    'smaller kernel',
  ]);
  assertError(() => new Conv2d(1, 2, 3, { dilation: 3 }).forward(zeros([1, 1, 6, 6])), ShapeError, [
    'dilated to 7x7',
  ]);
  assertError(() => new AvgPool2d(4).forward(zeros([1, 1, 3, 3])), ShapeError, [
    'AvgPool2d',
    'larger than the padded input',
  ]);
  assertError(() => unfold(zeros([1, 1, 2, 2]), 3), ShapeError, ['unfold', '[1, 1, 2, 2]']);
});

test('channels that do not divide by groups, or do not match, name the layer and the fix', () => {
  assertError(() => new Conv2d(3, 4, 3, { groups: 2 }), ChainruleError, [
    'Conv2d(3, 4, kernel 3x3, groups 2)',
    'inChannels 3 do not divide into 2 groups',
    'use a multiple of 2 channels',
  ]);
  assertError(() => new Conv2d(4, 6, 3, { groups: 4 }), ChainruleError, [
    'outChannels 6 do not divide into 4 groups',
  ]);
  assertError(() => new Conv2d(3, 4, 3).forward(zeros([2, 1, 8, 8])), ShapeError, [
    'has 1 channels, but the layer takes 3',
    'inChannels 1',
  ]);
  assertError(() => conv2d(zeros([1, 6, 5, 5]), zeros([5, 2, 3, 3]), null, { groups: 3 }), ShapeError, [
    '5 output channels do not divide into 3 groups',
  ]);
  assertError(() => conv2d(zeros([1, 3, 5, 5]), zeros([6, 2, 3, 3]), null, { groups: 2 }), ShapeError, [
    'has 3 channels',
    'weight.shape[1]·groups',
  ]);
});

test('bad window options and index ops fail with their own messages', () => {
  assertError(() => new Conv2d(1, 2, 0), ChainruleError, ['kernelSize must be an integer >= 1']);
  assertError(
    () => new Conv2d(1, 2, 3, { stride: [1, 2, 3] as unknown as [number, number] }),
    ChainruleError,
    ['stride'],
  );
  assertError(() => maxPool2d(zeros([1, 1, 6, 6]), 2, { padding: 2 }), ChainruleError, [
    'padding 2 is more than half',
  ]);
  assertError(() => new LocallyConnected2d(1, 2, [6, 6], 3).forward(zeros([1, 1, 7, 7])), ShapeError, [
    'gives 5x5 window positions',
    'inputSize [7, 7]',
  ]);
  assertError(() => fold(zeros([1, 8, 5]), [3, 3], 2), ShapeError, ['2x2 = 4 window positions']);
  assertError(() => fold(zeros([1, 7, 4]), [3, 3], 2), ShapeError, ['[batch, channels·2·2, windows]']);
  assertError(() => take(zeros([4]), Int32Array.from([4])), ShapeError, ['index 4 is outside']);
  assertError(() => put(zeros([2]), Int32Array.from([0]), [3]), ShapeError, ['2 values but 1 indices']);
});
