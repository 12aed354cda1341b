// The training command end to end, as a user runs it: files written, eval and predict on the
// checkpoint, resume, Ctrl-C, and every bad-input path giving a one-line error.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadDataset } from '../src/data/datasets.js';
import { decodeCheckpoint } from '../src/learn/checkpoint.js';
import { ALGORITHMS } from '../src/learn/registry.js';
import { BIN, cli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'chainrule-train-'));
const out = join(work, 'run');
const checkpoint = join(out, 'checkpoint.safetensors');

// A small, quick run shared by the tests below: 2,000 examples, one epoch, a narrow network.
const QUICK = ['--limit', '2000', '--hidden', '64', '--batch-size', '100'];

let first: ReturnType<typeof cli>;

before(() => {
  first = cli('train', ...QUICK, '--epochs', '1', '--out', out, '--json');
  assert.equal(first.code, 0, first.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('train writes metrics.jsonl, curves.svg and a checkpoint, and reports accuracy', () => {
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(metrics.length, 1);
  const [m] = metrics;
  for (const key of [
    'trainLoss',
    'trainAccuracy',
    'testAccuracy',
    'epochSeconds',
    'samplesPerSecond',
    'peakGraphBytes',
  ]) {
    assert.equal(typeof m[key], 'number', key);
  }
  assert.ok(
    m.testAccuracy > 0.6,
    `a narrow net on 2,000 examples learns far above chance (got ${m.testAccuracy})`,
  );
  assert.ok(m.peakGraphBytes > 0);
  const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /Accuracy/);
  assert.ok(existsSync(checkpoint));
});

test('train --json prints one result object on stdout; progress and messages go to stderr', () => {
  const result = JSON.parse(first.stdout);
  assert.equal(result.algorithm, 'bp');
  assert.equal(result.dataset, 'mnist');
  assert.equal(result.reason, 'done');
  assert.equal(result.history.length, 1);
  assert.deepEqual(result.final, result.history[0]);
  assert.equal(result.files.checkpoint, checkpoint);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim());
  assert.deepEqual(result.final, metrics, 'the result is the epoch metrics.jsonl recorded');
  // Not a terminal, so progress is plain lines there, ending with the files written.
  assert.match(first.stderr, /^training 784-\d+-BN-tanh-10 by bp: 1 epoch of 20 batches$/m);
  assert.match(first.stderr, /^epoch 1\/1 {2}loss [\d.]+ {2}train [\d.]+% {2}test [\d.]+%/m);
  assert.doesNotMatch(first.stderr, /\r/, 'no bar redraws in a log');
  assert.match(first.stderr, /^wrote .*metrics\.jsonl, .*curves\.svg, .*checkpoint\.safetensors$/m);
});

test('eval reports accuracy, per-class accuracy and a confusion matrix', () => {
  const r = cli('eval', '--checkpoint', checkpoint, '--json');
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.algorithm, 'bp');
  assert.equal(result.confusion.length, 10);
  const total = result.confusion.flat().reduce((a: number, b: number) => a + b, 0);
  assert.equal(total, 10_000);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim());
  assert.ok(
    Math.abs(result.accuracy - metrics.testAccuracy) < 1e-12,
    'eval agrees with the accuracy training reported',
  );
  assert.equal(Object.keys(result.perClass).length, 10);
  const text = cli('eval', '--checkpoint', checkpoint);
  assert.match(text.stdout, /confusion matrix/);
});

test('eval scores a Forward-Forward checkpoint by either inference mode', () => {
  const dir = join(work, 'ff');
  const trained = cli(
    'train',
    '--algo',
    'ff',
    '--limit',
    '3000',
    '--epochs',
    '1',
    '--hidden',
    '32,32',
    '--out',
    dir,
  );
  assert.equal(trained.code, 0, trained.stderr);
  const ffCheckpoint = join(dir, 'checkpoint.safetensors');
  for (const mode of ['goodness', 'softmax']) {
    const r = cli('eval', '--checkpoint', ffCheckpoint, '--inference', mode, '--json');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.inference, mode);
    // After 60 steps the softmax head reads the layers well; goodness per label lags early on.
    assert.ok(result.accuracy >= 0 && result.accuracy <= 1);
    if (mode === 'softmax') assert.ok(result.accuracy > 0.3, `softmax: ${result.accuracy}`);
  }
  const bp = cli('eval', '--checkpoint', checkpoint, '--inference', 'goodness');
  assert.equal(bp.code, 2);
  assert.match(bp.stderr, /--inference: a bp checkpoint scores one way only \(logits\); drop --inference/);
  const unknown = cli('eval', '--checkpoint', ffCheckpoint, '--inference', 'vote');
  assert.match(unknown.stderr, /--inference must be one of softmax, goodness, got "vote"/);
});

test('predict classifies a 28x28 PNG taken from the test set', () => {
  const { test: split } = loadDataset('mnist');
  const png = new PNG({ width: 28, height: 28 });
  // Test image 0 is a 7.
  for (let i = 0; i < 784; i++) {
    const v = split.images[i];
    png.data.set([v, v, v, 255], 4 * i);
  }
  const image = join(work, 'seven.png');
  writeFileSync(image, PNG.sync.write(png));
  const r = cli('predict', '--checkpoint', checkpoint, image, '--json');
  assert.equal(r.code, 0, r.stderr);
  const [result] = JSON.parse(r.stdout);
  assert.equal(result.prediction, '7');
  assert.ok(Math.abs(result.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);

  const wrongSize = new PNG({ width: 10, height: 10 });
  const small = join(work, 'small.png');
  writeFileSync(small, PNG.sync.write(wrongSize));
  const bad = cli('predict', '--checkpoint', checkpoint, small);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /10x10.*resize the image to 28x28/);
});

