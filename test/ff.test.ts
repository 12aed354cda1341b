// Forward-Forward: negatives never carry the true label, no gradient crosses a layer, both
// inference modes match a case worked by hand, checkpoints resume exactly, and it learns.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topologicalOrder } from '../src/autodiff/reverse.js';
import { loadDataset } from '../src/data/datasets.js';
import { fitNormalization } from '../src/data/loader.js';
import { ChainruleError } from '../src/errors.js';
import { trainingData } from '../src/learn/data.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import {
  FF_PRESETS,
  type FFConfig,
  type FFTrainer,
  forwardForward,
  labelValueFor,
  sampleNegativeLabels,
} from '../src/learn/rules/ff.js';
import type { TrainerSnapshot } from '../src/learn/types.js';
import { graphMemory, resetGraphPeak } from '../src/ops/dispatch.js';
import { Rng } from '../src/tensor/random.js';
import { randn, type Tensor, tensor } from '../src/tensor/tensor.js';
import { throughCheckpoint } from './helpers/checkpoint.js';

const createFF = (config: Partial<FFConfig>, options: { seed?: number; preset?: string } = {}) =>
  createTrainer('ff', config, options) as FFTrainer;
const restoreFF = (snapshot: TrainerSnapshot, source?: string) =>
  restoreTrainer('ff', snapshot, source) as FFTrainer;

import { assertClose } from './helpers/gradcheck.js';

const mnist = loadDataset('mnist');
const normalization = fitNormalization('unit', mnist.train);
const data = trainingData(mnist, { batchSize: 50, seed: 2, normalization, limit: 600, testLimit: 200 });
const batches = [...data.trainBatches(0)];

const softplus = (v: number) => Math.log1p(Math.exp(v));

test('negative labels are never the true label, uniform or hard', () => {
  const rng = new Rng(3);
  const classes = 10;
  const labels = Int32Array.from({ length: 2000 }, () => rng.int(classes));
  const uniform = sampleNegativeLabels('uniform', labels, randn([labels.length, classes], { rng }), rng);
  assert.ok(uniform.every((label, i) => label !== labels[i] && label >= 0 && label < classes));
  const seen = new Set([...uniform].filter((_, i) => labels[i] === 4));
  assert.equal(seen.size, 9, 'every wrong class is drawn for label 4');

  // The head is sure of the true class (logit 50), which must still never be drawn; among the
  // wrong ones class (label + 1) % 10 dominates with weight e^5 against 1 for each other.
  const logits = new Float32Array(labels.length * classes);
  labels.forEach((label, r) => {
    logits[r * classes + label] = 50;
    logits[r * classes + ((label + 1) % classes)] = 5;
  });
  const hard = sampleNegativeLabels('hard', labels, tensor(logits, { shape: [labels.length, classes] }), rng);
  assert.ok(hard.every((label, i) => label !== labels[i] && label >= 0 && label < classes));
  const favourite = hard.filter((label, i) => label === (labels[i] + 1) % classes).length / labels.length;
  const expected = Math.exp(5) / (Math.exp(5) + 8);
  assert.ok(
    Math.abs(favourite - expected) < 0.02,
    `hard negatives follow the masked softmax (${favourite} vs ${expected})`,
  );
});

test('a layer loss graph reaches its own layer parameters and nothing else', () => {
  const trainer = createFF({ inputs: 20, classes: 4, hidden: [8, 8, 8] }, { seed: 1 });
  const x = randn([6, 20], { rng: new Rng(2) });
  const labels = Int32Array.from([0, 1, 2, 3, 0, 1]);
  const negatives = Int32Array.from([1, 2, 3, 0, 3, 2]);
  const layers = [...trainer.layerObjectives(x, labels, negatives)].map((objective) => {
    const leaves = new Set<Tensor>();
    for (const t of topologicalOrder(objective.loss)) {
      for (const input of t.node!.inputs) if (!input.node && input.requiresGrad) leaves.add(input);
    }
    const own = trainer.layers[objective.layer].parameters();
    assert.deepEqual(
      [...leaves].map((t) => t.id).sort(),
      own.map((t) => t.id).sort(),
      `layer ${objective.layer + 1}'s loss depends on exactly its weight and bias`,
    );
    return objective;
  });
  assert.equal(layers.length, 3);
  // Backward through one layer's loss leaves every other parameter's gradient untouched.
  layers[1].loss.backward();
  const withGrad = [...trainer.layers, trainer.head].map((l) => l.weight.grad !== null);
  assert.deepEqual(withGrad, [false, true, false, false]);
});

