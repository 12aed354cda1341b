// The Forward-Forward paper's rows: hybrid negatives mix two different digits through a smooth
// mask, the unsupervised layers (fully or locally connected) learn without labels and without a
// gradient crossing a layer, the recurrent net's losses reach neither another layer nor another
// step, and every paper preset's checkpoint restores the trainer exactly.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topologicalOrder } from '../src/autodiff/reverse.js';
import { loadDataset } from '../src/data/datasets.js';
import { blurredBits, hybridImages, hybridMask } from '../src/data/hybrid.js';
import { fitNormalization } from '../src/data/loader.js';
import { trainingData } from '../src/learn/data.js';
import { evaluate } from '../src/learn/loop.js';
import { FFLocalLayer, readArchitecture } from '../src/learn/models.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import { FF_PRESETS, type FFConfig, type FFTrainer } from '../src/learn/rules/ff.js';
import type { FFRecurrentConfig, FFRecurrentTrainer } from '../src/learn/rules/ff-recurrent.js';
import { crossEntropy } from '../src/ops/nn.js';
import { concat } from '../src/ops/shape.js';
import { Rng } from '../src/tensor/random.js';
import { type Tensor, zeros } from '../src/tensor/tensor.js';
import { throughCheckpoint } from './helpers/checkpoint.js';

const mnist = loadDataset('mnist');
const normalization = fitNormalization('unit', mnist.train);
const data = trainingData(mnist, { batchSize: 20, seed: 1, normalization, limit: 200, testLimit: 100 });
const batches = [...data.trainBatches(0)];
const PAPER_PRESETS = [
  'supervised',
  'supervised-fast',
  'jittered',
  'unsupervised',
  'unsupervised-local',
] as const;

test('the blurred bit image is smooth and its threshold splits the image about in half', () => {
  const rng = new Rng(5);
  let nearHalf = 0;
  let ones = 0;
  let neighbourSteps = 0;
  let bitSteps = 0;
  const side = 28;
  const masks = 200;
  for (let m = 0; m < masks; m++) {
    const blurred = blurredBits(rng, side, side);
    const mask = hybridMask(new Rng(m), side, side);
    const bits = hybridMask(new Rng(m), side, side, 0);
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        const v = blurred[i * side + j];
        assert.ok(v >= 0 && v <= 1);
        if (Math.abs(v - 0.5) < 0.25) nearHalf++;
        ones += mask[i * side + j];
        if (j + 1 < side) {
          neighbourSteps += mask[i * side + j] ^ mask[i * side + j + 1];
          bitSteps += bits[i * side + j] ^ bits[i * side + j + 1];
        }
      }
    }
  }
  const pixels = masks * side * side;
  const pairs = masks * side * (side - 1);
  // Blurring pulls the random bits toward their local mean, 0.5: most values end near it.
  assert.ok(nearHalf / pixels > 0.8, `blurred values near 0.5: ${nearHalf / pixels}`);
  assert.ok(Math.abs(ones / pixels - 0.5) < 0.03, `the mask is about half ones: ${ones / pixels}`);
  // Raw bits change between neighbours half the time; the mask in large regions, rarely.
  assert.ok(Math.abs(bitSteps / pairs - 0.5) < 0.02, `raw bits flip ${bitSteps / pairs}`);
  assert.ok(neighbourSteps / pairs < 0.2, `mask flips between neighbours ${neighbourSteps / pairs}`);
});

