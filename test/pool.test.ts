// tidy() and the storage pool: a pooled training step computes exactly what an unpooled one
// does and allocates no new storage after warm-up; a released tensor is never read, what a
// scope returns or keeps stays valid, scopes nest, and an exception still ends its scope.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendInfo, useBackend } from '../src/backend/index.js';
import { trainLoop } from '../src/learn/loop.js';
import { ALGORITHMS, createTrainer } from '../src/learn/registry.js';
import type { StepOptions, StepResult, Trainer } from '../src/learn/types.js';
import { BatchNorm1d, Linear, Sequential, Tanh } from '../src/nn/index.js';
import { crossEntropy } from '../src/ops/nn.js';
import { Adam } from '../src/optim/adam.js';
import { Rng } from '../src/tensor/random.js';
import { keep, poolStats, ReleasedTensorError, tidy } from '../src/tensor/scope.js';
import { ones, randn, Tensor, tensor, zeros } from '../src/tensor/tensor.js';
import { smallConfigs } from './helpers/small-configs.js';

await useBackend(undefined);

const small = smallConfigs(16);

function batches(count: number, size: number) {
  const rng = new Rng(3);
  return Array.from({ length: count }, () => ({
    x: randn([size, 784], { rng }),
    y: new Tensor(
      Int32Array.from({ length: size }, () => rng.int(10)),
      [size],
    ),
  }));
}

/** The rule's own update without the step's scope: what every step did before the pool. */
const unpooledStep = (trainer: Trainer, x: Tensor, y: Tensor): StepResult =>
  (trainer as unknown as { trainStep(x: Tensor, y: Tensor, o?: StepOptions): StepResult }).trainStep(x, y);

/** New storage created over `work` (buffers taken from the pool do not count). */
function freshBuffersDuring(work: () => void): number {
  const before = poolStats().freshBuffers;
  work();
  return poolStats().freshBuffers - before;
}

test('every rule: a pooled step gives the losses and weights of an unpooled one, bit for bit', () => {
  const data = batches(3, 16);
  for (const algo of ALGORITHMS) {
    const pooled = createTrainer(algo, small[algo], { seed: 5 });
    const plain = createTrainer(algo, small[algo], { seed: 5 });
    pooled.plan(6);
    plain.plan(6);
    for (let step = 0; step < 6; step++) {
      const { x, y } = data[step % data.length];
      assert.equal(pooled.step(x, y).loss, unpooledStep(plain, x, y).loss, `${algo}, step ${step + 1}`);
    }
    const weights = (t: Trainer) => Object.entries(t.model.stateDict()).map(([k, v]) => [k, [...v.data]]);
    assert.deepEqual(weights(pooled), weights(plain), `${algo}: the weights after 6 steps`);
  }
});

test('every rule: after warm-up a step allocates no new storage, and takes it all from the pool', () => {
  const data = batches(2, 16);
  for (const algo of ALGORITHMS) {
    const trainer = createTrainer(algo, small[algo]);
    trainer.plan(6);
    const step = (i: number) => trainer.step(data[i % 2].x, data[i % 2].y);
    step(0);
    step(1);
    const reusedBefore = poolStats().reusedBuffers;
    for (let i = 2; i < 5; i++)
      assert.equal(
        freshBuffersDuring(() => step(i)),
        0,
        `${algo}, step ${i + 1}`,
      );
    assert.ok(poolStats().reusedBuffers > reusedBefore, `${algo}: steps take storage from the pool`);
  }
});

test('the seed network (784-1024-BN-tanh-10, Adam, batch 128) steps with no new storage after warm-up', () => {
  const trainer = createTrainer('bp', { schedule: 'constant', lr: 1e-3 });
  trainer.plan(6);
  const [{ x, y }] = batches(1, 128);
  trainer.step(x, y);
  trainer.step(x, y);
  for (let i = 0; i < 3; i++) {
    assert.equal(
      freshBuffersDuring(() => trainer.step(x, y)),
      0,
      `on ${backendInfo().name}, step ${i + 3}`,
    );
  }
});

