// The function transforms compose in every order and to any depth: Hessians four ways and by
// hessian(), Hessian-vector products, nested jvps (and the perturbation-confusion case),
// reverse over forward, vmap, argnums and hasAux. Checked against central differences in
// float64 and against each other.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  concat,
  crossEntropy,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jvp,
  Rng,
  randn,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
} from '../src/index.js';
import {
  assertClose,
  directionalDifference,
  type Fn,
  finiteDifference,
  secondDifference,
} from './helpers/gradcheck.js';

const rng = new Rng(31);
const normal = (shape: number[]) => randn(shape, { dtype: 'float64', rng });
const scalar = (v: number) => tensor(v, { dtype: 'float64' });

/** A tiny MLP 2-3-2 with its 15 parameters in one vector θ: tanh hidden layer, cross-entropy. */
function mlpLoss(): Fn {
  const x = normal([4, 2]);
  const labels = [0, 1, 1, 0];
  return (theta) => {
    const W1 = theta.slice(0, 0, 6).reshape([2, 3]);
    const b1 = theta.slice(0, 6, 9);
    const W2 = theta.slice(0, 9, 15).reshape([3, 2]);
    return crossEntropy(x.matmul(W1).add(b1).tanh().matmul(W2), labels);
  };
}

const scalarFunctions: Record<string, { f: Fn; x: Tensor }> = {
  'polynomial x₀³x₁ + 2x₁²x₂ - x₂⁴': {
    f: (x) => {
      const [a, b, c] = [0, 1, 2].map((i) => x.slice(0, i, i + 1));
      return a.pow(3).mul(b).add(b.square().mul(c).mul(2)).sub(c.pow(4)).sum();
    },
    x: tensor([0.7, -1.3, 0.4], { dtype: 'float64' }),
  },
  'tanh/exp/log mix': {
    f: (x) => x.tanh().mul(x.exp()).add(x.square().add(1).log()).sum().mul(x.sigmoid().sum()),
    x: normal([4]),
  },
  'small MLP loss (15 parameters)': { f: mlpLoss(), x: normal([15]).mul(0.7) },
};

for (const [name, { f, x }] of Object.entries(scalarFunctions)) {
  test(`Hessian of ${name}: five ways agree with each other and with second differences`, () => {
    const n = x.size;
    const ways: Record<string, Tensor> = {
      'jacfwd(jacrev)': jacfwd(jacrev(f))(x),
      'jacrev(jacrev)': jacrev(jacrev(f))(x),
      'jacfwd(jacfwd)': jacfwd(jacfwd(f))(x),
      'jacrev(jacfwd)': jacrev(jacfwd(f))(x),
      hessian: hessian(f)(x),
    };
    const expected = secondDifference(f, x);
    const reference = ways.hessian;
    for (const [way, H] of Object.entries(ways)) {
      assert.deepEqual(H.shape, [n, n], way);
      assertClose(H.data, reference.data, { rtol: 1e-10, atol: 1e-12 }, `${way} against hessian`);
      assertClose(H.data, expected, { rtol: 1e-5, atol: 1e-6 }, `${way} against second differences`);
    }
    // A Hessian is symmetric; the five ways build it in different orders, so this is a real check.
    for (let i = 0; i < n; i++)
      for (let j = 0; j < i; j++)
        assertClose([reference.data[i * n + j]], [reference.data[j * n + i]], { rtol: 1e-10, atol: 1e-12 });

    const v = normal([n]);
    const Hv = hvp(f, x, v);
    const product = reference.matmul(v);
    assertClose(Hv.data, product.data, { rtol: 1e-10, atol: 1e-12 }, 'hvp against H·v');

    // jvp of jvp: the second directional derivative vᵀHv, against (f(x+hv) - 2f(x) + f(x-hv))/h².
    const along = (u: Tensor) => jvp(f, [u], [v]).tangent;
    const second = jvp(along, [x], [v]).tangent.item();
    assertClose([second], [v.mul(product).sum().item()], { rtol: 1e-10 }, 'jvp(jvp) against vᵀHv');
    const h = 1e-4;
    const at = (s: number) => f(x.add(v.mul(s * h))).item();
    assertClose(
      [second],
      [(at(1) - 2 * at(0) + at(-1)) / (h * h)],
      { rtol: 1e-5, atol: 1e-6 },
      'jvp(jvp) against differences',
    );
  });
}

