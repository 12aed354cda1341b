// The conformance suite every backend runs against the reference backend: odd sizes, every
// broadcast, stride and transpose pattern, special values. A backend's test file calls
// kernelConformanceTests inside a describe() for each configuration it supports.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BINARY_OPS,
  type DataArray,
  type Kernels,
  type MatmulSpec,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
  type View,
} from '../../src/backend/kernels.js';
import { contiguousStrides, ReferenceKernels } from '../../src/backend/reference/index.js';
import {
  crossEntropyKernelConformanceTests,
  fusedKernelConformanceTests,
  rowsKernelConformanceTests,
} from './fused-conformance.js';
import { windowConformanceTests } from './window-conformance.js';

export const reference = new ReferenceKernels();
const FLOAT32_EPSILON = 2 ** -23;
const SMALLEST_SUBNORMAL = 2 ** -149;

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(random: () => number, length: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length }, () => lo + (hi - lo) * random());
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Asserts actual[i] matches expected[i] within tolerance(i, expected[i]) (0: bit-exact, so
 * -0 and 0 differ); NaN matches NaN and infinities must match exactly.
 */
export function assertMatches(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  tolerance: (i: number, expected: number) => number = () => 0,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const tol = tolerance(i, e);
    const ok = Number.isNaN(e)
      ? Number.isNaN(a)
      : tol === 0 || !Number.isFinite(e)
        ? Object.is(a, e)
        : Math.abs(a - e) <= tol;
    if (!ok) assert.fail(`${label}: element ${i} is ${a}, expected ${e} (tolerance ${tol})`);
  }
}

const relative =
  (rtol: number, atol = 0) =>
  (_i: number, expected: number) =>
    rtol * Math.abs(expected) + atol;

/** A strided view of `data` for a tensor of `shape` whose axes appear in `order` in memory. */
function permutedView(data: DataArray, shape: readonly number[], order: readonly number[], offset = 0): View {
  const storedStrides = contiguousStrides(order.map((axis) => shape[axis]));
  const strides = shape.map((_, axis) => storedStrides[order.indexOf(axis)]);
  return { data, offset, strides };
}

export const contiguous = (data: DataArray, shape: readonly number[], offset = 0): View => ({
  data,
  offset,
  strides: contiguousStrides(shape),
});

/** Element count a view needs behind it. */
const extent = (shape: readonly number[], view: Omit<View, 'data'>): number =>
  view.offset + shape.reduce((sum, d, i) => sum + (d - 1) * view.strides[i], 0) + 1;

/** A broadcast operand: `shape` with the given axes broadcast (stride 0) from a smaller array. */
function broadcastView(
  random: () => number,
  shape: readonly number[],
  broadcastAxes: readonly number[],
): View {
  const own = shape.map((d, i) => (broadcastAxes.includes(i) ? 1 : d));
  const strides = contiguousStrides(own).map((s, i) => (broadcastAxes.includes(i) ? 0 : s));
  return { data: uniform(random, sizeOf(own), -2, 2), offset: 0, strides };
}

// Values that exercise rounding, ties, signed zeros, NaN and infinities.
const SPECIAL_VALUES = [0, -0, 1, -1, 0.5, Infinity, -Infinity, NaN, 1e-30, -1e-30, 1e-40, 3e38, -3e38];

function withSpecials(random: () => number, length: number, lo: number, hi: number): Float32Array {
  const values = uniform(random, length, lo, hi);
  SPECIAL_VALUES.forEach((v, i) => {
    if (i < length) values[Math.floor(random() * length)] = v;
  });
  return values;
}

// Inputs spanning each unary op's interesting range: transcendental functions across their
// whole float32 domain (overflow and subnormal results included), the rest on [-8, 8].
function unaryInputs(op: UnaryOp, random: () => number, length: number): Float32Array {
  const base = withSpecials(random, length, -8, 8);
  const wide: Partial<Record<UnaryOp, () => number>> = {
    exp: () => -110 + 200 * random(),
    tanh: () => -12 + 24 * random(),
    sigmoid: () => -110 + 220 * random(),
    softplus: () => -110 + 220 * random(),
    log: () => 2 ** (-149 + 277 * random()),
    sqrt: () => 2 ** (-149 + 277 * random()),
  };
  const draw = wide[op];
  if (draw) for (let i = 0; i < length; i += 2) base[i] = draw();
  return base;
}

