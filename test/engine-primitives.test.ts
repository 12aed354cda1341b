// Every primitive's VJP and JVP against central finite differences in float64, and against
// each other (<J t, c> = <t, Jᵀ c>); and the JVP of its VJP (forward over reverse, the VJP
// rule's own ops carrying tangents) against differences of the VJP. The case table is keyed by the op table, so a new
// primitive without a case here fails to compile, and the first test fails at run time too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  concat,
  enableGrad,
  jvp,
  mm,
  type Op,
  ones,
  primitives,
  Rng,
  rand,
  randn,
  type Shape,
  type Tensor,
  tensor,
  where,
} from '../src/index.js';
import {
  checkForwardOverReverse,
  checkGradients,
  type Fn,
  type GradcheckOptions,
} from './helpers/gradcheck.js';
import { spatialCases } from './helpers/spatial-cases.js';

type PrimitiveName = keyof typeof primitives;

interface Config {
  label: string;
  inputs: Tensor[];
  /** Computes the primitive from the inputs through the public API. */
  f: Fn;
}

interface PrimitiveCase {
  configs: Config[];
  /** Inputs the op has no derivative for: its rules must return null there ('all' for every input). */
  nullRules?: 'all' | readonly number[];
  tolerance?: Pick<GradcheckOptions, 'eps' | 'rtol' | 'atol'>;
}

const rng = new Rng(2024);
const normal = (shape: Shape) => randn(shape, { dtype: 'float64', rng });
const uniform = (shape: Shape, low: number, high: number) =>
  rand(shape, { dtype: 'float64', rng, low, high });
const positive = (shape: Shape) => uniform(shape, 0.5, 2);

/** |x| in [0.2, 1.5] with random signs: away from the kink of abs and relu at 0. */
function awayFromZero(shape: Shape): Tensor {
  const t = uniform(shape, 0.2, 1.5);
  for (let i = 0; i < t.size; i++) if (rng.uniform() < 0.5) t.data[i] = -t.data[i];
  return t;
}

/**
 * An integer in [-2, 1] plus a fraction in [low, high]: draws with the fractions [0.1, 0.4]
 * and [0.6, 0.9] are at least 0.2 apart, so maximum and minimum never meet a tie.
 */
function offLattice(shape: Shape, low: number, high: number): Tensor {
  const t = uniform(shape, low, high);
  for (let i = 0; i < t.size; i++) t.data[i] += rng.int(4) - 2;
  return t;
}

/** Values at least 0.2 apart in random order, so a max has a unique winner. */
function distinct(shape: Shape): Tensor {
  const t = uniform(shape, 0, 0.05);
  const order = rng.permutation(t.size);
  for (let i = 0; i < t.size; i++) t.data[i] += 0.25 * (order[i] - t.size / 2);
  return t;
}

/** 0/1 values with both present. */
function mask(shape: Shape): Tensor {
  const t = uniform(shape, 0, 1);
  for (let i = 0; i < t.size; i++) t.data[i] = i % 2 === 0 ? 1 : Number(rng.uniform() < 0.5);
  return t;
}

const shapeText = (shape: Shape) => `[${shape.join(',')}]`;

type UnaryMethod = keyof typeof primitives &
  (
    | 'neg'
    | 'exp'
    | 'log'
    | 'sqrt'
    | 'abs'
    | 'tanh'
    | 'sigmoid'
    | 'relu'
    | 'softplus'
    | 'square'
    | 'reciprocal'
    | 'sign'
    | 'step'
  );

function unary(name: UnaryMethod, domain: (shape: Shape) => Tensor): PrimitiveCase {
  return {
    configs: [[], [5], [2, 3, 4]].map((shape) => ({
      label: shapeText(shape),
      inputs: [domain(shape)],
      f: (x) => x[name](),
    })),
  };
}

type BinaryMethod =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'gt'
  | 'ge'
  | 'lt'
  | 'le'
  | 'eq';

const broadcastPairs: [Shape, Shape][] = [
  [
    [3, 1, 4],
    [2, 4],
  ],
  [[], [2, 3]],
  [[2, 3], []],
  [[4], [4]],
];

function binary(
  name: BinaryMethod,
  domainA: (shape: Shape) => Tensor,
  domainB: (shape: Shape) => Tensor = domainA,
): PrimitiveCase {
  return {
    configs: broadcastPairs.map(([sa, sb]) => ({
      label: `${shapeText(sa)} ${name} ${shapeText(sb)}`,
      inputs: [domainA(sa), domainB(sb)],
      f: (a, b) => a[name](b),
    })),
  };
}

