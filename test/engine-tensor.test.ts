// Tensors: creation, seeded randomness, reading values back, and the values of shape ops.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arange,
  argmax,
  concat,
  type DType,
  eye,
  full,
  manualSeed,
  ones,
  Rng,
  rand,
  randn,
  stack,
  type Tensor,
  tensor,
  where,
  zeros,
} from '../src/index.js';

test('tensor() from nested arrays, numbers and typed arrays', () => {
  const m = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(m.shape, [2, 3]);
  assert.equal(m.dtype, 'float32');
  assert.deepEqual(Array.from(m.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(tensor(7).shape, []);
  assert.equal(tensor(7).item(), 7);

  const f64 = tensor(Float64Array.from([1, 2, 3, 4]), { shape: [2, 2] });
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual(f64.toArray(), [
    [1, 2],
    [3, 4],
  ]);
  assert.equal(tensor(Int32Array.from([1, 2])).dtype, 'int32');
  const converted = tensor(Float64Array.from([0.1, 2]), { dtype: 'float32' });
  assert.equal(converted.dtype, 'float32');
  assert.equal(converted.data[0], Math.fround(0.1));
  assert.equal(tensor([1, 2], { requiresGrad: true }).requiresGrad, true);
});

test('float32 is the default dtype, and ops keep the dtype', () => {
  for (const t of [
    tensor([1]),
    zeros([2]),
    ones([2]),
    full([2], 3),
    arange(3),
    eye(2),
    rand([2]),
    randn([2]),
  ]) {
    assert.equal(t.dtype, 'float32');
  }
  assert.equal(tensor([1, 2]).exp().sum().dtype, 'float32');
  assert.equal(zeros([2], { dtype: 'float64' }).add(1).mean().dtype, 'float64');
});

test('mixed dtypes promote as in PyTorch: the wider float wins, a float beats an int, 0-d tensors defer', () => {
  const f32 = tensor([1.5, 2]);
  const f64 = tensor([0.25, 4], { dtype: 'float64' });
  const i32 = tensor(Int32Array.from([3, -1]));
  const cases: [string, Tensor, DType, number[]][] = [
    ['float32 + float64', f32.add(f64), 'float64', [1.75, 6]],
    ['float64 * float32', f64.mul(f32), 'float64', [0.375, 8]],
    ['int32 + float32', i32.add(f32), 'float32', [4.5, 1]],
    ['float64 - int32', f64.sub(i32), 'float64', [-2.75, 5]],
    ['0-d float64 · [2] float32', tensor(2, { dtype: 'float64' }).mul(f32), 'float32', [3, 4]],
    ['[2] int32 · 0-d float64', i32.mul(tensor(2, { dtype: 'float64' })), 'float64', [6, -2]],
    ['0-d float32 + 0-d float64', tensor(1).add(tensor(2, { dtype: 'float64' })), 'float64', [3]],
    ['where(c, float32, float64)', where(tensor([1, 0]), f32, f64), 'float64', [1.5, 4]],
    ['concat(float32, int32)', concat([f32, i32]), 'float32', [1.5, 2, 3, -1]],
    ['float32 matmul float64', f32.reshape([1, 2]).matmul(f64.reshape([2, 1])), 'float64', [8.375]],
    ['float32 > float64', f32.gt(f64), 'float64', [1, 0]],
  ];
  for (const [label, t, dtype, values] of cases) {
    assert.equal(t.dtype, dtype, label);
    assert.deepEqual(Array.from(t.data), values, label);
  }
  // Each operand's gradient comes back in its own dtype, through the cast.
  const a = tensor([1, 2]).requireGrad();
  const b = tensor([3, 4], { dtype: 'float64' }).requireGrad();
  a.mul(b).sum().backward();
  assert.equal(a.grad!.dtype, 'float32');
  assert.equal(b.grad!.dtype, 'float64');
  assert.deepEqual(Array.from(a.grad!.data), [3, 4]);
  assert.deepEqual(Array.from(b.grad!.data), [1, 2]);
});

test('zeros, ones, full, arange and eye', () => {
  assert.deepEqual(zeros([2, 2]).toArray(), [
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(ones([3]).toArray(), [1, 1, 1]);
  assert.deepEqual(full([2], 2.5, { dtype: 'float64' }).toArray(), [2.5, 2.5]);
  assert.deepEqual(arange(4).toArray(), [0, 1, 2, 3]);
  assert.deepEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.deepEqual(arange(3, 1).toArray(), []);
  assert.deepEqual(eye(3).toArray(), [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
});

test('rand and randn reproduce exactly from a seed and differ across seeds', () => {
  const draw = (seed: number) => [
    ...rand([50], { rng: new Rng(seed), dtype: 'float64' }).data,
    ...randn([50], { rng: new Rng(seed), dtype: 'float64' }).data,
  ];
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
  manualSeed(3);
  const first = Array.from(randn([10]).data);
  manualSeed(3);
  assert.deepEqual(Array.from(randn([10]).data), first);
});

test('randn and rand give exactly the values of one normal() or uniform() call per element', () => {
  // Logged runs are verified by re-running them, so the bulk fills must not change a draw:
  // odd lengths, a pending Box-Muller spare, mean and std, and the stream after the fill.
  for (const length of [0, 1, 2, 7, 64]) {
    const bulk = new Rng(3);
    const single = new Rng(3);
    bulk.normal();
    single.normal();
    const normals = randn([length], { rng: bulk, dtype: 'float64', mean: 0.5, std: 2 }).data;
    assert.deepEqual(
      [...normals],
      Array.from({ length }, () => 0.5 + 2 * single.normal()),
    );
    const uniforms = rand([length], { rng: bulk, dtype: 'float64', low: -1, high: 3 }).data;
    assert.deepEqual(
      [...uniforms],
      Array.from({ length }, () => -1 + 4 * single.uniform()),
    );
    assert.equal(bulk.normal(), single.normal());
  }
});

test('rand stays in [low, high); randn has the requested mean and deviation', () => {
  const rng = new Rng(42);
  const u = rand([10_000], { rng, low: -2, high: 3, dtype: 'float64' });
  assert.ok(u.data.every((v) => v >= -2 && v < 3));
  const moments = (data: ArrayLike<number>) => {
    const values = Array.from(data);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    return { mean, std: Math.sqrt(variance) };
  };
  const standard = moments(randn([20_000], { rng, dtype: 'float64' }).data);
  assert.ok(Math.abs(standard.mean) < 0.03, `mean ${standard.mean}`);
  assert.ok(Math.abs(standard.std - 1) < 0.03, `std ${standard.std}`);
  const shifted = moments(randn([20_000], { rng, mean: 3, std: 0.5, dtype: 'float64' }).data);
  assert.ok(Math.abs(shifted.mean - 3) < 0.02, `mean ${shifted.mean}`);
  assert.ok(Math.abs(shifted.std - 0.5) < 0.02, `std ${shifted.std}`);
  const uniform = moments(u.data);
  assert.ok(Math.abs(uniform.mean - 0.5) < 0.05, `uniform mean ${uniform.mean}`);
});

test('toArray, item and a readable toString', () => {
  const m = tensor([
    [1, 2.5],
    [3, 4],
  ]);
  assert.deepEqual(m.toArray(), [
    [1, 2.5],
    [3, 4],
  ]);
  assert.equal(tensor(4).toArray(), 4);
  assert.equal(m.sum().item(), 10.5);
  assert.equal(m.toString(), 'tensor([[1, 2.5],\n        [3, 4]], shape=[2, 2], dtype=float32)');
  assert.equal(arange(20).toString(), 'tensor([0, 1, 2, ..., 17, 18, 19], shape=[20], dtype=float32)');
  assert.match(tensor([1], { requiresGrad: true }).toString(), /requiresGrad/);
  assert.match(tensor([1], { requiresGrad: true }).mul(2).toString(), /op=mul/);
  assert.match(tensor(Int32Array.from([3])).toString(), /tensor\(\[3\], shape=\[1\], dtype=int32\)/);
});

test('shape ops move values where they should', () => {
  const x = arange(6).reshape([2, 3]);
  assert.deepEqual(x.T.toArray(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.deepEqual(x.reshape([3, -1]).shape, [3, 2]);
  const permuted = arange(24).reshape([2, 3, 4]).permute([2, 0, 1]);
  assert.deepEqual(permuted.shape, [4, 2, 3]);
  assert.deepEqual((permuted.toArray() as number[][][])[1], [
    [1, 5, 9],
    [13, 17, 21],
  ]);
  assert.deepEqual(x.slice(1, 1).toArray(), [
    [1, 2],
    [4, 5],
  ]);
  assert.deepEqual(x.slice(0, -1).toArray(), [[3, 4, 5]]);
  assert.deepEqual(concat([x, x.mul(10)], 1).toArray(), [
    [0, 1, 2, 0, 10, 20],
    [3, 4, 5, 30, 40, 50],
  ]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [
    [1, 3],
    [2, 4],
  ]);
  assert.deepEqual(tensor([1, 2]).reshape([2, 1]).broadcastTo([2, 3]).toArray(), [
    [1, 1, 1],
    [2, 2, 2],
  ]);
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
  assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 1]);
  assert.deepEqual(zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
  assert.deepEqual(x.flatten().toArray(), [0, 1, 2, 3, 4, 5]);
  assert.equal(x.to('float64').dtype, 'float64');
  assert.equal(x.to('float32'), x, 'a cast to the same dtype is the tensor itself');
});

test('argmax along an axis picks the first of ties and returns int32', () => {
  const x = tensor([
    [1, 3, 3],
    [5, 0, 5],
  ]);
  const rows = argmax(x, 1);
  assert.equal(rows.dtype, 'int32');
  assert.deepEqual(rows.toArray(), [1, 0]);
  assert.deepEqual(x.argmax(0).toArray(), [1, 0, 1]);
  assert.deepEqual(x.argmax().toArray(), [1, 0]);
});

test('detach shares values but not the graph; requireGrad marks a leaf', () => {
  const x = tensor([1, 2]).requireGrad();
  const y = x.mul(2);
  const d = y.detach();
  assert.equal(d.node, null);
  assert.equal(d.requiresGrad, false);
  assert.deepEqual(d.toArray(), [2, 4]);
  assert.throws(() => y.requireGrad(false), /call detach\(\) instead/);
});
