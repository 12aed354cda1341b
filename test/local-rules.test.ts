// The rules that learn without a global backward pass: activity-perturbed forward gradients are
// unbiased, no gradient crosses a block in the local-loss rules, feedback matrices stay fixed,
// every rule's checkpoint round-trips exactly, and each records the graph it should.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { jvpAt } from '../src/autodiff/forward.js';
import { topologicalOrder } from '../src/autodiff/reverse.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import type { FeedbackAlignmentTrainer } from '../src/learn/rules/feedback.js';
import { activityGradient, type FGATrainer, randomSigns } from '../src/learn/rules/fg-a.js';
import type { LocalLossTrainer } from '../src/learn/rules/local.js';
import type { Algorithm } from '../src/learn/types.js';
import { graphMemory, resetGraphPeak } from '../src/ops/dispatch.js';
import { crossEntropy } from '../src/ops/nn.js';
import { Rng } from '../src/tensor/random.js';
import { randn, Tensor } from '../src/tensor/tensor.js';
import { throughCheckpoint } from './helpers/checkpoint.js';
import { BIN } from './helpers/cli.js';
import { assertClose } from './helpers/gradcheck.js';

const NEW_RULES = [
  'fg-a',
  'lg-bp',
  'lg-fg-w',
  'lg-fg-a',
  'fa',
  'dfa',
] as const satisfies readonly Algorithm[];

function batch(size: number, inputs: number, classes: number, seed = 1) {
  const rng = new Rng(seed);
  const x = randn([size, inputs], { rng });
  const y = new Int32Array(size).map(() => rng.int(classes));
  return { x, y: new Tensor(y, [size]) };
}

const flat = (tensors: (Tensor | null)[]) => tensors.flatMap((t) => [...t!.data]);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const cosine = (a: number[], b: number[]) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const relativeError = (a: number[], b: number[]) => {
  const d = a.map((v, i) => v - b[i]);
  return Math.sqrt(dot(d, d) / dot(b, b));
};

test('random-sign tangents are ±1, balanced, and reproducible from the seed', () => {
  const u = randomSigns([1000, 7], new Rng(4));
  assert.ok(u.data.every((v) => v === 1 || v === -1));
  assert.ok(Math.abs(flat([u]).reduce((s, v) => s + v, 0)) < 300, 'about as many of each sign');
  assert.deepEqual([...randomSigns([33], new Rng(4)).data], [...u.data.slice(0, 33)]);
});

test("FG-A's estimate is unbiased: its mean over many tangents approaches the backprop gradient", () => {
  const { x, y } = batch(6, 5, 3);
  const gradientWith = (directions: number) => {
    const trainer = createTrainer('fg-a', { inputs: 5, hidden: [4, 4], classes: 3, directions }, { seed: 3 });
    (trainer as FGATrainer).estimateGradients(x, y);
    return flat(trainer.model.parameters().map((p) => p.grad));
  };
  const reference = createTrainer('fg-a', { inputs: 5, hidden: [4, 4], classes: 3 }, { seed: 3 });
  crossEntropy(reference.model.forward(x), y).backward();
  const truth = flat(reference.model.parameters().map((p) => p.grad));
  const errors = [16, 256, 4096].map((k) => relativeError(gradientWith(k), truth));
  assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `error shrinks with more tangents: ${errors}`);
  assert.ok(errors[2] < 0.15, `4096 tangents per example land within 15%: ${errors[2]}`);
  assert.ok(cosine(gradientWith(4096), truth) > 0.98);
});