test('reverse over forward: the gradient of a directional derivative is H·v', () => {
  const { f, x } = scalarFunctions['tanh/exp/log mix'];
  const v = normal([x.size]);
  const [gradientOfJvp] = grad((u: Tensor) => jvp(f, [u], [v]).tangent)(x);
  assertClose(gradientOfJvp.data, hessian(f)(x).matmul(v).data, { rtol: 1e-10, atol: 1e-12 });
  const vjpOfJvp = vjp((u: Tensor) => jvp(f, [u], [v]).tangent, [x]).grads[0];
  assertClose(vjpOfJvp.data, gradientOfJvp.data, { rtol: 1e-12 });
});

test('third and fourth derivatives in every order of forward and reverse: d^n/dx^n x·eˣ = eˣ(x + n)', () => {
  const f = (x: Tensor) => x.mul(x.exp());
  type Scalar = (x: Tensor) => Tensor;
  const forward =
    (g: Scalar): Scalar =>
    (x) =>
      jvp(g, [x], [scalar(1)]).tangent;
  const reverse =
    (g: Scalar): Scalar =>
    (x) =>
      grad(g, { argnums: 0 })(x);
  const x = 0.3;
  for (const depth of [3, 4]) {
    for (let mask = 0; mask < 2 ** depth; mask++) {
      let derivative: Scalar = f;
      const order: string[] = [];
      for (let k = 0; k < depth; k++) {
        const useForward = (mask >> k) & 1;
        derivative = useForward ? forward(derivative) : reverse(derivative);
        order.push(useForward ? 'jvp' : 'grad');
      }
      assertClose(
        [derivative(scalar(x)).item()],
        [Math.exp(x) * (x + depth)],
        { rtol: 1e-12 },
        order.join(' of '),
      );
    }
  }
});

test('perturbation confusion: d/dx [x · d/dy (x + y)] = 1, and nested jvps keep their tangents apart', () => {
  const D = (g: (v: Tensor) => Tensor) => (v: Tensor) => jvp(g, [v], [scalar(1)]).tangent;
  const Dr = (g: (v: Tensor) => Tensor) => (v: Tensor) => grad(g, { argnums: 0 })(v);
  for (const at of [-2, 0.5, 3]) {
    for (const [outer, inner, label] of [
      [D, D, 'jvp of jvp'],
      [Dr, Dr, 'grad of grad'],
      [D, Dr, 'jvp of grad'],
      [Dr, D, 'grad of jvp'],
    ] as const) {
      const value = outer((x) => x.mul(inner((y) => x.add(y))(scalar(at + 1))))(scalar(at));
      assert.equal(value.item(), 1, `${label} at ${at}`);
    }
  }
  // The inner jvp's primal is the outer one's variable: d/dx [d/dy (x·y) at y = x] = d/dx x = 1.
  const inner = (x: Tensor) => jvp((y) => x.mul(y), [x], [scalar(1)]).tangent;
  assert.equal(D(inner)(scalar(1.7)).item(), 1);
  // And the value of an inner jvp still carries the outer tangent: d/dx (x²) through it is 2x.
  const valueThrough = (x: Tensor) => jvp((y) => y.square(), [x], [scalar(1)]).out;
  assert.equal(D(valueThrough)(scalar(1.5)).item(), 3);
});

