// The learning rules as one table: every descriptor resolves, builds, snapshots and restores
// the same way; a checkpoint's description is checked field by field before anything is built;
// the run set-up is shared, and refuses what would silently change a resumed run.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../src/data/datasets.js';
import { DataLoader, fitNormalization, parseNormalization } from '../src/data/loader.js';
import { decodeCheckpoint, encodeCheckpoint, snapshotOf } from '../src/learn/checkpoint.js';
import { evaluate } from '../src/learn/loop.js';
import { ALGORITHMS, createTrainer, resolveConfig, restoreTrainer, rule } from '../src/learn/registry.js';
import { planRun } from '../src/learn/run.js';
import type { Algorithm, TrainerSnapshot } from '../src/learn/types.js';
import { Rng } from '../src/tensor/random.js';
import { rand, Tensor } from '../src/tensor/tensor.js';
import { smallConfigs } from './helpers/small-configs.js';

const mnist = loadDataset('mnist');
const small = smallConfigs(8);

function batch(size = 8) {
  const rng = new Rng(1);
  return {
    x: rand([size, 784], { rng }),
    y: new Tensor(
      Int32Array.from({ length: size }, () => rng.int(10)),
      [size],
    ),
  };
}

/** A snapshot written to checkpoint bytes and read back, with `edit` applied to its metadata first. */
function tampered(algo: Algorithm, edit: (s: TrainerSnapshot) => TrainerSnapshot): TrainerSnapshot {
  const trainer = createTrainer(algo, small[algo]);
  trainer.plan(4);
  const { x, y } = batch();
  trainer.step(x, y);
  const bytes = encodeCheckpoint(algo, edit(trainer.snapshot()), {
    dataset: 'mnist',
    normalization: fitNormalization('unit', mnist.train),
    epoch: 1,
    step: 1,
    metrics: {},
    run: { seed: 0, batchSize: 8, epochs: 1, limit: 8 },
  });
  return snapshotOf(decodeCheckpoint(bytes, 'bad.safetensors'));
}

test('every rule builds from its presets, and a snapshot restores it to the same scores', () => {
  for (const algo of ALGORITHMS) {
    const r = rule(algo);
    assert.equal(r.name, algo);
    for (const preset of Object.keys(r.presets)) {
      const config = resolveConfig(r, { preset, config: small[algo] }, algo) as Record<string, unknown>;
      assert.equal('epochs' in config || 'batchSize' in config, false, `${algo} ${preset}: no run settings`);
    }
    const trainer = createTrainer(algo, small[algo], { seed: 2 });
    trainer.plan(4);
    const { x, y } = batch();
    trainer.step(x, y);
    const restored = restoreTrainer(
      algo,
      tampered(algo, (s) => s),
      'file',
    );
    assert.equal(restored.describe(), createTrainer(algo, small[algo]).describe());
    for (const mode of r.capabilities.inferenceModes) {
      assert.equal(restored.scores(x, mode).shape.join(), '8,10', `${algo} ${mode}`);
    }
    assert.equal(typeof restored.labelScores === 'function', r.capabilities.labelScores !== null, algo);
    const { architecture, hyperparameters } = trainer.snapshot();
    for (const key of Object.keys(architecture))
      assert.equal(key in hyperparameters, false, `${algo}: ${key} is written once, in the architecture`);
  }
});

test('every rule takes every optimiser, and a preset from its own list only', () => {
  for (const algo of ALGORITHMS) {
    for (const optimizer of ['adam', 'adamw', 'sgd'] as const) {
      const trainer = createTrainer(algo, { ...small[algo], optimizer });
      trainer.plan(2);
      const { x, y } = batch();
      assert.ok(Number.isFinite(trainer.step(x, y).loss), `${algo} with ${optimizer}`);
    }
  }
  assert.throws(
    () => createTrainer('bp', {}, { preset: 'hinton' }),
    /^ChainruleError: preset \(for bp\) must be one of default, cnn, quick/,
  );
});

