// Faults during training: a kill mid-save, a signal from a scheduler, a second Ctrl-C, and a
// resume in the middle of an epoch. The checkpoint decides what happened; metrics.jsonl and
// the epoch's figures must agree with it, and nothing may be left behind or lost.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadDataset } from '../src/data/datasets.js';
import { fitNormalization } from '../src/data/loader.js';
import { removeAbandonedTemporaries, writeFileAtomic } from '../src/io/atomic.js';
import {
  checkpointRunInfo,
  decodeCheckpoint,
  encodeCheckpoint,
  progressOf,
  snapshotOf,
} from '../src/learn/checkpoint.js';
import { trainingData } from '../src/learn/data.js';
import { type EpochMetrics, trainLoop } from '../src/learn/loop.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import { BIN, cli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'chainrule-faults-'));
after(() => rmSync(work, { recursive: true, force: true }));

const QUICK = ['--limit', '1000', '--hidden', '16', '--batch-size', '100'];

/** The pid of a process that has exited, so no temporary it left can still be in use. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

const temporary = (name: string, pid: number) => `.${name}.${pid}-0123456789ab.tmp`;

test('temporaries of a killed save are removed by the next write; a running writer keeps its own', () => {
  const dir = join(work, 'temporaries');
  mkdirSync(dir);
  const live = spawn('sleep', ['30']);
  after(() => live.kill());
  const dead = deadPid();
  for (const name of [
    temporary('checkpoint.safetensors', dead),
    temporary('checkpoint.safetensors', live.pid!),
    temporary('metrics.jsonl', dead),
    'notes.tmp',
  ]) {
    writeFileSync(join(dir, name), 'partial');
  }
  writeFileAtomic(join(dir, 'checkpoint.safetensors'), 'whole');
  assert.deepEqual(readdirSync(dir).sort(), [
    temporary('checkpoint.safetensors', live.pid!),
    temporary('metrics.jsonl', dead),
    'checkpoint.safetensors',
    'notes.tmp',
  ]);
  removeAbandonedTemporaries(dir);
  assert.deepEqual(readdirSync(dir).sort(), [
    temporary('checkpoint.safetensors', live.pid!),
    'checkpoint.safetensors',
    'notes.tmp',
  ]);
});

test('a run cleans the temporaries an earlier killed run left in its --out folder', () => {
  const dir = join(work, 'killed-earlier');
  mkdirSync(dir);
  const left = temporary('checkpoint.safetensors', deadPid());
  writeFileSync(join(dir, left), new Uint8Array(1024));
  const r = cli('train', ...QUICK, '--epochs', '1', '--out', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.safetensors', 'curves.svg', 'metrics.jsonl']);
});

const metricsEpochs = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as EpochMetrics).epoch);
const checkpointEpoch = (dir: string) => {
  const path = join(dir, 'checkpoint.safetensors');
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path).metadata.epoch;
};

const KILL_HOOK = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'faults', 'kill-at-rename.cjs');

/** Trains with SIGKILL landing just before the `n`th rename onto `file`. */
function killedAtRename(dir: string, file: string, n: number, ...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--require', KILL_HOOK, BIN, 'train', ...QUICK, '--out', dir, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, CHAINRULE_KILL_AT_RENAME: `${file}:${n}` },
    },
  );
}

test("kill -9 at any point of an epoch's save: no epoch in the checkpoint lacks its metrics line, and resume agrees", () => {
  for (const file of ['metrics.jsonl', 'curves.svg', 'checkpoint.safetensors']) {
    const dir = join(work, `killed-at-${file}`);
    const killed = killedAtRename(dir, file, 2, '--epochs', '3');
    assert.equal(killed.signal, 'SIGKILL', `killed before epoch 2's ${file}`);
    const saved = checkpointEpoch(dir);
    assert.equal(saved, 1, file);
    const lines = metricsEpochs(dir);
    for (let epoch = 1; epoch <= saved; epoch++)
      assert.ok(lines.includes(epoch), `${file}: epoch ${epoch} has its line`);
    assert.ok(
      readdirSync(dir).some((f) => f.endsWith('.tmp')),
      'the kill left a temporary behind',
    );
    const resumed = cli(
      'train',
      '--resume',
      join(dir, 'checkpoint.safetensors'),
      '--epochs',
      '3',
      '--out',
      dir,
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(metricsEpochs(dir), [1, 2, 3], file);
    assert.equal(checkpointEpoch(dir), 3);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['checkpoint.safetensors', 'curves.svg', 'metrics.jsonl'],
      'no temporary left',
    );
  }
});

test('a metrics line written just before a kill (its checkpoint never saved) is redone once on resume', () => {
  const dir = join(work, 'metrics-ahead');
  assert.equal(cli('train', ...QUICK, '--epochs', '1', '--out', dir).code, 0);
  const [line] = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    `${line}\n${JSON.stringify({ ...JSON.parse(line), epoch: 2 })}\n`,
  );
  const r = cli('train', '--resume', join(dir, 'checkpoint.safetensors'), '--epochs', '2', '--out', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(metricsEpochs(dir), [1, 2]);
});