test('the training loop: after its first epoch no step allocates (the last, smaller batch neither), nor evaluation but for its answers', async () => {
  const train = [...batches(3, 32), ...batches(1, 12)];
  const test = batches(2, 50);
  const data = {
    trainBatches: () => train,
    trainBatchCount: 4,
    testBatches: () => test,
    trainEvalBatches: () => test,
  };
  const perEvent: number[][] = [];
  let last = poolStats().freshBuffers;
  await trainLoop(createTrainer('bp', { hidden: [16] }), data, {
    epochs: 3,
    onEvent: (event) => {
      if (event.type !== 'progress' && event.type !== 'epoch') return;
      if (event.type === 'progress' && event.batch === 1) perEvent.push([]);
      const fresh = poolStats().freshBuffers;
      perEvent.at(-1)!.push(fresh - last);
      last = fresh;
    },
  });
  // Per epoch: four steps, then the evaluations, whose four answers (argmax indices) are returned.
  assert.deepEqual(perEvent.slice(1), [
    [0, 0, 0, 0, 4],
    [0, 0, 0, 0, 4],
  ]);
});

test("a user's own loop in tidy() steps with no new storage once its gradients are cleared in the scope", () => {
  const model = new Sequential(new Linear(784, 32), new BatchNorm1d(32), new Tanh(), new Linear(32, 10));
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const [{ x, y }] = batches(1, 32);
  const step = () =>
    tidy(() => {
      const loss = crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return loss.item();
    });
  const losses = [step(), step()];
  assert.equal(
    freshBuffersDuring(() => {
      losses.push(step());
    }),
    0,
  );
  assert.ok(losses[2] < losses[0], `the loss falls: ${losses}`);
});

test('gradients a loop leaves set (zeroGrad first, as in PyTorch) live on after the scope, for the next step', () => {
  const model = new Linear(3, 1);
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const x = ones([2, 3]);
  const step = () =>
    tidy(() => {
      optimizer.zeroGrad();
      model.forward(x).sum().backward();
      optimizer.step();
    });
  step();
  tidy(() => ones([1, 3]).mul(2).sum().item());
  assert.deepEqual([...model.weight.grad!.data], [2, 2, 2], 'dL/dw is the sum of the rows');
  step();
  assert.deepEqual([...model.bias!.grad!.data], [2]);
});

test('using a released tensor throws, naming the problem and the fix', () => {
  let leaked: Tensor | null = null;
  const value = tidy(() => {
    leaked = ones([4, 3]).mul(2);
    return leaked.sum().item();
  });
  assert.equal(value, 24);
  const t = leaked as unknown as Tensor;
  const released = {
    name: 'ReleasedTensorError',
    message: /shape \[4, 3\]\).*released.*return it .*keep\(\)/,
  };
  assert.throws(() => t.data, released);
  assert.throws(() => t.add(1), ReleasedTensorError);
  assert.throws(() => t.item(), ReleasedTensorError);
  assert.throws(() => t.toArray(), ReleasedTensorError);
  assert.throws(() => t.detach(), ReleasedTensorError);
  assert.throws(() => t.grad, ReleasedTensorError);
  assert.deepEqual(t.shape, [4, 3], 'its shape can still be read (to say which tensor it was)');
});

test('a released graph cannot be backpropagated: the loss of an ended scope throws, not reads reused storage', () => {
  const w = randn([3, 3], { rng: new Rng(1) }).requireGrad();
  let loss: Tensor | null = null;
  tidy(() => {
    loss = w.matmul(w).tanh().sum();
    return null;
  });
  tidy(() => w.matmul(w).tanh().sum().item());
  assert.throws(() => (loss as unknown as Tensor).backward(), ReleasedTensorError);
});

