// The sliding-window and index kernels against the reference backend, for the conformance
// suite (kernelConformanceTests runs them on every backend and configuration): odd image
// sizes, every combination of stride, padding and dilation, ties, NaN and infinities, batches
// large enough to be split across threads; then the spatial ops built on them (grouped
// convolutions included), forward and backward, through the backend and through the reference.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, Window2dSpec } from '../../src/backend/kernels.js';
import { ReferenceKernels } from '../../src/backend/reference/index.js';
import {
  avgPool2d,
  type ConvOptions,
  conv2d,
  locallyConnected2d,
  maxPool2d,
  Rng,
  randn,
  type Tensor,
  vjp,
  withBackend,
} from '../../src/index.js';

const reference = new ReferenceKernels();

const extent = (size: number, k: number, s: number, p: number, d: number) =>
  Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

function spec(
  [batch, channels, height, width]: readonly number[],
  [kernelH, kernelW]: readonly number[],
  [strideH, strideW]: readonly number[],
  [padH, padW]: readonly number[],
  [dilationH, dilationW]: readonly number[],
): Window2dSpec | null {
  const outH = extent(height, kernelH, strideH, padH, dilationH);
  const outW = extent(width, kernelW, strideW, padW, dilationW);
  if (outH < 1 || outW < 1) return null;
  return {
    ...{ batch, channels, height, width, kernelH, kernelW, strideH, strideW },
    ...{ padH, padW, dilationH, dilationW, outH, outW },
  };
}

/** Window specs over odd sizes: every kernel, stride, padding and dilation pattern in a small range. */
export function windowSpecs(): Window2dSpec[] {
  const out: Window2dSpec[] = [];
  for (const image of [
    [1, 1, 5, 5],
    [3, 2, 7, 9],
    [2, 5, 11, 6],
  ])
    for (const kernel of [
      [1, 1],
      [3, 3],
      [2, 5],
    ])
      for (const stride of [
        [1, 1],
        [2, 3],
      ])
        for (const padding of [
          [0, 0],
          [1, 2],
        ])
          for (const dilation of [
            [1, 1],
            [2, 1],
          ]) {
            const s = spec(image, kernel, stride, padding, dilation);
            if (s) out.push(s);
          }
  return out;
}

/** Batches of 7·5 and 9·3 planes: enough work to be split over threads, unevenly. */
const threadedSpecs = (): Window2dSpec[] => [
  spec([7, 5, 29, 27], [5, 5], [1, 1], [2, 1], [1, 1])!,
  spec([9, 3, 31, 30], [2, 2], [2, 2], [1, 0], [1, 2])!,
];

const imageSize = (s: Window2dSpec) => s.batch * s.channels * s.height * s.width;
const colsSize = (s: Window2dSpec) => s.batch * s.channels * s.kernelH * s.kernelW * s.outH * s.outW;
const pooledSize = (s: Window2dSpec) => s.batch * s.channels * s.outH * s.outW;
const label = (s: Window2dSpec) => JSON.stringify(s);

function normal(rng: Rng, length: number): Float32Array {
  return Float32Array.from({ length }, () => rng.normal());
}

