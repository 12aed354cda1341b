// The optimisers' formulas on problems small enough to follow by hand, their parameter
// groups and validation, resumable state, and the schedules' behaviour beyond the sequences
// checked against torch in parity.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  CrossEntropyLoss,
  Linear,
  LinearLR,
  OneCycleLR,
  type Optimizer,
  type OptimizerStateDict,
  ReLU,
  Rng,
  randn,
  Sequential,
  SGD,
  StepLR,
  Tensor,
  tensor,
} from '../src/index.js';
import { assertClose } from './helpers/gradcheck.js';

const param = (values: number[]) => tensor(values, { dtype: 'float64', requiresGrad: true });

/** Runs `steps` steps of minimising sum(p²) (gradient 2p), returning p after each. */
function descend(p: Tensor, optimizer: Optimizer, steps: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    p.square().sum().backward();
    optimizer.step();
    out.push(Array.from(p.data));
  }
  return out;
}

test('SGD: plain, momentum (the first step seeds the buffer with the gradient), Nesterov, weight decay', () => {
  const plain = param([1, -2]);
  assertClose(descend(plain, new SGD([plain], { lr: 0.1 }), 1)[0], [0.8, -1.6]);

  // g1 = 2, buf = 2, p = 1 - 0.1·2 = 0.8; g2 = 1.6, buf = 0.9·2 + 1.6 = 3.4, p = 0.8 - 0.34.
  const heavy = param([1]);
  assertClose(descend(heavy, new SGD([heavy], { lr: 0.1, momentum: 0.9 }), 2).flat(), [0.8, 0.46]);

  // With dampening the first buffer is still the raw gradient: buf2 = 0.9·2 + 0.5·1.6 = 2.6.
  const damped = param([1]);
  assertClose(
    descend(damped, new SGD([damped], { lr: 0.1, momentum: 0.9, dampening: 0.5 }), 2).flat(),
    [0.8, 0.54],
  );

  // Nesterov steps along g + momentum·buf: step 1 uses 2 + 0.9·2 = 3.8, so p = 0.62.
  const nesterov = param([1]);
  assertClose(
    descend(nesterov, new SGD([nesterov], { lr: 0.1, momentum: 0.9, nesterov: true }), 1)[0],
    [0.62],
  );

  // Weight decay adds wd·p to the gradient: 2 + 0.5 = 2.5, p = 0.75.
  const decayed = param([1]);
  assertClose(descend(decayed, new SGD([decayed], { lr: 0.1, weightDecay: 0.5 }), 1)[0], [0.75]);
});

test("Adam's first step moves every parameter by lr against its gradient's sign, whatever the scale", () => {
  const p = param([3, -1e-3, 50]);
  const start = Array.from(p.data);
  const optimizer = new Adam([p], { lr: 0.01 });
  optimizer.zeroGrad();
  p.mul(tensor([1e4, 1, 1e-3], { dtype: 'float64' }))
    .sum()
    .backward();
  optimizer.step();
  // m̂ = g and v̂ = g² after one step, so the step is lr·g/(|g| + eps).
  assertClose(
    Array.from(p.data),
    [start[0] - 0.01, start[1] - 0.01, start[2] - 0.01 * (1e-3 / (1e-3 + 1e-8))],
    {
      rtol: 1e-12,
    },
  );
});

test('Adam follows its bias-corrected moments over several steps', () => {
  const p = param([1, -0.5]);
  const [lr, b1, b2, eps] = [0.05, 0.8, 0.9, 1e-6];
  const history = descend(p, new Adam([p], { lr, betas: [b1, b2], eps }), 3);
  // The same recurrence written out per element.
  const expected = [1, -0.5].map((x0) => {
    let [x, m, v] = [x0, 0, 0];
    return [1, 2, 3].map((t) => {
      const g = 2 * x;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      x -= ((lr / (1 - b1 ** t)) * m) / (Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps);
      return x;
    });
  });
  assertClose(
    history.flat(),
    [0, 1, 2].flatMap((t) => expected.map((e) => e[t])),
    { rtol: 1e-13 },
  );
});

