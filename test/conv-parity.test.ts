// Parity with PyTorch for the spatial ops and layers: scripts/make-conv-fixtures.py ran each
// configuration (stride, padding, dilation, groups) through torch 1.13 and saved inputs,
// outputs, every input's gradient for a cotangent, and the output's tangent for tangents.
// The error of a tensor is max|actual - expected| / max|expected|: under 1e-5 in float32 and
// 1e-10 in float64.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CHAINRULE_CONV_FIXTURE,
  chainruleConvFixture,
  parityNetwork,
} from '../scripts/write-conv-fixture.js';
import {
  avgPool2d,
  CrossEntropyLoss,
  conv2d,
  fold,
  jvp,
  loadSafetensors,
  locallyConnected2d,
  maxPool2d,
  Rng,
  type Tensor,
  tensor,
  unfold,
  vjp,
} from '../src/index.js';

const TOLERANCE = { float32: 1e-5, float64: 1e-10 };
const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/conv/${name}`, import.meta.url));

type Options = Record<string, number | number[]>;

function assertMatches(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < expected.size; i++) {
    diff = Math.max(diff, Math.abs(actual.data[i] - expected.data[i]));
    scale = Math.max(scale, Math.abs(expected.data[i]));
  }
  assert.ok(
    diff / scale <= tolerance,
    `${label}: relative error ${(diff / scale).toExponential(2)} > ${tolerance}`,
  );
}

/** The window options of a fixture configuration (it also holds shapes and a name). */
function options(config: Record<string, unknown>, keys: string[]): Options {
  return Object.fromEntries(keys.filter((k) => k in config).map((k) => [k, config[k] as number | number[]]));
}

type Op = (inputs: Record<string, Tensor>) => Tensor;

/** The fixture's configurations of each op, and how chainrule computes each one. */
const OPS: Record<string, (c: Record<string, unknown>) => Op> = {
  conv2d: (c) => (t) =>
    conv2d(t.x, t.w, t.b ?? null, options(c, ['stride', 'padding', 'dilation', 'groups'])),
  maxPool2d: (c) => (t) => maxPool2d(t.x, c.kernel as number, options(c, ['stride', 'padding', 'dilation'])),
  avgPool2d: (c) => (t) => avgPool2d(t.x, c.kernel as number, options(c, ['stride', 'padding'])),
  unfold: (c) => (t) => unfold(t.x, c.kernel as number, options(c, ['stride', 'padding', 'dilation'])),
  fold: (c) => (t) =>
    fold(t.x, c.size as [number, number], c.kernel as number, options(c, ['stride', 'padding', 'dilation'])),
  locallyConnected2d: (c) => (t) => locallyConnected2d(t.x, t.w, options(c, ['stride', 'padding'])).add(t.b),
};

for (const dtype of ['float32', 'float64'] as const) {
  const { tensors, metadata } = loadSafetensors(fixture(`torch-${dtype}.safetensors`));
  const configs = JSON.parse(metadata.configs) as Record<string, Record<string, unknown>[]> & {
    model: { labels: number[] };
  };
  const load = (name: string) => {
    assert.ok(tensors[name], `fixture '${name}' is missing; rerun scripts/make-conv-fixtures.py`);
    return tensors[name];
  };
  const tol = TOLERANCE[dtype];

  for (const [op, build] of Object.entries(OPS)) {
    test(`${dtype}: ${op} matches torch: outputs, gradients and tangents`, () => {
      for (const config of configs[op]) {
        const prefix = `${op}/${config.name}`;
        const names = ['x', 'w', 'b'].filter((k) => `${prefix}/${k}` in tensors);
        const f = build(config);
        const call = (...xs: Tensor[]) => f(Object.fromEntries(names.map((k, i) => [k, xs[i]])));
        const inputs = names.map((k) => load(`${prefix}/${k}`));
        const { out, grads } = vjp(call, inputs, load(`${prefix}/cotangent`));
        assertMatches(out, load(`${prefix}/y`), tol, `${prefix} output`);
        names.forEach((k, i) => {
          assertMatches(grads[i], load(`${prefix}/grad.${k}`), tol, `${prefix} gradient of ${k}`);
        });
        const tangents = names.map((k) => load(`${prefix}/tangent.${k}`));
        assertMatches(
          jvp(call, inputs, tangents).tangent,
          load(`${prefix}/tangent.y`),
          tol,
          `${prefix} tangent`,
        );
      }
    });
  }

  test(`${dtype}: a CNN loads torch's state dict and matches its logits and every gradient`, () => {
    const net = parityNetwork(new Rng(0), dtype);
    const names = Object.keys(net.stateDict());
    assert.deepEqual(
      names,
      Object.keys(tensors)
        .filter(
          (k) =>
            k.startsWith('model/') &&
            !k.startsWith('model/grad.') &&
            !['model/x', 'model/logits'].includes(k),
        )
        .map((k) => k.slice('model/'.length)),
      "the state dict's names and order are torch's",
    );
    net.loadStateDict(Object.fromEntries(names.map((k) => [k, load(`model/${k}`)])));
    const out = net.forward(load('model/x'));
    assertMatches(out, load('model/logits'), tol, 'logits');
    new CrossEntropyLoss().forward(out, tensor(new Int32Array(configs.model.labels))).backward();
    for (const [name, p] of net.namedParameters()) {
      assert.ok(p.grad, `${name} has a gradient`);
      assertMatches(p.grad, load(`model/grad.${name}`), tol, `gradient of ${name}`);
    }
  });
}

test('chainrule-written.safetensors, which make-conv-fixtures.py checks with torch, is what chainrule writes now', () => {
  // The weights and input are exact; the logits are computed, so each backend's rounding may
  // move their last bits.
  const stale =
    'the file is stale: rerun node dist/scripts/write-conv-fixture.js, then scripts/make-conv-fixtures.py';
  const { tensors: stored } = loadSafetensors(CHAINRULE_CONV_FIXTURE);
  const current = chainruleConvFixture();
  assert.deepEqual(Object.keys(stored).sort(), Object.keys(current).sort(), stale);
  for (const [name, t] of Object.entries(current)) {
    if (name === 'logits') assertMatches(t, stored[name], 1e-6, `${stale}: logits`);
    else assert.deepEqual([...t.data], [...stored[name].data], `${stale}: ${name}`);
  }
});
