// Per-row ops of Forward-Forward, each one pass over x [rows, cols] instead of a chain of
// primitives (each of which writes a [rows, cols] array):
//   sumSquares(x)      = Σ_c x², a layer's goodness;            d = 2·Σ_c x·dx
//   rmsNormalize(x, ε) = x·r, r = 1/(q + ε), q = sqrt(Σ_c x²/n); d = r·dx - x·k·Σ_c x·dx,
// with n the columns and k = r²/(n·q) (0 on an all-zero row, whose output is 0 whatever q does).
// The derivatives are written with ops, so they differentiate again.

import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import { formatShape, ShapeError } from '../errors.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, Tensor } from '../tensor/tensor.js';
import { checkFloat } from './broadcast.js';
import { apply } from './dispatch.js';
import { where } from './elementwise.js';
import { sum } from './reduce.js';

const rowsOf = (x: Tensor) => ({ rows: x.shape[0], cols: x.shape[1] });

export const sumSquaresOp: Op = {
  name: 'sumSquares',
  forward([x]) {
    checkFloat('sumSquares', x);
    const { rows, cols } = rowsOf(x);
    const out = allocateUninitialized(x.dtype, rows) as FloatArray;
    getBackend().rowSumSquares(x.data as FloatArray, out, rows, cols);
    return new Tensor(out, [rows]);
  },
  vjp: (g, { inputs: [x] }) => [() => x.mul(g.reshape([x.shape[0], 1]).mul(2))],
  jvp: ({ inputs: [x] }) => [(tx) => sum(x.mul(tx), 1).mul(2)],
};

/** r and k of the header, [rows, 1] each, from x by ops. */
function rmsFactors(x: Tensor, eps: number): { r: Tensor; k: Tensor } {
  const cols = x.shape[1];
  const q = sum(x.square(), 1, true).div(cols).sqrt();
  const r = q.add(eps).reciprocal();
  return { r, k: where(q, r.square().div(q.mul(cols)), 0) };
}

export const rmsNormalizeOp: Op<{ eps: number }> = {
  name: 'rmsNormalize',
  forward([x], { eps }) {
    checkFloat('rmsNormalize', x);
    const { rows, cols } = rowsOf(x);
    const out = allocateUninitialized(x.dtype, x.size) as FloatArray;
    getBackend().rmsNormalizeRows(x.data as FloatArray, out, rows, cols, eps);
    return new Tensor(out, x.shape);
  },
  vjp: (g, { inputs: [x], attrs: { eps } }) => [
    () => {
      const { r, k } = rmsFactors(x, eps);
      return g.mul(r).sub(x.mul(k.mul(sum(x.mul(g), 1, true))));
    },
  ],
  jvp: ({ inputs: [x], attrs: { eps } }) => {
    const { r, k } = rmsFactors(x, eps);
    return [(tx) => tx.mul(r).sub(x.mul(k.mul(sum(x.mul(tx), 1, true))))];
  },
};

function checkRows(name: string, x: Tensor): void {
  if (x.ndim !== 2) throw new ShapeError(`${name}: x must be [rows, cols], got ${formatShape(x.shape)}`);
}

/** Each row's sum of squares: [rows, cols] -> [rows]. */
export function sumSquares(x: Tensor): Tensor {
  checkRows('sumSquares', x);
  return apply(sumSquaresOp, [x], undefined);
}

/** Each row of x [rows, cols] divided by its root mean square plus eps. */
export function rmsNormalize(x: Tensor, eps: number): Tensor {
  checkRows('rmsNormalize', x);
  return apply(rmsNormalizeOp, [x], { eps });
}
