// `chainrule plot`: a run's metrics.jsonl or a comparison's compare.json drawn again as an SVG,
// lines named and coloured by the rule of the checkpoint beside the log; bad input named.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeCheckpoint } from '../src/learn/checkpoint.js';
import { createTrainer } from '../src/learn/registry.js';
import { RULE_COLORS } from '../src/report/rule-colors.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'chainrule.js');
const chainrule = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'chainrule-plot-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const epochs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    trainLoss: 2 / (i + 1),
    trainAccuracy: 0.9,
    testAccuracy: 0.85,
  }));

/** A run folder as train --out leaves it: metrics.jsonl, and a checkpoint of `algorithm` when given. */
function runDir(name: string, algorithm?: 'ff' | 'fg'): string {
  const run = join(dir, name);
  mkdirSync(run);
  writeFileSync(
    join(run, 'metrics.jsonl'),
    `${epochs(3)
      .map((m) => JSON.stringify(m))
      .join('\n')}\n`,
  );
  if (algorithm) {
    const trainer = createTrainer(algorithm, { hidden: [6, 5] }, { seed: 1 });
    const bytes = encodeCheckpoint(algorithm, trainer.snapshot(), {
      dataset: 'mnist',
      normalization: { kind: 'standardize', mean: 0.1307, std: 0.3081 },
      epoch: 3,
      step: 3,
      metrics: {},
      run: { seed: 0, batchSize: 4, epochs: 3, limit: 4 },
    });
    writeFileSync(join(run, 'checkpoint.safetensors'), bytes);
  }
  return join(run, 'metrics.jsonl');
}

test("several runs on one chart, each in its rule's colour, named by its checkpoint", () => {
  const out = join(dir, 'runs.svg');
  const r = chainrule(
    'plot',
    '--metrics',
    runDir('ff-run', 'ff'),
    '--metrics',
    runDir('fg-run', 'fg'),
    '--out',
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `wrote ${out}\n`);
  const svg = readFileSync(out, 'utf8');
  for (const rule of ['ff', 'fg'] as const) {
    assert.match(svg, new RegExp(`stroke="${RULE_COLORS[rule]}"`), `${rule}'s colour`);
    assert.match(svg, new RegExp(`>${rule}: 784-6`), `${rule}'s legend names its model`);
  }
  assert.match(svg, /Test accuracy/);
});

test('a run without its checkpoint is named by its folder; a compare.json draws compare.svg', () => {
  const single = join(dir, 'single.svg');
  assert.equal(chainrule('plot', '--metrics', runDir('no-checkpoint'), '--out', single).status, 0);
  assert.match(readFileSync(single, 'utf8'), />no-checkpoint<\/text>.*>train<\/text>.*>test<\/text>/s);
  const compare = join(dir, 'compare.json');
  const rows = [
    {
      algorithm: 'bp',
      model: '784-8-10',
      curve: [
        [1, 0.5],
        [2, 0.7],
      ],
    },
  ];
  writeFileSync(compare, JSON.stringify({ settings: { dataset: 'fashion' }, rows }));
  const out = join(dir, 'compare.svg');
  assert.equal(chainrule('plot', '--metrics', compare, '--out', out).status, 0);
  const svg = readFileSync(out, 'utf8');
  assert.match(svg, /Test accuracy against training time \(fashion\)/);
  assert.match(svg, new RegExp(`stroke="${RULE_COLORS.bp}"`));
});

test('bad input is refused with what to pass instead, and nothing is written', () => {
  const out = join(dir, 'refused.svg');
  const broken = join(dir, 'broken.jsonl');
  writeFileSync(broken, '{"epoch":1,"trainLoss":0.5}\n');
  const badRows = join(dir, 'bad.json');
  writeFileSync(badRows, JSON.stringify({ rows: [{ algorithm: 'sgd', curve: [] }] }));
  const cases: [string[], RegExp][] = [
    [['--out', out], /plot needs --metrics FILE/],
    [['--metrics', broken], /plot needs --out FILE\.svg/],
    [['--metrics', broken, '--out', out], /line 1 has no number 'trainAccuracy'/],
    [['--metrics', join(dir, 'missing.jsonl'), '--out', out], /missing\.jsonl/],
    [['--metrics', badRows, '--out', out], /row 1 names no learning rule; pass a compare\.json/],
    [['--metrics', badRows, '--metrics', broken, '--out', out], /one compare\.json at a time/],
  ];
  for (const [args, message] of cases) {
    const r = chainrule('plot', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(existsSync(out), false);
});