test("a checkpoint's metadata is checked by name before anything is built", () => {
  const cases: [Algorithm, (s: TrainerSnapshot) => unknown, RegExp][] = [
    [
      'bp',
      (s) => ({ ...s, architecture: null }),
      /bad.safetensors: architecture must be an object, got null/,
    ],
    ['ff', (s) => ({ ...s, resume: null }), /bad.safetensors: resume must be an object, got null/],
    [
      'bp',
      (s) => ({ ...s, architecture: { ...s.architecture, hidden: [1e8] } }),
      /bad.safetensors: architecture.hidden\[0\] must be an integer from 1 to 16384, got 100000000/,
    ],
    [
      'fg',
      (s) => ({ ...s, architecture: { ...s.architecture, kind: 'transformer' } }),
      /architecture.kind must be one of mlp, ff-stack, cnn, local-mlp, fa-mlp, dfa-mlp, ff-recurrent, got "transformer"/,
    ],
    [
      'bp',
      (s) => ({ ...s, hyperparameters: { ...s.hyperparameters, lr: 'abc' } }),
      /bad.safetensors: hyperparameters.lr must be a number > 0, got "abc"/,
    ],
    [
      'ff',
      (s) => withGroup(s, { lr: 'abc' }),
      /bad.safetensors: resume.optimizer: Adam.loadStateDict: paramGroups\[0\].lr must be a number >= 0, got "abc"/,
    ],
    [
      'bp',
      (s) => withGroup(s, { betas: [5, -1] }),
      /bad.safetensors: resume.optimizer: Adam.loadStateDict: paramGroups\[0\]: betas\[0\] must be a number in \[0, 1\), got 5/,
    ],
    ['fg', (s) => ({ ...s, resume: { ...s.resume, rng: 'x' } }), /resume.rng must be the sampler's state/],
    [
      'ff',
      (s) => ({ ...s, inference: 'vote' }),
      /bad.safetensors: inference must be one of softmax, goodness/,
    ],
  ];
  for (const [algo, edit, message] of cases) {
    const snapshot = tampered(algo, edit as (s: TrainerSnapshot) => TrainerSnapshot);
    assert.throws(() => restoreTrainer(algo, snapshot, 'bad.safetensors'), message, message.source);
  }
});

function withGroup(s: TrainerSnapshot, change: object): TrainerSnapshot {
  const optimizer = s.resume.optimizer as { paramGroups: object[] };
  const paramGroups = optimizer.paramGroups.map((g, i) => (i === 0 ? { ...g, ...change } : g));
  return { ...s, resume: { ...s.resume, optimizer: { ...optimizer, paramGroups } } };
}

test('checkpoints of format 1 are read by rewriting them, and score as they did', () => {
  // Format 1 predates every rule but these three.
  for (const algo of ['bp', 'ff', 'fg']) {
    const path = join(
      import.meta.dirname,
      '..',
      '..',
      'test',
      'fixtures',
      'checkpoints',
      `${algo}-format1.safetensors`,
    );
    const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
    assert.equal(checkpoint.metadata.version, 2);
    const trainer = restoreTrainer(checkpoint.metadata.algorithm, snapshotOf(checkpoint), path);
    const normalization = parseNormalization(checkpoint.metadata.normalization, path);
    const test = new DataLoader(mnist.test, { batchSize: 1000, normalize: normalization });
    assert.equal(evaluate(trainer, test).accuracy, checkpoint.metadata.metrics.testAccuracy, algo);
  }
});

test('sizes are checked against the tensors before a network is allocated', () => {
  // 1,000,000 units would allocate 3 GB of weights and moments before the load failed.
  const snapshot = tampered('bp', (s) => ({ ...s, architecture: { ...s.architecture, hidden: [16_000] } }));
  const before = process.memoryUsage().rss;
  assert.throws(
    () => restoreTrainer('bp', snapshot, 'big.safetensors'),
    /big.safetensors: the tensors do not fit the architecture .*'0.weight' has shape \[8, 784\], expected \[16000, 784\]/,
  );
  assert.ok(process.memoryUsage().rss - before < 20e6, 'nothing the size of the network was allocated');
});

test('a batch too small for batch normalisation is refused by the run set-up, named as the caller names it', () => {
  const open = () => mnist;
  const request = { settings: { batchSize: 1, limit: 100 } };
  assert.throws(
    () => planRun({ ...request, label: (f) => (f === 'batchSize' ? 'Backprop batch size' : f) }, open),
    /^ChainruleError: Backprop batch size 1: bp here has batch normalisation, which needs at least 2 examples in every batch; use 2 or more/,
  );
  assert.throws(
    () => planRun({ ...request, algorithm: 'fg' }, open),
    /batchSize 1: fg here has batch normalisation/,
  );
  assert.doesNotThrow(() => planRun({ ...request, algorithm: 'ff', config: { hidden: [8, 8] } }, open));
});

test('a checkpoint records the run settings once, as they ran', () => {
  const open = () => mnist;
  const run = planRun({ algorithm: 'fg', settings: { batchSize: 50, epochs: 2, limit: 100 } }, open);
  const { metadata } = decodeCheckpoint(run.checkpoint(4, undefined), 'memory');
  assert.deepEqual(metadata.run, {
    seed: 0,
    batchSize: 50,
    epochs: 2,
    limit: 100,
    maxShift: 0,
    evalEvery: 1,
  });
  assert.equal(metadata.epoch, 2);
  for (const key of ['epochs', 'batchSize', 'limit', 'seed'])
    assert.equal(key in metadata.hyperparameters, false, `${key} is not a model setting`);
});

test('resuming takes more epochs, and refuses a change to the model or the run by name', () => {
  const open = () => mnist;
  const first = planRun(
    { algorithm: 'bp', config: { hidden: [8] }, settings: { limit: 256, epochs: 1 } },
    open,
  );
  const bytes = first.checkpoint(first.data.trainBatchCount, undefined);
  const resume = { checkpoint: decodeCheckpoint(bytes, 'run.safetensors'), source: 'run.safetensors' };
  const more = planRun({ resume, settings: { epochs: 3 } }, open);
  assert.equal(more.settings.epochs, 3);
  assert.equal(more.startStep, first.data.trainBatchCount);
  const refused: [object, RegExp][] = [
    [
      { settings: { epochs: 1 } },
      /epochs 1: run.safetensors has trained 1 epoch already; pass epochs 2 or more/,
    ],
    [{}, /run.safetensors has trained 1 epoch already, all of its run; pass epochs 2 or more/],
    [{ config: { hidden: [16] } }, /hidden \[16\] conflicts with run.safetensors, which has hidden \[8\]/],
    [{ config: { lr: 0.1 } }, /lr 0.1 conflicts with run.safetensors, which has lr 0.003/],
    [
      { settings: { batchSize: 64, epochs: 2 } },
      /batchSize 64 conflicts with run.safetensors, which has batchSize 128/,
    ],
    [
      { dataset: 'fashion-mnist', settings: { epochs: 2 } },
      /dataset "fashion-mnist" conflicts .* trained on mnist/,
    ],
    [{ algorithm: 'ff' }, /algorithm "ff" conflicts with run.safetensors, which has algorithm "bp"/],
    [{ preset: 'quick' }, /preset quick: a preset sets up a new run/],
  ];
  for (const [request, message] of refused)
    assert.throws(() => planRun({ resume, ...request }, open), message);
});
