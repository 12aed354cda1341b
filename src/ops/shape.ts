// Ops that move values without changing them. Each reverse rule is the inverse movement
// (a permutation's inverse, a broadcast's sum, a slice's zero padding); each forward rule is
// the same movement applied to the tangent, since these maps are linear.

import { getBackend } from '../backend/index.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { attachMethods } from '../tensor/methods.js';
import type { Op } from '../tensor/node.js';
import { allocate, allocateUninitialized, type DType, sizeOf, Tensor, zeros } from '../tensor/tensor.js';
import {
  broadcastShapes,
  broadcastView,
  contiguousStrides,
  normalizeAxes,
  promote,
  sameShape,
} from './broadcast.js';
import { apply } from './dispatch.js';
import { sumTo } from './elementwise.js';

export const reshapeOp: Op<{ shape: number[] }> = {
  name: 'reshape',
  // Data is contiguous, so a reshape shares the buffer: no copy.
  forward: ([x], { shape }) => new Tensor(x.data, shape),
  vjp: (g, { inputs: [x] }) => [() => g.reshape(x.shape)],
  jvp: ({ attrs }) => [(t) => t.reshape(attrs.shape)],
};

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = shape.indexOf(-1);
  const known = shape.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
  const resolved = [...shape];
  if (inferred >= 0) {
    if (shape.indexOf(-1, inferred + 1) >= 0) throw new ShapeError('reshape: only one dimension may be -1');
    resolved[inferred] = known === 0 ? 0 : x.size / known;
  }
  if (!resolved.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(resolved) !== x.size) {
    throw new ShapeError(
      `reshape: cannot view ${x.size} elements of shape ${formatShape(x.shape)} as ${formatShape(shape)}`,
    );
  }
  if (sameShape(resolved, x.shape)) return x;
  return apply(reshapeOp, [x], { shape: resolved });
}

/** Copies a strided view of x into a new contiguous tensor. */
function gatherView(x: Tensor, shape: readonly number[], strides: readonly number[], offset = 0): Tensor {
  const out = allocateUninitialized(x.dtype, sizeOf(shape));
  getBackend().copy({ data: x.data, offset, strides }, out, shape);
  return new Tensor(out, shape);
}

export const permuteOp: Op<{ dims: number[] }> = {
  name: 'permute',
  forward([x], { dims }) {
    const strides = contiguousStrides(x.shape);
    return gatherView(
      x,
      dims.map((d) => x.shape[d]),
      dims.map((d) => strides[d]),
    );
  },
  vjp: (g, { attrs: { dims } }) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => {
      inverse[d] = i;
    });
    return [() => g.permute(inverse)];
  },
  jvp: ({ attrs }) => [(t) => t.permute(attrs.dims)],
};

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const resolved = normalizeAxes('permute', dims, x.ndim);
  if (dims.length !== x.ndim || resolved.length !== x.ndim) {
    throw new ShapeError(`permute: dims [${dims.join(', ')}] must list each of the ${x.ndim} axes once`);
  }
  const order = dims.map((d) => (d < 0 ? d + x.ndim : d));
  if (order.every((d, i) => d === i)) return x;
  return apply(permuteOp, [x], { dims: order });
}

