// Training that breaks: a loss that explodes stops the run as NaN does, and anomaly mode names
// the op (and its shapes) that first made a NaN or infinity, in the forward or backward pass.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AnomalyError,
  backward,
  ChainruleError,
  createTrainer,
  detectAnomaly,
  matmul,
  setDetectAnomaly,
  Tensor,
  tensor,
  trainLoop,
} from '../src/index.js';
import { DIVERGENCE_FACTOR, type TrainingData } from '../src/learn/loop.js';
import type { Trainer } from '../src/learn/types.js';
import { BIN } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'chainrule-divergence-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A trainer whose steps report the given losses, over data of as many one-example batches. */
function scripted(losses: number[]): { trainer: Trainer; data: TrainingData } {
  let i = 0;
  const batch = { x: new Tensor(new Float32Array(1), [1, 1]), y: new Tensor(new Int32Array(1), [1]) };
  const trainer = {
    algorithm: 'bp',
    lr: 0.1,
    plan() {},
    step: () => ({ loss: losses[i++] }),
    scores: (x: Tensor) => new Tensor(new Float32Array(x.shape[0] * 2), [x.shape[0], 2]),
    probabilities: (x: Tensor) => new Tensor(new Float32Array(x.shape[0] * 2), [x.shape[0], 2]),
    describe: () => 'scripted',
    snapshot: () => assert.fail('not saved'),
  } as unknown as Trainer; // the loop asks for no more than these
  const batches = () => losses.map(() => batch);
  return {
    trainer,
    data: {
      trainBatches: batches,
      trainBatchCount: losses.length,
      testBatches: () => [batch],
      trainEvalBatches: () => [batch],
    },
  };
}

test('a loss that explodes stops the run with a message, as NaN does', async () => {
  const exploding = scripted([2.3, 2.1, 2.3 * DIVERGENCE_FACTOR + 1, 1]);
  await assert.rejects(
    trainLoop(exploding.trainer, exploding.data, { epochs: 1 }),
    (err: unknown) =>
      err instanceof ChainruleError &&
      /^training diverged: the loss rose to 231 at epoch 1, batch 3, more than 100 times its first value \(2\.30\); lower --lr$/.test(
        err.message,
      ),
  );
  const nan = scripted([2.3, Number.NaN]);
  await assert.rejects(
    trainLoop(nan.trainer, nan.data, { epochs: 1 }),
    /the loss became NaN at epoch 1, batch 2; lower --lr/,
  );
  // Small losses may grow a lot in relative terms without counting as divergence (floor of 1).
  const small = scripted([0.01, 0.5, 50]);
  const { history } = await trainLoop(small.trainer, small.data, { epochs: 1 });
  assert.equal(history.length, 1);
});

test('train --lr 1e6 stops with the reason and exit 2, writing no checkpoint of the diverged weights', () => {
  const out = join(work, 'exploded');
  const r = spawnSync(
    process.execPath,
    [BIN, 'train', '--limit', '1000', '--hidden', '32', '--batch-size', '100', '--lr', '1e6', '--out', out],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^(training .*\n)?chainrule train: training diverged: the loss rose to .* at epoch 1, batch \d+, more than 100 times its first value .*; lower --lr\n$/,
  );
  assert.equal(existsSync(join(out, 'checkpoint.safetensors')), false);
});

function anomaly(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    () => detectAnomaly(fn),
    (err: unknown) => {
      assert.ok(
        err instanceof AnomalyError && err instanceof ChainruleError,
        `expected an AnomalyError, got ${err}`,
      );
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('anomaly mode names the op and shapes that first made NaN or infinity, forward or backward', () => {
  anomaly(
    () => tensor([1, -1]).log(),
    /^anomaly in the forward pass: log\(\[2\]\) produced NaN \(at index 1 of its output \[2\]\) from finite inputs$/,
  );
  anomaly(
    () => matmul(tensor([[1e30, 1e30]]), tensor([[1e10], [1e10]])),
    /forward pass: matmul\(\[1, 2\], \[2, 1\]\) produced Infinity/,
  );
  anomaly(() => {
    const x = tensor([0, 4], { requiresGrad: true });
    backward(x.sqrt().sum());
  }, /^anomaly in the backward pass of sqrt\(\[2\]\): .* produced Infinity .* from finite inputs$/);
  anomaly(
    () => tensor([Number.NaN]).exp(),
    /exp\(\[1\]\) received NaN in its input 1, which no op made since detection began: it came from the data, the parameters/,
  );
});

test('anomaly mode is off by default, restored after detectAnomaly, and finds nothing in healthy training', async () => {
  assert.ok(Number.isNaN(tensor([-1]).log().item()), 'off: NaN flows through, as in torch');
  const y = detectAnomaly(() => tensor([2]).mul(3));
  assert.equal(y.item(), 6);
  assert.ok(Number.isNaN(tensor([-1]).log().item()), 'restored to off');

  const trainer = createTrainer('bp', { hidden: [8], inputs: 4, classes: 3 }, { seed: 0 });
  trainer.plan(3);
  const x = tensor([
    [0.1, -0.2, 0.3, 0.4],
    [1, 0, -1, 0.5],
  ]);
  const labels = new Tensor(new Int32Array([0, 2]), [2]);
  setDetectAnomaly(true);
  try {
    for (let i = 0; i < 3; i++) assert.ok(Number.isFinite(trainer.step(x, labels).loss));
  } finally {
    setDetectAnomaly(false);
  }
});

test('train --detect-anomaly names the op that met the first infinity, before the loss shows it', () => {
  // lr 1e38 makes Adam's first step overflow the weights; the next forward pass meets them.
  const r = spawnSync(
    process.execPath,
    [
      BIN,
      'train',
      '--limit',
      '300',
      '--hidden',
      '16',
      '--batch-size',
      '100',
      '--epochs',
      '1',
      '--lr',
      '1e38',
      '--detect-anomaly',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^(training .*\n)?chainrule train: anomaly in the forward pass: linear\(\[100, 784\], \[16, 784\], \[16\]\) received -?Infinity in its input 2, .*an optimiser step\n$/,
  );
});
