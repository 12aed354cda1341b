// The kernel interface: the only place where numbers are touched in loops.
// Kernels take typed arrays, shapes and strides and write into a caller-owned output.
// They know nothing of tensors, graphs or gradients, so any backend (plain TypeScript,
// WASM SIMD, threads) can stand behind it and be tested against the reference one.

export type DType = 'float32' | 'float64' | 'int32';
export type FloatArray = Float32Array | Float64Array;
export type DataArray = Float32Array | Float64Array | Int32Array;

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'tanh',
  'sigmoid',
  'relu',
  'softplus',
  'sign',
  'square',
  'reciprocal',
  'step', // 1 where x > 0, else 0 (the derivative of relu)
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'gt', // comparisons write 1 or 0 in the output's dtype
  'ge',
  'lt',
  'le',
  'eq',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Strided view of a buffer: element (i0, i1, ...) lives at offset + sum(ik * strides[k]).
 * A stride of 0 broadcasts that dimension.
 */
export interface View {
  data: DataArray;
  offset: number;
  strides: readonly number[];
}

/** C[b] = op(A[b]) · op(B[b]) for b in [0, batch); op transposes when the flag is set. */
export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A is stored as [k, m] (row-major) and used transposed. */
  transA: boolean;
  /** B is stored as [n, k] (row-major) and used transposed. */
  transB: boolean;
  /** Elements between consecutive batch matrices; 0 reuses one matrix for every batch. */
  aBatchStride: number;
  bBatchStride: number;
}

export interface Kernels {
  readonly name: string;

  /** out[i] = f(x[i]) over contiguous arrays of equal length. */
  unary(op: UnaryOp, x: DataArray, out: DataArray): void;

  /** out (contiguous, given shape) = a op b, where a and b are strided views broadcast to shape. */
  binary(op: BinaryOp, a: View, b: View, out: DataArray, shape: readonly number[]): void;

  /** out = cond != 0 ? a : b, all three broadcast to shape through their strides. */
  select(cond: View, a: View, b: View, out: DataArray, shape: readonly number[]): void;

  /** Copies a strided view into contiguous out (transpose, permute, slice, expand). */
  copy(src: View, out: DataArray, shape: readonly number[]): void;

  /**
   * Reduces contiguous x of the given shape over `axes` (sorted, unique) into contiguous out,
   * whose shape is x's with each reduced axis set to 1.
   */
  reduce(op: ReduceOp, x: DataArray, shape: readonly number[], axes: readonly number[], out: DataArray): void;

  /** For x viewed as [outer, n, inner], out[o, i] = index of the max over n (first on ties). */
  argmax(x: DataArray, outer: number, n: number, inner: number, out: Int32Array): void;

  /** Contiguous row-major matrices; see MatmulSpec. out is overwritten. */
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, spec: MatmulSpec): void;

  /** out[r, labels[r]] = 1 for out of shape [labels.length, depth], zero elsewhere. */
  oneHot(labels: Int32Array, depth: number, out: DataArray): void;
}