// float32-level accuracy for the polynomial approximations; everything else is exact.
const UNARY_TOLERANCE: Partial<Record<UnaryOp, number>> = {
  exp: 1e-6,
  log: 1e-6,
  tanh: 1e-6,
  sigmoid: 1e-6,
  softplus: 1e-6,
};

function matmulCase(
  random: () => number,
  spec: MatmulSpec,
): { a: Float32Array; b: Float32Array; aLength: number; bLength: number } {
  const aLength = spec.aBatchStride * (spec.batch - 1) + spec.m * spec.k;
  const bLength = spec.bBatchStride * (spec.batch - 1) + spec.k * spec.n;
  return { a: uniform(random, aLength), b: uniform(random, bLength), aLength, bLength };
}

export function checkMatmul(kernels: Kernels, random: () => number, spec: MatmulSpec): void {
  const { a, b } = matmulCase(random, spec);
  const size = spec.batch * spec.m * spec.n;
  const actual = new Float32Array(size).fill(NaN);
  const expected = new Float32Array(size);
  kernels.matmul(a, b, actual, spec);
  reference.matmul(a, b, expected, spec);
  // Float32 accumulation error is bounded by about k units of roundoff times sum |a||b|.
  const magnitude = new Float32Array(size);
  reference.matmul(a.map(Math.abs), b.map(Math.abs), magnitude, spec);
  const label = `matmul ${JSON.stringify(spec)}`;
  assertMatches(actual, expected, label, (i) => (spec.k + 2) * 2 ** -24 * magnitude[i] + 1e-30);
}

export function matmulSpecs(): MatmulSpec[] {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [5, 3, 1],
    [17, 33, 5],
    [4, 8, 16],
    [127, 5, 129],
    [33, 17, 259], // k crosses the 256-deep packing block
    [131, 9, 40], // m crosses the 128-row packing block
    [7, 9, 0], // empty inner dimension: zeros
    [160, 200, 300], // threaded, split by columns
    [300, 37, 400], // threaded, split by rows
    [37, 13, 300], // one column panel (AVX2, AVX-512): A read in place, its last rows padded
    [37, 6, 300], // one column panel on every instruction set
    [2000, 100, 3], // more rows than one packed block of A, with threads and without
    [3, 4100, 5], // more columns than one packed block of B
  ];
  const specs: MatmulSpec[] = [];
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        specs.push({ batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0 });
      }
    }
  }
  // Batches: both operands batched, one broadcast (stride 0) either way, and a batch large
  // enough to be split across threads by matrix.
  specs.push({ batch: 3, m: 5, n: 6, k: 7, transA: false, transB: true, aBatchStride: 35, bBatchStride: 42 });
  specs.push({ batch: 4, m: 9, n: 17, k: 3, transA: true, transB: false, aBatchStride: 27, bBatchStride: 0 });
  specs.push({
    batch: 2,
    m: 33,
    n: 5,
    k: 12,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 60,
  });
  specs.push({
    batch: 4,
    m: 96,
    n: 100,
    k: 120,
    transA: true,
    transB: true,
    aBatchStride: 96 * 120,
    bBatchStride: 0,
  });
  specs.push({
    batch: 30,
    m: 5,
    n: 20,
    k: 9,
    transA: true,
    transB: false,
    aBatchStride: 45,
    bBatchStride: 180,
  });
  specs.push({
    batch: 3,
    m: 150,
    n: 70,
    k: 130,
    transA: false,
    transB: false,
    aBatchStride: 150 * 130,
    bBatchStride: 130 * 70,
  });
  return specs;
}