test('weight decay: Adam adds it to the gradient, AdamW shrinks the weights directly', () => {
  const zeroLoss = (p: Tensor) => p.mul(0).sum();
  const run = (make: (p: Tensor) => Optimizer) => {
    const p = param([2, -4]);
    const optimizer = make(p);
    zeroLoss(p).backward();
    optimizer.step();
    return Array.from(p.data);
  };
  // A zero loss gradient: AdamW only decays, p·(1 - lr·wd); Adam sees g = wd·p and steps by lr.
  assertClose(
    run((p) => new AdamW([p], { lr: 0.1, weightDecay: 0.5 })),
    [2 * 0.95, -4 * 0.95],
  );
  assertClose(
    run((p) => new Adam([p], { lr: 0.1, weightDecay: 0.5 })),
    [1.9, -3.9],
    { rtol: 1e-7 },
  );
  assert.equal(new AdamW([param([1])]).paramGroups[0].weightDecay, 1e-2, "AdamW's default decay");
  assert.equal(new Adam([param([1])]).paramGroups[0].weightDecay, 0);
});

test('parameter groups carry their own settings; lr sets every group; params without gradients stay put', () => {
  const [a, b, idle] = [param([1]), param([1]), param([5])];
  const optimizer = new SGD(
    [
      { params: [a], lr: 0.1 },
      { params: [b, idle], weightDecay: 1 },
    ],
    { lr: 0.01 },
  );
  assert.deepEqual(
    optimizer.paramGroups.map((g) => [g.lr, g.weightDecay]),
    [
      [0.1, 0],
      [0.01, 1],
    ],
  );
  a.square().add(b.square()).sum().backward();
  optimizer.step();
  assertClose([a.data[0], b.data[0], idle.data[0]], [0.8, 1 - 0.01 * 3, 5]);
  optimizer.zeroGrad();
  assert.equal(a.grad, null);
  optimizer.lr = 0.5;
  assert.deepEqual(
    optimizer.paramGroups.map((g) => g.lr),
    [0.5, 0.5],
  );
  assert.equal(optimizer.lr, 0.5);
});

test('optimisers refuse bad settings and parameters with messages that name them', () => {
  const p = param([1]);
  assert.throws(() => new SGD([p], { lr: -1 }), /SGD: lr must be a number > 0, got -1/);
  assert.throws(
    () => new SGD([p], { lr: 0.1, nesterov: true }),
    /nesterov needs momentum > 0 and dampening 0/,
  );
  assert.throws(
    () => new Adam([p], { betas: [0.9, 1] }),
    /Adam: betas\[1\] must be a number in \[0, 1\), got 1/,
  );
  assert.throws(() => new AdamW([p], { eps: Number.NaN }), /AdamW: eps/);
  assert.throws(() => new Adam([]), /got no parameters to optimise; pass model.parameters\(\)/);
  assert.throws(() => new Adam([p, p]), /a parameter appears twice/);
  assert.throws(() => new Adam([p.mul(2)]), /cannot optimise a tensor computed by an op/);
  assert.throws(() => new Adam([tensor([1], { dtype: 'int32' })]), /int32/);
});

/** A small classifier and one batch, for checkpoint tests. */
function setup(seed: number) {
  const rng = new Rng(seed);
  const net = new Sequential(new Linear(6, 8, { rng }), new ReLU(), new Linear(8, 3, { rng }));
  const batch = randn([10, 6], { rng: new Rng(99) });
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
  const step = (optimizer: Optimizer) => {
    optimizer.zeroGrad();
    new CrossEntropyLoss().forward(net.forward(batch), labels).backward();
    optimizer.step();
  };
  return { net, step };
}

/** A state dict with its tensors as plain arrays, to compare values. */
const plain = (dict: OptimizerStateDict) =>
  JSON.parse(
    JSON.stringify(dict, (_, v) => (v instanceof Tensor ? { shape: v.shape, data: Array.from(v.data) } : v)),
  );

const optimizers: [string, (params: Tensor[]) => Optimizer][] = [
  ['SGD with Nesterov momentum', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })],
  ['Adam', (ps) => new Adam(ps, { lr: 0.01 })],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.01 })],
];