test('vmap(grad(f)) gives the per-example gradients computed one by one', () => {
  const W = normal([3, 2]);
  const xs = normal([5, 3]);
  const ys = normal([5, 2]);
  const loss = (w: Tensor, x: Tensor, y: Tensor) => x.matmul(w).tanh().sub(y).square().sum();
  const perExample = vmap(grad(loss, { argnums: 0 }), [null, 0, 0])(W, xs, ys);
  assert.deepEqual(perExample.shape, [5, 3, 2]);
  for (let b = 0; b < 5; b++) {
    const one = grad(loss, { argnums: 0 })(
      W,
      xs.slice(0, b, b + 1).squeeze(0),
      ys.slice(0, b, b + 1).squeeze(0),
    );
    assertClose(perExample.slice(0, b, b + 1).squeeze(0).data, one.data, { rtol: 1e-15 }, `example ${b}`);
  }
  // Their mean is the gradient of the mean loss.
  const meanLoss = (w: Tensor) => vmap((x: Tensor, y: Tensor) => loss(w, x, y))(xs, ys).mean();
  assertClose(perExample.mean(0).data, grad(meanLoss, { argnums: 0 })(W).data, { rtol: 1e-12 });
});

test('vmap: inAxes, outAxes, several outputs, nesting, and transforms over it', () => {
  const A = normal([3, 4]);
  const cols = vmap((c: Tensor) => c.square().sum(), 1)(A);
  assertClose(cols.data, A.square().sum(0).data, { rtol: 1e-15 });
  const pair = vmap((r: Tensor) => [r.exp(), r.sum()], 0, [1, 0])(A) as Tensor[];
  assert.deepEqual(pair[0].shape, [4, 3]);
  assertClose(pair[0].data, A.exp().T.data, { rtol: 1e-15 });
  assertClose(pair[1].data, A.sum(1).data, { rtol: 1e-15 });
  const outer = vmap((a: Tensor) => vmap((b: Tensor) => a.mul(b))(tensor([1, 2], { dtype: 'float64' })))(
    tensor([3, 4, 5], { dtype: 'float64' }),
  );
  assert.deepEqual(outer.toArray(), [
    [3, 6],
    [4, 8],
    [5, 10],
  ]);
  const v = normal([3, 4]);
  const f = (x: Tensor) =>
    vmap((r: Tensor) => r.tanh().sum())(x)
      .square()
      .sum();
  const { tangent } = jvp(f, [A], [v]);
  assertClose([tangent.item()], [grad(f, { argnums: 0 })(A).mul(v).sum().item()], { rtol: 1e-12 });
  assertClose(grad(f, { argnums: 0 })(A).data, finiteDifference(f, [A], 0), { rtol: 1e-6, atol: 1e-8 });
});

test('argnums picks the arguments; jacfwd and jacrev of a two-argument function', () => {
  const f = (a: Tensor, b: Tensor) => a.mul(b.exp()).sum().mul(a.sum());
  const a = normal([3]);
  const b = normal([3]);
  const [ga, gb] = grad(f)(a, b);
  assertClose(grad(f, { argnums: 1 })(a, b).data, gb.data, { rtol: 1e-15 });
  const [gb2, ga2] = grad(f, { argnums: [1, 0] })(a, b);
  assertClose(ga2.data, ga.data, { rtol: 1e-15 });
  assertClose(gb2.data, gb.data, { rtol: 1e-15 });
  assertClose(ga.data, finiteDifference(f, [a, b], 0), { rtol: 1e-6, atol: 1e-8 });

  const g = (x: Tensor, y: Tensor) => x.mul(y.sum()).tanh();
  const [Jx, Jy] = jacrev(g, { argnums: [0, 1] })(a, b);
  const [Fx, Fy] = jacfwd(g, { argnums: [0, 1] })(a, b);
  assertClose(Jx.data, jacrev((x: Tensor) => g(x, b))(a).data, { rtol: 1e-14 });
  assertClose(Jy.data, jacfwd((y: Tensor) => g(a, y))(b).data, { rtol: 1e-12 });
  assertClose(Fx.data, Jx.data, { rtol: 1e-12 });
  assertClose(Fy.data, Jy.data, { rtol: 1e-12 });
  assertClose(jacrev(g)(a, b).data, Jx.data, { rtol: 1e-15 }, 'argnums defaults to 0, as in JAX');
  // The Hessian block between the two arguments, by mixed argnums.
  const mixed = jacfwd(jacrev(f, { argnums: 0 }), { argnums: 1 })(a, b);
  const reverseMixed = jacrev(grad(f, { argnums: 1 }), { argnums: 0 })(a, b);
  assertClose(mixed.data, reverseMixed.T.data, { rtol: 1e-12 });
  // hessian with a list of argnums gives the blocks of the Hessian of f over [a, b] joined.
  const blocks = hessian(f, { argnums: [0, 1] })(a, b);
  const joined = hessian((z: Tensor) => f(z.slice(0, 0, 3), z.slice(0, 3, 6)))(concat([a, b]));
  for (const [i, j] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]) {
    const expected = joined.slice(0, 3 * i, 3 * i + 3).slice(1, 3 * j, 3 * j + 3);
    assertClose(blocks[i][j].data, expected.data, { rtol: 1e-12, atol: 1e-14 }, `block ${i}${j}`);
  }
  assertClose(blocks[0][1].data, mixed.data, { rtol: 1e-15 });
});

