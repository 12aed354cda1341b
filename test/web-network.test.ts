import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTrainer } from '../src/learn/registry.js';
import { FF_PRESETS } from '../src/learn/rules/ff-config.js';
import type { Trainer } from '../src/learn/types.js';
import { Rng } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { type LayerBox, layerBoxes, type Phase, stepPhases } from '../web/src/network-model.js';

const boxesOf = (trainer: Trainer) => layerBoxes(trainer.architecture);
const titles = (boxes: LayerBox[]) => boxes.map((b) => b.title);
/** The index of the first phase that marks box `i` with `mark`. */
const firstMark = (phases: Phase[], i: number, mark: string) => phases.findIndex((p) => p.marks[i] === mark);

function batch(size: number) {
  const rng = new Rng(3);
  const x = new Tensor(
    Float32Array.from({ length: size * 784 }, () => rng.uniform()),
    [size, 784],
  );
  const y = new Tensor(
    Int32Array.from({ length: size }, (_, i) => i % 10),
    [size],
  );
  return { x, y };
}

test('backprop: nothing updates until the backward pass has returned, then every layer does', () => {
  const boxes = boxesOf(createTrainer('bp', { hidden: [32] }));
  assert.deepEqual(titles(boxes), ['Input', 'Linear', 'BatchNorm', 'Tanh', 'Linear', 'Loss']);
  const phases = stepPhases('bp', boxes);
  const learning = boxes.flatMap((b, i) => (b.learns ? [i] : []));
  const updates = phases.flatMap((p, k) => (Object.values(p.marks).includes('update') ? [k] : []));
  assert.deepEqual(updates, [phases.length - 1], 'only the last phase updates');
  assert.deepEqual(Object.keys(phases.at(-1)!.marks).map(Number), learning);
  const loss = firstMark(phases, 5, 'loss');
  for (const i of [1, 2, 3, 4])
    assert.ok(firstMark(phases, i, 'forward') < loss && loss < firstMark(phases, i, 'backward'));
  assert.ok(
    firstMark(phases, 4, 'backward') < firstMark(phases, 1, 'backward'),
    'the backward pass runs output to input',
  );
});

test("the locally connected Forward-Forward layers say so, with each layer's fields", () => {
  const { config } = FF_PRESETS['unsupervised-local'];
  const details = layerBoxes(createTrainer('ff', config).architecture).map((b) => b.detail);
  assert.deepEqual(details.slice(1, 4), [
    '784 → 2048, locally connected (10x10 fields, stride 6), ReLU',
    '2048 → 1980, locally connected (2x2 fields, stride 1), ReLU',
    '1980 → 2048, locally connected (2x2 fields, stride 1), ReLU',
  ]);
});

test("Forward-Forward: each layer can update right after its own forward step, before the next layer's", () => {
  const trainer = createTrainer('ff', { hidden: [16, 16, 16] });
  const boxes = boxesOf(trainer);
  assert.deepEqual(titles(boxes), ['Input', 'Layer 1', 'Layer 2', 'Layer 3', 'Softmax head']);
  const phases = stepPhases('ff', boxes);
  for (const i of [1, 2, 3]) {
    assert.equal(firstMark(phases, i, 'update'), firstMark(phases, i, 'forward') + 1);
    assert.ok(firstMark(phases, i, 'update') < firstMark(phases, i + 1, 'forward'));
  }
  assert.ok(phases.every((p) => !Object.values(p.marks).includes('backward')));
  // Every statistic the trainer reports lands on its layer's box.
  const { x, y } = batch(8);
  const names = trainer.step(x, y, { layerStats: true }).layers!.map((l) => l.name);
  assert.deepEqual(
    names,
    boxes.flatMap((b) => (b.stats ? [b.stats] : [])),
  );
});

test('forward gradients: the tangent rides forward with the values; every layer updates at the loss', () => {
  const trainer = createTrainer('fg', { hidden: [16, 8] });
  const boxes = boxesOf(trainer);
  assert.deepEqual(titles(boxes), [
    'Input',
    'Linear',
    'BatchNorm',
    'Tanh',
    'Linear',
    'BatchNorm',
    'Tanh',
    'Linear',
    'Loss',
  ]);
  const phases = stepPhases('fg', boxes);
  assert.ok(phases.every((p) => !Object.values(p.marks).includes('backward')));
  assert.equal(phases.at(-2)!.marks[boxes.length - 1], 'loss');
  assert.equal(Object.values(phases.at(-1)!.marks).filter((m) => m === 'update').length, 5);
  const { x, y } = batch(8);
  const boxStats = new Set(boxes.map((b) => b.stats));
  for (const { name } of trainer.step(x, y, { layerStats: true }).layers!)
    assert.ok(boxStats.has(name), `statistic ${name} has a box`);
});
