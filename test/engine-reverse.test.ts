// Reverse-mode semantics: accumulation, graph lifetime, what is and is not recorded, the
// function transforms, higher derivatives, and graphs deep enough to break recursion.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BackwardStep,
  ChainruleError,
  grad,
  graphMemory,
  jacrev,
  jvp,
  noGrad,
  ReferenceKernels,
  Rng,
  randn,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  withBackend,
  zeroGrad,
} from '../src/index.js';
import { cpuMsSince } from './helpers/cpu-time.js';
import { assertClose } from './helpers/gradcheck.js';

const rng = new Rng(5);
const leaf = (shape: number[]) => randn(shape, { dtype: 'float64', rng }).requireGrad();
const values = (t: Tensor | null) => Array.from(t?.data ?? []);
const map = (t: Tensor, fn: (v: number, i: number) => number) => Array.from(t.data, fn);

test('a chain of 100,000 ops backpropagates without overflowing the stack', () => {
  const x = tensor([0.5], { dtype: 'float64', requiresGrad: true });
  const factor = 1.0000001;
  const started = process.cpuUsage();
  let y = x;
  for (let i = 0; i < 50_000; i++) y = y.mul(factor).add(0);
  y.sum().backward();
  const seconds = cpuMsSince(started) / 1000;
  assertClose(values(x.grad), [factor ** 50_000], { rtol: 1e-12 }, 'd(x·c^n)/dx');
  assert.ok(seconds < 10, `100,000 ops forward and backward took ${seconds.toFixed(1)} s of CPU`);
});

test('gradients add up over fan-out', () => {
  const x = leaf([4]);
  x.mul(x).add(x.mul(3)).sum().backward();
  assertClose(
    values(x.grad),
    map(x, (v) => 2 * v + 3),
    {},
    'd(x² + 3x)/dx',
  );
});

test('.grad accumulates over backward calls until zeroGrad', () => {
  const x = leaf([3]);
  const w = randn([3], { dtype: 'float64', rng });
  x.mul(w).sum().backward();
  x.mul(w).sum().backward();
  assertClose(
    values(x.grad),
    map(w, (v) => 2 * v),
    {},
    'two backward passes',
  );
  zeroGrad([x]);
  assert.equal(x.grad, null);
  x.mul(w).sum().backward();
  assertClose(values(x.grad), values(w), {}, 'after zeroGrad');
});

test('noGrad records nothing', () => {
  const x = leaf([5]);
  const before = graphMemory.liveBytes;
  const y = noGrad(() => x.exp().mul(2).sum());
  assert.equal(y.node, null);
  assert.equal(y.tracksGrad, false);
  assert.equal(graphMemory.liveBytes, before);
  assert.throws(() => y.backward(), /does not depend on any tensor that requires a gradient/);
});

test('detach stops the gradient', () => {
  const x = leaf([3]);
  x.detach().mul(x).sum().backward();
  assertClose(values(x.grad), values(x), {}, 'only the attached factor contributes');
  assert.equal(x.detach().requiresGrad, false);
});

test('a second backward over a freed graph fails and says to pass retainGraph', () => {
  const x = leaf([2]);
  const loss = x.square().sum();
  loss.backward();
  assert.throws(
    () => loss.backward(),
    (error: Error) =>
      error instanceof ChainruleError &&
      /already freed by an earlier backward pass/.test(error.message) &&
      /\{ retainGraph: true \}/.test(error.message),
  );
  assertClose(
    values(x.grad),
    map(x, (v) => 2 * v),
    {},
    'the failed call leaves .grad as it was',
  );
});

test('retainGraph lets backward run twice over one graph', () => {
  const x = leaf([2]);
  const loss = x.square().sum();
  loss.backward(undefined, { retainGraph: true });
  loss.backward();
  assertClose(
    values(x.grad),
    map(x, (v) => 4 * v),
    {},
    'two passes over one graph',
  );
});