/**
 * Two classes, four inputs (two label pixels, two image pixels), hidden [2, 2], weights set by
 * hand: W1 = [[1,0,1,0],[0,1,0,1]], W2 = [[1,-1],[0,1]], zero biases.
 */
function handNetwork(readoutFrom: number): FFTrainer {
  const trainer = createFF(
    {
      inputs: 4,
      classes: 2,
      hidden: [2, 2],
      readoutFrom,
      labelValue: 1,
      peerNormalization: 0,
      goodness: 'sum',
      temperature: 1,
    },
    { seed: 0 },
  );
  trainer.layers[0].weight.data.set([1, 0, 1, 0, 0, 1, 0, 1]);
  trainer.layers[1].weight.data.set([1, -1, 0, 1]);
  for (const layer of trainer.layers) layer.bias!.data.fill(0);
  return trainer;
}

test('goodness per label and the softmax head match a network worked by hand', () => {
  const x = tensor([[0, 0, 1, 1]]);
  // Label 0: input [1,0,1,1] has root mean square √3/2, so layer 1 sees (2/√3)·[1,0,1,1] and gives
  // [4/√3, 2/√3], whose normalised form is [4, 2]/√10; layer 2 gives [2/√10, 2/√10]: goodness 0.8.
  // Label 1: layer 1 gives [2/√3, 4/√3] -> [2, 4]/√10; layer 2 gives [0, 4/√10]: goodness 1.6.
  // Layer 1's goodness is 20/3 for either label; it counts only when readoutFrom is 1.
  const trainer = handNetwork(2);
  assertClose(trainer.labelScores(x).data, [0.8, 1.6], { rtol: 1e-5 });
  assertClose(trainer.scores(x, 'goodness').data, [0.8, 1.6], { rtol: 1e-5 });
  assertClose(handNetwork(1).labelScores(x).data, [0.8 + 20 / 3, 1.6 + 20 / 3], { rtol: 1e-5 });

  // Neutral label [0.5, 0.5]: layer 1 gives equal units -> [1, 1]; layer 2 gives [0, 1], normalised
  // [0, √2]. With head W = I and b = [0.5, 0] the logits are [0.5, √2].
  trainer.head.weight.data.set([1, 0, 0, 1]);
  trainer.head.bias!.data.set([0.5, 0]);
  assertClose(trainer.scores(x, 'softmax').data, [0.5, Math.SQRT2], { rtol: 1e-5 });
  assertClose(trainer.scores(x).data, [0.5, Math.SQRT2], { rtol: 1e-5 }, 'the configured mode is softmax');

  // Positive label 1 and negative label 0, θ = width = 2: layer 2's loss is
  // softplus(2 - 1.6) + softplus(0.8 - 2); layer 1's is softplus(2 - 20/3) + softplus(20/3 - 2).
  const losses = [...trainer.layerObjectives(x, Int32Array.of(1), Int32Array.of(0))].map((o) =>
    o.loss.item(),
  );
  assertClose(losses, [softplus(2 - 20 / 3) + softplus(20 / 3 - 2), softplus(0.4) + softplus(-1.2)], {
    rtol: 1e-5,
  });
});

test('a checkpoint rebuilds the network, the optimiser and the negative sampler exactly', () => {
  const trainer = createFF({ hidden: [40, 30] }, { seed: 4 });
  trainer.plan(12);
  for (const { x, y } of batches.slice(0, 4)) trainer.step(x, y);
  const restored = restoreFF(
    throughCheckpoint(trainer, { normalization, step: 4, seed: 4, batchSize: 50, limit: 600 }),
  );
  restored.plan(12);
  const { x, y } = batches[5];
  for (const mode of ['goodness', 'softmax'] as const) {
    assert.deepEqual([...restored.scores(x, mode).data], [...trainer.scores(x, mode).data], mode);
  }
  // Equal next steps need the same Adam moments, schedule position, peer means and sampler state.
  assert.equal(restored.step(x, y).loss, trainer.step(x, y).loss);
  assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data]);
  assert.equal(restored.describe(), trainer.describe());
  const snapshot = trainer.snapshot();
  const reshaped = { ...snapshot, architecture: { ...snapshot.architecture, hidden: [40, 20] } };
  assert.throws(
    () => restoreFF(reshaped, 'run.safetensors'),
    /run.safetensors: the tensors do not fit .*'layers.1.weight' has shape \[30, 40\], expected \[20, 40\]/,
  );
});

