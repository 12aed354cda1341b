// The CLI's flags as a careless or adversarial user types them: every bad value is refused by
// name before any training starts, nothing hangs, `--resume` refuses what would silently change
// the run, and eval and predict work on a checkpoint of every learning rule.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadDataset } from '../src/data/datasets.js';
import { decodeCheckpoint } from '../src/learn/checkpoint.js';
import { ALGORITHMS } from '../src/learn/registry.js';
import type { Algorithm } from '../src/learn/types.js';
import { runCli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'chainrule-flags-'));
const checkpoints = Object.fromEntries(ALGORITHMS.map((a) => [a, join(work, a, 'checkpoint.safetensors')]));

const cli = (...args: string[]) => runCli(args, { timeoutMs: 60_000 });

const TINY: Record<Algorithm, string[]> = {
  bp: ['--hidden', '16'],
  ff: ['--hidden', '16,16'],
  fg: ['--hidden', '8'],
  'fg-a': ['--hidden', '8'],
  'lg-bp': ['--hidden', '16,16'],
  'lg-fg-w': ['--hidden', '8,8'],
  // Its default 32 classifiers per block need widths 32 divides.
  'lg-fg-a': ['--hidden', '32,32'],
  fa: ['--hidden', '16,16'],
  dfa: ['--hidden', '16,16'],
  'ff-recurrent': ['--hidden', '16,16'],
};

before(() => {
  for (const algo of ALGORITHMS) {
    const r = cli(
      'train',
      '--algo',
      algo,
      ...TINY[algo],
      '--limit',
      '300',
      '--epochs',
      '1',
      '--out',
      join(work, algo),
    );
    assert.equal(r.code, 0, r.stderr);
  }
});

after(() => rmSync(work, { recursive: true, force: true }));

test('bad flag values are refused by name, with the value and the range, before anything trains', () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'not a directory');
  const cores = availableParallelism();
  const cases: [string[], RegExp][] = [
    [['--dataset', 'toString'], /--dataset must be one of mnist, fashion-mnist, got "toString"/],
    [['--dataset', '__proto__'], /--dataset must be one of mnist, fashion-mnist, got "__proto__"/],
    [['--hidden', '1e9'], /--hidden \(width 1\) must be an integer from 1 to 16384, got "1e9"/],
    [['--hidden', '64,0'], /--hidden \(width 2\) must be an integer from 1 to 16384, got "0"/],
    [
      ['--threads', '999'],
      new RegExp(`--threads 999 is more than the ${cores} cores of this machine; use 1 to ${cores}`),
    ],
    [['--epochs', '0x2'], /--epochs must be an integer from 1 to 100000, got "0x2"/],
    [['--seed', '1e20'], /--seed must be an integer from 0 to 4294967295, got "1e20"/],
    [
      ['--time', '9'.repeat(400)],
      /--time must be a duration like 90s, 5m or 1h, more than 0 and at most 30 days/,
    ],
    [['--time', '0'], /--time must be a duration like 90s, 5m or 1h, more than 0/],
    [['--lr', '-1'], /--lr -1: a value that starts with '-' reads as a flag; attach it with '=': --lr=-1/],
    [['--lr=-1'], /--lr must be a number > 0, got "-1"/],
    [['--out', ''], /--out needs a directory name, got ''/],
    [['--out', file], /--out .*a-file: .*a-file is a file, not a directory/],
    [
      ['--batch-size', '1'],
      /--batch-size 1: bp here has batch normalisation, which needs at least 2 examples/,
    ],
    [['--limit', '129'], /--batch-size 128: 129 examples leave 1 in the last batch/],
    [['--preset', 'hinton'], /--preset \(for bp\) must be one of default, cnn, quick, got "hinton"/],
    [
      ['--schedule', 'linear-second-half'],
      /--schedule \(for bp\) must be one of onecycle, cosine, linear, step, constant/,
    ],
    [
      ['--algo', 'ff', '--schedule', 'cosin'],
      /--schedule \(for ff\) must be one of linear-second-half, onecycle/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = cli('train', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
    assert.doesNotMatch(r.stdout + r.stderr, /^epoch 1\//m, `nothing trained for ${args.join(' ')}`);
  }
});

test('--out under /proc is refused at once instead of spinning in mkdir', {
  skip: !existsSync('/proc/self'),
}, () => {
  const r = cli('train', '--out', '/proc/chainrule-x/run', '--limit', '100');
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out \/proc\/chainrule-x\/run: cannot create \/proc\/chainrule-x/);
});