function assertNear(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= atol * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** The 2-D convolutions and pooling windows the op-level comparison runs. */
const convCases: [number[], number[], ConvOptions][] = [
  [[3, 4, 9, 7], [6, 2, 3, 2], { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }],
  [[5, 6, 13, 11], [9, 2, 4, 3], { padding: [2, 0], groups: 3 }],
  [[33, 3, 17, 15], [8, 3, 5, 5], { padding: 2 }],
];

/** The spatial ops' outputs and every gradient, for a cotangent fixed by the seed. */
function spatialResults(seed: number): Tensor[] {
  const rng = new Rng(seed);
  const results: Tensor[] = [];
  const pull = (f: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) => {
    const shape = f(...inputs).shape;
    const { out, grads } = vjp(f, inputs, randn(shape, { rng }));
    results.push(out, ...grads);
  };
  for (const [xs, ws, options] of convCases) {
    const bias = randn([ws[0]], { rng });
    pull((x, w, b) => conv2d(x, w, b, options), [randn(xs, { rng }), randn(ws, { rng }), bias]);
  }
  pull((x) => maxPool2d(x, 3, { stride: 2, padding: 1 }), [randn([9, 5, 13, 12], { rng })]);
  pull((x) => avgPool2d(x, [2, 3], { stride: [2, 1] }), [randn([4, 3, 9, 11], { rng })]);
  pull(
    (x, w) => locallyConnected2d(x, w, { stride: 2, padding: 1 }),
    [randn([6, 3, 7, 8], { rng }), randn([4, 4, 5, 3, 3, 3], { rng })],
  );
  return results;
}

/** Each window and index kernel of `kernels()` against the reference; `seed` varies the cases. */
export function windowConformanceTests(kernels: () => Kernels, seed: number): void {
  test('im2col copies exactly what the reference copies', () => {
    const rng = new Rng(1 + seed);
    for (const s of [...windowSpecs(), ...threadedSpecs()]) {
      const x = normal(rng, imageSize(s));
      const [actual, expected] = [new Float32Array(colsSize(s)).fill(7), new Float32Array(colsSize(s))];
      kernels().im2col(x, actual, s);
      reference.im2col(x, expected, s);
      assert.deepEqual(actual, expected, label(s));
    }
  });

  test('col2im sums like the reference, to float32 rounding', () => {
    const rng = new Rng(2 + seed);
    for (const s of [...windowSpecs(), ...threadedSpecs()]) {
      const cols = normal(rng, colsSize(s));
      const [actual, expected] = [new Float32Array(imageSize(s)).fill(7), new Float32Array(imageSize(s))];
      kernels().col2im(cols, actual, s);
      reference.col2im(cols, expected, s);
      // At most kernelH·kernelW terms of size ~1 each add up per pixel.
      assertNear(actual, expected, 1e-6 * s.kernelH * s.kernelW, label(s));
    }
  });

  test('maxPool2d finds the reference maxima and argmax, ties, NaN and infinities included', () => {
    const rng = new Rng(3 + seed);
    for (const s of [...windowSpecs(), ...threadedSpecs()]) {
      // Rounded values make ties common; a few NaN and infinities join them.
      const x = Float32Array.from({ length: imageSize(s) }, () => Math.round(rng.normal() * 2));
      for (const special of [Number.NaN, Number.NaN, -Infinity, Infinity]) x[rng.int(x.length)] = special;
      const out = [new Float32Array(pooledSize(s)), new Float32Array(pooledSize(s))];
      const indices = [new Int32Array(pooledSize(s)), new Int32Array(pooledSize(s))];
      kernels().maxPool2d(x, out[0], indices[0], s);
      reference.maxPool2d(x, out[1], indices[1], s);
      assert.deepEqual(out[0], out[1], `${label(s)}: maxima`);
      assert.deepEqual(indices[0], indices[1], `${label(s)}: argmax`);
    }
  });

  test('window kernels in float64 give the reference results exactly', () => {
    const rng = new Rng(4 + seed);
    for (const s of [windowSpecs()[17], threadedSpecs()[1]]) {
      const x = Float64Array.from(normal(rng, imageSize(s)));
      const cols = [new Float64Array(colsSize(s)), new Float64Array(colsSize(s))];
      kernels().im2col(x, cols[0], s);
      reference.im2col(x, cols[1], s);
      assert.deepEqual(cols[0], cols[1]);
      const images = [new Float64Array(imageSize(s)), new Float64Array(imageSize(s))];
      kernels().col2im(cols[0], images[0], s);
      reference.col2im(cols[0], images[1], s);
      assert.deepEqual(images[0], images[1]);
      const pooled = [new Float64Array(pooledSize(s)), new Float64Array(pooledSize(s))];
      const indices = [new Int32Array(pooledSize(s)), new Int32Array(pooledSize(s))];
      kernels().maxPool2d(x, pooled[0], indices[0], s);
      reference.maxPool2d(x, pooled[1], indices[1], s);
      assert.deepEqual(pooled[0], pooled[1]);
      assert.deepEqual(indices[0], indices[1]);
    }
  });

  test('gather and scatterAdd match the reference, repeated indices and long runs included', () => {
    const rng = new Rng(5 + seed);
    for (const Float of [Float32Array, Float64Array]) {
      for (const [size, count] of [
        [37, 53],
        [50_000, 120_001],
      ]) {
        const x = Float.from(normal(rng, size));
        const indices = Int32Array.from({ length: count }, () => rng.int(size));
        const gathered = [new Float(count), new Float(count)];
        kernels().gather(x, indices, gathered[0]);
        reference.gather(x, indices, gathered[1]);
        assert.deepEqual(gathered[0], gathered[1]);
        const scattered = [new Float(size).fill(7), new Float(size)];
        kernels().scatterAdd(gathered[0], indices, scattered[0]);
        reference.scatterAdd(gathered[0], indices, scattered[1]);
        // A few float32 additions per element, in one order or another.
        assertNear(scattered[0], scattered[1], 1e-5, `scatterAdd ${Float.name} of ${count}`);
      }
    }
  });

  test('conv2d (grouped, strided, padded, dilated), pooling and locally connected maps, forward and backward, match the reference backend', () => {
    const actual = withBackend(kernels(), () => spatialResults(7 + seed));
    const expected = withBackend(reference, () => spatialResults(7 + seed));
    assert.equal(actual.length, expected.length);
    actual.forEach((t, i) => {
      assert.deepEqual(t.shape, expected[i].shape, `result ${i}: shape`);
      // Sums of up to a few thousand float32 products of size ~1.
      assertNear(t.data, expected[i].data, 2e-4, `result ${i} of shape [${t.shape}]`);
    });
  });
}
