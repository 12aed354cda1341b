// The sliding-window and index kernels of every backend against the reference backend: odd
// image sizes, every combination of stride, padding and dilation, ties, NaN and infinities.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, Window2dSpec } from '../src/backend/kernels.js';
import { ReferenceKernels } from '../src/backend/reference/index.js';
import { createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { Rng } from '../src/index.js';

const reference = new ReferenceKernels();
const backends: Kernels[] = [createWasmKernelsSync()];

const extent = (size: number, k: number, s: number, p: number, d: number) =>
  Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

/** Window specs over odd sizes: every kernel, stride, padding and dilation pattern in a small range. */
function specs(): Window2dSpec[] {
  const out: Window2dSpec[] = [];
  const images = [
    [1, 1, 5, 5],
    [3, 2, 7, 9],
    [2, 5, 11, 6],
  ];
  for (const [batch, channels, height, width] of images)
    for (const [kernelH, kernelW] of [
      [1, 1],
      [3, 3],
      [2, 5],
    ])
      for (const [strideH, strideW] of [
        [1, 1],
        [2, 3],
      ])
        for (const [padH, padW] of [
          [0, 0],
          [1, 2],
        ])
          for (const [dilationH, dilationW] of [
            [1, 1],
            [2, 1],
          ]) {
            const outH = extent(height, kernelH, strideH, padH, dilationH);
            const outW = extent(width, kernelW, strideW, padW, dilationW);
            if (outH < 1 || outW < 1) continue;
            out.push({
              ...{ batch, channels, height, width, kernelH, kernelW, strideH, strideW },
              ...{ padH, padW, dilationH, dilationW, outH, outW },
            });
          }
  return out;
}

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

for (const kernels of backends) {
  test(`${kernels.name}: im2col copies exactly what the reference copies`, () => {
    const rng = new Rng(1);
    for (const spec of specs()) {
      const x = normal(rng, imageSize(spec));
      const [actual, expected] = [new Float32Array(colsSize(spec)).fill(7), new Float32Array(colsSize(spec))];
      kernels.im2col(x, actual, spec);
      reference.im2col(x, expected, spec);
      assert.deepEqual(actual, expected, label(spec));
    }
  });

  test(`${kernels.name}: col2im sums like the reference, to float32 rounding`, () => {
    const rng = new Rng(2);
    for (const spec of specs()) {
      const cols = normal(rng, colsSize(spec));
      const [actual, expected] = [
        new Float32Array(imageSize(spec)).fill(7),
        new Float32Array(imageSize(spec)),
      ];
      kernels.col2im(cols, actual, spec);
      reference.col2im(cols, expected, spec);
      // At most kernelH·kernelW terms of size ~1 each add up per pixel.
      assertNear(actual, expected, 1e-6 * spec.kernelH * spec.kernelW, label(spec));
    }
  });

  test(`${kernels.name}: maxPool2d finds the reference's maxima and argmax`, () => {
    const rng = new Rng(3);
    for (const spec of specs()) {
      // Rounded values make ties common; a few NaN and infinities join them.
      const x = Float32Array.from({ length: imageSize(spec) }, () => Math.round(rng.normal() * 2));
      for (const special of [Number.NaN, -Infinity, Infinity]) x[rng.int(x.length)] = special;
      const out = [new Float32Array(pooledSize(spec)), new Float32Array(pooledSize(spec))];
      const indices = [new Int32Array(pooledSize(spec)), new Int32Array(pooledSize(spec))];
      kernels.maxPool2d(x, out[0], indices[0], spec);
      reference.maxPool2d(x, out[1], indices[1], spec);
      assert.deepEqual(out[0], out[1], `${label(spec)}: maxima`);
      assert.deepEqual(indices[0], indices[1], `${label(spec)}: argmax`);
    }
  });

  test(`${kernels.name}: window kernels in float64 give the reference's results exactly`, () => {
    const rng = new Rng(4);
    const spec = specs()[17];
    const x = Float64Array.from(normal(rng, imageSize(spec)));
    const cols = [new Float64Array(colsSize(spec)), new Float64Array(colsSize(spec))];
    kernels.im2col(x, cols[0], spec);
    reference.im2col(x, cols[1], spec);
    assert.deepEqual(cols[0], cols[1]);
    const images = [new Float64Array(imageSize(spec)), new Float64Array(imageSize(spec))];
    kernels.col2im(cols[0], images[0], spec);
    reference.col2im(cols[0], images[1], spec);
    assert.deepEqual(images[0], images[1]);
  });

  test(`${kernels.name}: gather and scatterAdd match the reference, repeated indices included`, () => {
    const rng = new Rng(5);
    for (const Float of [Float32Array, Float64Array]) {
      const x = Float.from(normal(rng, 37));
      const indices = Int32Array.from({ length: 53 }, () => rng.int(37));
      const gathered = [new Float(53), new Float(53)];
      kernels.gather(x, indices, gathered[0]);
      reference.gather(x, indices, gathered[1]);
      assert.deepEqual(gathered[0], gathered[1]);
      const scattered = [new Float(37).fill(7), new Float(37)];
      kernels.scatterAdd(gathered[0], indices, scattered[0]);
      reference.scatterAdd(gathered[0], indices, scattered[1]);
      assertNear(scattered[0], scattered[1], 1e-6, `scatterAdd ${Float.name}`);
    }
  });
}

test('the reference im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>', () => {
  const rng = new Rng(6);
  for (const spec of specs()) {
    const x = Float64Array.from(normal(rng, imageSize(spec)));
    const c = Float64Array.from(normal(rng, colsSize(spec)));
    const [cols, image] = [new Float64Array(c.length), new Float64Array(x.length)];
    reference.im2col(x, cols, spec);
    reference.col2im(c, image, spec);
    const left = cols.reduce((s, v, i) => s + v * c[i], 0);
    const right = image.reduce((s, v, i) => s + v * x[i], 0);
    assert.ok(
      Math.abs(left - right) <= 1e-9 * Math.max(1, Math.abs(left)),
      `${label(spec)}: ${left} vs ${right}`,
    );
  }
});