test('--resume continues the run from its checkpoint', () => {
  const r = cli('train', '--resume', checkpoint, '--epochs', '2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resuming after epoch 1/);
  // Without --json stdout holds the result line alone.
  assert.match(r.stdout, /^final test accuracy [\d.]+% after 2 epochs \([\d.]+ s per epoch\)\n$/);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).epoch),
    [1, 2],
  );
});

test('--eval-every N evaluates every Nth epoch and the first and last, and --resume keeps it', () => {
  const dir = join(work, 'spaced');
  const metrics = () =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).testAccuracy !== null);
  const tiny = ['--limit', '300', '--hidden', '16', '--batch-size', '100'];
  const r = cli('train', ...tiny, '--epochs', '4', '--eval-every', '3', '--out', dir, '--progress', 'lines');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(metrics(), [true, false, true, true]);
  assert.match(r.stderr, /epoch 2\/4 {2}loss [\d.]+ {2}not evaluated {2}/);
  assert.match(r.stdout, /^final test accuracy [\d.]+% after 4 epochs/);
  const saved = join(dir, 'checkpoint.safetensors');
  assert.equal(decodeCheckpoint(new Uint8Array(readFileSync(saved)), saved).metadata.run.evalEvery, 3);
  // Resumed, the run keeps its spacing: epoch 5 is skipped, 6 is a multiple, 7 the last.
  assert.equal(cli('train', '--resume', saved, '--epochs', '7', '--out', dir).code, 0);
  assert.deepEqual(metrics(), [true, false, true, true, false, true, true]);
  // and may change it, since it changes nothing the run learns.
  const changed = cli('train', '--resume', saved, '--epochs', '9', '--eval-every', '1', '--out', dir);
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual(metrics().slice(7), [true, true]);
  const plot = cli('plot', '--metrics', join(dir, 'metrics.jsonl'), '--out', join(dir, 'again.svg'));
  assert.equal(plot.code, 0, plot.stderr);
});

test('Ctrl-C stops cleanly and leaves a resumable checkpoint', async () => {
  const dir = join(work, 'interrupted');
  const child = spawn(process.execPath, [
    BIN,
    'train',
    ...QUICK,
    '--epochs',
    '50',
    '--out',
    dir,
    '--progress',
    'json',
  ]);
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      // After the first finished epoch, interrupt mid-way through the next.
      if (stderr.includes('"type":"epoch"') && child.exitCode === null && !child.killed) {
        child.kill('SIGINT');
        resolve();
      }
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /saved a resumable checkpoint after step \d+/);
  // Under load the interrupt can land a few epochs in: resume to the end of the epoch it stopped in.
  const checkpoint = join(dir, 'checkpoint.safetensors');
  const stoppedIn =
    Math.floor(decodeCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint).metadata.epoch) + 1;
  const target = String(stoppedIn);
  const resumed = cli(
    'train',
    '--resume',
    checkpoint,
    '--epochs',
    target,
    '--out',
    dir,
    '--progress',
    'json',
  );
  assert.equal(resumed.code, 0, resumed.stderr);
  const epochs = resumed.stderr
    .split('\n')
    .filter((l) => l.includes('"type":"epoch"'))
    .map((l) => JSON.parse(l).metrics.epoch);
  assert.deepEqual(epochs, [stoppedIn], `the resumed run finishes epoch ${target} and stops`);
});

test('bad input gives a one-line error and a non-zero exit', () => {
  const truncated = join(work, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(checkpoint).subarray(0, 100));
  const cases: [string[], RegExp][] = [
    [['train', '--bogus'], /Unknown option '--bogus'.*--help/],
    [['train', '--epochs', 'zero'], /--epochs must be an integer from 1 to 100000, got "zero"/],
    [['train', '--lr', '0'], /--lr must be a number > 0, got "0"/],
    [['train', '--eval-every', '0'], /--eval-every must be an integer from 1 to 100000, got "0"/],
    [['train', '--algo', 'magic'], new RegExp(`--algo must be one of ${ALGORITHMS.join(', ')}, got "magic"`)],
    [['train', '--optimizer', 'rmsprop'], /--optimizer must be one of adam, adamw, sgd/],
    [['train', '--data-dir', join(work, 'nowhere')], /--data-dir .* is not a directory/],
    [['train', '--dataset', 'cifar'], /--dataset must be one of mnist, fashion-mnist, got "cifar"/],
    [['train', '--time', 'soon'], /--time must be a duration like 90s, 5m or 1h/],
    [['train', '--progress', 'fancy'], /--progress must be one of bar, lines, json, none, got "fancy"/],
    [['compare', '--progress', 'fancy'], /--progress must be one of bar, lines, json, none, got "fancy"/],
    [['eval'], /eval needs --checkpoint FILE/],
    [['eval', '--checkpoint', join(work, 'missing.safetensors')], /does not exist; train one with/],
    [['eval', '--checkpoint', truncated], /not a valid safetensors file: .*truncated/],
    [['predict', '--checkpoint', checkpoint], /needs at least one IMAGE.png/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
  }
});