test('a hybrid takes each pixel from one of two images of different digits, as its mask says', () => {
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const { images, partners, masks } = hybridImages(x, labels, new Rng(3), { height: 28, width: 28 });
  assert.deepEqual(images.shape, x.shape);
  let fromFirst = 0;
  for (let r = 0; r < x.shape[0]; r++) {
    assert.notEqual(labels[partners[r]], labels[r], `row ${r} is mixed with a different digit`);
    for (let p = 0; p < 784; p++) {
      const source = masks[r * 784 + p] ? r : partners[r];
      assert.equal(images.data[r * 784 + p], x.data[source * 784 + p]);
      fromFirst += masks[r * 784 + p];
    }
  }
  const share = fromFirst / (x.shape[0] * 784);
  assert.ok(share > 0.35 && share < 0.65, `both images contribute (${share} from the first)`);
  const again = hybridImages(x, labels, new Rng(3), { height: 28, width: 28 });
  assert.deepEqual([...again.images.data], [...images.data], 'seeded: the same negatives again');
  assert.throws(
    () => hybridImages(x.slice(0, 0, 1), labels.subarray(0, 1), new Rng(0), { height: 28, width: 28 }),
    /batch size of 2 or more/,
  );
});

/**
 * Small widths for a preset's layers: four fully connected ones, or for the locally connected
 * preset its own grids (4x4, 3x3, 2x2) with 3, 2 and 2 channels.
 */
const smallHidden = (preset: string) =>
  FF_PRESETS[preset as keyof typeof FF_PRESETS].config.receptiveFields ? [48, 18, 8] : [12, 10, 8, 6];

const createFF = (preset: string, config: Partial<FFConfig> = {}) =>
  createTrainer(
    'ff',
    { hidden: smallHidden(preset), ...config },
    { seed: 3, preset, normalization },
  ) as FFTrainer;

/** Throws unless each layer's loss graph reaches that layer's own weight and bias, and nothing else. */
function assertOwnWeightsOnly(trainer: FFTrainer, objectives: { layer: number; loss: Tensor }[]): void {
  for (const objective of objectives) {
    const leaves = new Set<Tensor>();
    for (const t of topologicalOrder(objective.loss))
      for (const input of t.node!.inputs) if (!input.node && input.requiresGrad) leaves.add(input);
    assert.deepEqual(
      [...leaves].map((t) => t.id).sort(),
      trainer.layers[objective.layer]
        .parameters()
        .map((t) => t.id)
        .sort(),
      `layer ${objective.layer + 1}'s loss reaches its own weight and bias only`,
    );
  }
}

test('unsupervised layers see no label, and no gradient crosses a layer', () => {
  const trainer = createFF('unsupervised');
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const negatives = hybridImages(x, labels, new Rng(1), { height: 28, width: 28 }).images;
  const objectives = [...trainer.layerObjectives(x, labels, negatives)];
  assert.equal(objectives.length, 4);
  assertOwnWeightsOnly(trainer, objectives);
  // The label never reaches the layers: any labels give the same activities.
  const other = Int32Array.from(labels, (l) => (l + 3) % 10);
  const again = createFF('unsupervised');
  const shuffled = [...again.layerObjectives(x, other, negatives)];
  assert.deepEqual([...shuffled[3].activity.data], [...objectives[3].activity.data]);
  assert.throws(() => trainer.scores(x, 'goodness'), /learned without labels.*use inference 'softmax'/);
  assert.throws(
    () => createFF('unsupervised', { inference: 'goodness' }),
    /inference: 'hybrid' negatives train the layers without labels/,
  );
  assert.throws(() => createFF('unsupervised', { inputs: 780 }), /780 is not a square image/);
});