test('hasAux: f returns [output, aux]; aux comes back untouched', () => {
  const x = normal([3]);
  const f = (v: Tensor) => [v.square().sum(), { norm: v.norm().item() }] as const;
  const [g, aux] = grad(f, { hasAux: true, argnums: 0 })(x);
  assertClose(g.data, x.mul(2).data, { rtol: 1e-15 });
  assert.equal(aux.norm, x.norm().item());
  const vg = valueAndGrad(f, { hasAux: true })(x);
  assert.equal(vg.value.item(), x.square().sum().item());
  assert.equal(vg.aux.norm, aux.norm);
  assert.equal(vjp(f, [x], undefined, { hasAux: true }).aux.norm, aux.norm);
  assert.equal(jvp(f, [x], [x], { hasAux: true }).tangent.item(), x.square().sum().item() * 2);
  const [J, jacAux] = jacrev((v: Tensor) => [v.exp(), 'label'] as const, { hasAux: true })(x);
  assert.equal(jacAux, 'label');
  assert.deepEqual(J.shape, [3, 3]);
  const [H, hessAux] = hessian(f, { hasAux: true })(x);
  assertClose(H.data, [2, 0, 0, 0, 2, 0, 0, 0, 2], { atol: 1e-15 });
  assert.equal((hessAux as { norm: number }).norm, aux.norm);
  const both = (a: Tensor, b: Tensor) => [a.mul(b).sum().square(), 'both'] as const;
  const [blocks, blockAux] = hessian(both, { argnums: [0, 1], hasAux: true })(x, x.exp());
  assert.equal(blockAux, 'both');
  assert.deepEqual(
    blocks.map((row) => row.map((b) => b.shape)),
    [
      [
        [3, 3],
        [3, 3],
      ],
      [
        [3, 3],
        [3, 3],
      ],
    ],
  );
});

test('numbers are accepted wherever a tensor argument is, as float32 scalars', () => {
  const cube = (x: Tensor) => x.mul(x).mul(x);
  assert.equal(grad(cube, { argnums: 0 })(3).item(), 27);
  assert.equal(grad(grad(cube, { argnums: 0 }), { argnums: 0 })(3).item(), 18);
  assert.equal(jvp(cube, [2], [1]).tangent.item(), 12);
  assert.equal(jacfwd(cube)(2).item(), 12);
  assert.equal(hvp(cube, 2, 1).item(), 12);
  assert.equal(hessian(cube)(2).dtype, 'float32');
});

