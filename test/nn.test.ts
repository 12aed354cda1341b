// The Module API and the layers: PyTorch's names, training and evaluation modes, state dicts
// and their errors, initialisation, dropout's masks, and the normalisations' derivatives.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BatchNorm1d,
  ChainruleError,
  CrossEntropyLoss,
  Dropout,
  Flatten,
  LayerNorm,
  Linear,
  Module,
  MSELoss,
  noGrad,
  ReLU,
  Rng,
  randn,
  Sequential,
  ShapeError,
  Sigmoid,
  Softplus,
  Tanh,
  type Tensor,
  tensor,
  zeroGrad,
  zeros,
} from '../src/index.js';
import { assertClose, checkGradients, finiteDifference } from './helpers/gradcheck.js';

const rng = new Rng(11);
const normal = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { dtype, rng });

const seedNet = () =>
  new Sequential(
    new Linear(4, 3, { rng, dtype: 'float64' }),
    new BatchNorm1d(3, { dtype: 'float64' }),
    new Tanh(),
    new Linear(3, 2, { rng, dtype: 'float64' }),
  );

test('a Sequential names its entries as torch.nn.Sequential does', () => {
  const net = seedNet();
  assert.deepEqual(
    net.namedParameters().map(([name, p]) => [name, p.shape]),
    [
      ['0.weight', [3, 4]],
      ['0.bias', [3]],
      ['1.weight', [3]],
      ['1.bias', [3]],
      ['3.weight', [2, 3]],
      ['3.bias', [2]],
    ],
  );
  assert.deepEqual(
    net.namedBuffers().map(([name]) => name),
    ['1.running_mean', '1.running_var', '1.num_batches_tracked'],
  );
  assert.deepEqual(Object.keys(net.stateDict()), [
    '0.weight',
    '0.bias',
    '1.weight',
    '1.bias',
    '1.running_mean',
    '1.running_var',
    '1.num_batches_tracked',
    '3.weight',
    '3.bias',
  ]);
  const nested = new Sequential(new Flatten(), new Sequential(new Linear(2, 2), new ReLU()));
  assert.deepEqual(
    nested.namedParameters().map(([name]) => name),
    ['1.0.weight', '1.0.bias'],
  );
  assert.deepEqual(
    nested.namedModules().map(([name, m]) => [name, m.constructor.name]),
    [
      ['', 'Sequential'],
      ['0', 'Flatten'],
      ['1', 'Sequential'],
      ['1.0', 'Linear'],
      ['1.1', 'ReLU'],
    ],
  );
});

test('parameters are leaves that require gradients; a shared one is listed once', () => {
  const shared = new Linear(3, 3);
  const net = new Sequential(shared, new Tanh(), shared);
  assert.equal(net.parameters().length, 2);
  for (const p of net.parameters()) {
    assert.equal(p.requiresGrad, true);
    assert.equal(p.node, null);
  }
  for (const b of seedNet().buffers()) assert.equal(b.requiresGrad, false);
});

test('a custom module registers parameters, buffers and children by name', () => {
  class Scale extends Module {
    readonly gain = this.registerParameter('gain', tensor([2], { dtype: 'float64' }));
    readonly inner = this.registerModule('inner', new Linear(2, 2, { dtype: 'float64' }));
    forward(x: Tensor): Tensor {
      return this.inner.forward(x).mul(this.gain);
    }
  }
  const m = new Scale();
  assert.deepEqual(
    m.namedParameters().map(([name]) => name),
    ['gain', 'inner.weight', 'inner.bias'],
  );
  assert.throws(() => m['registerBuffer']('gain', zeros([1])), /'gain' is already registered/);
  assert.throws(() => m['registerBuffer']('a.b', zeros([1])), /without dots/);
});

test("Linear draws PyTorch's default initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias", () => {
  const layer = new Linear(400, 300, { rng: new Rng(3) });
  const bound = 1 / Math.sqrt(400);
  for (const p of [layer.weight, layer.bias!]) {
    const values = Array.from(p.data);
    assert.ok(values.every((v) => Math.abs(v) <= bound));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    // A uniform on [-b, b] has mean 0 and variance b²/3.
    assert.ok(Math.abs(mean) < (bound / Math.sqrt(values.length)) * 4, `mean ${mean}`);
    assert.ok(
      Math.abs(variance / (bound ** 2 / 3) - 1) < (p === layer.bias ? 0.2 : 0.02),
      `variance ${variance}`,
    );
  }
  const again = new Linear(400, 300, { rng: new Rng(3) });
  assert.deepEqual(again.weight.data, layer.weight.data, 'one seed, one initialisation');
});