test('retainGrads stores the gradient of intermediate tensors', () => {
  const x = leaf([3]);
  const h = x.mul(2);
  const loss = h.square().sum();
  loss.backward(undefined, { retainGrads: true });
  assertClose(
    values(h.grad),
    map(h, (v) => 2 * v),
    {},
    'dL/dh',
  );
  assertClose(
    values(x.grad),
    map(x, (v) => 8 * v),
    {},
    'dL/dx',
  );
});

test('intermediate tensors keep no .grad unless asked', () => {
  const x = leaf([3]);
  const h = x.mul(2);
  h.sum().backward();
  assert.equal(h.grad, null);
});

test('onStep visits every node once, output first, each before the nodes it came from', () => {
  const x = leaf([2, 3]);
  const w = leaf([3, 2]);
  const loss = x.matmul(w).tanh().add(x.sum(1, true)).square().mean();
  // The inputs are read inside the callback: a pass without retainGraph frees them right after.
  const steps: { out: Tensor; op: string; inputs: Tensor[]; grads: (Tensor | null)[] }[] = [];
  loss.backward(undefined, {
    onStep: ({ node, out, inputGrads }: BackwardStep) =>
      steps.push({ out, op: node.op.name, inputs: [...node.inputs], grads: inputGrads }),
  });
  assert.equal(steps[0].out, loss);
  const position = new Map(steps.map((s, i) => [s.out, i]));
  assert.equal(position.size, steps.length, 'each node once');
  for (const [i, step] of steps.entries()) {
    assert.equal(step.grads.length, step.inputs.length, `${step.op}: one gradient slot per input`);
    for (const input of step.inputs) {
      if (input.node) assert.ok(position.get(input)! > i, `${input.node.op.name} comes after ${step.op}`);
    }
  }
  assert.deepEqual(
    steps.slice(0, 4).map((s) => s.op),
    ['div', 'sum', 'square', 'add'],
  );
  assert.deepEqual(
    steps
      .slice(4)
      .map((s) => s.op)
      .sort(),
    ['matmul', 'sum', 'tanh'],
  );
  const matmul = steps.find((s) => s.op === 'matmul')!;
  assert.deepEqual(
    matmul.grads.map((g) => g?.shape),
    [x.shape, w.shape],
  );
});

test('grad and valueAndGrad of a scalar function', () => {
  const f = (a: Tensor, b: Tensor) => a.mul(b).sum();
  const a = randn([3], { dtype: 'float64', rng });
  const b = randn([3], { dtype: 'float64', rng });
  const [ga, gb] = grad(f)(a, b);
  assert.deepEqual(values(ga), values(b));
  assert.deepEqual(values(gb), values(a));
  const { value, grads } = valueAndGrad(f)(a, b);
  assertClose(
    [value.item()],
    [values(a).reduce((s, v, i) => s + v * b.data[i], 0)],
    { rtol: 1e-15 },
    'value',
  );
  assert.deepEqual(values(grads[0]), values(b));
  assert.equal(a.grad, null, "grad() leaves the arguments' .grad alone");
  assert.throws(() => valueAndGrad((t: Tensor) => t.mul(2))(a), /f must return a scalar, got shape \[3\]/);
});

test('vjp pulls a cotangent back; unused inputs get zeros', () => {
  const x = randn([2, 3], { dtype: 'float64', rng });
  const unused = randn([4], { dtype: 'float64', rng });
  const c = randn([2, 3], { dtype: 'float64', rng });
  const { out, grads } = vjp((a) => a.square(), [x, unused], c);
  assert.deepEqual(
    values(out),
    map(x, (v) => v * v),
  );
  assert.equal(out.node, null, 'the returned value is detached');
  assertClose(
    values(grads[0]),
    map(x, (v, i) => 2 * v * c.data[i]),
    {},
    'cᵀ J',
  );
  assert.deepEqual(values(grads[1]), [0, 0, 0, 0]);
});

