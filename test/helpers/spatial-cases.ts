// Gradient-check cases for the spatial primitives (convolution, unfold/fold, pooling and the
// index ops pooling uses), merged into the op table's cases in engine-primitives.test.ts.

import {
  avgPool2d,
  type ConvOptions,
  conv2d,
  fold,
  locallyConnected2d,
  maxPool2d,
  put,
  Rng,
  rand,
  randn,
  type Shape,
  type Tensor,
  take,
  unfold,
} from '../../src/index.js';
import type { Fn } from './gradcheck.js';

interface Config {
  label: string;
  inputs: Tensor[];
  f: Fn;
}

const rng = new Rng(1013);
const normal = (shape: Shape) => randn(shape, { dtype: 'float64', rng });

/** Values at least 0.1 apart in random order, so every window's maximum is unique and stays put. */
function distinct(shape: Shape): Tensor {
  const t = rand(shape, { dtype: 'float64', rng, low: 0, high: 0.02 });
  const order = rng.permutation(t.size);
  for (let i = 0; i < t.size; i++) t.data[i] += 0.1 * order[i];
  return t;
}

const shapeText = (shape: Shape) => `[${shape.join(',')}]`;

const convConfigs: [Shape, Shape, ConvOptions][] = [
  [[2, 3, 6, 5], [4, 3, 3, 2], {}],
  [[2, 3, 7, 6], [2, 3, 3, 2], { stride: 2, padding: 1, dilation: [1, 2] }],
  [[2, 4, 5, 5], [6, 2, 3, 3], { padding: 1, groups: 2 }],
  [[1, 6, 4, 5], [3, 2, 2, 2], { stride: [1, 2], groups: 3 }],
];

const windowConfigs: [Shape, Parameters<typeof unfold>[1], Parameters<typeof unfold>[2]][] = [
  [[2, 3, 5, 6], 2, {}],
  [[2, 2, 5, 6], [2, 3], { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }],
];

const poolConfigs: [Shape, number, Parameters<typeof maxPool2d>[2]][] = [
  [[2, 3, 4, 6], 2, {}],
  [[2, 2, 5, 6], 3, { stride: 2, padding: 1 }],
  [[1, 2, 5, 5], 2, { stride: 1 }],
];

export const spatialCases = {
  unfold: {
    configs: windowConfigs.map(
      ([shape, kernel, options]): Config => ({
        label: `${shapeText(shape)} kernel ${JSON.stringify(kernel)} ${JSON.stringify(options)}`,
        inputs: [normal(shape)],
        f: (x) => unfold(x, kernel, options),
      }),
    ),
  },
  fold: {
    configs: [
      // 5x4 images, 2x2 windows at stride 1: 4·3 positions.
      {
        label: '[2,12,12] -> 5x4, kernel 2',
        inputs: [normal([2, 12, 12])],
        f: (c: Tensor) => fold(c, [5, 4], 2),
      },
      // 5x5, 3x3 windows at stride 2, padding 1: 3·3 positions.
      {
        label: '[1,18,9] -> 5x5, kernel 3, stride 2, padding 1',
        inputs: [normal([1, 18, 9])],
        f: (c: Tensor) => fold(c, 5, 3, { stride: 2, padding: 1 }),
      },
    ],
  },
  conv2d: {
    configs: convConfigs.map(
      ([xs, ws, options]): Config => ({
        label: `x ${shapeText(xs)} w ${shapeText(ws)} ${JSON.stringify(options)}`,
        inputs: [normal(xs), normal(ws)],
        f: (x, w) => conv2d(x, w, null, options),
      }),
    ),
  },
  locallyConnected2d: {
    configs: [
      {
        label: 'x [2,3,5,4] w [4,3,2,3,2,2]',
        inputs: [normal([2, 3, 5, 4]), normal([4, 3, 2, 3, 2, 2])],
        f: (x: Tensor, w: Tensor) => locallyConnected2d(x, w),
      },
      {
        label: 'x [2,2,5,5] w [3,3,3,2,3,3] stride 2 padding 1',
        inputs: [normal([2, 2, 5, 5]), normal([3, 3, 3, 2, 3, 3])],
        f: (x: Tensor, w: Tensor) => locallyConnected2d(x, w, { stride: 2, padding: 1 }),
      },
    ],
  },
  maxPool2d: {
    configs: [
      ...poolConfigs,
      [[1, 2, 6, 6], 2, { dilation: 2, padding: 1 }] as (typeof poolConfigs)[number],
    ].map(
      ([shape, kernel, options]): Config => ({
        label: `${shapeText(shape)} kernel ${kernel} ${JSON.stringify(options)}`,
        inputs: [distinct(shape)],
        f: (x) => maxPool2d(x, kernel, options),
      }),
    ),
  },
  avgPool2d: {
    configs: poolConfigs.map(
      ([shape, kernel, options]): Config => ({
        label: `${shapeText(shape)} kernel ${kernel} ${JSON.stringify(options)}`,
        inputs: [normal(shape)],
        f: (x) => avgPool2d(x, kernel, options),
      }),
    ),
  },
  take: {
    configs: [
      {
        label: '[3,4] at 5 indices, one repeated',
        inputs: [normal([3, 4])],
        f: (x: Tensor) => take(x, Int32Array.from([0, 5, 5, 11, 2])),
      },
    ],
  },
  put: {
    configs: [
      {
        label: '[5] into [3,4], one index repeated',
        inputs: [normal([5])],
        f: (v: Tensor) => put(v, Int32Array.from([0, 5, 5, 11, 2]), [3, 4]),
      },
    ],
  },
};
