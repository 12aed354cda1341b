// The fused ops' kernels (batch norm) against the reference backend: part of the conformance
// suite that kernel-conformance.ts runs for every backend, ISA and thread count.

import { test } from 'node:test';
import type { BatchNormSpec, FloatArray, Kernels } from '../../src/backend/kernels.js';
import { ReferenceKernels } from '../../src/backend/reference/index.js';
import { assertMatches, mulberry32, uniform } from './kernel-conformance.js';

const reference = new ReferenceKernels();

/** Within `rtol` of the array's largest magnitude: sums over rows round at that scale. */
const scaled = (expected: ArrayLike<number>, rtol: number) => {
  let largest = 0;
  for (let i = 0; i < expected.length; i++) largest = Math.max(largest, Math.abs(expected[i]));
  return () => rtol * largest;
};

// [rows, features, offset]: one feature, odd sizes, more features than a chunk of 256 and
// than one thread's share, a seed-network layer, and means that dwarf the spread.
const CASES: [number, number, number][] = [
  [2, 1, 0],
  [3, 5, 0],
  [37, 301, 0],
  [128, 1024, 0],
  [5, 700, 1000],
  [64, 130, -300],
];

export function fusedKernelConformanceTests(kernels: () => Kernels, seed: number): void {
  test('batchNormForward and batchNormBackward match the reference, affine or not, float32 and float64', () => {
    const random = mulberry32(40 + seed);
    for (const [rows, features, offset] of CASES) {
      for (const affine of [true, false]) {
        for (const float64 of [false, true]) {
          const array = (values: Float32Array): FloatArray => (float64 ? Float64Array.from(values) : values);
          const make = (length: number): FloatArray =>
            float64 ? new Float64Array(length) : new Float32Array(length);
          const spec: BatchNormSpec = { rows, features, eps: 1e-5 };
          const label = `rows=${rows} features=${features} offset=${offset} affine=${affine} float64=${float64}`;
          const x = array(uniform(random, rows * features, offset - 2, offset + 2));
          const weight = affine ? array(uniform(random, features, 0.5, 2)) : null;
          const bias = affine ? array(uniform(random, features)) : null;
          const outputs = () => [make(rows * features), make(features), make(features)] as const;
          const [out, mean, variance] = outputs();
          const expected = outputs();
          kernels().batchNormForward({ x, weight, bias, out, mean, variance, ...spec });
          reference.batchNormForward({
            x,
            weight,
            bias,
            out: expected[0],
            mean: expected[1],
            variance: expected[2],
            ...spec,
          });
          const rtol = float64 ? 1e-12 : 2e-6;
          assertMatches(out, expected[0], `${label} out`, scaled(expected[0], rtol * 4));
          assertMatches(mean, expected[1], `${label} mean`, scaled(expected[1], rtol));
          assertMatches(variance, expected[2], `${label} variance`, scaled(expected[2], rtol * 4));

          const g = array(uniform(random, rows * features));
          const [gx, gWeight, gBias] = outputs();
          const expectedGrads = outputs();
          const stats = [expected[1], expected[2]] as const;
          const inputs = { g, x, weight, mean: stats[0], variance: stats[1], ...spec };
          kernels().batchNormBackward({ ...inputs, gx, gWeight, gBias });
          reference.batchNormBackward({
            ...inputs,
            gx: expectedGrads[0],
            gWeight: expectedGrads[1],
            gBias: expectedGrads[2],
          });
          // gx is a difference of terms of size |weight·s·g|, which can cancel to nearly 0.
          let termScale = 0;
          for (let f = 0; f < features; f++)
            termScale = Math.max(
              termScale,
              (weight ? Math.abs(weight[f]) : 1) / Math.sqrt(stats[1][f] + spec.eps),
            );
          const gScale = scaled(g, 1)();
          assertMatches(gx, expectedGrads[0], `${label} gx`, () => rtol * 8 * termScale * gScale);
          assertMatches(gWeight, expectedGrads[1], `${label} gWeight`, scaled(expectedGrads[1], rtol * 4));
          assertMatches(gBias, expectedGrads[2], `${label} gBias`, scaled(expectedGrads[2], rtol));
        }
      }
    }
  });
}

export function rowsKernelConformanceTests(kernels: () => Kernels, seed: number): void {
  test('rowSumSquares and rmsNormalizeRows match the reference, float32 and float64', () => {
    const random = mulberry32(50 + seed);
    // Rows shorter and longer than a fold of 64 columns; enough rows to split over threads.
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [5, 65],
      [200, 1000],
      [2, 0],
    ]) {
      for (const float64 of [false, true]) {
        const label = `rows=${rows} cols=${cols} float64=${float64}`;
        const values = uniform(random, rows * cols, -3, 3);
        const x = float64 ? Float64Array.from(values) : values;
        const make = (length: number): FloatArray =>
          float64 ? new Float64Array(length) : new Float32Array(length);
        const [sums, expectedSums] = [make(rows), make(rows)];
        kernels().rowSumSquares(x, sums, rows, cols);
        reference.rowSumSquares(x, expectedSums, rows, cols);
        const rtol = float64 ? 1e-12 : 2e-6;
        assertMatches(sums, expectedSums, `${label} sums`, (_i, e) => rtol * Math.abs(e));
        const [out, expected] = [make(rows * cols), make(rows * cols)];
        kernels().rmsNormalizeRows(x, out, rows, cols, 1e-8);
        reference.rmsNormalizeRows(x, expected, rows, cols, 1e-8);
        assertMatches(out, expected, `${label} normalised`, (_i, e) => rtol * 2 * Math.abs(e) + rtol);
      }
    }
  });
}

export function crossEntropyKernelConformanceTests(kernels: () => Kernels, seed: number): void {
  test('softmaxCrossEntropy and its backward match the reference, float32 and float64', () => {
    const random = mulberry32(60 + seed);
    for (const [rows, classes] of [
      [1, 1],
      [4, 3],
      [128, 10],
    ]) {
      for (const float64 of [false, true]) {
        const label = `rows=${rows} classes=${classes} float64=${float64}`;
        const values = uniform(random, rows * classes, -20, 20);
        const logits = float64 ? Float64Array.from(values) : values;
        const make = (length: number): FloatArray =>
          float64 ? new Float64Array(length) : new Float32Array(length);
        const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * classes));
        const [p, losses, expectedP, expectedLosses] = [
          make(rows * classes),
          make(rows),
          make(rows * classes),
          make(rows),
        ];
        kernels().softmaxCrossEntropy({ logits, labels, probabilities: p, losses, rows, classes });
        reference.softmaxCrossEntropy({
          logits,
          labels,
          probabilities: expectedP,
          losses: expectedLosses,
          rows,
          classes,
        });
        const rtol = float64 ? 1e-12 : 2e-6;
        assertMatches(p, expectedP, `${label} probabilities`, (_i, e) => rtol * Math.abs(e) + 1e-30);
        assertMatches(losses, expectedLosses, `${label} losses`, (_i, e) => rtol * Math.abs(e) + rtol);
        const [gx, expectedGx] = [make(rows * classes), make(rows * classes)];
        const backward = { probabilities: expectedP, labels, scale: 1 / rows, rows, classes };
        kernels().softmaxCrossEntropyBackward({ ...backward, gx });
        reference.softmaxCrossEntropyBackward({ ...backward, gx: expectedGx });
        assertMatches(gx, expectedGx, `${label} gradient`, (_i, e) => rtol * Math.abs(e));
      }
    }
  });
}