test('createGraph gives second derivatives: d²/dx² x³ = 6x', () => {
  for (const cube of [(x: Tensor) => x.pow(3), (x: Tensor) => x.mul(x).mul(x)]) {
    const x = tensor([2, -1.5], { dtype: 'float64', requiresGrad: true });
    cube(x).sum().backward(undefined, { createGraph: true });
    const first = x.grad!;
    assertClose(
      values(first),
      map(x, (v) => 3 * v * v),
      {},
      'first derivative',
    );
    assert.ok(first.node, 'the first derivative is itself recorded');
    zeroGrad([x]);
    first.sum().backward();
    assertClose(
      values(x.grad),
      map(x, (v) => 6 * v),
      {},
      'second derivative',
    );
  }
});

test('grad composes: grad(grad(f)), a Hessian by jacrev(grad(f)), user tensors untouched', () => {
  const cube = (x: Tensor) => x.pow(3).sum();
  const x = tensor([2, -1.5], { dtype: 'float64' });
  const secondDerivative = grad((v: Tensor) => grad(cube)(v)[0].sum());
  assertClose(
    values(secondDerivative(x)[0]),
    map(x, (v) => 6 * v),
    {},
    'd²/dx² Σx³',
  );
  const third = grad((v: Tensor) => grad((w: Tensor) => grad(cube)(w)[0].sum())(v)[0].sum());
  assertClose(values(third(x)[0]), [6, 6], {}, 'd³/dx³ Σx³');

  // f(a, b) = Σ a²·b: the Hessian block d/db (df/da) = diag(2a).
  const a = tensor([1, 2, 3], { dtype: 'float64' });
  const b = tensor([0.5, -1, 2], { dtype: 'float64' });
  const f = (p: Tensor, q: Tensor) => p.square().mul(q).sum();
  const mixed = jacrev((q: Tensor) => grad(f)(a, q)[0])(b);
  assertClose(values(mixed), [2, 0, 0, 0, 4, 0, 0, 0, 6], {}, 'd/db df/da');
  assertClose(
    values(jacrev((p: Tensor) => grad(f)(p, b)[0])(a)),
    [1, 0, 0, 0, -2, 0, 0, 0, 4],
    {},
    'd²f/da²',
  );

  // An argument the outer pass tracks keeps its .grad to itself: gradients are returned, not stored.
  const tracked = tensor([3], { dtype: 'float64', requiresGrad: true });
  const [g] = grad(cube)(tracked);
  assertClose(values(g), [27]);
  assert.equal(tracked.grad, null);
  g.sum().backward();
  assertClose(values(tracked.grad), [18], {}, 'the returned gradient is differentiable further');
});

test('backward and jvp compute only the partial derivatives their inputs need', () => {
  const kernelOps: string[] = [];
  class RecordingKernels extends ReferenceKernels {
    override unary(...args: Parameters<ReferenceKernels['unary']>): void {
      kernelOps.push(args[0]);
      super.unary(...args);
    }
    override binary(...args: Parameters<ReferenceKernels['binary']>): void {
      kernelOps.push(args[0]);
      super.binary(...args);
    }
  }
  const x = leaf([3]);
  withBackend(new RecordingKernels(), () => {
    x.pow(3).sum().backward();
    jvp((a) => a.pow(3), [x], [x]);
  });
  assert.ok(
    kernelOps.filter((op) => op === 'pow').length >= 4,
    'the values and d(x^3)/dx ran on the recording backend',
  );
  assert.ok(!kernelOps.includes('log'), 'd(x^3)/d3 = x^3·log(x) is never needed, so never computed');
});

test('backward accepts a cotangent of another float dtype', () => {
  const x = leaf([2]);
  x.mul(3).backward(tensor([1, 2]));
  assert.equal(x.grad?.dtype, 'float64');
  assert.deepEqual(values(x.grad), [3, 6]);
});
