// Type promotion: the dtype an op computes in when its operands' dtypes differ, by PyTorch's
// rule for the three dtypes chainrule has. A float beats an int, and a wider float a narrower
// one (int32 + float32 → float32, float32 + float64 → float64), except that a 0-d tensor only
// decides the dtype when its kind (int or float) outranks every dimensioned operand's: a
// float64 scalar times a float32 matrix stays float32, as in PyTorch.

import type { DType } from '../backend/kernels.js';
import type { Tensor } from './tensor.js';

const WIDTH: Record<DType, number> = { int32: 0, float32: 1, float64: 2 };

const isFloat = (dtype: DType) => dtype !== 'int32';

/** The narrower dtype that holds both: float64 over float32 over int32. */
export function promoteTypes(a: DType, b: DType): DType {
  return WIDTH[a] >= WIDTH[b] ? a : b;
}

function widest(tensors: readonly Tensor[]): DType | null {
  let dtype: DType | null = null;
  for (const t of tensors) dtype = dtype === null ? t.dtype : promoteTypes(dtype, t.dtype);
  return dtype;
}

/** The dtype an op over these operands computes in (PyTorch's torch.result_type). */
export function resultType(operands: readonly Tensor[]): DType {
  const dimensioned = widest(operands.filter((t) => t.ndim > 0));
  const scalars = widest(operands.filter((t) => t.ndim === 0));
  if (dimensioned === null) return scalars ?? 'float32';
  if (scalars === null) return dimensioned;
  return isFloat(scalars) && !isFloat(dimensioned) ? scalars : dimensioned;
}