test('FG-A, FA and DFA record no reverse graph; LG-FG-A records less than LG-BP (its heads only)', () => {
  const { x, y } = batch(8, 784, 10);
  const peak = (algo: Algorithm) => {
    const trainer = createTrainer(algo, {
      hidden: [64, 64],
      ...(algo.startsWith('lg') ? { groups: 1 } : {}),
    });
    trainer.plan(4);
    trainer.step(x, y);
    resetGraphPeak();
    trainer.step(x, y);
    return graphMemory.peakBytes - graphMemory.liveBytes;
  };
  for (const algo of ['fg-a', 'fa', 'dfa'] as const) assert.equal(peak(algo), 0, algo);
  const local = peak('lg-fg-a');
  const greedy = peak('lg-bp');
  assert.ok(local > 0 && local < greedy, `lg-fg-a ${local} B, lg-bp ${greedy} B`);
});

test("a local loss's graph reaches its own block and head and nothing else, in both modes", () => {
  const { x, y } = batch(6, 20, 4);
  const trainer = createTrainer('lg-bp', { inputs: 20, classes: 4, hidden: [8, 8, 8] }) as LocalLossTrainer;
  const { blocks, heads } = trainer.model;
  let below = x;
  for (let l = 0; l < blocks.length; l++) {
    const { loss, activity } = trainer.localLoss(l, below, y);
    const leaves = new Set<Tensor>();
    for (const t of topologicalOrder(loss))
      for (const input of t.node!.inputs) if (!input.node && input.requiresGrad) leaves.add(input);
    assert.deepEqual(
      [...leaves].map((t) => t.id).sort(),
      [...blocks[l].parameters(), ...heads[l].parameters()].map((t) => t.id).sort(),
      `block ${l + 1}'s loss depends on exactly its block and head`,
    );
    below = activity;
  }
  // Forward mode: moving block 1's weights moves block 1's loss, and not block 2's.
  const tangent = (l: number) =>
    jvpAt(
      () => trainer.localLoss(l, trainer.localLoss(0, x, y).activity, y).loss,
      [[blocks[0].weight, randn(blocks[0].weight.shape, { rng: new Rng(2) })]],
    ).tangent.item();
  assert.equal(tangent(1), 0, 'no tangent crosses the boundary');
  assert.notEqual(
    jvpAt(
      () => trainer.localLoss(0, x, y).loss,
      [[blocks[0].weight, randn(blocks[0].weight.shape, { rng: new Rng(2) })]],
    ).tangent.item(),
    0,
  );
});

test("FA's and DFA's feedback matrices stay fixed while the weights learn, and the top layer's gradient is backprop's", () => {
  const { x, y } = batch(16, 30, 5);
  const lr = 0.1;
  // Plain SGD, so a step's change is -lr times the gradient the rule computed.
  const config = {
    inputs: 30,
    classes: 5,
    hidden: [12, 9],
    optimizer: 'sgd' as const,
    momentum: 0,
    lr,
    schedule: 'constant' as const,
  };
  for (const algo of ['fa', 'dfa'] as const) {
    const trainer = createTrainer(algo, config) as FeedbackAlignmentTrainer;
    const { layers, feedback } = trainer.model;
    const fixed = feedback.map((b) => [...b.data]);
    const before = layers.map((l) => [...l.weight.data]);
    const backprop = createTrainer(algo, config);
    crossEntropy(backprop.model.forward(x), y).backward();
    const truth = (backprop as FeedbackAlignmentTrainer).model.layers.map((l) => [...l.weight.grad!.data]);
    trainer.plan(5);
    const first = trainer.step(x, y).loss;
    const update = layers.map((l, i) => [...l.weight.data].map((v, j) => (before[i][j] - v) / lr));
    // The output layer needs no feedback: its update is backprop's gradient.
    assertClose(update.at(-1)!, truth.at(-1)!, { rtol: 1e-3, atol: 1e-5 }, `${algo} top layer`);
    // Below it, the feedback replaces the transposed weights: the update is not backprop's.
    assert.ok(cosine(update[0], truth[0]) < 0.99, `${algo}: the first layer is not backprop in disguise`);
    for (let i = 0; i < 4; i++) trainer.step(x, y);
    assert.deepEqual(
      feedback.map((b) => [...b.data]),
      fixed,
      `${algo}: feedback matrices unchanged`,
    );
    assert.ok(trainer.step(x, y).loss < first, `${algo}: the loss falls`);
  }
});

