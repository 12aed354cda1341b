// The Forward-Forward paper's rows: hybrid negatives mix two different digits through a smooth
// mask, the unsupervised layers learn without labels and without a gradient crossing a layer,
// and every paper preset's checkpoint restores the trainer exactly.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topologicalOrder } from '../src/autodiff/reverse.js';
import { loadDataset } from '../src/data/datasets.js';
import { blurredBits, hybridImages, hybridMask } from '../src/data/hybrid.js';
import { fitNormalization } from '../src/data/loader.js';
import { trainingData } from '../src/learn/data.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import { FF_PRESETS, type FFConfig, type FFTrainer } from '../src/learn/rules/ff.js';
import { Rng } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { throughCheckpoint } from './helpers/checkpoint.js';

const mnist = loadDataset('mnist');
const normalization = fitNormalization('unit', mnist.train);
const data = trainingData(mnist, { batchSize: 20, seed: 1, normalization, limit: 200, testLimit: 100 });
const batches = [...data.trainBatches(0)];
const PAPER_PRESETS = ['supervised', 'supervised-fast', 'jittered', 'unsupervised'] as const;

test('the blurred bit image is smooth and its threshold splits the image about in half', () => {
  const rng = new Rng(5);
  let nearHalf = 0;
  let ones = 0;
  let neighbourSteps = 0;
  let bitSteps = 0;
  const side = 28;
  const masks = 200;
  for (let m = 0; m < masks; m++) {
    const blurred = blurredBits(rng, side, side);
    const mask = hybridMask(new Rng(m), side, side);
    const bits = hybridMask(new Rng(m), side, side, 0);
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        const v = blurred[i * side + j];
        assert.ok(v >= 0 && v <= 1);
        if (Math.abs(v - 0.5) < 0.25) nearHalf++;
        ones += mask[i * side + j];
        if (j + 1 < side) {
          neighbourSteps += mask[i * side + j] ^ mask[i * side + j + 1];
          bitSteps += bits[i * side + j] ^ bits[i * side + j + 1];
        }
      }
    }
  }
  const pixels = masks * side * side;
  const pairs = masks * side * (side - 1);
  // Blurring pulls the random bits toward their local mean, 0.5: most values end near it.
  assert.ok(nearHalf / pixels > 0.8, `blurred values near 0.5: ${nearHalf / pixels}`);
  assert.ok(Math.abs(ones / pixels - 0.5) < 0.03, `the mask is about half ones: ${ones / pixels}`);
  // Raw bits change between neighbours half the time; the mask in large regions, rarely.
  assert.ok(Math.abs(bitSteps / pairs - 0.5) < 0.02, `raw bits flip ${bitSteps / pairs}`);
  assert.ok(neighbourSteps / pairs < 0.2, `mask flips between neighbours ${neighbourSteps / pairs}`);
});

test('a hybrid takes each pixel from one of two images of different digits, as its mask says', () => {
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const { images, partners, masks } = hybridImages(x, labels, new Rng(3), { height: 28, width: 28 });
  assert.deepEqual(images.shape, x.shape);
  let fromFirst = 0;
  for (let r = 0; r < x.shape[0]; r++) {
    assert.notEqual(labels[partners[r]], labels[r], `row ${r} is mixed with a different digit`);
    for (let p = 0; p < 784; p++) {
      const source = masks[r * 784 + p] ? r : partners[r];
      assert.equal(images.data[r * 784 + p], x.data[source * 784 + p]);
      fromFirst += masks[r * 784 + p];
    }
  }
  const share = fromFirst / (x.shape[0] * 784);
  assert.ok(share > 0.35 && share < 0.65, `both images contribute (${share} from the first)`);
  const again = hybridImages(x, labels, new Rng(3), { height: 28, width: 28 });
  assert.deepEqual([...again.images.data], [...images.data], 'seeded: the same negatives again');
  assert.throws(
    () => hybridImages(x.slice(0, 0, 1), labels.subarray(0, 1), new Rng(0), { height: 28, width: 28 }),
    /batch size of 2 or more/,
  );
});

const createFF = (preset: string, config: Partial<FFConfig> = {}) =>
  createTrainer('ff', { hidden: [12, 10, 8, 6], ...config }, { seed: 3, preset, normalization }) as FFTrainer;

test('unsupervised layers see no label, and no gradient crosses a layer', () => {
  const trainer = createFF('unsupervised');
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const negatives = hybridImages(x, labels, new Rng(1), { height: 28, width: 28 }).images;
  const objectives = [...trainer.layerObjectives(x, labels, negatives)];
  assert.equal(objectives.length, 4);
  for (const objective of objectives) {
    const leaves = new Set<Tensor>();
    for (const t of topologicalOrder(objective.loss))
      for (const input of t.node!.inputs) if (!input.node && input.requiresGrad) leaves.add(input);
    assert.deepEqual(
      [...leaves].map((t) => t.id).sort(),
      trainer.layers[objective.layer]
        .parameters()
        .map((t) => t.id)
        .sort(),
      `layer ${objective.layer + 1}'s loss reaches its own weight and bias only`,
    );
  }
  // The label never reaches the layers: any labels give the same activities.
  const other = Int32Array.from(labels, (l) => (l + 3) % 10);
  const again = createFF('unsupervised');
  const shuffled = [...again.layerObjectives(x, other, negatives)];
  assert.deepEqual([...shuffled[3].activity.data], [...objectives[3].activity.data]);
  assert.throws(() => trainer.scores(x, 'goodness'), /learned without labels.*use inference 'softmax'/);
  assert.throws(
    () => createFF('unsupervised', { inference: 'goodness' }),
    /inference: 'hybrid' negatives train the layers without labels/,
  );
  assert.throws(() => createFF('unsupervised', { inputs: 780 }), /780 is not a square image/);
});

test('every paper preset trains a step and its checkpoint restores it exactly', () => {
  for (const name of PAPER_PRESETS) {
    const trainer = createFF(name);
    trainer.plan(6);
    for (const { x, y } of batches.slice(0, 2)) trainer.step(x, y);
    const restored = restoreTrainer(
      'ff',
      throughCheckpoint(trainer, { normalization, step: 2, seed: 3, batchSize: 20, limit: 200 }),
    ) as FFTrainer;
    restored.plan(6);
    const { x, y } = batches[3];
    assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data], `${name}: scores`);
    assert.equal(restored.step(x, y).loss, trainer.step(x, y).loss, `${name}: the next step`);
    assert.equal(restored.inference, FF_PRESETS[name].config.inference, name);
  }
  assert.equal(FF_PRESETS['supervised-fast'].config.lr, 2 * FF_PRESETS.supervised.config.lr);
  assert.equal(FF_PRESETS.jittered.run.maxShift, 2);
});
