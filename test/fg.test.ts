// Forward gradients: one forward-mode pass per direction and no reverse graph, an unbiased
// estimate of the gradient, the exact gradient column by column, checkpoints, and learning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jvpAt } from '../src/autodiff/forward.js';
import { backward } from '../src/autodiff/reverse.js';
import { loadDataset } from '../src/data/datasets.js';
import { fitNormalization } from '../src/data/loader.js';
import { trainingData } from '../src/learn/data.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import { exactGradientByForwardMode, forwardGradient } from '../src/learn/rules/fg.js';
import { Linear, Sequential, Tanh } from '../src/nn/layers.js';
import { graphMemory, resetGraphPeak } from '../src/ops/dispatch.js';
import { crossEntropy } from '../src/ops/nn.js';
import { Rng } from '../src/tensor/random.js';
import { randn, type Tensor, tensor } from '../src/tensor/tensor.js';
import { throughCheckpoint } from './helpers/checkpoint.js';
import { assertClose } from './helpers/gradcheck.js';

const mnist = loadDataset('mnist');
const normalization = fitNormalization('standardize', mnist.train);
const data = trainingData(mnist, { batchSize: 32, seed: 3, normalization, limit: 1600, testLimit: 200 });
const batches = [...data.trainBatches(0)];

/** A tiny classifier, its loss on a fixed batch, and the backprop gradient to compare against. */
function tinyProblem() {
  const rng = new Rng(5);
  const model = new Sequential(
    new Linear(3, 4, { rng, dtype: 'float64' }),
    new Tanh(),
    new Linear(4, 2, { rng, dtype: 'float64' }),
  );
  const x = randn([6, 3], { rng, dtype: 'float64' });
  const labels = [0, 1, 1, 0, 1, 0];
  const lossFn = () => crossEntropy(model.forward(x), labels);
  const params = model.parameters();
  backward(lossFn());
  const grads = params.map((p) => p.grad!);
  for (const p of params) p.grad = null;
  return { params, lossFn, grads };
}

const flat = (tensors: Tensor[]) => tensors.flatMap((t) => [...t.data]);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

test('a forward-mode pass over parameters records no reverse graph', () => {
  const { params, lossFn } = tinyProblem();
  resetGraphPeak();
  const live = graphMemory.liveBytes;
  const pass = jvpAt(
    lossFn,
    params.map((p): [Tensor, Tensor] => [p, randn(p.shape, { dtype: 'float64' })]),
  );
  assert.equal(pass.out.node, null);
  assert.equal(pass.tangent.node, null);
  assert.equal(graphMemory.peakBytes, live, 'no node was recorded');
  assert.ok(params.every((p) => p.grad === null));

  const trainer = createTrainer('fg', { hidden: [16], directions: 2 }, { seed: 1 });
  trainer.plan(10);
  resetGraphPeak();
  trainer.step(batches[0].x, batches[0].y);
  assert.equal(graphMemory.peakBytes, graphMemory.liveBytes, 'a training step records nothing either');
});

test('the exact gradient by forward mode (one pass per parameter element) equals backprop', () => {
  const { params, lossFn, grads } = tinyProblem();
  const byForward = exactGradientByForwardMode(lossFn, params);
  for (const [i, g] of byForward.entries())
    assertClose(g.data, grads[i].data, { rtol: 1e-10, atol: 1e-12 }, `parameter ${i}`);
});

test('the forward gradient is unbiased: its mean over directions approaches the gradient', () => {
  const { params, lossFn, grads } = tinyProblem();
  const truth = flat(grads);
  // One call with K directions averages K independent estimates (∇L·v)v.
  const relativeErrors = [30, 300, 3000].map((directions) => {
    const { gradient, directionalDerivatives } = forwardGradient(
      lossFn,
      params,
      new Rng(directions),
      directions,
    );
    assert.equal(directionalDerivatives.length, directions);
    const estimate = flat(gradient);
    const error = Math.sqrt(
      dot(
        estimate.map((v, i) => v - truth[i]),
        estimate.map((v, i) => v - truth[i]),
      ),
    );
    const cosine = dot(estimate, truth) / Math.sqrt(dot(estimate, estimate) * dot(truth, truth));
    return { error: error / Math.sqrt(dot(truth, truth)), cosine };
  });
  assert.ok(
    relativeErrors[2].cosine > 0.95,
    `cosine similarity with 3000 directions ${relativeErrors[2].cosine}`,
  );
  assert.ok(
    relativeErrors[0].error > relativeErrors[1].error && relativeErrors[1].error > relativeErrors[2].error,
    `relative error shrinks with more directions: ${relativeErrors.map((r) => r.error.toFixed(3)).join(', ')}`,
  );
  // The directional derivative itself is exact: ∇L·v from forward mode equals the dot product.
  const v = params.map((p) => randn(p.shape, { dtype: 'float64', rng: new Rng(9) }));
  const pass = jvpAt(
    lossFn,
    params.map((p, i) => [p, v[i]]),
  );
  assertClose([pass.tangent.item()], [dot(flat(v), truth)], { rtol: 1e-10 });
});

test('with several directions per step BatchNorm folds the batch into its statistics once', () => {
  const one = createTrainer('fg', { hidden: [8], directions: 1 }, { seed: 2 });
  const four = createTrainer('fg', { hidden: [8], directions: 4 }, { seed: 2 });
  for (const trainer of [one, four]) trainer.step(batches[0].x, batches[0].y);
  const stats = (t: typeof one) => t.model.buffers().map((b) => [...b.data]);
  assert.deepEqual(stats(four), stats(one));
});

test('a checkpoint rebuilds the model, the optimiser and the direction sampler exactly', () => {
  const trainer = createTrainer('fg', { hidden: [12], directions: 2 }, { seed: 6 });
  trainer.plan(20);
  for (const { x, y } of batches.slice(0, 3)) trainer.step(x, y);
  const restored = restoreTrainer(
    'fg',
    throughCheckpoint(trainer, { normalization, step: 3, seed: 6, batchSize: 32, limit: 1600 }),
  );
  restored.plan(20);
  const { x, y } = batches[4];
  assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data]);
  assert.equal(restored.step(x, y).loss, trainer.step(x, y).loss);
  assert.deepEqual(
    [...restored.scores(x).data],
    [...trainer.scores(x).data],
    'the same directions were drawn',
  );
  assert.equal(restored.describe(), '784-12-BN-tanh-10, forward gradients (2 directions per step)');
});

test('forward gradients lower the loss from the first steps', () => {
  const trainer = createTrainer('fg', {}, { seed: 8 });
  trainer.plan(2 * batches.length);
  const losses = [...batches, ...data.trainBatches(1)].map(({ x, y }) => trainer.step(x, y).loss);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(
    mean(losses.slice(-10)) < 0.85 * mean(losses.slice(0, 10)),
    `loss falls (${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))})`,
  );
  assert.throws(
    () => createTrainer('fg', { directions: 0 }, { seed: 0 }),
    /directions must be an integer from 1 to 4096, got 0/,
  );
  assert.throws(() => trainer.scores(tensor([[1, 2]])), /must be \[batch, 784\]/);
});
