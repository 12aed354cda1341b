// NumPy broadcasting: shapes align on the right; a dimension of 1 stretches to match.

import type { View } from '../backend/kernels.js';
import { contiguousStrides } from '../backend/reference/index.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { resultType } from '../tensor/dtype.js';
import { type Shape, Tensor } from '../tensor/tensor.js';

export { contiguousStrides };

export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const d = shape[shape.length - 1 - i];
      const j = rank - 1 - i;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together ` +
            `(dimension ${j} from the left of the result: ${out[j]} vs ${d}); ` +
            'sizes must match or one of them must be 1',
        );
      }
    }
  }
  return out;
}

/** A view of t's contiguous data that reads as if t were broadcast to `shape`. */
export function broadcastView(t: Tensor, shape: Shape): View {
  const own = contiguousStrides(t.shape);
  const lead = shape.length - t.shape.length;
  const strides = shape.map((_, j) => {
    const i = j - lead;
    return i < 0 || t.shape[i] === 1 ? 0 : own[i];
  });
  return { data: t.data, offset: 0, strides };
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Resolves negative axes and checks bounds; returns sorted unique axes. */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    const r = a < 0 ? a + rank : a;
    if (!Number.isInteger(r) || r < 0 || r >= rank) {
      throw new ShapeError(
        `${op}: axis ${a} is out of range for a tensor of rank ${rank}; use an axis from ${-rank} to ${rank - 1}`,
      );
    }
    return r;
  });
  return [...new Set(out)].sort((x, y) => x - y);
}

/** Lifts a plain number to a scalar tensor of `like`'s dtype so ops see only tensors. */
export function lift(value: Tensor | number, like: Tensor): Tensor {
  if (value instanceof Tensor) return value;
  if (like.dtype === 'int32')
    throw new ChainruleError("arithmetic on int32 tensors is not supported; cast with .to('float32')");
  const data = like.dtype === 'float64' ? new Float64Array([value]) : new Float32Array([value]);
  return new Tensor(data, []);
}

export function checkFloat(op: string, ...tensors: Tensor[]): void {
  const dtype = tensors[0].dtype;
  for (const t of tensors) {
    if (t.dtype === 'int32') {
      throw new ChainruleError(
        `${op}: int32 tensors hold labels, not values to differentiate; cast with .to('float32')`,
      );
    }
    if (t.dtype !== dtype) {
      throw new ChainruleError(
        `${op}: dtypes ${tensors.map((x) => x.dtype).join(' and ')} differ; convert one with .to('${dtype}')`,
      );
    }
  }
}

/**
 * The operands converted to the one dtype the op computes in (tensor/dtype.ts has the rule),
 * through cast nodes, so each operand's gradient comes back in its own dtype.
 */
export function promote(op: string, operands: readonly Tensor[]): Tensor[] {
  const dtype = resultType(operands);
  checkFloat(op, ...operands.filter((t) => t.dtype === dtype));
  return operands.map((t) => (t.dtype === dtype ? t : t.to(dtype)));
}