test("unsupervised-local: locally connected layers on the paper's grids, no gradient crossing a layer", () => {
  const trainer = createFF('unsupervised-local');
  assert.equal(
    trainer.describe(),
    '28x28 image, locally connected ReLU layers 4x4x3 (10x10 fields, stride 6), 3x3x2 (2x2 fields, stride 1), ' +
      '2x2x2 (2x2 fields, stride 1) (sum goodness, hybrid negatives, softmax readout)',
  );
  // A separate filter bank at every location: [outH, outW, out, in, kh, kw].
  assert.deepEqual(
    trainer.layers.map((l) => l.weight.shape),
    [
      [4, 4, 3, 1, 10, 10],
      [3, 3, 2, 3, 2, 2],
      [2, 2, 2, 2, 2, 2],
    ],
  );
  assert.ok(trainer.layers.every((l) => l instanceof FFLocalLayer));
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const negatives = hybridImages(x, labels, new Rng(1), { height: 28, width: 28 }).images;
  const objectives = [...trainer.layerObjectives(x, labels, negatives)];
  assert.equal(objectives.length, 3);
  assertOwnWeightsOnly(trainer, objectives);
  assert.deepEqual(
    objectives.map((o) => o.activity.shape),
    [
      [40, 48],
      [40, 18],
      [40, 8],
    ],
  );
  // The head reads the last three layers, which are all three here.
  assert.deepEqual(trainer.head.weight.shape, [10, 48 + 18 + 8]);
});

test('unsupervised-local at its full size learns from a few batches: the layer losses fall', () => {
  const trainer = createTrainer(
    'ff',
    {},
    { seed: 3, preset: 'unsupervised-local', normalization },
  ) as FFTrainer;
  assert.deepEqual(FF_PRESETS['unsupervised-local'].config.hidden, [2048, 1980, 2048]);
  trainer.plan(4 * batches.length);
  const epochLoss = () =>
    batches.reduce((sum, { x, y }) => sum + trainer.step(x, y).loss, 0) / batches.length;
  const losses = [epochLoss(), epochLoss(), epochLoss()];
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(
    losses[2] < 0.5 * losses[0],
    `the loss falls from epoch to epoch: ${losses.map((l) => l.toFixed(1))}`,
  );
});

test('locally connected layers must fit their grids, and older checkpoints read as fully connected', () => {
  const fields = FF_PRESETS['unsupervised-local'].config.receptiveFields!;
  assert.throws(
    () => createFF('unsupervised-local', { hidden: [48, 20, 8] }),
    /layer 2 has 20 units, which do not fill its 3x3 grid evenly; use a multiple of 9, e.g. 18 \(2 channels\) or 27/,
  );
  assert.throws(
    () => createFF('unsupervised-local', { receptiveFields: [{ size: 29, stride: 1 }, ...fields.slice(1)] }),
    /layer 1's 29x29 field does not fit on the 28x28 grid below; use a field of at most 28/,
  );
  assert.throws(
    () => createFF('unsupervised-local', { hidden: [48, 18] }),
    /receptiveFields has 3 fields for 2 hidden layers; give 3 hidden widths, one per field/,
  );
  assert.throws(
    () => createFF('unsupervised-local', { receptiveFields: [{ size: 10, stride: 0 }, ...fields.slice(1)] }),
    /receptiveFields\[0\].stride must be an integer from 1/,
  );
  assert.throws(
    () => createFF('unsupervised-local', { receptiveFields: [] }),
    /receptiveFields must be null \(fully connected layers\) or a list of one \{ size, stride \} per hidden layer/,
  );
  assert.throws(
    () => createFF('unsupervised-local', { inputs: 780, negatives: 'hard', inference: 'goodness' }),
    /inputs is 780, not a square image; locally connected layers need one/,
  );
  const older = { kind: 'ff-stack', inputs: 784, hidden: [10], classes: 10, readoutFrom: 1 };
  const read = readArchitecture(older, 'old');
  assert.ok(read.kind === 'ff-stack' && read.receptiveFields === null);
});

