// Parity with PyTorch: the same networks, weights and batch as scripts/make-parity-fixtures.py
// fed to torch 1.13, compared tensor by tensor. The error of a tensor is
// max|actual - expected| / max(max|expected|, 1e-30), which must stay under 1e-5 in float32
// and 1e-10 in float64 (schedules are float64 arithmetic either way).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  Adam,
  AdamW,
  BatchNorm1d,
  CosineAnnealingLR,
  CrossEntropyLoss,
  LayerNorm,
  Linear,
  LinearLR,
  type LRScheduler,
  type Module,
  MSELoss,
  OneCycleLR,
  type Optimizer,
  Sequential,
  SGD,
  Sigmoid,
  Softplus,
  StepLR,
  Tanh,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';

type FloatDType = 'float32' | 'float64';
interface Entry {
  offset: number;
  shape: number[];
}
interface ScheduleFixture {
  optimizer: { kind: 'SGD' | 'Adam'; lr: number; momentum?: number };
  scheduler: Record<string, string | number> & { kind: string };
  lr: number[];
  momentum?: number[];
}
interface Manifest {
  labels: number[];
  optimizers: Record<string, Record<string, unknown> & { kind: 'SGD' | 'Adam' | 'AdamW' }>;
  schedules: Record<string, ScheduleFixture>;
  float32: Record<string, Entry>;
  float64: Record<string, Entry>;
}

