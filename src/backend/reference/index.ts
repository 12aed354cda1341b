// The reference backend: plain loops written for clarity, the oracle every other backend is
// tested against. Float32 results round once per element on store, like a float32 machine.

import type {
  AdamStep,
  BatchNormBackwardArgs,
  BatchNormForwardArgs,
  BinaryOp,
  DataArray,
  FloatArray,
  Kernels,
  MatmulSpec,
  ReduceOp,
  SGDStep,
  SoftmaxCrossEntropyArgs,
  SoftmaxCrossEntropyBackwardArgs,
  UnaryOp,
  View,
  Window2dSpec,
} from '../kernels.js';
import {
  batchNormBackward,
  batchNormForward,
  rmsNormalizeRows,
  rowSumSquares,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
} from './fused-kernels.js';
import { adamUpdate, sgdUpdate } from './optimizer-updates.js';
import { col2im, im2col, maxPool2d } from './window-kernels.js';

const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => Math.max(x, 0),
  // log(1 + e^x) without overflow for large x or loss of precision for very negative x.
  softplus: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  step: (x) => (x > 0 ? 1 : 0),
};

const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
};

/**
 * Visits every index of `shape` in row-major order, calling visit(linear, offsets) where
 * offsets[v] is the element offset of view v. Works for any rank without recursion.
 */
function forEachIndex(
  shape: readonly number[],
  views: readonly { offset: number; strides: readonly number[] }[],
  visit: (linear: number, offsets: Int32Array | number[]) => void,
): void {
  const rank = shape.length;
  const size = shape.reduce((p, d) => p * d, 1);
  if (size === 0) return;
  const offsets = views.map((v) => v.offset);
  const index = new Array<number>(rank).fill(0);
  for (let linear = 0; linear < size; linear++) {
    visit(linear, offsets);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      for (let v = 0; v < views.length; v++) offsets[v] += views[v].strides[d];
      if (index[d] < shape[d]) break;
      for (let v = 0; v < views.length; v++) offsets[v] -= views[v].strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export class ReferenceKernels implements Kernels {
  readonly name = 'reference';

  unary(op: UnaryOp, x: DataArray, out: DataArray): void {
    const f = unaryFns[op];
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  }

  binary(op: BinaryOp, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    const f = binaryFns[op];
    const ad = a.data;
    const bd = b.data;
    forEachIndex(shape, [a, b], (i, o) => {
      out[i] = f(ad[o[0]], bd[o[1]]);
    });
  }

  select(cond: View, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    forEachIndex(shape, [cond, a, b], (i, o) => {
      out[i] = cond.data[o[0]] !== 0 ? a.data[o[1]] : b.data[o[2]];
    });
  }

  copy(src: View, out: DataArray, shape: readonly number[]): void {
    const sd = src.data;
    forEachIndex(shape, [src], (i, o) => {
      out[i] = sd[o[0]];
    });
  }

  reduce(
    op: ReduceOp,
    x: DataArray,
    shape: readonly number[],
    axes: readonly number[],
    out: DataArray,
  ): void {
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const outStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
    const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    // Accumulate in float64 (a plain JS array) and round once at the end.
    const acc = new Array<number>(out.length).fill(init);
    forEachIndex(shape, [{ offset: 0, strides: outStrides }], (i, o) => {
      const v = x[i];
      const j = o[0];
      if (op === 'sum') acc[j] += v;
      else if (Number.isNaN(v) || (op === 'max' ? v > acc[j] : v < acc[j])) acc[j] = v;
    });
    for (let j = 0; j < out.length; j++) out[j] = acc[j];
  }

  argmax(x: DataArray, outer: number, n: number, inner: number, out: Int32Array): void {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0;
        let bestValue = x[o * n * inner + i];
        for (let j = 1; j < n; j++) {
          const v = x[(o * n + j) * inner + i];
          if (v > bestValue) {
            bestValue = v;
            best = j;
          }
        }
        out[o * inner + i] = best;
      }
    }
  }

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, spec: MatmulSpec): void {
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
    // Row-accumulating (i, q, j) order when B's rows are contiguous, dot products otherwise:
    // both keep the innermost loop on unit stride.
    const row = new Float64Array(n);
    for (let p = 0; p < batch; p++) {
      const ao = p * aBatchStride;
      const bo = p * bBatchStride;
      const co = p * m * n;
      for (let i = 0; i < m; i++) {
        if (!transB) {
          row.fill(0);
          for (let q = 0; q < k; q++) {
            const av = transA ? a[ao + q * m + i] : a[ao + i * k + q];
            const bq = bo + q * n;
            for (let j = 0; j < n; j++) row[j] += av * b[bq + j];
          }
          for (let j = 0; j < n; j++) out[co + i * n + j] = row[j];
        } else {
          for (let j = 0; j < n; j++) {
            const bj = bo + j * k;
            let s = 0;
            if (transA) for (let q = 0; q < k; q++) s += a[ao + q * m + i] * b[bj + q];
            else for (let q = 0; q < k; q++) s += a[ao + i * k + q] * b[bj + q];
            out[co + i * n + j] = s;
          }
        }
      }
    }
  }

  oneHot(labels: Int32Array, depth: number, out: DataArray): void {
    out.fill(0);
    for (let r = 0; r < labels.length; r++) out[r * depth + labels[r]] = 1;
  }

  im2col(x: FloatArray, cols: FloatArray, spec: Window2dSpec): void {
    im2col(x, cols, spec);
  }

  col2im(cols: FloatArray, x: FloatArray, spec: Window2dSpec): void {
    col2im(cols, x, spec);
  }

  maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, spec: Window2dSpec): void {
    maxPool2d(x, out, indices, spec);
  }

  gather(x: FloatArray, indices: Int32Array, out: FloatArray): void {
    for (let i = 0; i < indices.length; i++) out[i] = x[indices[i]];
  }

  scatterAdd(values: FloatArray, indices: Int32Array, out: FloatArray): void {
    const sums = new Float64Array(out.length);
    for (let i = 0; i < indices.length; i++) sums[indices[i]] += values[i];
    out.set(sums);
  }

  sgd(param: FloatArray, grad: FloatArray, buffer: FloatArray | null, step: SGDStep): void {
    sgdUpdate(param, grad, buffer, step);
  }

  adam(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, step: AdamStep): void {
    adamUpdate(param, grad, expAvg, expAvgSq, step);
  }

  softmaxCrossEntropy(args: SoftmaxCrossEntropyArgs): void {
    softmaxCrossEntropy(args);
  }

  softmaxCrossEntropyBackward(args: SoftmaxCrossEntropyBackwardArgs): void {
    softmaxCrossEntropyBackward(args);
  }

  rowSumSquares(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
    rowSumSquares(x, out, rows, cols);
  }

  rmsNormalizeRows(x: FloatArray, out: FloatArray, rows: number, cols: number, eps: number): void {
    rmsNormalizeRows(x, out, rows, cols, eps);
  }

  batchNormForward(args: BatchNormForwardArgs): void {
    batchNormForward(args);
  }

  batchNormBackward(args: BatchNormBackwardArgs): void {
    batchNormBackward(args);
  }
}