test('what a scope returns (in arrays and objects), keeps, and parameters stay valid', () => {
  const w = randn([4, 4], { rng: new Rng(2) }).requireGrad();
  let kept: Tensor | null = null;
  const result = tidy(() => {
    const a = w.mul(3);
    const b = a.add(1);
    kept = keep(b.neg());
    const parameter = new Linear(4, 2);
    return { list: [a, { deep: b.reshape([16]) }], parameter };
  });
  tidy(() => zeros([4, 4]).add(7).mul(w).sum().item());
  const [a, { deep }] = result.list as [Tensor, { deep: Tensor }];
  const tripled = w.data.map((v) => v * 3);
  assert.deepEqual(a.data, tripled);
  assert.deepEqual(
    deep.data,
    tripled.map((v) => v + 1),
  );
  assert.deepEqual(
    (kept as unknown as Tensor).data,
    tripled.map((v) => -(v + 1)),
  );
  // A module made in a scope keeps its parameters: registering one keep()s it.
  const { weight, bias } = result.parameter;
  const out = result.parameter.forward(ones([1, 4]));
  [0, 1].forEach((j) => {
    const expected = bias!.data[j] + [0, 1, 2, 3].reduce((sum, k) => sum + weight.data[j * 4 + k], 0);
    assert.ok(Math.abs(out.data[j] - expected) < 1e-5, `output ${j}: ${out.data[j]} against ${expected}`);
  });
});

test("a gradient set inside a scope on a tensor from outside lives on, as the optimiser's input", () => {
  const w = tensor([1, 2, 3]).requireGrad();
  tidy(() => {
    w.mul(w).sum().backward();
  });
  tidy(() => ones([3]).mul(5).sum().item());
  assert.deepEqual([...w.grad!.data], [2, 4, 6]);
  tidy(() => {
    w.mul(w).sum().backward();
  });
  assert.deepEqual([...w.grad!.data], [4, 8, 12], 'the next backward adds to it');
});

test('a returned tensor that still has a graph keeps what it was made from, so backward works after the scope', () => {
  const w = tensor([0.5, -1, 2]).requireGrad();
  const loss = tidy(() => w.tanh().mul(w).sum());
  tidy(() => ones([3]).mul(9).sum().item());
  loss.backward();
  const expected = [0.5, -1, 2].map((v) => Math.tanh(v) + v * (1 - Math.tanh(v) ** 2));
  for (const [i, g] of w.grad!.data.entries()) assert.ok(Math.abs(g - expected[i]) < 1e-6, `grad ${i}`);
});

test('a returned loss backpropagates after the scope as without one, the fused ops keeping their saved storage', () => {
  const rng = new Rng(4);
  const x = randn([8, 6], { rng });
  const labels = tensor([0, 1, 2, 3, 4, 5, 0, 1], { dtype: 'int32' });
  const gradients = (scoped: boolean) => {
    const bn = new BatchNorm1d(6);
    // Fused batch norm saves its statistics, fused cross-entropy its probabilities, for backward.
    const lossOf = () => crossEntropy(bn.forward(x).tanh(), labels);
    const loss = scoped ? tidy(lossOf) : lossOf();
    // Work of the same sizes, which would take and overwrite any storage the scope gave back.
    for (let i = 0; i < 3; i++)
      tidy(() =>
        randn([8, 6], { rng: new Rng(i) })
          .add(randn([6], { rng }))
          .sum()
          .item(),
      );
    loss.backward();
    return [...bn.weight!.grad!.data, ...bn.bias!.grad!.data];
  };
  assert.deepEqual(gradients(true), gradients(false));
});

test('nested scopes: an inner result belongs to the outer scope, and is released when that one ends', () => {
  let inner: Tensor | null = null;
  let innerTemp: Tensor | null = null;
  const outer = tidy(() => {
    inner = tidy(() => {
      innerTemp = ones([5]).mul(2);
      return innerTemp.add(1);
    });
    assert.throws(() => (innerTemp as unknown as Tensor).data, ReleasedTensorError);
    assert.deepEqual([...(inner as unknown as Tensor).data], [3, 3, 3, 3, 3], 'valid in the outer scope');
    return (inner as unknown as Tensor).mul(2);
  });
  assert.throws(() => (inner as unknown as Tensor).data, ReleasedTensorError);
  assert.deepEqual([...outer.data], [6, 6, 6, 6, 6]);
  // The inner scope's storage went back to the pool at its end, for the outer scope's ops.
  const reused = tidy(() => {
    const before = poolStats().reusedBuffers;
    tidy(() => ones([64, 64]).mul(2).sum().item());
    tidy(() => ones([64, 64]).mul(3).sum().item());
    return poolStats().reusedBuffers - before;
  });
  assert.ok(reused > 0);
});

