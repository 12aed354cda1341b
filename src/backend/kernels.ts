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

/**
 * Batch normalisation of x viewed as [rows, features], each feature over the rows (see
 * Kernels.batchNormForward and batchNormBackward). weight and bias are [features] or null (1 and 0).
 */
export interface BatchNormSpec {
  rows: number;
  features: number;
  eps: number;
}

/** batchNormForward's operands: it reads x, weight and bias and writes out, mean and variance. */
export interface BatchNormForwardArgs extends BatchNormSpec {
  x: FloatArray;
  weight: FloatArray | null;
  bias: FloatArray | null;
  out: FloatArray;
  mean: FloatArray;
  variance: FloatArray;
}

/** batchNormBackward's operands: it reads g, x, weight, mean and variance and writes gx, gWeight and gBias. */
export interface BatchNormBackwardArgs extends BatchNormSpec {
  g: FloatArray;
  x: FloatArray;
  weight: FloatArray | null;
  mean: FloatArray;
  variance: FloatArray;
  gx: FloatArray;
  gWeight: FloatArray;
  gBias: FloatArray;
}

/** softmaxCrossEntropy's operands: logits and labels in, probabilities and losses out. */
export interface SoftmaxCrossEntropyArgs {
  logits: FloatArray;
  labels: Int32Array;
  probabilities: FloatArray;
  losses: FloatArray;
  rows: number;
  classes: number;
}

/** softmaxCrossEntropyBackward's operands: the forward's probabilities and labels, the cotangent's scale, gx out. */
export interface SoftmaxCrossEntropyBackwardArgs {
  probabilities: FloatArray;
  labels: Int32Array;
  scale: number;
  gx: FloatArray;
  rows: number;
  classes: number;
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

/**
 * A 2-D sliding window over NCHW images x [batch, channels, height, width]: window (oh, ow)
 * reads rows oh·strideH - padH + i·dilationH and columns ow·strideW - padW + j·dilationW for
 * i < kernelH, j < kernelW; positions outside the image are padding.
 */
export interface Window2dSpec {
  batch: number;
  channels: number;
  height: number;
  width: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
}

/** One SGD step (torch.optim.SGD): see Kernels.sgd. */
export interface SGDStep {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** The momentum buffer is taken to be empty and is set to the first step's gradient. */
  firstStep: boolean;
}

/**
 * An SGD step's cases as coefficients, so one loop serves them all (twice as fast in V8 as
 * branching per element): buf = decay·buf + keep·d, then the step is gradWeight·d + bufferWeight·buf.
 */
export function sgdCoefficients({ momentum, dampening, nesterov, firstStep }: SGDStep) {
  return {
    decay: firstStep ? 0 : momentum,
    keep: firstStep ? 1 : 1 - dampening,
    gradWeight: nesterov ? 1 : 0,
    bufferWeight: nesterov ? momentum : 1,
  };
}

/** One Adam or AdamW step (torch.optim's): see Kernels.adam. */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the parameter directly (p *= 1 - lr·weightDecay) instead of adding weightDecay·p to g. */
  decoupledWeightDecay: boolean;
  /** The step number, counting from 1, for the bias corrections. */
  step: number;
}

/** The per-step scalars of an Adam update, derived in float64 alike by every backend. */
export function adamScalars({ lr, beta1, beta2, weightDecay, decoupledWeightDecay, step }: AdamStep) {
  return {
    stepSize: lr / (1 - beta1 ** step),
    biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
    /** Scales the parameter first (AdamW), or 1. */
    shrink: decoupledWeightDecay ? 1 - lr * weightDecay : 1,
    /** Weight of the parameter added to the gradient (Adam's L2), or 0. */
    l2: decoupledWeightDecay ? 0 : weightDecay,
    keep1: 1 - beta1,
    keep2: 1 - beta2,
  };
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

  /**
   * im2col: cols [batch, channels·kernelH·kernelW, outH·outW] (torch's unfold layout, row
   * (c, i, j), column (oh, ow)) = x's value under each window position, 0 in the padding.
   */
  im2col(x: FloatArray, cols: FloatArray, spec: Window2dSpec): void;

  /** col2im, the adjoint of im2col: x (overwritten) = the sum of every cols entry read from it. */
  col2im(cols: FloatArray, x: FloatArray, spec: Window2dSpec): void;

  /**
   * out [batch, channels, outH, outW] = the maximum over each window of x's channel (padding
   * never wins; NaN does), and indices = the flat offset in x of each maximum (the first on ties);
   * a window of padding only gives -Infinity at index -1.
   */
  maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, spec: Window2dSpec): void;

  /** out[i] = x[indices[i]]. */
  gather(x: FloatArray, indices: Int32Array, out: FloatArray): void;

  /** The adjoint of gather: out (overwritten) = zeros, then out[indices[i]] += values[i]. */
  scatterAdd(values: FloatArray, indices: Int32Array, out: FloatArray): void;

  /**
   * One SGD step over a parameter, in place: d = g + weightDecay·p; with momentum,
   * buf = d on the first step, else momentum·buf + (1 - dampening)·d, and d = d + momentum·buf
   * (Nesterov) or buf; then p -= lr·d. `buffer` is null when momentum is 0.
   */
  sgd(param: FloatArray, grad: FloatArray, buffer: FloatArray | null, step: SGDStep): void;

  /**
   * One Adam step over a parameter and its state, in place: m = β1·m + (1-β1)·g;
   * v = β2·v + (1-β2)·g²; p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps), with
   * g = grad + weightDecay·p for Adam, and p first scaled by 1 - lr·weightDecay for AdamW.
   */
  adam(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, step: AdamStep): void;

  /**
   * Softmax cross-entropy of logits [rows, classes] against class indices labels [rows]:
   * probabilities = each row's softmax, losses [rows] = logsumexp(row) - row[label], in float64.
   */
  softmaxCrossEntropy(args: SoftmaxCrossEntropyArgs): void;

  /** softmaxCrossEntropy's cotangent: gx = scale·(probabilities - onehot(labels)). */
  softmaxCrossEntropyBackward(args: SoftmaxCrossEntropyBackwardArgs): void;

  /** out [rows] = each row's sum of squares of x [rows, cols] (contiguous), summed in float64. */
  rowSumSquares(x: FloatArray, out: FloatArray, rows: number, cols: number): void;

  /** out = each row of x [rows, cols] divided by (its root mean square + eps): FF's length normalisation. */
  rmsNormalizeRows(x: FloatArray, out: FloatArray, rows: number, cols: number, eps: number): void;

  /**
   * Training-mode batch normalisation, every array contiguous and of one dtype: mean and
   * variance ([features]) = each feature's mean and biased variance over the rows, and
   * out = (x - mean) / sqrt(variance + eps) · weight + bias.
   */
  batchNormForward(args: BatchNormForwardArgs): void;

  /**
   * batchNormForward's cotangents from g = dL/dout, with x̂ = (x - mean)·s, s = 1/sqrt(variance + eps):
   * gBias = Σ_rows g, gWeight = Σ_rows g·x̂, gx = weight·s·(g - gBias/rows - x̂·gWeight/rows).
   * gWeight and gBias are written even when weight and bias are null.
   */
  batchNormBackward(args: BatchNormBackwardArgs): void;
}
