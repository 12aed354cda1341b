// `chainrule export` writes exactly the state_dict of the equivalent torch.nn module: names as
// torch names them, no optimiser state. With Debian's PyTorch present, the files are loaded
// with load_state_dict(strict=True) and the modules' outputs compared with chainrule's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadSafetensors } from '../src/io/safetensors-file.js';
import { encodeCheckpoint } from '../src/learn/checkpoint.js';
import { createTrainer } from '../src/learn/registry.js';
import type { Trainer } from '../src/learn/types.js';
import { Rng } from '../src/tensor/random.js';
import { randn, type Tensor, tensor } from '../src/tensor/tensor.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'chainrule.js');
const PYTHON = '/usr/bin/python3';
const BATCH = 6;

const rng = new Rng(7);
const x = randn([BATCH, 784], { rng });
const y = tensor(new Int32Array(Array.from({ length: BATCH }, (_, i) => i % 10)));

/** A few steps on random data, so weights, biases and running statistics are not their initial values. */
function trained<T extends Trainer>(trainer: T): T {
  trainer.plan(3);
  for (let i = 0; i < 3; i++) trainer.step(x, y);
  return trainer;
}

const ff = trained(createTrainer('ff', { hidden: [7, 6] }, { seed: 3 }));
const cases = {
  bp: {
    trainer: trained(createTrainer('bp', { hidden: [8] }, { seed: 1 })),
    names: sequential(['linear', 'bn', 'act', 'linear']),
    module: 'nn.Sequential(nn.Linear(784, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 10))',
  },
  'bp-two-hidden': {
    trainer: trained(createTrainer('bp', { hidden: [5, 4], batchNorm: false }, { seed: 4 })),
    names: sequential(['linear', 'act', 'linear', 'act', 'linear']),
    module: 'nn.Sequential(nn.Linear(784, 5), nn.Tanh(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 10))',
  },
  fg: {
    trainer: trained(createTrainer('fg', { hidden: [5], activation: 'relu' }, { seed: 2 })),
    names: sequential(['linear', 'bn', 'act', 'linear']),
    module: 'nn.Sequential(nn.Linear(784, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 10))',
  },
  ff: {
    trainer: ff,
    module:
      "nn.ModuleDict({'head': nn.Linear(6, 10), 'layers': nn.ModuleList([nn.Linear(784, 7), nn.Linear(7, 6)])})",
    names: [
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
      'head.weight',
      'head.bias',
    ],
  },
};

/** torch.nn.Sequential's state_dict names for a stack of Linear, BatchNorm1d and activation layers. */
function sequential(kinds: ('linear' | 'bn' | 'act')[]): string[] {
  return kinds.flatMap((kind, i) =>
    kind === 'linear'
      ? [`${i}.weight`, `${i}.bias`]
      : kind === 'bn'
        ? ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((n) => `${i}.${n}`)
        : [],
  );
}

let dir: string;

function chainrule(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}

/** Writes the trainer's checkpoint as `chainrule train` would, to DIR/NAME.checkpoint.safetensors. */
function writeCheckpoint(name: string, trainer: Trainer): string {
  const checkpoint = join(dir, `${name}.checkpoint.safetensors`);
  const bytes = encodeCheckpoint(trainer.algorithm, trainer.snapshot(), {
    dataset: 'mnist',
    normalization: { kind: 'standardize', mean: 0.1307, std: 0.3081 },
    epoch: 1,
    step: 3,
    metrics: {},
    run: { seed: 0, batchSize: BATCH, epochs: 1, limit: BATCH },
  });
  writeFileSync(checkpoint, bytes);
  return checkpoint;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'chainrule-export-'));
  for (const [name, { trainer }] of Object.entries(cases)) {
    const checkpoint = writeCheckpoint(name, trainer);
    const r = chainrule('export', '--checkpoint', checkpoint, '--out', join(dir, `${name}.safetensors`));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*: \d+ tensors, the state_dict/);
    assert.ok(r.stderr.includes(`  model = ${cases[name as keyof typeof cases].module}\n`), r.stderr);
    assert.equal(r.stdout, '', 'stdout is for results; the note on the file written goes to stderr');
    writeFileSync(join(dir, `${name}.input.json`), JSON.stringify({ shape: x.shape, x: [...x.data] }));
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("the export holds exactly torch's state_dict names, nothing of the optimiser", () => {
  for (const [name, { names, module }] of Object.entries(cases)) {
    const { tensors, metadata } = loadSafetensors(join(dir, `${name}.safetensors`));
    assert.deepEqual(Object.keys(tensors).sort(), [...names].sort(), name);
    assert.equal(metadata.format, 'pt');
    assert.equal(metadata.module, module);
    assert.equal(JSON.parse(metadata.algorithm), cases[name as keyof typeof cases].trainer.algorithm);
  }
});

test('export refuses a missing --out and a missing checkpoint with what to do', () => {
  const noOut = chainrule('export', '--checkpoint', join(dir, 'bp.checkpoint.safetensors'));
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /export needs --out FILE\.safetensors/);
  const missing = chainrule(
    'export',
    '--checkpoint',
    join(dir, 'nope.safetensors'),
    '--out',
    join(dir, 'x.safetensors'),
  );
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /does not exist; train one with `chainrule train --out DIR`/);
  assert.ok(!existsSync(join(dir, 'x.safetensors')));
});

test('export refuses a locally connected network, which torch.nn has no layer for, and writes nothing', () => {
  const local = trained(
    createTrainer('ff', { hidden: [16, 9, 4] }, { seed: 5, preset: 'unsupervised-local' }),
  );
  const checkpoint = writeCheckpoint('ff-local', local);
  const out = join(dir, 'ff-local.safetensors');
  const r = chainrule('export', '--checkpoint', checkpoint, '--out', out);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /a weight of shape \[4, 4, 1, 1, 10, 10\] \(a convolution, or a locally connected layer/,
  );
  assert.ok(!existsSync(out));
});

function assertClose(actual: number[], expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const tolerance = 1e-4 * Math.max(1, Math.abs(expected[i]));
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance,
      `${what}[${i}]: torch ${actual[i]}, chainrule ${expected[i]}`,
    );
  }
}

test('PyTorch loads every export with strict=True and computes the same outputs', (t) => {
  if (!existsSync(PYTHON)) return t.skip(`${PYTHON} is not installed`);
  const r = spawnSync(PYTHON, [join(ROOT, 'scripts', 'torch-load-export.py'), dir], { encoding: 'utf8' });
  if (/No module named 'torch'/.test(r.stderr)) return t.skip('python3-torch is not installed');
  assert.equal(r.status, 0, r.stderr);
  const torch = JSON.parse(r.stdout) as Record<string, Record<string, number[]>>;
  assert.deepEqual(Object.keys(torch).sort(), Object.keys(cases).sort());
  for (const [name, { trainer }] of Object.entries(cases)) {
    if (trainer.algorithm === 'ff') {
      assertClose(torch[name].softmax, trainer.scores(x, 'softmax').data, `${name} head logits`);
      assertClose(torch[name].goodness, trainer.scores(x, 'goodness').data, `${name} goodness per label`);
    } else {
      assertClose(torch[name].logits, (trainer.scores(x) as Tensor).data, `${name} logits`);
    }
  }
});