const comparison = (name: BinaryMethod): PrimitiveCase => ({
  ...binary(name, (shape) => offLattice(shape, 0.1, 0.4), normal),
  nullRules: 'all',
});

const reductionAxes: [number | number[] | undefined, boolean][] = [
  [undefined, false],
  [[0, 2], true],
  [[0, 2], false],
  [1, false],
  [-1, true],
];

function reduction(name: 'sum' | 'max', domain: (shape: Shape) => Tensor): PrimitiveCase {
  return {
    configs: reductionAxes.map(([axes, keepdim]) => ({
      label: `axes ${JSON.stringify(axes)} keepdim ${keepdim}`,
      inputs: [domain([2, 3, 4])],
      f: (x) => x[name](axes, keepdim),
    })),
  };
}

/** A stored operand of the given used shape: the last two axes swapped when it is used transposed. */
const stored = (shape: Shape, trans: boolean) =>
  normal(trans ? [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!] : shape);

const matmulShapes: [Shape, Shape][] = [
  [
    [3, 4],
    [4, 5],
  ],
  [
    [2, 3, 4],
    [4, 5],
  ],
  [
    [4, 5],
    [2, 5, 3],
  ],
  [
    [2, 1, 3, 4],
    [3, 4, 2],
  ],
];

const matmulConfigs: Config[] = matmulShapes.flatMap(([sa, sb]) =>
  [false, true].flatMap((transA) =>
    [false, true].map((transB) => ({
      label: `${shapeText(sa)}·${shapeText(sb)} transA ${transA} transB ${transB}`,
      inputs: [stored(sa, transA), stored(sb, transB)],
      f: (a: Tensor, b: Tensor) => mm(a, b, transA, transB),
    })),
  ),
);

const cases: Record<PrimitiveName, PrimitiveCase> = {
  neg: unary('neg', normal),
  exp: unary('exp', normal),
  log: unary('log', positive),
  sqrt: unary('sqrt', positive),
  abs: unary('abs', awayFromZero),
  tanh: unary('tanh', normal),
  sigmoid: unary('sigmoid', normal),
  relu: unary('relu', awayFromZero),
  softplus: unary('softplus', normal),
  square: unary('square', normal),
  reciprocal: unary('reciprocal', awayFromZero),
  sign: { ...unary('sign', awayFromZero), nullRules: 'all' },
  step: { ...unary('step', awayFromZero), nullRules: 'all' },
  add: binary('add', normal),
  sub: binary('sub', normal),
  mul: binary('mul', normal),
  div: binary('div', normal, awayFromZero),
  pow: binary('pow', positive, normal),
  maximum: binary(
    'maximum',
    (shape) => offLattice(shape, 0.1, 0.4),
    (shape) => offLattice(shape, 0.6, 0.9),
  ),
  minimum: binary(
    'minimum',
    (shape) => offLattice(shape, 0.6, 0.9),
    (shape) => offLattice(shape, 0.1, 0.4),
  ),
  gt: comparison('gt'),
  ge: comparison('ge'),
  lt: comparison('lt'),
  le: comparison('le'),
  eq: {
    ...binary('eq', (shape) =>
      tensor(
        Float64Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i % 3),
        { shape },
      ),
    ),
    nullRules: 'all',
  },
  where: {
    configs: [
      { label: 'cond [3,1], a [3,4], b [4]', inputs: [mask([3, 1]), normal([3, 4]), normal([4])] },
      { label: 'cond [2,1,4], a [], b [3,4]', inputs: [mask([2, 1, 4]), normal([]), normal([3, 4])] },
      { label: 'cond [4], a [2,4], b [2,1]', inputs: [mask([4]), normal([2, 4]), normal([2, 1])] },
    ].map((c) => ({ ...c, f: (cond, a, b) => where(cond, a, b) })),
    nullRules: [0],
  },
  sum: reduction('sum', normal),
  max: reduction('max', distinct),
  matmul: { configs: matmulConfigs },
  reshape: {
    configs: [
      { label: '[2,3,4] -> [4,6]', inputs: [normal([2, 3, 4])], f: (x) => x.reshape([4, 6]) },
      { label: '[6] -> [2,-1]', inputs: [normal([6])], f: (x) => x.reshape([2, -1]) },
      { label: '[] -> [1,1]', inputs: [normal([])], f: (x) => x.reshape([1, 1]) },
    ],
  },
  permute: {
    configs: [
      { label: '[2,3,4] dims [2,0,1]', inputs: [normal([2, 3, 4])], f: (x) => x.permute([2, 0, 1]) },
      { label: '[2,3,4] dims [0,-1,1]', inputs: [normal([2, 3, 4])], f: (x) => x.permute([0, -1, 1]) },
      { label: '[3,4] .T', inputs: [normal([3, 4])], f: (x) => x.T },
    ],
  },
  broadcastTo: {
    configs: [
      { label: '[3,1] -> [2,3,4]', inputs: [normal([3, 1])], f: (x) => x.broadcastTo([2, 3, 4]) },
      { label: '[] -> [2,2]', inputs: [normal([])], f: (x) => x.broadcastTo([2, 2]) },
      { label: '[4] -> [3,4]', inputs: [normal([4])], f: (x) => x.broadcastTo([3, 4]) },
    ],
  },
  slice: {
    configs: [
      { label: '[2,5,3] axis 1, 1..4', inputs: [normal([2, 5, 3])], f: (x) => x.slice(1, 1, 4) },
      { label: '[4,3] axis 0, last row', inputs: [normal([4, 3])], f: (x) => x.slice(0, -1) },
      { label: '[2,3,4] axis -1, 0..2', inputs: [normal([2, 3, 4])], f: (x) => x.slice(-1, 0, 2) },
    ],
  },
  concat: {
    configs: [
      {
        label: '[2,3] [2,1] [2,2] along axis 1',
        inputs: [normal([2, 3]), normal([2, 1]), normal([2, 2])],
        f: (...xs) => concat(xs, 1),
      },
      {
        label: '[1,3] [2,3] along axis 0',
        inputs: [normal([1, 3]), normal([2, 3])],
        f: (...xs) => concat(xs, 0),
      },
      {
        label: '[2,1,3] [2,2,3] along axis -2',
        inputs: [normal([2, 1, 3]), normal([2, 2, 3])],
        f: (...xs) => concat(xs, -2),
      },
    ],
  },
  // One side is float32, so the differences only hold about four digits.
  cast: {
    configs: [
      { label: 'float64 -> float32', inputs: [normal([2, 3])], f: (x) => x.to('float32') },
      { label: 'float32 -> float64', inputs: [normal([2, 3]).to('float32')], f: (x) => x.to('float64') },
    ],
    tolerance: { eps: 1e-2, rtol: 1e-4, atol: 1e-4 },
  },
  ...spatialCases,
};

