// The backprop trainer: it learns, and a checkpoint rebuilds it exactly, optimiser included.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../src/data/datasets.js';
import { fitNormalization } from '../src/data/loader.js';
import { decodeCheckpoint, encodeCheckpoint, snapshotOf } from '../src/learn/checkpoint.js';
import { trainingData } from '../src/learn/data.js';
import { evaluate, lastEvaluated, type TrainEvent, trainLoop } from '../src/learn/loop.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';

const mnist = loadDataset('mnist');
const normalization = fitNormalization('standardize', mnist.train);
const data = trainingData(mnist, { batchSize: 64, seed: 1, normalization, limit: 3200, testLimit: 1000 });
const run = {
  dataset: 'mnist',
  normalization,
  epoch: 1,
  step: 20,
  metrics: {},
  run: { seed: 1, batchSize: 64, epochs: 1, limit: 1280 },
};

test('the seed network learns MNIST digits by backprop', async () => {
  const trainer = createTrainer('bp', { hidden: [64] }, { seed: 3 });
  const before = evaluate(trainer, data.testBatches()).accuracy;
  const events: string[] = [];
  const { history } = await trainLoop(trainer, data, { epochs: 1, onEvent: (e) => events.push(e.type) });
  assert.ok(before < 0.3, `untrained accuracy is near chance (${before})`);
  assert.ok(
    (history[0].testAccuracy ?? 0) > 0.8,
    `one epoch of 3,200 examples reaches 80% (${history[0].testAccuracy})`,
  );
  assert.deepEqual([events[0], events.at(-2), events.at(-1)], ['start', 'epoch', 'end']);
  assert.equal(trainer.describe(), '784-64-BN-tanh-10');
});

test('the smoothed loss runs on across epochs without the cliff the per-epoch mean makes', async () => {
  const trainer = createTrainer('bp', { hidden: [16] }, { seed: 3 });
  const progress: Extract<TrainEvent, { type: 'progress' }>[] = [];
  await trainLoop(trainer, data, {
    epochs: 2,
    onEvent: (e) => {
      if (e.type === 'progress') progress.push(e);
    },
  });
  const boundary = progress.findIndex((e) => e.epoch === 2);
  // The largest step between neighbours within either epoch, past its first few batches.
  const steady = progress.map((_, i) => i).filter((i) => (i > 5 && i < boundary) || i > boundary + 5);
  const largestStep = (key: 'loss' | 'smoothedLoss') =>
    Math.max(...steady.map((i) => Math.abs(progress[i][key] - progress[i - 1][key])));
  const across = (key: 'loss' | 'smoothedLoss') =>
    Math.abs(progress[boundary][key] - progress[boundary - 1][key]);
  assert.ok(
    across('loss') > 3 * largestStep('loss'),
    `the epoch mean restarts: ${across('loss')} at the boundary against ${largestStep('loss')} within`,
  );
  assert.ok(
    across('smoothedLoss') <= largestStep('smoothedLoss'),
    `the moving average steps ${across('smoothedLoss')} at the boundary, at most ${largestStep('smoothedLoss')} elsewhere`,
  );
  // Its first value is the first batch's loss (not pulled toward zero), the epoch mean's too.
  assert.equal(progress[0].smoothedLoss, progress[0].loss);
  assert.ok(progress.at(-1)!.smoothedLoss < progress[0].smoothedLoss / 2, 'it falls as the net learns');
});

test('per-layer statistics are computed only when a step asks for them', () => {
  const trainer = createTrainer('bp', { hidden: [8] }, { seed: 1 });
  const [{ x, y }] = [...data.trainBatches(0)];
  assert.equal(trainer.step(x, y).layers, undefined);
  const layers = trainer.step(x, y, { layerStats: true }).layers!;
  assert.deepEqual(
    layers.map((l) => l.name),
    ['0.weight', '1.weight', '3.weight'],
  );
  assert.ok(layers.every((l) => l.gradientNorm! > 0));
});