const dir = new URL('../../test/fixtures/parity/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Manifest;
const TOLERANCE: Record<FloatDType, number> = { float32: 1e-5, float64: 1e-10 };

/** The fixture tensors of one dtype, by name (the files are little-endian, like the hosts we run on). */
function fixtures(dtype: FloatDType): (name: string) => Tensor {
  const bytes = readFileSync(new URL(`${dtype}.bin`, dir));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const all = dtype === 'float32' ? new Float32Array(buffer) : new Float64Array(buffer);
  return (name) => {
    const entry = manifest[dtype][name];
    assert.ok(entry, `fixture '${name}' is missing; rerun scripts/make-parity-fixtures.py`);
    const size = entry.shape.reduce((p, d) => p * d, 1);
    return tensor(all.slice(entry.offset, entry.offset + size), { shape: entry.shape });
  };
}

/** max|actual - expected| / max(max|expected|, tiny). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

function assertMatches(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  const error = relativeError(actual.data, expected.data);
  assert.ok(error <= tolerance, `${label}: relative error ${error.toExponential(2)} > ${tolerance}`);
}

/** Every entry under `prefix/` against the module's state dict (parameters and buffers). */
function assertState(net: Module, load: (name: string) => Tensor, prefix: string, tolerance: number): void {
  for (const [name, value] of Object.entries(net.stateDict())) {
    assertMatches(
      value.to('float64'),
      load(`${prefix}/${name}`).to('float64'),
      tolerance,
      `${prefix}/${name}`,
    );
  }
}

const seedNet = (dtype: FloatDType, firstBias = true) =>
  new Sequential(
    new Linear(20, 12, { dtype, bias: firstBias }),
    new BatchNorm1d(12, { dtype }),
    new Tanh(),
    new Linear(12, 5, { dtype }),
  );

const layerNormNet = (dtype: FloatDType) =>
  new Sequential(
    new Linear(20, 12, { dtype }),
    new LayerNorm(12, { dtype }),
    new Softplus(),
    new Linear(12, 8, { dtype }),
    new Sigmoid(),
    new Linear(8, 5, { dtype }),
  );

function loaded(net: Module, load: (name: string) => Tensor, prefix: string): Module {
  const dict = Object.fromEntries(
    Object.keys(net.stateDict()).map((name) => [name, load(`${prefix}/${name}`)]),
  );
  net.loadStateDict(dict);
  return net;
}

const STATE_NAMES: Record<string, string> = {
  momentumBuffer: 'momentum_buffer',
  expAvg: 'exp_avg',
  expAvgSq: 'exp_avg_sq',
};

for (const dtype of ['float32', 'float64'] as const) {
  const load = fixtures(dtype);
  const tol = TOLERANCE[dtype];
  const input = load('input');
  const labels = manifest.labels;

  test(`${dtype}: state dict keys are torch's, in torch's order`, () => {
    for (const [prefix, net] of [
      ['seed/init/', seedNet(dtype)],
      ['layer_norm/init/', layerNormNet(dtype)],
      ['optimizer_net/init/', seedNet(dtype, false)],
    ] as const) {
      const torchKeys = Object.keys(manifest[dtype]).flatMap((k) =>
        k.startsWith(prefix) ? [k.slice(prefix.length)] : [],
      );
      assert.deepEqual(Object.keys(net.stateDict()), torchKeys);
    }
  });

  test(`${dtype}: Linear -> BatchNorm1d -> Tanh -> Linear with cross-entropy matches torch`, () => {
    const net = loaded(seedNet(dtype), load, 'seed/init');
    const loss = new CrossEntropyLoss().forward(net.forward(input), labels);
    loss.backward();
    assertMatches(loss, load('seed/loss'), tol, 'loss');
    const largest = Math.max(...net.parameters().map((p) => Math.max(...Array.from(p.grad!.data, Math.abs))));
    for (const [name, p] of net.namedParameters()) {
      if (name === '0.bias') {
        // BatchNorm cancels any constant added before it: this gradient is zero, and both
        // torch's value and ours are rounding noise, with no digits to compare.
        const noise = Math.max(...Array.from(p.grad!.data, Math.abs));
        assert.ok(noise <= tol * largest, `grad of 0.bias is ${noise}, not zero to rounding`);
      } else {
        assertMatches(p.grad!, load(`seed/grad/${name}`), tol, `grad of ${name}`);
      }
    }
    assertState(net, load, 'seed/after_forward', tol);
    assertMatches(net.eval().forward(input), load('seed/eval_output'), tol, 'eval output');
  });

  test(`${dtype}: Linear -> LayerNorm -> Softplus -> Linear -> Sigmoid -> Linear with MSE matches torch`, () => {
    const net = loaded(layerNormNet(dtype), load, 'layer_norm/init');
    const loss = new MSELoss().forward(net.forward(input), load('regression_target'));
    loss.backward();
    assertMatches(loss, load('layer_norm/loss'), tol, 'loss');
    for (const [name, p] of net.namedParameters()) {
      assertMatches(p.grad!, load(`layer_norm/grad/${name}`), tol, `grad of ${name}`);
    }
    assertMatches(net.eval().forward(input), load('layer_norm/eval_output'), tol, 'eval output');
  });

  for (const [key, { kind, ...options }] of Object.entries(manifest.optimizers)) {
    test(`${dtype}: two ${key} steps match torch (parameters, buffers, optimiser state)`, () => {
      // Without the bias before BatchNorm, whose zero gradient is noise (see the fixture script).
      const net = loaded(seedNet(dtype, false), load, 'optimizer_net/init');
      const makers: Record<typeof kind, () => Optimizer> = {
        SGD: () => new SGD(net.parameters(), options as { lr: number }),
        Adam: () => new Adam(net.parameters(), options),
        AdamW: () => new AdamW(net.parameters(), options),
      };
      const optimizer = makers[kind]();
      const names = net.namedParameters().map(([name]) => name);
      for (const step of [1, 2]) {
        optimizer.zeroGrad();
        new CrossEntropyLoss().forward(net.forward(input), labels).backward();
        optimizer.step();
        const prefix = `optimizer_net/${key}/step${step}`;
        assertState(net, load, prefix, tol);
        const { state } = optimizer.stateDict();
        names.forEach((name, i) => {
          for (const [field, value] of Object.entries(state[i])) {
            if (typeof value === 'number') assert.equal(value, step, `${name} step count`);
            else
              assertMatches(
                value,
                load(`${prefix}/state/${name}/${STATE_NAMES[field]}`),
                tol,
                `${prefix} ${name} ${field}`,
              );
          }
        });
      }
    });
  }
}

function scheduler(fixture: ScheduleFixture): { optimizer: Optimizer; scheduler: LRScheduler } {
  const params = [zeros([1], { dtype: 'float64' }).requireGrad()];
  const { kind: optimizerKind, ...hyper } = fixture.optimizer;
  const optimizer = optimizerKind === 'SGD' ? new SGD(params, hyper) : new Adam(params, hyper);
  const { kind, ...s } = fixture.scheduler as Record<string, never> & { kind: string };
  const schedulers: Record<string, () => LRScheduler> = {
    StepLR: () => new StepLR(optimizer, s.stepSize, s.gamma),
    CosineAnnealingLR: () => new CosineAnnealingLR(optimizer, s.tMax, s.etaMin),
    LinearLR: () => new LinearLR(optimizer, s),
    OneCycleLR: () => new OneCycleLR(optimizer, s.maxLr, s.totalSteps, s),
  };
  return { optimizer, scheduler: schedulers[kind]() };
}

for (const [name, fixture] of Object.entries(manifest.schedules)) {
  test(`schedule ${name}: the learning rates${fixture.momentum ? ' and momenta' : ''} match torch`, () => {
    const { optimizer, scheduler: sched } = scheduler(fixture);
    const momentum = () => {
      const group = optimizer.paramGroups[0] as { betas?: readonly number[]; momentum?: number };
      return group.betas ? group.betas[0] : group.momentum!;
    };
    const lrs: number[] = [];
    const momenta: number[] = [];
    const record = () => {
      assert.equal(sched.getLastLr()[0], optimizer.lr, 'getLastLr() reports the rate the group holds');
      lrs.push(optimizer.lr);
      momenta.push(momentum());
    };
    record();
    for (let i = 1; i < fixture.lr.length; i++) {
      optimizer.step();
      sched.step();
      record();
    }
    assert.ok(
      relativeError(lrs, fixture.lr) <= 1e-10,
      `lr: ${lrs.join(', ')}\ntorch: ${fixture.lr.join(', ')}`,
    );
    if (fixture.momentum) {
      assert.ok(
        relativeError(momenta, fixture.momentum) <= 1e-10,
        `momentum: ${momenta.join(', ')}\ntorch: ${fixture.momentum.join(', ')}`,
      );
    }
  });
}