test('--resume refuses a flag that would change the model, the data or the run, and names the fix', () => {
  const bp = checkpoints.bp;
  const cases: [string[], RegExp][] = [
    [
      ['--dataset', 'fashion-mnist'],
      /--dataset "fashion-mnist" conflicts with .*, which has dataset "mnist"; drop --dataset/,
    ],
    [['--hidden', '0'], /--hidden \(width 1\) must be an integer from 1 to 16384, got "0"/],
    [['--lr', 'abc'], /--lr must be a number > 0, got "abc"/],
    [['--hidden', '32'], /--hidden \[32\] conflicts with .*, which has hidden \[16\]; drop --hidden/],
    [['--lr', '0.1'], /--lr 0.1 conflicts with .*, which has lr 0.003/],
    [['--optimizer', 'sgd'], /--optimizer "sgd" conflicts with .*, which has optimizer "adam"/],
    [['--batch-size', '64'], /--batch-size 64 conflicts with .*, which has batchSize 128/],
    [['--limit', '100'], /--limit 100 conflicts with .*, which has limit 300/],
    [['--seed', '4'], /--seed 4 conflicts with .*, which has seed 0/],
    [['--algo', 'ff'], /--algo "ff" conflicts with .*, which has algorithm "bp"/],
    [['--preset', 'quick'], /--preset quick: a preset sets up a new run/],
    // The scheduler's own wording ("stepped 32 times but totalSteps is 16") never reaches the user.
    [['--epochs', '1'], /--epochs 1: .* has trained 1 epoch already; pass --epochs 2 or more to train on/],
    [[], /has trained 1 epoch already, all of its run; pass --epochs 2 or more/],
  ];
  for (const [args, message] of cases) {
    const r = cli('train', '--resume', bp, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  const repeated = cli(
    'train',
    '--resume',
    bp,
    '--hidden',
    '16',
    '--limit',
    '300',
    '--epochs',
    '2',
    '--out',
    join(work, 'bp'),
  );
  assert.equal(repeated.code, 0, repeated.stderr);
  assert.match(repeated.stderr, /resuming after epoch 1/);
});

test('eval and predict work on a checkpoint of every learning rule', () => {
  const { test: split } = loadDataset('mnist');
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) png.data.set([split.images[i], split.images[i], split.images[i], 255], 4 * i);
  const image = join(work, 'digit.png');
  writeFileSync(image, PNG.sync.write(png));
  for (const algo of ALGORITHMS) {
    const evaluated = cli('eval', '--checkpoint', checkpoints[algo], '--json');
    assert.equal(evaluated.code, 0, `${algo}: ${evaluated.stderr}`);
    const result = JSON.parse(evaluated.stdout);
    assert.equal(result.algorithm, algo);
    const path = checkpoints[algo];
    const { metrics } = decodeCheckpoint(new Uint8Array(readFileSync(path)), path).metadata;
    assert.ok(
      Math.abs(result.accuracy - metrics.testAccuracy!) < 1e-12,
      `${algo}: eval agrees with training`,
    );
    const predicted = cli('predict', '--checkpoint', checkpoints[algo], image, '--json');
    assert.equal(predicted.code, 0, `${algo}: ${predicted.stderr}`);
    const [p] = JSON.parse(predicted.stdout);
    assert.equal(p.probabilities.length, 10);
    assert.ok(Math.abs(p.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5, algo);
  }
});

test('every command states the output rule in its help: results on stdout, files only with --out', () => {
  for (const command of ['explain', 'train', 'eval', 'predict', 'compare']) {
    const help = cli(command, '--help');
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, /--json /, `${command} has --json`);
    assert.match(
      help.stdout,
      /Results go to stdout \(as JSON with --json\); progress, messages and errors go to stderr/,
    );
    const writes = command === 'train' || command === 'compare';
    assert.match(
      help.stdout,
      writes ? /written only with --out DIR, never by default/ : /It writes no files/,
      command,
    );
    if (writes) assert.match(help.stdout, /--out DIR/, command);
  }
});
