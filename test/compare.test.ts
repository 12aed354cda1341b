// The three learning rules side by side: measured memory, and `chainrule compare` end to end.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALGORITHMS, createTrainer } from '../src/learn/registry.js';
import type { Algorithm } from '../src/learn/types.js';
import { graphMemory, resetGraphPeak } from '../src/ops/dispatch.js';
import { Rng } from '../src/tensor/random.js';
import { rand, Tensor } from '../src/tensor/tensor.js';
import { BIN } from './helpers/cli.js';

function peakGraphBytes(algo: Algorithm, hidden: number[]): number {
  const normalization = { kind: 'unit', mean: 0, std: 1 } as const;
  const trainer = createTrainer(algo, { hidden }, { normalization });
  trainer.plan(10);
  const rng = new Rng(0);
  const x = rand([64, 784], { rng });
  const y = new Tensor(
    Int32Array.from({ length: 64 }, () => rng.int(10)),
    [64],
  );
  trainer.step(x, y);
  resetGraphPeak();
  trainer.step(x, y);
  return graphMemory.peakBytes;
}

test('Forward-Forward holds less graph memory than backprop on a network of three hidden layers', () => {
  const hidden = [256, 256, 256];
  const bp = peakGraphBytes('bp', hidden);
  const ff = peakGraphBytes('ff', hidden);
  const fg = peakGraphBytes('fg', hidden);
  // Backprop keeps every layer's activations until the backward pass; FF frees each layer's
  // graph after its own update; forward gradients record no graph at all.
  assert.ok(ff < bp, `ff peak ${ff} B should be below bp peak ${bp} B`);
  assert.equal(fg, 0);
  assert.ok(bp > 3 * 64 * 256 * 4, 'backprop keeps at least one activation per layer');
});

test('chainrule compare trains all three and writes compare.json, compare.md and compare.svg', () => {
  const out = mkdtempSync(join(tmpdir(), 'chainrule-compare-'));
  try {
    const r = spawnSync(
      process.execPath,
      [BIN, 'compare', '--limit', '1000', '--epochs', '1', '--evals-per-epoch', '2', '--out', out, '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const written = readFileSync(join(out, 'compare.json'), 'utf8');
    assert.equal(r.stdout, written, '--json prints what compare.json holds, and nothing else');
    const { settings, rows } = JSON.parse(written);
    assert.equal(settings.budget, '1 epoch');
    assert.equal(settings.dataset, 'mnist');
    assert.deepEqual(
      rows.map((row: { algorithm: string }) => row.algorithm),
      ['bp', 'ff', 'fg'],
    );
    // One epoch of 1,000 examples: enough for backprop and FF to learn, barely a start for fg.
    const floor: Record<string, number> = { bp: 0.5, ff: 0.5, fg: 0.1 };
    for (const row of rows) {
      assert.ok(row.finalTestAccuracy > floor[row.algorithm], `${row.algorithm}: ${row.finalTestAccuracy}`);
      assert.ok(row.curve.length >= 2, 'accuracy against time has several points');
      assert.ok(row.samplesPerSecond > 0);
      assert.ok(row.peakProcessBytes > 0);
    }
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    assert.match(md, /\| algorithm \| model \| epochs \| test accuracy \| time to 90% \|/);
    assert.match(readFileSync(join(out, 'compare.svg'), 'utf8'), /Test accuracy against training time/);
    // Progress, as plain lines (stderr is no terminal), and the files written, go to stderr.
    for (const algo of ['bp', 'ff', 'fg']) assert.match(r.stderr, new RegExp(`^== ${algo}: `, 'm'));
    assert.match(r.stderr, /^epoch 1\/1 {2}loss /m);
    assert.match(r.stderr, /^wrote .*compare\.json, .*compare\.md and .*compare\.svg$/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('compare passes --backend to every run, prints its table, and writes nothing without --out', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'chainrule-compare-'));
  const compare = (backend: string) =>
    spawnSync(
      process.execPath,
      [
        BIN,
        'compare',
        '--algos',
        'fg',
        '--backend',
        backend,
        '--limit',
        '200',
        '--epochs',
        '1',
        '--progress',
        'none',
      ],
      { encoding: 'utf8', cwd },
    );
  try {
    const ok = compare('reference');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\| algorithm \| model \| epochs \| test accuracy \|.*\n\| --- /);
    assert.match(ok.stdout, /^\| fg \| /m);
    assert.equal(ok.stderr, '', '--progress none: nothing on stderr');
    assert.deepEqual(readdirSync(cwd), [], 'no files without --out');
    const bad = compare('bogus');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--backend must be one of native, wasm, reference, got "bogus"/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('compare rejects an unknown algorithm by name', () => {
  const r = spawnSync(process.execPath, [BIN, 'compare', '--algos', 'bp,sgd'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  // The list is the registry's, so a new rule joins it without this test changing.
  assert.match(r.stderr, new RegExp(`--algos must be one of ${ALGORITHMS.join(', ')}, got "sgd"`));
});
