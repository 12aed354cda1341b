// Forward mode: tangents ride along the computation and nothing is recorded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  crossEntropy,
  grad,
  graphMemory,
  jvp,
  jvpAt,
  noGrad,
  ones,
  Rng,
  randn,
  type Tensor,
  tensor,
} from '../src/index.js';
import { assertClose } from './helpers/gradcheck.js';

const rng = new Rng(11);
const normal = (shape: number[]) => randn(shape, { dtype: 'float64', rng });

test('jvpAt records no reverse graph, even when the tensors it moves require grad', () => {
  const W = normal([3, 4]).requireGrad();
  const x = normal([4]).requireGrad();
  const before = graphMemory.liveBytes;
  const { out, tangent } = jvpAt(() => W.matmul(x).tanh().sum(), [[x, normal([4])]]);
  assert.equal(out.node, null);
  assert.equal(tangent.node, null);
  assert.equal(graphMemory.liveBytes, before);
  assert.equal(x.grad, null);
  assert.equal(W.grad, null);
});

test('jvp records its pass for reverse mode like any computation, so a tangent can be backpropagated', () => {
  const W = normal([3, 4]).requireGrad();
  const x = normal([4]);
  const v = normal([4]);
  // d/dW of (J v) for f = sum(W x) is 1 vᵀ; nothing is recorded under noGrad.
  const { tangent } = jvp((u) => W.matmul(u).sum(), [x], [v]);
  tangent.backward();
  assertClose(W.grad!.data, ones([3, 1], { dtype: 'float64' }).mul(v.reshape([1, 4])).data, { rtol: 1e-15 });
  const quiet = noGrad(() => jvp((u) => W.matmul(u).sum(), [x], [v]));
  assert.equal(quiet.tangent.node, null);
});

test("jvp's tangent is the reverse gradient dotted with the direction", () => {
  const labels = [0, 2, 1];
  const f: (...args: Tensor[]) => Tensor = (W, b, x) => crossEntropy(x.matmul(W).add(b).tanh(), labels);
  const primals = [normal([4, 3]), normal([3]), normal([3, 4])];
  const direction = primals.map((p) => normal([...p.shape]));
  const { out, tangent } = jvp(f, primals, direction);
  const grads = grad(f)(...primals);
  const dotted = grads.reduce((s, g, i) => s + g.mul(direction[i]).sum().item(), 0);
  assertClose([tangent.item()], [dotted], { rtol: 1e-12 }, 'directional derivative');
  assertClose([out.item()], [f(...primals).item()], { rtol: 1e-15 }, 'value');
});

test('jvp of the identity returns the tangent; of a constant, zeros', () => {
  const x = normal([2, 2]);
  const t = normal([2, 2]);
  assert.deepEqual(Array.from(jvp((a) => a, [x], [t]).tangent.data), Array.from(t.data));
  const constant = jvp(() => tensor([1, 2, 3], { dtype: 'float64' }), [x], [t]);
  assert.deepEqual(Array.from(constant.tangent.data), [0, 0, 0]);
  assert.deepEqual(constant.tangent.shape, [3]);
});

test('jvp is linear in the tangent and converts its dtype to the primal', () => {
  const x = normal([3]);
  const f = (a: Tensor) => a.exp().mul(a).sum();
  const t = normal([3]);
  const once = jvp(f, [x], [t]).tangent.item();
  const twice = jvp(f, [x], [t.mul(2)]).tangent.item();
  assertClose([twice], [2 * once], { rtol: 1e-14 }, 'J(2t) = 2 J t');
  const fromFloat32 = jvp(f, [x], [tensor([1, 0, 0])]).tangent;
  assert.equal(fromFloat32.dtype, 'float64');
  const fromFloat64 = jvp(f, [x], [tensor([1, 0, 0], { dtype: 'float64' })]).tangent;
  assert.equal(fromFloat32.item(), fromFloat64.item());
});

test('the tangent of a broadcast input takes the output shape', () => {
  const m = normal([2, 3]);
  const zeroTangent = m.mul(0);
  const { tangent } = jvp(
    (s, a) => s.mul(a),
    [normal([]), m],
    [tensor(1, { dtype: 'float64' }), zeroTangent],
  );
  assert.deepEqual(tangent.shape, [2, 3]);
  assert.deepEqual(Array.from(tangent.data), Array.from(m.data), 'd(s·m)/ds = m');
});