test('Linear computes x·Wᵀ + b for batches, vectors and stacked batches, and checks the feature size', () => {
  const layer = new Linear(3, 2, { rng, dtype: 'float64' });
  const x = normal([4, 3]);
  const expected = Array.from({ length: 8 }, (_, k) => {
    const [i, j] = [Math.floor(k / 2), k % 2];
    let s = layer.bias!.data[j];
    for (let c = 0; c < 3; c++) s += x.data[i * 3 + c] * layer.weight.data[j * 3 + c];
    return s;
  });
  assertClose(layer.forward(x).data, expected, { rtol: 1e-14 });
  assertClose(layer.forward(x.slice(0, 1, 2).reshape([3])).data, expected.slice(2, 4), { rtol: 1e-14 });
  assert.deepEqual(layer.forward(normal([5, 4, 3])).shape, [5, 4, 2]);
  const noBias = new Linear(3, 2, { bias: false });
  assert.equal(noBias.bias, null);
  assert.deepEqual(
    noBias.namedParameters().map(([n]) => n),
    ['weight'],
  );
  assert.throws(
    () => layer.forward(normal([4, 5])),
    (e: Error) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /Linear\(3, 2\): input of shape \[4, 5\] must end in 3 features/);
      return true;
    },
  );
  assert.throws(() => new Linear(0, 2), /inFeatures must be a positive integer, got 0/);
  assert.throws(() => new Linear(2, 2, { dtype: 'int32' }), /float32 or float64, not int32/);
});

test('BatchNorm1d: batch statistics in training, running statistics in evaluation', () => {
  const bn = new BatchNorm1d(3, { dtype: 'float64' });
  const x = normal([8, 3])
    .mul(tensor([1, 2, 3], { dtype: 'float64' }))
    .add(5);
  const y = bn.forward(x);
  // Normalised per feature: mean 0, biased variance 1 (up to eps).
  assertClose(y.mean(0).data, [0, 0, 0], { atol: 1e-12 });
  assertClose(y.variance(0).data, [1, 1, 1], { rtol: 1e-4 });
  // Running statistics moved 10% of the way towards the batch's mean and unbiased variance.
  assertClose(bn.runningMean.data, x.mean(0).mul(0.1).data, { rtol: 1e-12 });
  assertClose(bn.runningVar.data, x.variance(0, false, 1).mul(0.1).add(0.9).data, { rtol: 1e-12 });
  assert.equal(bn.numBatchesTracked.item(), 1);

  bn.eval();
  const before = bn.runningMean.data.slice();
  const expected = x.sub(bn.runningMean).div(bn.runningVar.add(1e-5).sqrt());
  assertClose(bn.forward(x).data, expected.data, { rtol: 1e-12 });
  assert.deepEqual(bn.runningMean.data, before, 'evaluation leaves the running statistics alone');
  assert.equal(bn.numBatchesTracked.item(), 1);
  bn.train();
  assert.throws(() => bn.forward(normal([1, 3])), /more than one value per feature.*\[1, 3\]/);
  assert.throws(() => bn.forward(normal([4, 2])), /BatchNorm1d\(3\): input of shape \[4, 2\]/);
});

test('BatchNorm1d normalises [batch, features, length] per feature; momentum null averages all batches', () => {
  const bn = new BatchNorm1d(2, { dtype: 'float64', momentum: null, affine: false });
  assert.deepEqual(bn.parameters(), []);
  const batches = [normal([3, 2, 4]), normal([3, 2, 4]).add(1)];
  for (const x of batches) {
    const y = bn.forward(x);
    assertClose(y.mean([0, 2]).data, [0, 0], { atol: 1e-12 });
  }
  const batchMeans = batches.map((x) => x.mean([0, 2]));
  assertClose(bn.runningMean.data, batchMeans[0].add(batchMeans[1]).div(2).data, { rtol: 1e-12 });
  assert.equal(bn.numBatchesTracked.item(), 2);
});

test('the running statistics are updated outside the graph', () => {
  const net = seedNet();
  const loss = net.forward(normal([6, 4])).sum();
  loss.backward();
  for (const b of net.buffers()) {
    assert.equal(b.node, null);
    assert.equal(b.grad, null);
  }
});

