// The convolutional network by backprop (`--model cnn`) end to end: train with shifted
// images, eval, predict and resume on its checkpoint, its snapshot round trip, the network
// view's boxes, and the errors for settings that do not fit it.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadDataset } from '../src/data/datasets.js';
import { noGrad, Rng, randn, tensor } from '../src/index.js';
import { decodeCheckpoint } from '../src/learn/checkpoint.js';
import { inputShapeOf } from '../src/learn/models.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import { layerBoxes } from '../web/src/network-model.js';
import { throughCheckpoint } from './helpers/checkpoint.js';
import { cli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'chainrule-cnn-'));
const out = join(work, 'run');
const checkpoint = join(out, 'checkpoint.safetensors');

const metrics = () =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const metadata = () => decodeCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint).metadata;

// 3,000 shifted examples, one epoch, a narrow network: a few seconds.
const QUICK = ['--model', 'cnn', '--limit', '3000', '--batch-size', '100', '--hidden', '32', '--shift', '2'];

before(() => {
  const r = cli('train', ...QUICK, '--epochs', '1', '--out', out);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('train --model cnn learns far above chance and checkpoints the CNN and its shifts', () => {
  const [m] = metrics();
  assert.ok(m.testAccuracy > 0.7, `a CNN on 3,000 examples learns (test accuracy ${m.testAccuracy})`);
  const { architecture, run } = metadata();
  assert.deepEqual(architecture, {
    kind: 'cnn',
    inputs: 784,
    channels: [16, 32],
    kernelSize: 5,
    hidden: [32],
    classes: 10,
  });
  assert.equal(run.maxShift, 2);
});

test('eval reports the checkpoint accuracy the training saw', () => {
  const r = cli('eval', '--checkpoint', checkpoint, '--json');
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.accuracy, metrics()[0].testAccuracy);
  const text = cli('eval', '--checkpoint', checkpoint).stdout;
  assert.match(text, /28x28-conv5x5x16-pool-conv5x5x32-pool-32-10 trained by bp/);
});

test('predict classifies a 28x28 PNG with the CNN', () => {
  const { test: split } = loadDataset('mnist');
  const png = new PNG({ width: 28, height: 28 });
  // Test image 0 is a 7.
  for (let i = 0; i < 784; i++) png.data.set([split.images[i], split.images[i], split.images[i], 255], 4 * i);
  const image = join(work, 'seven.png');
  writeFileSync(image, PNG.sync.write(png));
  const r = cli('predict', '--checkpoint', checkpoint, image, '--json');
  assert.equal(r.code, 0, r.stderr);
  const [result] = JSON.parse(r.stdout);
  assert.equal(result.prediction, '7');
});

test('--resume continues the CNN run with its saved shifts', () => {
  const r = cli('train', '--resume', checkpoint, '--epochs', '2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(metrics().length, 2);
  assert.equal(metadata().run.maxShift, 2);
  assert.equal(metadata().architecture.kind, 'cnn');
  const conflict = cli('train', '--resume', checkpoint, '--model', 'mlp', '--epochs', '3');
  assert.equal(conflict.code, 2);
  assert.match(conflict.stderr, /--model "mlp" conflicts with .*, which has model "cnn"; drop --model/);
});

test('settings that do not fit the CNN are refused with one line', () => {
  const cases: [string[], RegExp][] = [
    [['--algo', 'ff', '--model', 'cnn'], /ff settings: unknown setting model/],
    [['--model', 'rnn'], /bp settings.model must be one of mlp, cnn, got "rnn"/],
    [['--model', 'cnn', '--shift=-1'], /--shift must be an integer from 0 to 1024, got "-1"/],
    [['--model', 'cnn', '--shift', '28'], /maxShift must be an integer from 0 to 27 pixels/],
  ];
  for (const [args, message] of cases) {
    const r = cli('train', ...args, '--limit', '100', '--epochs', '1');
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('the CNN trainer takes images, and its snapshot rebuilds the same network', () => {
  const trainer = createTrainer('bp', { hidden: [16], channels: [4, 8] }, { seed: 1, preset: 'cnn' });
  assert.deepEqual(inputShapeOf(trainer.architecture), [1, 28, 28]);
  const rng = new Rng(2);
  const x = randn([6, 1, 28, 28], { rng });
  trainer.plan(1);
  trainer.step(x, tensor(new Int32Array([0, 1, 2, 3, 4, 5])));
  const normalization = { kind: 'unit', mean: 0, std: 1 } as const;
  const restored = restoreTrainer(
    'bp',
    throughCheckpoint(trainer, { normalization, step: 1, seed: 1, batchSize: 6, limit: 6 }),
  );
  assert.equal(restored.describe(), '28x28-conv5x5x4-pool-conv5x5x8-pool-16-10');
  assert.deepEqual(noGrad(() => restored.scores(x)).data, noGrad(() => trainer.scores(x)).data);
});

test('the network view draws the CNN stage by stage', () => {
  const trainer = createTrainer('bp', {}, { seed: 0, preset: 'cnn' });
  const boxes = layerBoxes(trainer.architecture);
  assert.deepEqual(
    boxes.map((b) => `${b.title} ${b.detail}`),
    [
      'Input 28×28 image',
      'Conv2d 1 → 16, 5×5',
      'ReLU 16×24×24',
      'MaxPool2d 2×2 → 12×12',
      'Conv2d 16 → 32, 5×5',
      'ReLU 32×8×8',
      'MaxPool2d 2×2 → 4×4',
      'Flatten 512',
      'Linear 512 → 128',
      'ReLU 128',
      'Linear 128 → 10',
      'Loss cross-entropy',
    ],
  );
  // Learning boxes carry the parameter names the trainer reports statistics under.
  const names = new Set(trainer.model.namedParameters().map(([n]) => n));
  for (const box of boxes.filter((b) => b.learns)) assert.ok(names.has(box.stats!), box.stats);
});

test('a CNN whose stages shrink the image to nothing is refused', () => {
  assert.throws(
    () => createTrainer('bp', { channels: [4, 4, 4] }, { seed: 0, preset: 'cnn' }),
    /3 stages of 5x5 convolutions and 2x2 pooling shrink a 28x28 image to nothing \(sides 28, 12, 4, 0\)/,
  );
});