/** Every kernel of `kernels()` against the reference; `seed` varies the random cases. */
export function kernelConformanceTests(kernels: () => Kernels, seed: number): void {
  fusedKernelConformanceTests(kernels, seed);
  rowsKernelConformanceTests(kernels, seed);
  crossEntropyKernelConformanceTests(kernels, seed);
  windowConformanceTests(kernels, seed);

  test('matmul matches the reference in every layout, size and batch stride', () => {
    const random = mulberry32(1 + seed);
    for (const spec of matmulSpecs()) checkMatmul(kernels(), random, spec);
  });

  test('matmul in float64 gives the reference result exactly', () => {
    const random = mulberry32(3);
    const spec: MatmulSpec = {
      batch: 2,
      m: 5,
      n: 4,
      k: 3,
      transA: true,
      transB: false,
      aBatchStride: 15,
      bBatchStride: 0,
    };
    const a = Float64Array.from(uniform(random, 30));
    const b = Float64Array.from(uniform(random, 12));
    const actual = new Float64Array(40);
    const expected = new Float64Array(40);
    kernels().matmul(a, b, actual, spec);
    reference.matmul(a, b, expected, spec);
    assertMatches(actual, expected, 'float64 matmul');
  });

  test('unary ops match the reference to float32 accuracy', () => {
    const random = mulberry32(4);
    // 40001: long enough to be split across threads, with a ragged end.
    for (const length of [1, 3, 5, 17, 33, 127, 1000, 40_001]) {
      for (const op of UNARY_OPS) {
        const x = unaryInputs(op, random, length);
        const actual = new Float32Array(length);
        const expected = new Float32Array(length);
        kernels().unary(op, x, actual);
        reference.unary(op, x, expected);
        const rtol = UNARY_TOLERANCE[op] ?? 0;
        // Subnormal results keep few significant bits: allow one unit in their last place.
        const tolerance = rtol === 0 ? () => 0 : relative(rtol, 2 * SMALLEST_SUBNORMAL);
        assertMatches(actual, expected, `${op} of ${length}`, tolerance);
      }
    }
  });

  test('unary ops on float64 and in place', () => {
    const random = mulberry32(5);
    const x = Float64Array.from(uniform(random, 9, -3, 3));
    const actual = new Float64Array(9);
    const expected = new Float64Array(9);
    kernels().unary('tanh', x, actual);
    reference.unary('tanh', x, expected);
    assertMatches(actual, expected, 'float64 tanh');
    const y = uniform(random, 10, -3, 3);
    const copy = y.slice();
    kernels().unary('exp', y, y);
    reference.unary('exp', copy, copy);
    assertMatches(y, copy, 'in-place exp', relative(1e-6));
  });

  test('binary ops match the reference exactly across broadcast patterns', () => {
    const random = mulberry32(6);
    type Case = { name: string; shape: number[]; a: View; b: View };
    const cases = (): Case[] => {
      const m = 1 + Math.floor(random() * 40);
      const n = 1 + Math.floor(random() * 40);
      const matrix = (): View => contiguous(withSpecials(random, m * n, -2, 2), [m, n]);
      const sliced = uniform(random, 7 + m * (n + 3), -2, 2);
      return [
        { name: 'same shape', shape: [m, n], a: matrix(), b: matrix() },
        { name: 'bias row', shape: [m, n], a: matrix(), b: broadcastView(random, [m, n], [0]) },
        { name: 'bias row first', shape: [m, n], a: broadcastView(random, [m, n], [0]), b: matrix() },
        { name: 'column', shape: [m, n], a: matrix(), b: broadcastView(random, [m, n], [1]) },
        { name: 'scalar', shape: [m, n], a: matrix(), b: broadcastView(random, [m, n], [0, 1]) },
        {
          name: 'both scalar',
          shape: [m, n],
          a: broadcastView(random, [m, n], [0, 1]),
          b: broadcastView(random, [m, n], [0, 1]),
        },
        {
          name: 'rank 0',
          shape: [],
          a: contiguous(uniform(random, 1), []),
          b: contiguous(uniform(random, 1), []),
        },
        {
          name: 'empty',
          shape: [0, n],
          a: contiguous(uniform(random, 0), [0, n]),
          b: broadcastView(random, [0, n], [0]),
        },
        {
          name: 'outer product',
          shape: [2, m, n],
          a: broadcastView(random, [2, m, n], [2]),
          b: broadcastView(random, [2, m, n], [1]),
        },
        {
          name: 'transposed (reference path)',
          shape: [m, n],
          a: permutedView(uniform(random, m * n), [m, n], [1, 0]),
          b: matrix(),
        },
        {
          name: 'row slice',
          shape: [m, n],
          a: { data: sliced, offset: 7, strides: [n + 3, 1] },
          b: matrix(),
        },
        // Large enough to be split across threads, ragged at both ends of a split.
        {
          name: 'large bias row',
          shape: [300, 257],
          a: contiguous(uniform(random, 300 * 257, -2, 2), [300, 257]),
          b: broadcastView(random, [300, 257], [0]),
        },
        {
          name: 'large transposed',
          shape: [257, 300],
          a: permutedView(uniform(random, 300 * 257, -2, 2), [257, 300], [1, 0]),
          b: broadcastView(random, [257, 300], [1]),
        },
      ];
    };
    for (let round = 0; round < 4; round++) {
      for (const { name, shape, a, b } of cases()) {
        for (const op of BINARY_OPS) {
          const actual = new Float32Array(sizeOf(shape));
          const expected = new Float32Array(sizeOf(shape));
          kernels().binary(op, a, b, actual, shape);
          reference.binary(op, a, b, expected, shape);
          assertMatches(actual, expected, `${op} ${name} ${JSON.stringify(shape)}`);
        }
      }
    }
  });

  test('binary ops compare ties, signed zeros and NaN like the reference', () => {
    const a = Float32Array.from([0, -0, 0, -0, 1, NaN, 1, NaN, 2, -Infinity, Infinity]);
    const b = Float32Array.from([-0, 0, 0, -0, NaN, 1, 1, NaN, 2, -Infinity, 1]);
    const shape = [a.length];
    for (const op of BINARY_OPS) {
      const actual = new Float32Array(a.length);
      const expected = new Float32Array(a.length);
      kernels().binary(op, contiguous(a, shape), contiguous(b, shape), actual, shape);
      reference.binary(op, contiguous(a, shape), contiguous(b, shape), expected, shape);
      assertMatches(actual, expected, `${op} specials`);
    }
  });

  test('binary ops on float64 use the reference', () => {
    const random = mulberry32(7);
    const a = Float64Array.from(uniform(random, 12));
    const b = Float64Array.from(uniform(random, 4));
    const actual = new Float64Array(12);
    const expected = new Float64Array(12);
    const bView: View = { data: b, offset: 0, strides: [0, 1] };
    kernels().binary('div', contiguous(a, [3, 4]), bView, actual, [3, 4]);
    reference.binary('div', contiguous(a, [3, 4]), bView, expected, [3, 4]);
    assertMatches(actual, expected, 'float64 div');
  });

  test('select matches the reference', () => {
    const random = mulberry32(8);
    for (const [m, n] of [
      [1, 1],
      [3, 5],
      [17, 33],
      [64, 10],
    ]) {
      const shape = [m, n];
      const condValues = Float32Array.from(
        { length: m * n },
        () => [0, -0, 1, NaN, -2][Math.floor(random() * 5)],
      );
      const patterns: [string, View, View, View][] = [
        [
          'contiguous',
          contiguous(condValues, shape),
          contiguous(uniform(random, m * n), shape),
          contiguous(uniform(random, m * n), shape),
        ],
        [
          'broadcast',
          broadcastView(random, shape, [1]),
          broadcastView(random, shape, [0]),
          broadcastView(random, shape, [0, 1]),
        ],
        [
          'transposed',
          permutedView(condValues, shape, [1, 0]),
          contiguous(uniform(random, m * n), shape),
          broadcastView(random, shape, [0]),
        ],
      ];
      for (const [name, cond, a, b] of patterns) {
        const actual = new Float32Array(m * n);
        const expected = new Float32Array(m * n);
        kernels().select(cond, a, b, actual, shape);
        reference.select(cond, a, b, expected, shape);
        assertMatches(actual, expected, `select ${name} ${m}x${n}`);
      }
    }
    const intCond: View = { data: Int32Array.from([0, 1, 2]), offset: 0, strides: [1] };
    const actual = new Float32Array(3);
    kernels().select(
      intCond,
      contiguous(Float32Array.from([1, 2, 3]), [3]),
      contiguous(Float32Array.from([4, 5, 6]), [3]),
      actual,
      [3],
    );
    assertMatches(actual, [4, 2, 3], 'select with int32 condition');
  });

  test('copy matches the reference for slices, broadcasts and permutations in every dtype', () => {
    const random = mulberry32(9);
    const shape = [3, 5, 17];
    const size = sizeOf(shape);
    const sources: DataArray[] = [
      uniform(random, 2 * size),
      Float64Array.from(uniform(random, 2 * size)),
      Int32Array.from({ length: 2 * size }, () => Math.floor(random() * 100)),
    ];
    for (const data of sources) {
      const views: [string, readonly number[], View][] = [
        ['contiguous', shape, contiguous(data, shape, 4)],
        ['permuted', shape, permutedView(data, shape, [2, 0, 1])],
        ['sliced rows', [3, 5, 9], { data, offset: 3, strides: [85, 17, 1] }],
        ['short rows', [40, 3], { data, offset: 1, strides: [7, 1] }],
        ['expanded', [4, 3, 17], { data, offset: 2, strides: [0, 17, 1] }],
        ['repeated element', [6, 20], { data, offset: 5, strides: [1, 0] }],
        ['rank 0', [], { data, offset: 11, strides: [] }],
      ];
      for (const [name, viewShape, view] of views) {
        assert.ok(extent(viewShape, view) <= data.length, `${name} stays inside its buffer`);
        const actual = new (data.constructor as Float32ArrayConstructor)(sizeOf(viewShape));
        const expected = new (data.constructor as Float32ArrayConstructor)(sizeOf(viewShape));
        kernels().copy(view, actual, viewShape);
        reference.copy(view, expected, viewShape);
        assertMatches(actual, expected, `copy ${name} ${data.constructor.name}`);
      }
    }
  });

  test('copy matches the reference for large transposes and permutations, ragged tiles and all', () => {
    const random = mulberry32(31);
    const data = uniform(random, 60_000);
    // Each source runs with stride 1 along a dimension other than the last, the layout a
    // backend may gather tile by tile; sizes are not multiples of any tile, and the largest
    // is big enough to be split between threads.
    const views: [string, readonly number[], View][] = [
      ['transposed', [67, 129], permutedView(data, [67, 129], [1, 0])],
      ['transposed slice', [40, 50], { data, offset: 5, strides: [1, 70] }],
      ['positions first', [17, 70, 45], permutedView(data, [17, 70, 45], [2, 1, 0])],
      ['rotated', [31, 6, 70], permutedView(data, [31, 6, 70], [1, 2, 0], 3)],
      ['expanded transpose', [3, 33, 40], { data, offset: 2, strides: [0, 1, 33] }],
    ];
    for (const [name, shape, view] of views) {
      assert.ok(extent(shape, view) <= data.length, `${name} stays inside its buffer`);
      const actual = new Float32Array(sizeOf(shape));
      const expected = new Float32Array(sizeOf(shape));
      kernels().copy(view, actual, shape);
      reference.copy(view, expected, shape);
      assertMatches(actual, expected, `copy ${name}`);
    }
  });

  test('reduce matches the reference over rows, columns, middle axes and everything', () => {
    const random = mulberry32(10);
    const cases: [number[], number[]][] = [
      [[17, 33], [0]],
      [[17, 33], [1]],
      [[128, 10], [1]],
      [[128, 10], [0]],
      [[5, 1, 7], [0]],
      [
        [5, 1, 7],
        [0, 1],
      ],
      [[3, 5, 7], [1]],
      [
        [3, 5, 7],
        [1, 2],
      ],
      [
        [3, 5, 7],
        [0, 2],
      ], // not adjacent: reference path
      [
        [3, 5, 7],
        [0, 1, 2],
      ],
      [[1000], [0]],
      [[4, 1], [1]],
      [[4, 0, 3], [1]],
      [[], []],
    ];
    for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
      for (const [shape, axes] of cases) {
        const x = uniform(random, sizeOf(shape), -4, 4);
        const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const actual = new Float32Array(sizeOf(outShape));
        const expected = new Float32Array(sizeOf(outShape));
        kernels().reduce(op, x, shape, axes, actual);
        reference.reduce(op, x, shape, axes, expected);
        // Both sum in float64; only the order differs, which can flip the final rounding.
        const tolerance = op === 'sum' ? relative(FLOAT32_EPSILON, 1e-12) : () => 0;
        assertMatches(actual, expected, `${op} of ${JSON.stringify(shape)} over ${axes}`, tolerance);
      }
    }
    const withNaN = Float32Array.from([1, 2, NaN, 4, 5, 6, 7, 8, 9]);
    for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
      for (const axes of [[0], [1]]) {
        const actual = new Float32Array(3);
        const expected = new Float32Array(3);
        kernels().reduce(op, withNaN, [3, 3], axes, actual);
        reference.reduce(op, withNaN, [3, 3], axes, expected);
        assertMatches(actual, expected, `${op} with NaN over ${axes}`);
      }
    }
  });

  test('argmax and oneHot match the reference', () => {
    const random = mulberry32(11);
    const x = uniform(random, 3 * 10 * 4);
    const actual = new Int32Array(12);
    const expected = new Int32Array(12);
    kernels().argmax(x, 3, 10, 4, actual);
    reference.argmax(x, 3, 10, 4, expected);
    assertMatches(actual, expected, 'argmax');
    const labels = Int32Array.from([3, 0, 9, 9]);
    const hot = new Float32Array(40).fill(7);
    const expectedHot = new Float32Array(40);
    kernels().oneHot(labels, 10, hot);
    reference.oneHot(labels, 10, expectedHot);
    assertMatches(hot, expectedHot, 'oneHot');
  });

  test('SGD and Adam updates match the reference over several steps, in every variant', () => {
    const random = mulberry32(13);
    // Terms of magnitude up to ~2 round at ~2e-7 in float32, whatever the size of their sum.
    const close = relative(1e-5, 1e-6);
    for (const length of [1, 7, 1003, 70_001]) {
      const sgdVariants = [
        { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
        { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.1 },
        { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0.01 },
        { momentum: 0.9, dampening: 0.9, nesterov: false, weightDecay: 0 },
        { momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.001 },
      ];
      for (const variant of sgdVariants) {
        const label = `sgd ${JSON.stringify(variant)} n=${length}`;
        const [param, expectedParam] = [uniform(random, length)].flatMap((p) => [p, p.slice()]);
        const buffer = variant.momentum ? new Float32Array(length) : null;
        const expectedBuffer = buffer?.slice() ?? null;
        for (let step = 0; step < 4; step++) {
          const grad = uniform(random, length);
          const update = { lr: 0.05, ...variant, firstStep: step === 0 };
          kernels().sgd(param, grad, buffer, update);
          reference.sgd(expectedParam, grad, expectedBuffer, update);
        }
        assertMatches(param, expectedParam, label, close);
        if (buffer) assertMatches(buffer, expectedBuffer!, `${label} buffer`, close);
      }
      for (const [decoupledWeightDecay, weightDecay] of [
        [false, 0],
        [false, 0.01],
        [true, 0.01],
      ] as const) {
        const label = `adam decoupled=${decoupledWeightDecay} wd=${weightDecay} n=${length}`;
        const param = uniform(random, length);
        const [m, v] = [new Float32Array(length), new Float32Array(length)];
        const expected = [param.slice(), m.slice(), v.slice()];
        for (let step = 1; step <= 5; step++) {
          const grad = uniform(random, length, -step, step);
          const update = {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weightDecay,
            decoupledWeightDecay,
            step,
          };
          kernels().adam(param, grad, m, v, update);
          reference.adam(expected[0], grad, expected[1], expected[2], update);
        }
        assertMatches(param, expected[0], `${label} param`, close);
        assertMatches(m, expected[1], `${label} exp_avg`, close);
        assertMatches(v, expected[2], `${label} exp_avg_sq`, close);
      }
    }
  });
}