test('every primitive in the op table has a gradient-check case', () => {
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(primitives).sort());
});

for (const [name, { configs, nullRules = [], tolerance }] of Object.entries(cases) as [
  PrimitiveName,
  PrimitiveCase,
][]) {
  test(`${name}: VJP, JVP and the JVP of the VJP match finite differences`, async (t) => {
    const op: Op<unknown> = primitives[name];
    for (const { label, inputs, f } of configs) {
      await t.test(label, () => {
        const hasNoRule = (i: number) => nullRules === 'all' || nullRules.includes(i);
        const leaves = inputs.map((x) => x.detach().requireGrad());
        const out = enableGrad(() => f(...leaves));
        const zeroTangent = () =>
          jvp(
            f,
            inputs,
            inputs.map((x) => ones(x.shape, { dtype: x.dtype })),
          ).tangent.data.every((v) => v === 0);
        if (op.differentiable === false) {
          assert.equal(out.node, null, `${name} gives a constant: no node is recorded`);
          assert.equal(out.requiresGrad, false);
          assert.ok(zeroTangent(), `the tangent through ${name} is zero`);
          return;
        }
        assert.equal(out.node?.op, op, `${label} must be computed by the ${name} primitive`);
        const context = { inputs: out.node.inputs, out, attrs: out.node.attrs };
        const pullbacks = op.vjp(ones(out.shape, { dtype: out.dtype }), context);
        const pushforwards = op.jvp(context);
        inputs.forEach((_, i) => {
          const expected = hasNoRule(i) ? 'null' : 'a rule';
          assert.equal(pullbacks[i] === null ? 'null' : 'a rule', expected, `VJP of input ${i}`);
          assert.equal(pushforwards[i] === null ? 'null' : 'a rule', expected, `JVP of input ${i}`);
        });

        const wrt = inputs.flatMap((_, i) => (hasNoRule(i) ? [] : [i]));
        if (wrt.length) {
          const checked = checkGradients(f, inputs, { ...tolerance, wrt });
          checkForwardOverReverse(f, inputs, { ...checked, wrt }, tolerance);
          return;
        }
        out.sum().backward();
        for (const leaf of leaves)
          assert.equal(leaf.grad, null, 'no gradient flows through a derivative-free op');
        assert.ok(zeroTangent(), 'the tangent through a derivative-free op is zero');
      });
    }
  });
}