test('planning a second run restarts the schedule from the base rate, not the decayed one', () => {
  const trainer = createTrainer('bp', { hidden: [8], schedule: 'linear' }, { seed: 1 });
  const [{ x, y }] = [...data.trainBatches(0)];
  trainer.plan(4);
  const first = trainer.lr;
  for (let i = 0; i < 3; i++) trainer.step(x, y);
  assert.ok(trainer.lr < first / 2, `the rate decays over the run (${first} -> ${trainer.lr})`);
  trainer.plan(4);
  assert.equal(trainer.lr, first);
});

test('a checkpoint restores weights, BatchNorm statistics and optimiser state exactly', () => {
  const trainer = createTrainer('bp', { hidden: [32] }, { seed: 5 });
  trainer.plan(100);
  const batches = [...data.trainBatches(0)];
  for (const { x, y } of batches.slice(0, 5)) trainer.step(x, y);
  const bytes = encodeCheckpoint('bp', trainer.snapshot(), run);
  const decoded = decodeCheckpoint(bytes, 'memory');
  assert.equal(decoded.metadata.algorithm, 'bp');
  assert.deepEqual(decoded.metadata.run, run.run);
  const restored = restoreTrainer('bp', snapshotOf(decoded));
  restored.plan(100);
  const { x } = batches[6];
  assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data]);
  // The same next step on both gives the same weights only if Adam's moments and the schedule came back too.
  trainer.step(batches[7].x, batches[7].y);
  restored.step(batches[7].x, batches[7].y);
  assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data]);
});

test("a checkpoint that is not chainrule's is rejected with the reason", () => {
  const trainer = createTrainer('bp', { hidden: [8] }, { seed: 0 });
  const bytes = encodeCheckpoint('bp', trainer.snapshot(), run);
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 10), 'cut.safetensors'),
    /cut.safetensors is not a valid safetensors file/,
  );
});

test('a checkpoint whose architecture does not describe a network is rejected by name', () => {
  const snapshot = createTrainer('bp', { hidden: [8] }, { seed: 0 }).snapshot();
  const broken = { ...snapshot, architecture: { ...snapshot.architecture, hidden: 8 } };
  assert.throws(
    () => restoreTrainer('bp', broken as never, 'old.safetensors'),
    /old.safetensors: architecture.hidden must be a list of 1 to 64 layer widths/,
  );
});

test('--eval-every: the first, every Nth, the last and a stopped epoch are evaluated, and training is the same', async () => {
  const small = trainingData(mnist, { batchSize: 64, seed: 1, normalization, limit: 320, testLimit: 200 });
  const runFor = async (evalEvery: number) => {
    const trainer = createTrainer('bp', { hidden: [16] }, { seed: 3 });
    const evaluations: number[] = [];
    const { history } = await trainLoop(trainer, small, {
      epochs: 7,
      evalEvery,
      onEvent: (e) => {
        if (e.type === 'evaluation') evaluations.push(e.epoch);
      },
    });
    return { history, evaluations };
  };
  const every = await runFor(1);
  const spaced = await runFor(3);
  const evaluated = [1, 3, 6, 7];
  assert.deepEqual(spaced.evaluations, evaluated);
  for (const [i, m] of spaced.history.entries()) {
    const expected = evaluated.includes(m.epoch)
      ? every.history[i]
      : { trainAccuracy: null, testAccuracy: null };
    assert.deepEqual(
      [m.trainLoss, m.trainAccuracy, m.testAccuracy],
      [every.history[i].trainLoss, expected.trainAccuracy, expected.testAccuracy],
      `epoch ${m.epoch}`,
    );
  }
  assert.equal(lastEvaluated(spaced.history)?.epoch, 7);
  assert.equal(lastEvaluated([{ testAccuracy: 0.5 }, { testAccuracy: null }])?.testAccuracy, 0.5);
  // A stop is evaluated where it ends the run, on an epoch's last batch (here the fifth's).
  const stopAt = new AbortController();
  let batches = 0;
  const trainer = createTrainer('bp', { hidden: [16] }, { seed: 3 });
  const { history } = await trainLoop(trainer, small, {
    epochs: 7,
    evalEvery: 3,
    signal: stopAt.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && ++batches === 5 * small.trainBatchCount) stopAt.abort();
    },
  });
  assert.deepEqual(
    history.map((m) => m.testAccuracy !== null),
    [true, false, true, false, true],
  );
});