/** Starts a training run and sends `signals` (`gap` ms apart) once it reports the event `after`. */
async function interrupt(
  dir: string,
  signals: NodeJS.Signals[],
  o: { extra?: string[]; gap?: number; after?: string; delay?: number; run?: string[] } = {},
) {
  const { extra = [], gap = 0, after = 'epoch', delay = 0, run = QUICK } = o;
  const child = spawn(process.execPath, [
    BIN,
    'train',
    ...run,
    '--epochs',
    '100',
    '--out',
    dir,
    '--progress',
    'json',
    ...extra,
  ]);
  // The events are JSON lines on stderr, among the messages.
  let stderr = '';
  let sent = false;
  child.stderr.on('data', async (d) => {
    stderr += d;
    if (sent || !stderr.includes(`"type":"${after}"`)) return;
    sent = true;
    await new Promise((resolve) => setTimeout(resolve, delay));
    for (const signal of signals) {
      child.kill(signal);
      await new Promise((resolve) => setTimeout(resolve, gap));
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

test('SIGTERM saves a resumable checkpoint, as Ctrl-C does', async () => {
  const dir = join(work, 'sigterm');
  const { code, stderr } = await interrupt(dir, ['SIGTERM']);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /saved a resumable checkpoint after step \d+/);
  const resumed = cli(
    'train',
    '--resume',
    join(dir, 'checkpoint.safetensors'),
    '--epochs',
    String(Math.floor(checkpointEpoch(dir)) + 1),
    '--out',
    dir,
  );
  assert.equal(resumed.code, 0, resumed.stderr);
});

test('a second Ctrl-C says it quits without saving', async () => {
  const dir = join(work, 'twice');
  // Batches long enough (a wide layer, a large batch) that both signals land in the first.
  const { code, stderr } = await interrupt(dir, ['SIGINT', 'SIGINT'], {
    extra: ['--hidden', '2048', '--batch-size', '1000'],
    gap: 30,
    after: 'start',
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /chainrule train: SIGINT again: quitting without saving the current epoch/);
  assert.doesNotMatch(stderr, /saved a resumable checkpoint/);
});

test('a Ctrl-C during a long evaluation is heard at once, and a second one quits in it', async () => {
  const dir = join(work, 'during-evaluation');
  // One batch of training, then goodness inference over the 10,000 test images with each
  // label in turn through two layers of 2000: seconds of evaluation, where both signals land.
  const { code, stderr } = await interrupt(dir, ['SIGINT', 'SIGINT'], {
    run: ['--algo', 'ff', '--preset', 'supervised', '--hidden', '2000,2000', '--limit', '100'],
    after: 'start',
    delay: 1000,
    gap: 300,
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /chainrule train: SIGINT: stopping at the end of this batch or evaluation/);
  assert.match(stderr, /chainrule train: SIGINT again: quitting without saving the current epoch/);
  assert.doesNotMatch(stderr, /"type":"epoch"/, 'the second Ctrl-C waited for the evaluation to end');
});

test("a resume mid-epoch reports the whole epoch's loss, rate and time, as an unbroken run does", async () => {
  const mnist = loadDataset('mnist');
  const normalization = fitNormalization('standardize', mnist.train);
  const data = trainingData(mnist, { batchSize: 50, seed: 2, normalization, limit: 500, testLimit: 200 });
  const unbroken = await trainLoop(createTrainer('bp', { hidden: [16] }, { seed: 4 }), data, { epochs: 2 });

  const trainer = createTrainer('bp', { hidden: [16] }, { seed: 4 });
  const controller = new AbortController();
  const first = await trainLoop(trainer, data, {
    epochs: 2,
    signal: controller.signal,
    yieldEveryMs: 0,
    onEvent: (e) => {
      if (e.type === 'progress' && e.epoch === 2 && e.batch === 4) controller.abort();
    },
  });
  assert.equal(first.reason, 'interrupted');
  assert.equal(first.step, 14);
  assert.equal(first.progress.epochSamples, 200);
  // Through the checkpoint's metadata, as a file carries it.
  const bytes = encodeCheckpoint(
    'bp',
    trainer.snapshot(),
    checkpointRunInfo({
      dataset: 'mnist',
      normalization,
      step: first.step,
      batchesPerEpoch: data.trainBatchCount,
      metrics: first.history.at(-1),
      progress: first.progress,
      run: { seed: 2, batchSize: 50, epochs: 2, limit: 500 },
    }),
  );
  const checkpoint = decodeCheckpoint(bytes, 'memory');
  assert.deepEqual(progressOf(checkpoint.metadata), first.progress);
  const resumed = await trainLoop(restoreTrainer('bp', snapshotOf(checkpoint)), data, {
    epochs: 2,
    startStep: checkpoint.metadata.step,
    startProgress: progressOf(checkpoint.metadata),
  });
  const [whole, split] = [unbroken.history[1], resumed.history[0]];
  assert.equal(split.epoch, 2);
  assert.equal(split.trainLoss, whole.trainLoss, 'the loss of all ten batches, not the six after the resume');
  assert.ok(split.epochSeconds > first.progress.epochSeconds);
  assert.equal(split.samplesPerSecond, 500 / split.epochSeconds);
  assert.equal(split.elapsedSeconds, first.progress.elapsedSeconds + split.epochSeconds);
  assert.equal(first.progress.elapsedSeconds, first.history[0].elapsedSeconds);
});

test('older checkpoints without progress resume as before', () => {
  const info = checkpointRunInfo({
    dataset: 'mnist',
    normalization: { kind: 'none', mean: 0, std: 1 },
    step: 3,
    batchesPerEpoch: 10,
    metrics: undefined,
    run: { seed: 0, batchSize: 1, epochs: 1, limit: null },
  });
  const snapshot = createTrainer('bp', { hidden: [2] }, { seed: 0 }).snapshot();
  assert.equal(
    progressOf(decodeCheckpoint(encodeCheckpoint('bp', snapshot, info), 'old').metadata),
    undefined,
  );
});