test('every new rule resumes from its checkpoint exactly where it stopped', () => {
  const { x, y } = batch(8, 784, 10);
  const normalization = { kind: 'unit', mean: 0, std: 1 } as const;
  for (const algo of NEW_RULES) {
    const config = algo.startsWith('lg')
      ? { hidden: [8, 8], directions: 2, groups: 2 }
      : algo === 'fg-a'
        ? { hidden: [8, 8], directions: 2 }
        : { hidden: [8, 8] };
    const trainer = createTrainer(algo, config, { seed: 5 });
    trainer.plan(4);
    trainer.step(x, y);
    const snapshot = throughCheckpoint(trainer, { normalization, step: 1, seed: 5, batchSize: 8, limit: 8 });
    const restored = restoreTrainer(algo, snapshot, 'file');
    restored.plan(4);
    assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data], `${algo}: same scores`);
    assert.equal(restored.step(x, y).loss, trainer.step(x, y).loss, `${algo}: the next step is the same`);
    assert.deepEqual(
      [...restored.scores(x).data],
      [...trainer.scores(x).data],
      `${algo}: and so are its results`,
    );
  }
});

test('the new rules refuse what they cannot learn, naming the setting and the fix', () => {
  assert.throws(
    () => createTrainer('fg-a', { batchNorm: true }),
    /fg-a.batchNorm must be false.*batch statistics/,
  );
  assert.throws(
    () => createTrainer('lg-fg-a', { hidden: [30, 32], groups: 4 }),
    /lg-fg-a.groups is 4, which does not divide the hidden width 30/,
  );
  assert.throws(
    () => activityGradient((ps) => ps[0].sum(), [[4, 3]], new Rng(1)),
    /the losses' shape \[\] must begin every activity's shape \(\[4, 3\]\)/,
  );
});

test('grouped local losses: each group of units learns from its own classifier alone', () => {
  const { x } = batch(6, 20, 4);
  const trainer = createTrainer('lg-bp', {
    inputs: 20,
    classes: 4,
    hidden: [8],
    groups: 4,
  }) as LocalLossTrainer;
  const head = trainer.model.heads[0];
  assert.deepEqual(head.weight.shape, [4, 2, 4]);
  const activity = trainer.model.block(0, x);
  const logits = head.forward(activity);
  assert.deepEqual(logits.shape, [6, 4, 4]);
  // Group 2's logits move with units 4 and 5 only.
  const moved = activity.add(
    new Tensor(
      Float32Array.from({ length: 48 }, (_, i) => (i % 8 === 4 ? 1 : 0)),
      [6, 8],
    ),
  );
  const changed = head.forward(moved).sub(logits).abs().sum([0, 2]);
  assert.deepEqual(
    [...changed.data].map((v) => v > 0),
    [false, false, true, false],
  );
  assert.deepEqual(trainer.scores(x).shape, [6, 4]);
});

test('compare takes any subset of the rules (--algo or --algos) and measures each one peak graph memory', () => {
  const out = mkdtempSync(join(tmpdir(), 'chainrule-compare-local-'));
  try {
    const args = [
      'compare',
      '--algo',
      'lg-bp,fg-a',
      '--limit',
      '256',
      '--epochs',
      '1',
      '--evals-per-epoch',
      '1',
    ];
    const r = spawnSync(process.execPath, [BIN, ...args, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { rows } = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    assert.deepEqual(
      rows.map((row: { algorithm: string }) => row.algorithm),
      ['lg-bp', 'fg-a'],
    );
    const peak = Object.fromEntries(
      rows.map((row: { algorithm: string; peakGraphBytes: number }) => [row.algorithm, row.peakGraphBytes]),
    );
    assert.ok(peak['lg-bp'] > 0, 'local backprop records its block graph');
    assert.equal(peak['fg-a'], 0, 'activity forward gradients record none');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
