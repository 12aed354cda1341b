// Composite functions (built from primitives) checked by finite differences in both modes,
// forward- and reverse-mode Jacobians of compositions against each other, and the gradient of
// a small batch-normalized network's loss for every parameter.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  crossEntropy,
  gather,
  grad,
  jacfwd,
  jacrev,
  jvp,
  logsumexp,
  mseLoss,
  noGrad,
  Rng,
  rand,
  randn,
  type Shape,
  stack,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';
import {
  assertClose,
  checkGradients,
  directionalDifference,
  type Fn,
  finiteDifference,
  randomLike,
} from './helpers/gradcheck.js';

const rng = new Rng(99);
const normal = (shape: Shape) => randn(shape, { dtype: 'float64', rng });
const labels = (n: number, classes: number) => tensor(Int32Array.from({ length: n }, () => rng.int(classes)));

test('mean over all axes, some axes, with and without keepdim', () => {
  const x = normal([3, 4, 2]);
  checkGradients((a) => a.mean(), [x]);
  checkGradients((a) => a.mean([0, 2]), [x]);
  checkGradients((a) => a.mean(1, true), [x]);
});

test('variance with correction 0 and 1', () => {
  const x = normal([4, 3]);
  for (const correction of [0, 1]) {
    checkGradients((a) => a.variance(undefined, false, correction), [x]);
    checkGradients((a) => a.variance(0, true, correction), [x]);
    checkGradients((a) => a.variance(-1, false, correction), [x]);
  }
});

test('variance divides by n - correction', () => {
  const x = tensor([1, 2, 3, 4], { dtype: 'float64' });
  const squares = [2.25, 0.25, 0.25, 2.25].reduce((s, v) => s + v, 0);
  assert.equal(x.variance(undefined, false, 0).item(), squares / 4);
  assert.equal(x.variance(undefined, false, 1).item(), squares / 3);
});

test('logsumexp over axes, and stays finite with large inputs', () => {
  const x = normal([3, 4]);
  checkGradients((a) => logsumexp(a), [x]);
  checkGradients((a) => a.logsumexp(1, true), [x]);
  checkGradients((a) => a.logsumexp(0), [x]);

  const large = x.mul(10).add(1000);
  const value = logsumexp(large, 1);
  assert.equal(Math.exp(large.data[0]), Number.POSITIVE_INFINITY, 'exp alone overflows on these inputs');
  const expected = Array.from({ length: 3 }, (_, r) => {
    const row = Array.from(large.data.slice(r * 4, r * 4 + 4));
    const top = Math.max(...row);
    return top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
  });
  assertClose(value.data, expected, { rtol: 1e-12 }, 'logsumexp of large inputs');
  checkGradients((a) => a.logsumexp(1), [large], { rtol: 1e-5, atol: 1e-7 });
});

test('softmax and logSoftmax along each axis', () => {
  const x = normal([3, 4]);
  for (const axis of [0, 1, -1]) {
    checkGradients((a) => a.softmax(axis), [x]);
    checkGradients((a) => a.logSoftmax(axis), [x]);
  }
  const rows = noGrad(() => x.softmax(1).sum(1));
  assertClose(rows.data, [1, 1, 1], { rtol: 1e-14 }, 'softmax rows sum to 1');
});

test('crossEntropy with integer labels as a tensor and as an array', () => {
  const logits = normal([5, 4]);
  const y = labels(5, 4);
  checkGradients((a) => crossEntropy(a, y), [logits]);
  checkGradients((a) => crossEntropy(a, Array.from(y.data)), [logits]);
  const direct = Array.from(y.data).reduce((s, label, r) => {
    const row = Array.from(logits.data.slice(r * 4, r * 4 + 4));
    return s + Math.log(row.reduce((acc, v) => acc + Math.exp(v), 0)) - row[label];
  }, 0);
  assertClose([crossEntropy(logits, y).item()], [direct / 5], { rtol: 1e-12 }, 'cross-entropy value');
});

test('mseLoss', () => {
  checkGradients((a, b) => mseLoss(a, b), [normal([3, 2]), normal([3, 2])]);
});

test('clamp with both bounds, a lower bound only, and tensor bounds', () => {
  // Inputs stay at least 0.05 from every bound, away from the kinks.
  const x = tensor(Float64Array.from([-1.3, -0.45, -0.2, 0.1, 0.35, 0.62, 1.1, 2.4]), { shape: [2, 4] });
  checkGradients((a) => a.clamp(-0.5, 0.5), [x]);
  checkGradients((a) => a.clamp(0), [x]);
  checkGradients((a) => a.clamp(undefined, 0.3), [x]);
  const low = tensor(Float64Array.from([-1, 0, 0.2, 0.5]));
  checkGradients((a, lo) => a.clamp(lo, 2), [x, low]);
});

test('gather picks rows, repeated indices accumulate', () => {
  const x = normal([4, 3]);
  const indices = [2, 0, 2, 3, 2];
  const picked = gather(x, indices);
  assert.deepEqual(picked.shape, [5, 3]);
  indices.forEach((row, r) => {
    assert.deepEqual(
      Array.from(picked.data.slice(r * 3, r * 3 + 3)),
      Array.from(x.data.slice(row * 3, row * 3 + 3)),
    );
  });
  checkGradients((a) => gather(a, indices), [x]);
  checkGradients((a) => gather(a, Int32Array.from([1, 1])), [normal([3, 2, 2])]);
});