test('every paper preset trains a step and its checkpoint restores it exactly', () => {
  for (const name of PAPER_PRESETS) {
    const trainer = createFF(name);
    trainer.plan(6);
    for (const { x, y } of batches.slice(0, 2)) trainer.step(x, y);
    const restored = restoreTrainer(
      'ff',
      throughCheckpoint(trainer, { normalization, step: 2, seed: 3, batchSize: 20, limit: 200 }),
    ) as FFTrainer;
    restored.plan(6);
    const { x, y } = batches[3];
    assert.deepEqual([...restored.scores(x).data], [...trainer.scores(x).data], `${name}: scores`);
    assert.equal(restored.step(x, y).loss, trainer.step(x, y).loss, `${name}: the next step`);
    assert.equal(restored.inference, FF_PRESETS[name].config.inference, name);
    assert.equal(restored.describe(), trainer.describe(), `${name}: the same network`);
    assert.equal(
      evaluate(restored, data.testBatches()).accuracy,
      evaluate(trainer, data.testBatches()).accuracy,
      `${name}: eval's accuracy`,
    );
  }
  assert.equal(FF_PRESETS['supervised-fast'].config.lr, 2 * FF_PRESETS.supervised.config.lr);
  assert.equal(FF_PRESETS.jittered.run.maxShift, 2);
});

const createRecurrent = (config: Partial<FFRecurrentConfig> = {}, preset = 'default') =>
  createTrainer(
    'ff-recurrent',
    { hidden: [12, 10, 8], ...config },
    { seed: 2, preset },
  ) as FFRecurrentTrainer;

test('recurrent FF: a layer loss at a step reaches its own weights only, never another layer or step', () => {
  const trainer = createRecurrent();
  const { x, y } = batches[0];
  const labels = y.data as Int32Array;
  const negatives = Int32Array.from(labels, (l) => (l + 1) % 10);
  const seen: string[] = [];
  trainer.learnAtScoredSteps(x, labels, negatives, (objective) => {
    const leaves = new Set<Tensor>();
    let operations = 0;
    for (const t of topologicalOrder(objective.loss)) {
      operations++;
      for (const input of t.node!.inputs) if (!input.node && input.requiresGrad) leaves.add(input);
    }
    assert.deepEqual(
      [...leaves].map((t) => t.id).sort(),
      trainer.model.layers[objective.layer]
        .parameters()
        .map((t) => t.id)
        .sort(),
      `layer ${objective.layer + 1} at step ${objective.iteration}: its own bottom-up, bias and top-down weights`,
    );
    // One step's work: the graph does not grow with the step it is taken at.
    assert.ok(operations < 30, `${operations} operations at step ${objective.iteration}`);
    seen.push(`${objective.iteration}:${objective.layer}`);
    objective.loss.backward();
  });
  assert.deepEqual(seen, ['3:0', '3:1', '3:2', '4:0', '4:1', '4:2', '5:0', '5:1', '5:2']);
  // The head reads the bottom-up pass, which its cross-entropy does not reach.
  const headLoss = crossEntropy(trainer.model.headLogits(trainer.model.bottomUp(x)), y);
  const leaves = [...topologicalOrder(headLoss)].flatMap((t) =>
    t.node!.inputs.filter((input) => !input.node && input.requiresGrad),
  );
  assert.deepEqual(
    [...new Set(leaves)].map((t) => t.id).sort(),
    trainer.model.head
      .parameters()
      .map((t) => t.id)
      .sort(),
    "the head's own weights and bias",
  );
});