/** Swaps two axes (the last two by default: a matrix transpose). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const [a, b] = [dim0, dim1].map((d) => normalizeAxes('transpose', d, x.ndim)[0]);
  const dims = Array.from({ length: x.ndim }, (_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

export const broadcastToOp: Op<{ shape: number[] }> = {
  name: 'broadcastTo',
  forward: ([x], { shape }) => gatherView(x, shape, broadcastView(x, shape).strides),
  vjp: (g, { inputs: [x] }) => [() => sumTo(g, x.shape)],
  jvp: ({ attrs }) => [(t) => t.broadcastTo(attrs.shape)],
};

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new ShapeError(
      `broadcastTo: shape ${formatShape(x.shape)} cannot be broadcast to ${formatShape(shape)}`,
    );
  }
  if (sameShape(x.shape, shape)) return x;
  return apply(broadcastToOp, [x], { shape: [...shape] });
}

export interface SliceAttrs {
  axis: number;
  start: number;
  end: number;
}

export const sliceOp: Op<SliceAttrs> = {
  name: 'slice',
  forward([x], { axis, start, end }) {
    const strides = contiguousStrides(x.shape);
    const shape = x.shape.map((d, i) => (i === axis ? end - start : d));
    return gatherView(x, shape, strides, start * strides[axis]);
  },
  // The slice's cotangent, with zeros where the rest of the input was.
  vjp: (g, { inputs: [x], attrs: { axis, start, end } }) => [
    () => {
      const pad = (n: number) =>
        zeros(
          x.shape.map((d, i) => (i === axis ? n : d)),
          { dtype: g.dtype },
        );
      return concat([pad(start), g, pad(x.shape[axis] - end)], axis);
    },
  ],
  jvp: ({ attrs: { axis, start, end } }) => [(t) => t.slice(axis, start, end)],
};

/** Elements start..end-1 along one axis (negative indices count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const [a] = normalizeAxes('slice', axis, x.ndim);
  const n = x.shape[a];
  const resolve = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = resolve(start);
  const e = Math.max(s, resolve(end ?? n));
  if (s === 0 && e === n) return x;
  return apply(sliceOp, [x], { axis: a, start: s, end: e });
}

export const concatOp: Op<{ axis: number }> = {
  name: 'concat',
  forward(inputs, { axis }) {
    // Bring the axis to the front, where each input is one contiguous block, then restore it.
    const front = (t: Tensor) => [axis, ...t.shape.keys()].filter((d, i) => i === 0 || d !== axis);
    const blocks = inputs.map((t) => (axis === 0 ? t : permuteOp.forward([t], { dims: front(t) })));
    const total = inputs.reduce((n, t) => n + t.shape[axis], 0);
    const data = allocateUninitialized(
      inputs[0].dtype,
      total * sizeOf(inputs[0].shape.filter((_, i) => i !== axis)),
    );
    let offset = 0;
    for (const b of blocks) {
      data.set(b.data, offset);
      offset += b.size;
    }
    const stacked = new Tensor(data, [total, ...blocks[0].shape.slice(1)]);
    if (axis === 0) return stacked;
    const back = front(inputs[0]).map((_, i, order) => order.indexOf(i));
    return permuteOp.forward([stacked], { dims: back });
  },
  vjp: (g, { inputs, attrs: { axis } }) => {
    let start = 0;
    return inputs.map((t) => {
      const from = start;
      start += t.shape[axis];
      return () => g.slice(axis, from, from + t.shape[axis]);
    });
  },
  jvp: ({ inputs, out, attrs: { axis } }) =>
    // A tangent for one input is that input's block, zeros elsewhere.
    inputs.map(
      (_, i) => (t: Tensor) =>
        concat(
          inputs.map((x, j) => (j === i ? t : zeros(x.shape, { dtype: out.dtype }))),
          axis,
        ),
    ),
};

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ChainruleError('concat: needs at least one tensor');
  const [first] = tensors;
  const [a] = normalizeAxes('concat', axis, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(
        `concat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside axis ${a}`,
      );
    }
  }
  if (tensors.length === 1) return first;
  return apply(
    concatOp,
    tensors.every((t) => t.dtype === first.dtype) ? tensors : promote('concat', tensors),
    { axis: a },
  );
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.ndim + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  const axes =
    axis === undefined
      ? [...x.shape.keys()].filter((i) => x.shape[i] === 1)
      : normalizeAxes('squeeze', axis, x.ndim);
  return reshape(
    x,
    x.shape.filter((d, i) => !(axes.includes(i) && d === 1)),
  );
}

/** Joins tensors of one shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  return concat(
    tensors.map((t) => unsqueeze(t, axis)),
    axis,
  );
}

export const castOp: Op<{ dtype: DType }> = {
  name: 'cast',
  forward([x], { dtype }) {
    const out = allocateUninitialized(dtype, x.size);
    out.set(x.data);
    return new Tensor(out, x.shape);
  },
  vjp: (g, { inputs: [x] }) => [() => g.to(x.dtype)],
  jvp: ({ attrs }) => [(t) => t.to(attrs.dtype)],
};

export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply(castOp, [x], { dtype });
}

/** Labels as int32 class indices, each checked to be an integer in [0, depth). */
export function classIndices(labels: Tensor | Int32Array | readonly number[], depth: number): Int32Array {
  const values = labels instanceof Tensor ? labels.data : labels;
  // Checked before the conversion to int32, which would truncate 1.5 to 1 silently.
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v >= depth) {
      throw new ShapeError(
        `oneHot: label ${v} is not a class index in [0, ${depth - 1}]; ` +
          `labels must be integers below the number of classes (${depth})`,
      );
    }
  }
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/** Rows of `depth` zeros with a 1 at each label (labels: int32 tensor or array). */
export function oneHot(
  labels: Tensor | Int32Array | readonly number[],
  depth: number,
  dtype: DType = 'float32',
): Tensor {
  const ints = classIndices(labels, depth);
  const out = allocate(dtype, ints.length * depth);
  getBackend().oneHot(ints, depth, out);
  const batch = labels instanceof Tensor ? labels.shape : [ints.length];
  return new Tensor(out, [...batch, depth]);
}

/** Rows of x (along axis 0) picked by `indices`: oneHot(indices) · x, so both modes follow. */
export function gather(x: Tensor, indices: Tensor | Int32Array | readonly number[]): Tensor {
  const rows = x.reshape([x.shape[0], -1]);
  const picked = oneHot(indices, x.shape[0], x.dtype).matmul(rows);
  return picked.reshape([picked.shape[0], ...x.shape.slice(1)]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    reshape(shape: readonly number[]): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** The matrix transpose of the last two axes. */
    readonly T: Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    slice(axis: number, start: number, end?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis?: number): Tensor;
    flatten(): Tensor;
    to(dtype: DType): Tensor;
  }
}

attachMethods(
  {
    reshape,
    permute,
    transpose,
    broadcastTo,
    slice,
    unsqueeze,
    squeeze,
    flatten: (x: Tensor) => reshape(x, [x.size]),
    to: cast,
  },
  { T: (x: Tensor) => transpose(x) },
);
