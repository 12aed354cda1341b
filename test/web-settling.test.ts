import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChainruleError } from '../src/errors.js';
import { createTrainer } from '../src/learn/registry.js';
import { Rng } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Settling } from '../web/src/protocol.js';
import {
  layerActivity,
  layerScale,
  relativeChanges,
  settlingOf,
  unitGrid,
  winner,
} from '../web/src/settling.js';

const rng = new Rng(5);
const image = (rows: number) =>
  new Tensor(
    Float32Array.from({ length: rows * 784 }, () => rng.uniform()),
    [rows, 784],
  );
const recurrent = () => createTrainer('ff-recurrent', { hidden: [16, 12] }, { preset: 'quick', seed: 1 });

test('the worker sends how the recurrent net settles: every label, step and layer, and the rule’s own scores', () => {
  const trainer = recurrent();
  const x = image(1);
  const s = settlingOf(trainer, x);
  assert.deepEqual(s.widths, [16, 12]);
  assert.equal(s.steps, 8);
  assert.deepEqual(s.scored, [3, 5]);
  assert.equal(s.activity.length, 10, 'one run per label');
  for (const label of [0, 6]) {
    const steps = trainer.settle!(x, label);
    for (let t = 0; t < s.steps; t++)
      for (const [layer, activity] of steps[t].entries())
        assert.deepEqual(
          [...layerActivity(s, label, t, layer)],
          [...activity.data],
          `label ${label} step ${t + 1}`,
        );
  }
  // The curves the page draws add up, over the scored steps, to the scores the rule predicts by.
  for (const [label, goodness] of s.goodness.entries()) {
    const scored = goodness.slice(s.scored[0] - 1, s.scored[1]).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(scored - s.scores[label]) <= 1e-4 * s.scores[label], `label ${label}`);
  }
  assert.deepEqual(s.scores, [...trainer.labelScores!(x).data]);
});

test('only a net that settles, one image at a time, is settled', () => {
  assert.throws(
    () => settlingOf(createTrainer('bp', { hidden: [8] }), image(1)),
    (e: Error) => e instanceof ChainruleError && /bp does not settle over time steps/.test(e.message),
  );
  assert.throws(() => settlingOf(recurrent(), image(2)), /one image at a time, got a batch of 2/);
});

/** One layer of two units over three steps, one label. */
const tiny = (values: number[][]): Settling => ({
  widths: [2],
  steps: values.length,
  scored: [1, values.length],
  activity: [Float32Array.from(values.flat())],
  goodness: [values.map((v) => v[0] ** 2 + v[1] ** 2)],
  scores: [0],
});

test('each step’s change is relative to the layer’s size, from zero before the first step', () => {
  const changes = relativeChanges(
    tiny([
      [3, 4],
      [3, 4.5],
      [3, 4.5],
    ]),
    0,
    0,
  );
  assert.deepEqual(
    changes.map((c) => Number(c.toFixed(6))),
    [1, Number((0.5 / Math.hypot(3, 4.5)).toFixed(6)), 0],
  );
  assert.deepEqual(relativeChanges(tiny([[0, 0]]), 0, 0), [0], 'a silent layer has not changed');
  assert.equal(
    layerScale(
      tiny([
        [1, 2],
        [5, 0],
      ]),
      0,
    ),
    5,
  );
});

test('a layer’s grid holds every unit, about twice as wide as high', () => {
  for (const width of [1, 12, 128, 2000]) {
    const { cols, rows } = unitGrid(width);
    assert.ok(cols * rows >= width && cols * (rows - 1) < width, `${width}: ${cols}x${rows}`);
    assert.ok(cols >= rows && cols <= 2 * rows + 2, `${width}: ${cols}x${rows}`);
  }
  assert.deepEqual(unitGrid(128), { cols: 16, rows: 8 });
  assert.equal(winner([1, 4, 2]), 1);
});