test('train() and eval() switch every descendant', () => {
  const net = new Sequential(new Linear(4, 4), new Sequential(new Dropout(0.5), new BatchNorm1d(4)));
  assert.ok(net.namedModules().every(([, m]) => m.training));
  net.eval();
  assert.ok(net.namedModules().every(([, m]) => !m.training));
  net.train();
  assert.ok(net.namedModules().every(([, m]) => m.training));
});

test('Dropout: seeded masks, inverted scaling, identity in evaluation', () => {
  const x = normal([200, 50]);
  const run = (seed: number) => new Dropout(0.3, { rng: new Rng(seed) }).forward(x);
  const a = run(1);
  assert.deepEqual(a.data, run(1).data, 'one seed, one mask');
  assert.notDeepEqual(a.data, run(2).data);
  let kept = 0;
  a.data.forEach((v, i) => {
    if (v === 0) return;
    kept++;
    assert.ok(Math.abs(v - x.data[i] / 0.7) <= 1e-15 * Math.abs(v), 'survivors are scaled by 1/(1-p)');
  });
  // 10,000 draws at p = 0.3: the kept fraction is within 4 standard deviations of 0.7.
  assert.ok(Math.abs(kept / x.size - 0.7) < 4 * Math.sqrt((0.7 * 0.3) / x.size), `kept ${kept / x.size}`);

  const leaf = normal([4, 5]).requireGrad();
  const dropout = new Dropout(0.5, { rng: new Rng(4) });
  const y = dropout.forward(leaf);
  y.sum().backward();
  assert.deepEqual(
    Array.from(leaf.grad!.data, (g) => g),
    Array.from(y.data, (v, i) => v / leaf.data[i]),
    'the gradient is the mask',
  );
  dropout.eval();
  assert.equal(dropout.forward(leaf), leaf);
  assert.deepEqual(
    Array.from(new Dropout(1).forward(x).data).every((v) => v === 0),
    true,
  );
  assert.throws(() => new Dropout(1.5), /p must be in \[0, 1\], got 1.5/);
});