test('an exception inside a scope releases its tensors and leaves the pool sound', () => {
  let temp: Tensor | null = null;
  assert.throws(
    () =>
      tidy(() => {
        temp = ones([32, 32]).mul(4);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.throws(() => (temp as unknown as Tensor).data, ReleasedTensorError);
  // Two live tensors of one size never share a buffer: each fresh or pooled one is handed out once.
  const [a, b] = tidy(() => [ones([32, 32]).mul(5), ones([32, 32]).mul(6)]);
  assert.notEqual(a.data.buffer, b.data.buffer);
  assert.deepEqual([a.data[0], b.data[1023]], [5, 6]);
  const c = tidy(() => ones([32, 32]).mul(7));
  assert.deepEqual(
    [a.data[0], b.data[0], c.data[0]],
    [5, 6, 7],
    'returned tensors are never handed out again',
  );
  assert.throws(() => tidy(() => Promise.resolve(1)), /promise/);
  assert.equal(
    tidy(() => ones([2]).sum().item()),
    2,
    'scopes work after a refused one',
  );
});

test('outside any scope nothing is released or pooled, as before', () => {
  const before = poolStats();
  const a = ones([16, 16]).mul(2);
  const b = a.add(1);
  assert.deepEqual([a.data[0], b.data[0]], [2, 3]);
  assert.equal(poolStats().reusedBuffers, before.reusedBuffers);
});

test("goodness inference scores one label at a time: ten labels' passes hold no more storage than two", () => {
  // Buffers, not bytes, so the two batch sizes (distinct, so neither reuses the other's) compare.
  for (const rule of ['ff', 'ff-recurrent'] as const) {
    const fresh = (classes: number, rows: number) => {
      const trainer = createTrainer(rule, { hidden: [24, 24], classes }) as Trainer & {
        labelScores(x: Tensor): Tensor;
      };
      const x = randn([rows, 784], { rng: new Rng(5) });
      return freshBuffersDuring(() => tidy(() => trainer.labelScores(x).data.slice()));
    };
    const two = fresh(2, 37);
    const ten = fresh(10, 41);
    assert.ok(ten < 1.5 * two, `${rule}: ten labels took ${ten} new buffers, two took ${two}`);
  }
});

test("a recurrent training step holds one settling step's graph at a time, not every step's", () => {
  // A first step's new storage is what it holds at its peak. Distinct sizes, so neither run
  // takes buffers the other gave back to the pool; many rows, so the graphs dominate.
  const width = 24;
  const firstStep = (scoredTo: number, rows: number) => {
    const trainer = createTrainer('ff-recurrent', {
      hidden: [width, width],
      scoredFrom: 1,
      scoredTo,
      iterations: 8,
    });
    trainer.plan(1);
    const [{ x, y }] = batches(1, rows);
    const before = poolStats().freshBytes;
    trainer.step(x, y);
    const parameters = trainer.model.parameters().reduce((n, p) => n + p.size, 0);
    return { bytes: poolStats().freshBytes - before, parameters };
  };
  const rows = 201;
  const two = firstStep(2, rows - 1);
  const eight = firstStep(8, rows);
  // What a further step may keep to the end of the training step: the parameters' summed
  // gradients and the layers' (detached) activities, positive and negative rows.
  const perStep = 4 * (two.parameters + 2 * rows * 2 * width);
  assert.ok(
    eight.bytes <= two.bytes + 6 * perStep,
    `eight scored steps took ${eight.bytes} new bytes, two took ${two.bytes}, allowed ${6 * perStep} more`,
  );
});