test('training lowers the loss and keeps one layer of graph alive at a time', () => {
  const trainer = createFF({ hidden: [64, 64, 64], schedule: 'constant' }, { seed: 7 });
  trainer.plan(36);
  const oneLayer = (() => {
    const before = graphMemory.liveBytes;
    const first = trainer
      .layerObjectives(batches[0].x, batches[0].y.data as Int32Array, new Int32Array(50).fill(0))
      .next();
    const bytes = graphMemory.liveBytes - before;
    (first.value as { loss: Tensor }).loss.backward();
    for (const layer of trainer.layers) layer.weight.grad = layer.bias!.grad = null;
    return bytes;
  })();
  const losses: number[] = [];
  resetGraphPeak();
  const floor = graphMemory.liveBytes;
  for (let epoch = 0; epoch < 3; epoch++) {
    for (const { x, y } of data.trainBatches(epoch)) {
      const result = trainer.step(x, y, { layerStats: true });
      losses.push(result.loss);
      assert.equal(result.layers?.length, 3);
      for (const layer of result.layers!)
        assert.ok(Number.isFinite(layer.goodnessPositive! + layer.goodnessNegative! + layer.activationNorm!));
    }
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(
    mean(losses.slice(-6)) < 0.8 * mean(losses.slice(0, 6)),
    `loss falls (${mean(losses.slice(0, 6))} -> ${mean(losses.slice(-6))})`,
  );
  assert.ok(
    graphMemory.peakBytes - floor < 1.5 * oneLayer,
    `peak graph ${graphMemory.peakBytes - floor} B vs one layer ${oneLayer} B`,
  );
});

test('a preset chosen by name keeps its settings unless the user overrides them', () => {
  const build = (overrides: { lr?: number; hidden?: number[] }) =>
    createTrainer('ff', { hidden: [4, 4], ...overrides }, { normalization, preset: 'hinton' }).snapshot()
      .hyperparameters as Record<string, unknown>;
  const hinton = build({});
  for (const key of ['optimizer', 'lr', 'weightDecay', 'goodness', 'temperature'] as const)
    assert.deepEqual(hinton[key], FF_PRESETS.hinton.config[key], key);
  assert.equal(hinton.labelValue, 1, "Hinton's label pixel on [0, 1] inputs");
  assert.equal(build({ lr: 0.02 }).lr, 0.02);
  assert.equal('batchSize' in hinton || 'epochs' in hinton, false, 'run settings live in the run');
  assert.deepEqual(forwardForward.presets.hinton.run, { epochs: 100, batchSize: 100, normalization: 'unit' });
  assert.equal(forwardForward.presets.default.run.normalization, 'standardize');
});

test('presets are valid and bad settings are refused with the fix', () => {
  for (const [name, preset] of Object.entries(FF_PRESETS)) {
    // Locally connected presets take one width per receptive field, filling each grid evenly.
    const hidden = preset.config.receptiveFields ? [16, 9, 4] : [4, 4];
    assert.doesNotThrow(() => createFF({ ...preset.config, hidden }), name);
  }
  assert.equal(FF_PRESETS.supervised.config.hidden.length, 4);
  assert.throws(() => createFF({ hiden: [10] } as never, { seed: 0 }), /unknown setting hiden/);
  assert.throws(
    () => createFF({ hidden: [10], readoutFrom: 2 }, { seed: 0 }),
    /readoutFrom is 2 but there is 1 hidden layer/,
  );
  assert.throws(
    () => createFF({ negatives: 'easy' as never }, { seed: 0 }),
    /negatives must be one of uniform, hard, hybrid, got "easy"/,
  );
  const trainer = createFF({ hidden: [4, 4] }, { seed: 0 });
  assert.throws(() => trainer.scores(randn([2, 10])), /must be \[batch, 784\]/);
  assert.throws(() => trainer.step(batches[0].x, tensor([12], { dtype: 'int32' })), ChainruleError);
  assert.equal(labelValueFor(normalization), 1);
  assertClose([labelValueFor(fitNormalization('standardize', mnist.train))], [(1 - 0.1307) / 0.3081], {
    rtol: 1e-3,
  });
});