test('activations and Flatten', () => {
  const x = normal([2, 3, 4]);
  const pairs: [Module, (v: number) => number][] = [
    [new Tanh(), Math.tanh],
    [new ReLU(), (v) => Math.max(v, 0)],
    [new Sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
    [new Softplus(), (v) => Math.log1p(Math.exp(v))],
  ];
  for (const [layer, f] of pairs) {
    assertClose(layer.forward(x).data, Array.from(x.data, f), { rtol: 1e-14 }, layer.constructor.name);
  }
  const flat = new Flatten().forward(x);
  assert.deepEqual(flat.shape, [2, 12]);
  assert.equal(flat.data, x.data, 'flattening shares the buffer');
  assert.deepEqual(new Flatten(0, 1).forward(x).shape, [6, 4]);
  assert.throws(() => new Flatten(2, 1).forward(x), /no such axis range/);
});

test('losses as modules', () => {
  const logits = normal([4, 3]);
  const ce = new CrossEntropyLoss().forward(logits, [0, 2, 1, 2]);
  const expected =
    [0, 2, 1, 2].reduce((s, label, i) => {
      const row = Array.from(logits.data.slice(i * 3, i * 3 + 3));
      const lse = Math.log(row.reduce((t, v) => t + Math.exp(v), 0));
      return s + lse - row[label];
    }, 0) / 4;
  assertClose([ce.item()], [expected], { rtol: 1e-14 });
  const target = normal([4, 3]);
  const mse = new MSELoss().forward(logits, target);
  assertClose([mse.item()], [logits.sub(target).square().mean().item()], { rtol: 1e-15 });
});

test('a state dict is a snapshot that round-trips into a fresh module', () => {
  const a = seedNet();
  a.forward(normal([5, 4]));
  const saved = a.stateDict();
  assert.equal(saved['1.num_batches_tracked'].dtype, 'int32');
  a.parameters()[0].data.fill(7);
  assert.notEqual(saved['0.weight'].data[0], 7, 'later changes do not reach a saved dict');

  const b = seedNet();
  const result = b.loadStateDict(saved);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const c = seedNet();
  c.loadStateDict(saved);
  const x = normal([5, 4]);
  assert.deepEqual(b.eval().forward(x).data, c.eval().forward(x).data);
  for (const [name, t] of Object.entries(b.stateDict())) assert.deepEqual(t.data, saved[name].data, name);

  const weight = b.parameters()[0];
  b.loadStateDict(a.stateDict());
  assert.equal(b.parameters()[0], weight, 'loading writes into the existing tensors');
  assert.equal(weight.data[0], 7);
});

test('loadStateDict names each missing, unexpected or mis-shaped key with its shapes, and loads nothing then', () => {
  const net = seedNet();
  const good = net.stateDict();
  const before = net.parameters()[0].data.slice();
  const fails = (dict: Record<string, Tensor>, ...patterns: RegExp[]) =>
    assert.throws(
      () => net.loadStateDict(dict),
      (e: Error) => {
        assert.ok(e instanceof ChainruleError);
        for (const p of patterns) assert.match(e.message, p);
        return true;
      },
    );

  const { ['3.bias']: _dropped, ...missing } = good;
  fails(missing, /missing key '3\.bias' \(the module expects shape \[2\]\)/, /strict: false/);
  fails({ ...good, extra: zeros([4, 1]) }, /unexpected key 'extra' with shape \[4, 1\]/);
  fails(
    { ...good, '0.weight': zeros([4, 3]), '1.running_mean': zeros([5]) },
    /'0\.weight' has shape \[4, 3\] in the state dict but \[3, 4\] in the module/,
    /'1\.running_mean' has shape \[5\] in the state dict but \[3\] in the module/,
  );
  fails({ ...good, '0.weight': zeros([3, 4]).add(1), '3.bias': zeros([3]) }, /'3\.bias' has shape \[3\]/);
  assert.deepEqual(net.parameters()[0].data, before, 'a failed load changes nothing');

  const partial = net.loadStateDict({ '0.weight': zeros([3, 4]), extra: zeros([1]) }, { strict: false });
  assert.deepEqual(partial.unexpectedKeys, ['extra']);
  assert.equal(partial.missingKeys.length, 8);
  assert.ok(net.parameters()[0].data.every((v) => v === 0));
  assert.throws(
    () => net.loadStateDict({ ...good, '3.weight': zeros([1]) }, { strict: false }),
    /'3\.weight' has shape \[1\] in the state dict but \[2, 3\]/,
  );
});

test('LayerNorm normalises trailing axes; its gradients match finite differences in both modes (float64)', () => {
  const ln = new LayerNorm([2, 3], { dtype: 'float64' });
  noGrad(() => {
    ln.weight!.data.set(normal([2, 3]).data);
    ln.bias!.data.set(normal([2, 3]).data);
  });
  const x = normal([4, 2, 3]);
  const plain = new LayerNorm([2, 3], { dtype: 'float64', elementwiseAffine: false }).forward(x);
  assertClose(plain.mean([1, 2]).data, [0, 0, 0, 0], { atol: 1e-12 });
  assertClose(plain.variance([1, 2]).data, [1, 1, 1, 1], { rtol: 1e-4 });

  checkGradients((input) => ln.forward(input), [x]);
  // The parameters' gradients: perturb the parameter buffers in place.
  const cotangent = normal([4, 2, 3]);
  zeroGrad(ln.parameters()); // checkGradients' backward passes reached them too
  ln.forward(x).backward(cotangent);
  const withParams = (w: Tensor, b: Tensor) => {
    ln.weight!.data.set(w.data);
    ln.bias!.data.set(b.data);
    return ln.forward(x);
  };
  const [w0, b0] = [ln.weight!.detach(), ln.bias!.detach()].map((t) =>
    tensor(t.data.slice(), { shape: t.shape }),
  );
  const numeric = [0, 1].map((i) => finiteDifference(withParams, [w0, b0], i, { cotangent }));
  withParams(w0, b0);
  assertClose(ln.weight!.grad!.data, numeric[0], { rtol: 1e-6, atol: 1e-8 }, 'dL/dweight');
  assertClose(ln.bias!.grad!.data, numeric[1], { rtol: 1e-6, atol: 1e-8 }, 'dL/dbias');
  assert.throws(
    () => ln.forward(normal([4, 3, 2])),
    /LayerNorm\(\[2, 3\]\): input of shape \[4, 3, 2\] must end in \[2, 3\]/,
  );
});

test("BatchNorm1d's training-mode gradient with respect to its input matches finite differences (float64)", () => {
  const bn = new BatchNorm1d(3, { dtype: 'float64' });
  noGrad(() => bn.weight!.data.set(normal([3]).data));
  checkGradients((input) => bn.forward(input), [normal([5, 3])]);
});