test('a grad inside a function leaves the graph it closed over intact', () => {
  const W = normal([3]).requireGrad();
  const scaled = W.mul(2);
  const [g] = grad((x: Tensor) => scaled.mul(x).sum())(normal([3]));
  assertClose(g.data, scaled.data, { rtol: 1e-15 });
  // scaled's node was neither walked nor freed by the inner gradient: backward still reaches W.
  scaled.sum().backward();
  assert.deepEqual(Array.from(W.grad!.data), [2, 2, 2]);
});

test('a gradient that closes over a tensor requiring grad can be backpropagated to it', () => {
  const W = normal([3]).requireGrad();
  const x = normal([3]);
  // d/dx sum(W·x²) = 2 W x; its sum differentiated by W gives 2x.
  const [g] = grad((u: Tensor) => W.mul(u.square()).sum())(x);
  g.sum().backward();
  assertClose(W.grad!.data, x.mul(2).data, { rtol: 1e-15 });
});

test('a tangent or a cotangent that depends on the outer variable is differentiated too', () => {
  const D = (g: (v: Tensor) => Tensor) => (v: Tensor) => jvp(g, [v], [scalar(1)]).tangent;
  // d/dx [exp'(0.5) · x²] = e^0.5 · 2x
  const throughTangent = (x: Tensor) => jvp((u) => u.exp(), [scalar(0.5)], [x.square()]).tangent;
  assertClose([D(throughTangent)(scalar(1.5)).item()], [Math.exp(0.5) * 3], { rtol: 1e-15 });
  assertClose([grad(throughTangent, { argnums: 0 })(scalar(1.5)).item()], [Math.exp(0.5) * 3], {
    rtol: 1e-15,
  });
  // d/dx [x · d(u²)/du at u = 2] = 4, the cotangent being x
  const throughCotangent = (x: Tensor) => vjp((u) => u.square(), [scalar(2)], x).grads[0];
  assert.equal(grad(throughCotangent, { argnums: 0 })(scalar(3)).item(), 4);
  assert.equal(D(throughCotangent)(scalar(3)).item(), 4);
  // The Jacobian of c ↦ cᵀJ is Jᵀ.
  const W = normal([2, 3]);
  const x = normal([3]);
  const f = (u: Tensor) => W.matmul(u).tanh();
  const transposed = jacrev((c: Tensor) => vjp(f, [x], c).grads[0])(normal([2]));
  assertClose(transposed.data, jacfwd(f)(x).T.data, { rtol: 1e-14, atol: 1e-15 });
});

test('third-derivative tensors: all eight nestings of jacfwd and jacrev agree, and match differences of the Hessian', () => {
  const f = (x: Tensor) => {
    const [a, b, c] = [0, 1, 2].map((i) => x.slice(0, i, i + 1));
    return x.exp().mul(a).sum().add(a.mul(b).mul(c).sum()).add(b.tanh().sum());
  };
  const x = tensor([0.3, -0.8, 0.5], { dtype: 'float64' });
  const tensors = [0, 1, 2, 3, 4, 5, 6, 7].map((mask) => {
    let g: (u: Tensor) => Tensor = f;
    for (let k = 0; k < 3; k++) g = ((mask >> k) & 1 ? jacfwd : jacrev)(g) as (u: Tensor) => Tensor;
    return g(x);
  });
  for (const T of tensors) {
    assert.deepEqual(T.shape, [3, 3, 3]);
    assertClose(T.data, tensors[0].data, { rtol: 1e-12, atol: 1e-13 });
  }
  // T[i, j, k] = ∂H[i, j]/∂x_k, by central differences of the (already checked) Hessian.
  for (let k = 0; k < 3; k++) {
    const e = tensor(
      [0, 1, 2].map((i) => Number(i === k)),
      { dtype: 'float64' },
    );
    const slice = Array.from({ length: 9 }, (_, ij) => tensors[0].data[ij * 3 + k]);
    assertClose(
      slice,
      directionalDifference((u) => hessian(f)(u), [x], [e]),
      { rtol: 1e-6, atol: 1e-8 },
      `∂H/∂x${k}`,
    );
  }
});