for (const [name, make] of optimizers) {
  test(`${name}: saving and loading the state resumes training exactly`, () => {
    const original = setup(1);
    const optimizer = make(original.net.parameters());
    for (let i = 0; i < 3; i++) original.step(optimizer);
    const checkpoint = { model: original.net.stateDict(), optimizer: optimizer.stateDict() };

    const resumed = setup(2);
    resumed.net.loadStateDict(checkpoint.model);
    const fresh = make(resumed.net.parameters());
    fresh.loadStateDict(checkpoint.optimizer);
    assert.deepEqual(plain(fresh.stateDict()), plain(checkpoint.optimizer));

    original.step(optimizer);
    resumed.step(fresh);
    const resumedParams = resumed.net.parameters();
    original.net.namedParameters().forEach(([n, p], i) => {
      assert.deepEqual(p.data, resumedParams[i].data, n);
    });
    assert.notDeepEqual(
      plain(optimizer.stateDict()),
      plain(checkpoint.optimizer),
      'a saved state is a snapshot',
    );
  });
}

test('optimizer loadStateDict refuses a dict for other groups or shapes', () => {
  const a = setup(1);
  const optimizer = new Adam(a.net.parameters());
  a.step(optimizer);
  const dict = optimizer.stateDict();
  const other = new Adam(new Linear(2, 2).parameters());
  assert.throws(() => other.loadStateDict(dict), /group 0 has 4 parameters in the dict but 2 here/);
  const grouped = new Adam([
    { params: a.net.parameters().slice(0, 2) },
    { params: a.net.parameters().slice(2) },
  ]);
  assert.throws(() => grouped.loadStateDict(dict), /the dict has 1 parameter groups, this optimiser 2/);
  const swapped = new Adam(new Sequential(new Linear(6, 8), new Linear(3, 8)).parameters());
  assert.throws(
    () => swapped.loadStateDict(dict),
    /state 'expAvg' of parameter 2 has shape \[3, 8\] but the parameter has shape \[8, 3\]/,
  );
});

test('a scheduler resumes from its state; OneCycleLR cycles momentum and stops at totalSteps', () => {
  const make = () => {
    const optimizer = new SGD([param([1])], { lr: 0.1, momentum: 0.9 });
    return { optimizer, scheduler: new OneCycleLR(optimizer, 1, 10) };
  };
  const a = make();
  assert.equal(a.optimizer.paramGroups[0].momentum, 0.95, 'momentum starts at maxMomentum');
  assertClose([a.optimizer.lr], [1 / 25]);
  for (let i = 0; i < 2; i++) a.scheduler.step();
  // The peak comes after pctStart·totalSteps - 1 steps (to rounding: 0.3·10 is not exactly 3).
  assertClose([a.optimizer.lr, a.optimizer.paramGroups[0].momentum], [1, 0.85], { rtol: 1e-12 });
  const b = make();
  b.scheduler.loadStateDict(a.scheduler.stateDict());
  assert.equal(b.optimizer.lr, a.optimizer.lr);
  for (let i = 2; i < 9; i++) a.scheduler.step();
  assertClose([a.optimizer.lr], [1 / 25 / 1e4], { rtol: 1e-12 });
  a.scheduler.step(); // torch allows epoch totalSteps too (the cosine runs on past its end)
  assert.throws(() => a.scheduler.step(), /stepped 11 times but totalSteps is 10/);

  const adam = new Adam([param([1])]);
  new OneCycleLR(adam, 0.01, 100);
  assert.deepEqual(adam.paramGroups[0].betas, [0.95, 0.999], "Adam's beta1 carries the momentum");
});

test('schedules refuse bad arguments', () => {
  const optimizer = new SGD([param([1])], { lr: 0.1 });
  assert.throws(() => new StepLR(optimizer, 0), /StepLR: stepSize must be an integer >= 1, got 0/);
  assert.throws(() => new CosineAnnealingLR(optimizer, 2.5), /tMax must be an integer >= 1, got 2.5/);
  assert.throws(
    () => new LinearLR(optimizer, { startFactor: 0 }),
    /startFactor must be a number in \(0, 1\], got 0/,
  );
  assert.throws(
    () => new OneCycleLR(optimizer, 1, 10, { pctStart: 2 }),
    /pctStart must be a number in \[0, 1\], got 2/,
  );
});