for (const preset of ['default', 'as-written']) {
  test(`recurrent FF (${preset}): the label groups settling together learn as each row settling on its own`, () => {
    // Four layers: the label reaches the first only at step 4, after learning starts at step 3.
    const trainer = createRecurrent({ hidden: [12, 10, 8, 6] }, preset);
    const { x, y } = batches[0];
    const batch = x.shape[0];
    const labels = y.data as Int32Array;
    const negatives = Int32Array.from(labels, (l) => (l + 3) % 10);
    const params = trainer.model.layers.flatMap((l) => l.parameters());
    const gradients = () => params.map((p) => [...p.grad!.data]);
    const together: number[][] = [];
    trainer.learnAtScoredSteps(x, labels, negatives, (objective) => {
      objective.loss.backward();
      together.push([objective.loss.item(), ...objective.goodness.data]);
    });
    const groupedGradients = gradients();
    for (const p of params) p.grad = null;

    // The same objectives with every row its own: the image twice, each with its label one-hot.
    const image = concat([x, x], 0);
    const top = zeros([2 * batch, 10]);
    [...labels, ...negatives].forEach((label, r) => {
      top.data[r * 10 + label] = 1;
    });
    const alone: number[][] = [];
    let state = trainer.model.initialState(image, trainer.config.start);
    for (let t = 1; t <= 5; t++) {
      state = trainer.model.step(state, image, top);
      if (t < 3) continue;
      for (const [i, activity] of state.entries()) {
        const goodness = activity.square().sum(1);
        const margin = goodness.sub(trainer.model.architecture.hidden[i]);
        const loss = margin
          .slice(0, 0, batch)
          .neg()
          .softplus()
          .mean()
          .add(margin.slice(0, batch).softplus().mean());
        loss.backward();
        alone.push([loss.item(), ...goodness.data]);
      }
    }
    const close = (a: number[], b: number[], what: string) => {
      for (const [i, v] of a.entries())
        assert.ok(Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`);
    };
    for (const [o, figures] of together.entries()) close(figures, alone[o], `objective ${o}: loss, goodness`);
    for (const [i, g] of gradients().entries()) close(groupedGradients[i], g, `gradient of parameter ${i}`);
  });

  test(`recurrent FF (${preset}) settles damped, scores by goodness over steps 3-5, and its checkpoint restores it`, () => {
    const trainer = createRecurrent({}, preset);
    const { x } = batches[1];
    const steps = trainer.settle(x, 4);
    assert.equal(steps.length, 8);
    // Step 1: damped ReLU activities, never negative.
    assert.ok(steps[0].every((a) => a.data.every((v) => v >= 0)));
    const goodness = (a: Tensor) => a.square().sum(1).data;
    const expected = new Float64Array(x.shape[0]);
    for (const state of steps.slice(2, 5))
      for (const a of state) {
        for (const [r, g] of goodness(a).entries()) expected[r] += g;
      }
    const scores = trainer.labelScores(x);
    for (let r = 0; r < x.shape[0]; r++)
      assert.ok(Math.abs(scores.data[r * 10 + 4] - expected[r]) <= 1e-4 * expected[r], `row ${r}`);
    // Every label, over more rows than evaluation settles at once (200 rows of ten labels).
    const many = concat(
      batches.slice(0, 11).map((b) => b.x),
      0,
    );
    const manyScores = trainer.labelScores(many);
    for (let label = 0; label < 10; label++) {
      const settled = new Float64Array(many.shape[0]);
      for (const state of trainer.settle(many, label).slice(2, 5))
        for (const a of state) for (const [r, g] of goodness(a).entries()) settled[r] += g;
      settled.forEach((g, r) => {
        const score = manyScores.data[r * 10 + label];
        assert.ok(Math.abs(score - g) <= 1e-4 * g, `label ${label}, row ${r}: ${score} vs ${g}`);
      });
    }

    trainer.plan(6);
    for (const { x: bx, y } of batches.slice(0, 2)) trainer.step(bx, y);
    const restored = restoreTrainer(
      'ff-recurrent',
      throughCheckpoint(trainer, { normalization, step: 2, seed: 2, batchSize: 20, limit: 200 }),
    ) as FFRecurrentTrainer;
    restored.plan(6);
    const { x: nx, y: ny } = batches[3];
    assert.deepEqual([...restored.scores(nx).data], [...trainer.scores(nx).data]);
    assert.equal(
      restored.step(nx, ny).loss,
      trainer.step(nx, ny).loss,
      'the same next step, negatives included',
    );
    assert.throws(
      () => createRecurrent({ scoredFrom: 6, scoredTo: 5 }, preset),
      /scored steps 6-5 must lie within steps 1-8/,
    );
  });
}
