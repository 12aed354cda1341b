// linear(x, W, b) = x·Wᵀ + b, the affine map of a Linear layer, as one op: the bias is added
// into the product's own output (no second [batch, out] array, no second node), and its
// cotangent is G's column sum. W is stored [out, in] like torch's and used transposed through
// the matmul flag.

import { getBackend } from '../backend/index.js';
import { formatShape, ShapeError } from '../errors.js';
import type { Op } from '../tensor/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkFloat, promote } from './broadcast.js';
import { apply } from './dispatch.js';
import { matmulOp, mm } from './linalg.js';
import { sum } from './reduce.js';

export const linearOp: Op = {
  name: 'linear',
  forward([x, weight, bias]) {
    checkFloat('linear', x, weight, bias);
    const out = matmulOp.forward([x, weight], { transA: false, transB: true });
    const [rows, cols] = out.shape;
    const rowsOf = { data: out.data, offset: 0, strides: [cols, 1] };
    getBackend().binary('add', rowsOf, { data: bias.data, offset: 0, strides: [0, 1] }, out.data, [
      rows,
      cols,
    ]);
    return out;
  },
  vjp: (g, { inputs: [x, weight] }) => [() => mm(g, weight), () => mm(g, x, true, false), () => sum(g, 0)],
  // The bias's tangent [out] is broadcast over the batch by the tangent sum.
  jvp: ({ inputs: [x, weight] }) => [
    (tx) => mm(tx, weight, false, true),
    (tw) => mm(x, tw, false, true),
    (tb) => tb,
  ],
};

/** x [batch, in] · weightᵀ (weight [out, in]) + bias [out], in the operands' promoted dtype. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const [out, features] = weight.shape;
  if (
    x.ndim !== 2 ||
    weight.ndim !== 2 ||
    x.shape[1] !== features ||
    bias.ndim !== 1 ||
    bias.shape[0] !== out
  ) {
    throw new ShapeError(
      `linear: input ${formatShape(x.shape)}, weight ${formatShape(weight.shape)} and bias ${formatShape(bias.shape)} ` +
        'must be [batch, in], [out, in] and [out]',
    );
  }
  const operands = [x, weight, bias];
  const sameDType = operands.every((t) => t.dtype === x.dtype);
  return apply(linearOp, sameDType ? operands : promote('linear', operands), undefined);
}
