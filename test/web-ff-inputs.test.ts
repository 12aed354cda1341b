import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTrainer } from '../src/learn/registry.js';
import type { FFTrainer } from '../src/learn/rules/ff.js';
import { tensor } from '../src/tensor/tensor.js';
import {
  type FFThresholdSettings,
  goodnessSamples,
  histogram,
  labelledImage,
  layerThresholds,
  negativeLabel,
  readoutThreshold,
} from '../web/src/ff-inputs.js';

test('the label is written over the first 10 pixels as a one-hot at full white', () => {
  const image = new Uint8Array(784).fill(40);
  const shown = labelledImage(image, 3, 10);
  assert.deepEqual([...shown.subarray(0, 11)], [0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 40]);
  assert.equal(image[3], 40, 'the original is left alone');
});

test('the negative label is never the true one, and varies with the example', () => {
  for (let truth = 0; truth < 10; truth++) {
    const wrong = new Set(Array.from({ length: 9 }, (_, i) => negativeLabel(truth, i, 10)));
    assert.ok(!wrong.has(truth));
    assert.equal(wrong.size, 9);
  }
});

const softplus = (v: number) => Math.log1p(Math.exp(v));

test('θ per layer is the one each layer loss judges its goodness against', () => {
  const x = tensor(
    Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 7) / 7),
    { shape: [4, 784] },
  );
  for (const goodness of ['mean', 'sum'] as const) {
    for (const threshold of [null, 0.7]) {
      const trainer = createTrainer(
        'ff',
        { hidden: [6, 5, 4], goodness, threshold, peerNormalization: 0 },
        { seed: 0 },
      ) as FFTrainer;
      // As the network view reads a loaded checkpoint's settings.
      const { hyperparameters, architecture } = trainer.snapshot();
      const settings = { ...hyperparameters, ...architecture } as unknown as FFThresholdSettings & {
        temperature: number;
      };
      const thetas = layerThresholds(settings);
      const objectives = [
        ...trainer.layerObjectives(x, new Int32Array([1, 2, 3, 4]), new Int32Array([5, 6, 7, 8])),
      ];
      for (const [i, { goodness: g, loss }] of objectives.entries()) {
        const margins = [...g.data].map((v) => (v - thetas[i]) / settings.temperature);
        const expected =
          margins.slice(0, 4).reduce((a, m) => a + softplus(-m), 0) / 4 +
          margins.slice(4).reduce((a, m) => a + softplus(m), 0) / 4;
        assert.ok(
          Math.abs(loss.item() - expected) < 1e-4,
          `${goodness} goodness, θ ${threshold}, layer ${i}`,
        );
      }
      assert.equal(
        readoutThreshold(settings),
        thetas.slice(settings.readoutFrom - 1).reduce((a, b) => a + b, 0),
      );
    }
  }
  assert.deepEqual(
    layerThresholds({ hidden: [6, 5], readoutFrom: 2, goodness: 'sum', threshold: null }),
    [6, 5],
  );
});

test('goodness samples: the true label positive, every wrong label negative', () => {
  const { positive, negative } = goodnessSamples([
    { label: 1, goodness: [0.5, 3, 0.25] },
    { label: 0, goodness: [2, 1, 0] },
  ]);
  assert.deepEqual(positive, [3, 2]);
  assert.deepEqual(negative, [0.5, 0.25, 1, 0]);
});

test('histograms count fractions per bin, ends included', () => {
  const { fractions, width } = histogram([0, 0.1, 0.5, 0.99, 1, 5, -3], 4, 0, 1);
  assert.equal(width, 0.25);
  assert.deepEqual(
    fractions.map((f) => f * 7),
    [3, 0, 1, 3],
  );
});
