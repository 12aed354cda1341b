// Matrix multiplication with batch dimensions. The primitive carries transpose flags so the
// reverse rule's products (G·Bᵀ, Aᵀ·G) reach the kernels as layouts, never as copies.

import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../backend/kernels.js';
import { formatShape, ShapeError } from '../errors.js';
import { attachMethods } from '../tensor/methods.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, sizeOf, Tensor } from '../tensor/tensor.js';
import { broadcastShapes, checkFloat, promote, sameShape } from './broadcast.js';
import { apply } from './dispatch.js';
import { sumTo } from './elementwise.js';
import { broadcastToOp } from './shape.js';

export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

/** The [rows, cols] a stored matrix contributes after its optional transpose. */
const used = (t: Tensor, trans: boolean): [number, number] => {
  const [r, c] = t.shape.slice(-2);
  return trans ? [c, r] : [r, c];
};

function matmulForward(a: Tensor, b: Tensor, { transA, transB }: MatmulAttrs): Tensor {
  checkFloat('matmul', a, b);
  if (a.ndim < 2 || b.ndim < 2)
    throw new ShapeError('matmul: the primitive takes matrices; use matmul() for vectors');
  const [m, k] = used(a, transA);
  const [k2, n] = used(b, transB);
  if (k !== k2) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not chain ` +
        `(inner sizes ${k} and ${k2}${transA || transB ? ', after transposes' : ''}); ` +
        'the last axis of the first must equal the second-to-last of the second',
    );
  }
  const batchShape = broadcastShapes(
    `matmul of ${formatShape(a.shape)} and ${formatShape(b.shape)}: batch dimensions`,
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batch = sizeOf(batchShape);
  // A matrix shared by every batch entry is read with stride 0; a partially broadcast batch is expanded.
  const operand = (t: Tensor) => {
    const own = t.shape.slice(0, -2);
    if (sizeOf(own) === 1) return { data: t.data, stride: 0 };
    // The op's forward, not broadcastTo(): a kernel-level copy must not be recorded as a node.
    const full = sameShape(own, batchShape)
      ? t
      : broadcastToOp.forward([t], { shape: [...batchShape, ...t.shape.slice(-2)] });
    return { data: full.data, stride: t.shape.at(-1)! * t.shape.at(-2)! };
  };
  const A = operand(a);
  const B = operand(b);
  const out = allocateUninitialized(a.dtype, batch * m * n) as FloatArray;
  getBackend().matmul(A.data as FloatArray, B.data as FloatArray, out, {
    batch,
    m,
    n,
    k,
    transA,
    transB,
    aBatchStride: A.stride,
    bBatchStride: B.stride,
  });
  return new Tensor(out, [...batchShape, m, n]);
}

export const matmulOp: Op<MatmulAttrs> = {
  name: 'matmul',
  forward: ([a, b], attrs) => matmulForward(a, b, attrs),
  // C = op(A)·op(B):  dop(A) = G·op(B)ᵀ  and  dop(B) = op(A)ᵀ·G, then undo each op's transpose.
  vjp: (g, { inputs: [a, b], attrs: { transA, transB } }) => [
    () => sumTo(transA ? mm(b, g, transB, true) : mm(g, b, false, !transB), a.shape),
    () => sumTo(transB ? mm(g, a, true, transA) : mm(a, g, !transA, false), b.shape),
  ],
  // The product rule: d(AB) = dA·B + A·dB.
  jvp: ({ inputs: [a, b], attrs: { transA, transB } }) => [
    (ta) => mm(ta, b, transA, transB),
    (tb) => mm(a, tb, transA, transB),
  ],
  symbolic: ([a, b]) => [b, a],
};

/** op(a)·op(b) with explicit transpose flags (the layouts the kernels take directly). */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  return apply(matmulOp, a.dtype === b.dtype ? [a, b] : promote('matmul', [a, b]), { transA, transB });
}

/** Matrix product with NumPy semantics: vectors are promoted and batch dimensions broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul: scalars have no matrix product; use mul');
  const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
  let out = mm(a2, b2);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    matmul(other: Tensor): Tensor;
  }
}

attachMethods({ matmul });