test('stack along a new first, middle and last axis', () => {
  const inputs = [normal([2, 3]), normal([2, 3]), normal([2, 3])];
  for (const axis of [0, 1, -1]) checkGradients((...xs) => stack(xs, axis), inputs);
});

test('matmul with vectors, squeeze, unsqueeze, transpose', () => {
  checkGradients((a, b) => a.matmul(b), [normal([3]), normal([3, 2])]);
  checkGradients((a, b) => a.matmul(b), [normal([2, 4, 3]), normal([3])]);
  checkGradients((a, b) => a.matmul(b), [normal([3]), normal([3])]);
  checkGradients((a) => a.unsqueeze(1).squeeze(), [normal([3, 1, 2])]);
  checkGradients((a) => a.transpose(0, 2), [normal([2, 3, 4])]);
});

// ---- forward-mode and reverse-mode Jacobians agree -------------------------------------------

const W = normal([4, 3]);
const b = normal([4]);
const y3 = labels(2, 3);

const compositions: Record<string, { f: (x: Tensor) => Tensor; x: Tensor }> = {
  softmax: { f: (x) => x.softmax(), x: normal([2, 3]) },
  'tanh(W x + b)': { f: (x) => W.matmul(x).add(b).tanh(), x: normal([3]) },
  logsumexp: { f: (x) => x.logsumexp(0), x: normal([3, 2]) },
  'variance (correction 1)': { f: (x) => x.variance(1, true, 1), x: normal([2, 4]) },
  'cross-entropy': { f: (x) => crossEntropy(x.reshape([2, 3]), y3), x: normal([6]) },
  'log-softmax then max': { f: (x) => x.logSoftmax(0).max(1), x: normal([3, 4]) },
  'sigmoid · softplus with slices': {
    f: (x) => x.slice(0, 0, 2).sigmoid().mul(x.slice(0, 1).softplus()).sum(1),
    x: normal([3, 2]),
  },
};

for (const [name, { f, x }] of Object.entries(compositions)) {
  test(`jacfwd equals jacrev: ${name}`, () => {
    const forward = jacfwd(f)(x);
    const reverse = jacrev(f)(x);
    const out = f(x);
    assert.deepEqual(forward.shape, [...out.shape, ...x.shape]);
    assert.deepEqual(reverse.shape, forward.shape);
    assertClose(forward.data, reverse.data, { rtol: 1e-10, atol: 1e-10 }, 'Jacobians');
    // One column of the Jacobian against a finite difference, so both are right, not only equal.
    const e0 = zeros(x.shape, { dtype: x.dtype });
    e0.data[0] = 1;
    const column = directionalDifference(f as Fn, [x], [e0]);
    const stride = x.size;
    assertClose(
      Array.from({ length: out.size }, (_, r) => forward.data[r * stride]),
      column,
      { rtol: 1e-6, atol: 1e-8 },
      'first Jacobian column',
    );
  });
}

// ---- the seed network ---------------------------------------------------------------------

/**
 * x[8,6] -> Linear(W1, b1) -> batch norm with batch statistics (biased variance, eps 1e-5,
 * affine gamma and beta) -> tanh -> Linear(W2, b2) -> cross-entropy against integer labels.
 */
function seedNetworkLoss(x: Tensor, y: Tensor): Fn {
  return (W1, b1, gamma, beta, W2, b2) => {
    const h = x.matmul(W1).add(b1);
    const centered = h.sub(h.mean(0, true));
    const normalized = centered.div(h.variance(0, true, 0).add(1e-5).sqrt());
    const hidden = normalized.mul(gamma).add(beta).tanh();
    return crossEntropy(hidden.matmul(W2).add(b2), y);
  };
}

test('seed network: the gradient of every parameter matches finite differences, in both modes', () => {
  const x = normal([8, 6]);
  const y = labels(8, 3);
  const names = ['W1', 'b1', 'gamma', 'beta', 'W2', 'b2'];
  const params = [
    normal([6, 5]).mul(0.5),
    normal([5]).mul(0.1),
    rand([5], { dtype: 'float64', rng, low: 0.5, high: 1.5 }),
    normal([5]).mul(0.1),
    normal([5, 3]).mul(0.5),
    normal([3]).mul(0.1),
  ];
  const loss = seedNetworkLoss(x, y);

  const grads = grad(loss)(...params);
  params.forEach((p, i) => {
    assert.deepEqual(grads[i].shape, p.shape, `${names[i]} gradient shape`);
    assertClose(
      grads[i].data,
      finiteDifference(loss, params, i),
      { rtol: 1e-6, atol: 1e-9 },
      `dL/d${names[i]}`,
    );
  });

  const direction = params.map((p) => randomLike(p, rng));
  const { out, tangent } = jvp(loss, params, direction);
  assertClose([out.item()], [loss(...params).item()], { rtol: 1e-15 }, 'jvp value');
  assertClose(
    [tangent.item()],
    directionalDifference(loss, params, direction),
    { rtol: 1e-6 },
    'directional derivative',
  );
  const reverseDirectional = grads.reduce((s, g, i) => s + g.mul(direction[i]).sum().item(), 0);
  assertClose([tangent.item()], [reverseDirectional], { rtol: 1e-10 }, 'jvp against gradient · direction');
});

test('seed network: the gradient with respect to the inputs', () => {
  const y = labels(8, 3);
  const params = [normal([6, 5]), normal([5]), normal([5]), normal([5]), normal([5, 3]), normal([3])];
  checkGradients((x) => seedNetworkLoss(x, y)(...params), [normal([8, 6])]);
});
