// The WebAssembly SIMD backend. Float32 work that the kernels in kernels.c cover runs there
// (operands copied into the scratch arena, results copied back); everything else, float64
// included, goes to the reference backend, which defines the expected results.

import {
  type AdamStep,
  adamScalars,
  type BatchNormBackwardArgs,
  type BatchNormForwardArgs,
  type BinaryOp,
  type DataArray,
  type FloatArray,
  type Kernels,
  type MatmulSpec,
  type ReduceOp,
  type SGDStep,
  type SoftmaxCrossEntropyArgs,
  type SoftmaxCrossEntropyBackwardArgs,
  sgdCoefficients,
  type UnaryOp,
  type View,
  type Window2dSpec,
} from '../kernels.js';
import { ReferenceKernels } from '../reference/index.js';
import { WasmHeap } from './heap.js';
import { BINARY_CODES, REDUCE_CODES, taskArgs, UNARY_CODES, windowValues } from './layouts.js';
import {
  instantiateKernels,
  type KernelExports,
  type KernelTaskName,
  type WasmBuildChoice,
} from './module.js';
import { forEachSlab, planRows, type RowsPlan, splitReduction } from './strided.js';
import type { ThreadPool } from './thread-pool.js';

// Below this much work the ~10 µs round trip to a worker outweighs sharing it. Elementwise
// kernels never go parallel: measured on 32K-1M floats, even tanh ran no faster on two
// threads, because operands copy into a shared memory about three times slower than into a
// plain one (V8 copies shared buffers with relaxed atomics) and the copies are serial.
const PARALLEL_GEMM_FLOPS = 1 << 23;

// Rows shorter than this copy element by element: a subarray per row would cost more.
const SHORT_ROW = 16;

// A view whose span is mostly elements it skips (a thin slice of a big buffer) would cost
// more to copy into the arena than the reference loop costs to run.
const MAX_SPAN_PER_ELEMENT = 2;

const isFloat32 = (array: DataArray): array is Float32Array => array instanceof Float32Array;

/** One instance of the kernels with its own memory and arena, and the workers sharing it. */
export class KernelInstance {
  readonly exports: KernelExports;
  readonly heap: WasmHeap;
  readonly gemmScratchFloats: number;

  constructor(
    module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    readonly pool: ThreadPool | null = null,
  ) {
    this.exports = instantiateKernels(module, memory);
    this.heap = new WasmHeap(memory, this.exports.__heap_base.value as number);
    this.gemmScratchFloats = this.exports.gemm_scratch_floats();
  }

  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Runs `task` on all of this instance's threads. */
  run(task: KernelTaskName, args: number): void {
    if (this.pool) this.pool.run(this.exports, task, args);
    else this.exports[task](args, 0, 1);
  }
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  private readonly reference = new ReferenceKernels();

  /**
   * Use createWasmKernels or createWasmKernelsSync. Work that is not split across threads
   * runs on `serial`, whose plain memory copies operands in and out about three times
   * faster than a shared one; `parallel`, when given, takes the work that is.
   */
  constructor(
    /** Which build of the kernels runs (relaxed or plain), and why. */
    readonly build: WasmBuildChoice,
    private readonly serial: KernelInstance,
    private readonly parallel: KernelInstance | null = null,
  ) {}

  /** Threads that share large kernels, the calling one included. */
  get threads(): number {
    return this.parallel?.threads ?? 1;
  }

  /** Bytes of WebAssembly memory held, which stays flat once the largest call has been seen. */
  get memoryBytes(): number {
    return this.serial.memory.buffer.byteLength + (this.parallel?.memory.buffer.byteLength ?? 0);
  }

  /** Stops the worker threads. For tests and tools: the kernels are unusable afterwards. */
  async close(): Promise<void> {
    await this.parallel?.pool?.close();
  }

  unary(op: UnaryOp, x: DataArray, out: DataArray): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.reference.unary(op, x, out);
      return;
    }
    const heap = this.serial.heap;
    heap.reset();
    const values = heap.copyIn(x);
    const args = taskArgs('unary_f32_task', {
      op: UNARY_CODES.get(op)!,
      x: values,
      out: values,
      length: x.length,
    });
    this.serial.run('unary_f32_task', heap.writeArgs(args));
    heap.copyOut(values, out, x.length);
  }

  binary(op: BinaryOp, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    const code = BINARY_CODES.get(op);
    const float32 = isFloat32(a.data) && isFloat32(b.data) && isFloat32(out);
    const plan = code !== undefined && float32 ? this.planFloat32Rows(shape, [a, b]) : null;
    if (!plan) {
      this.reference.binary(op, a, b, out, shape);
      return;
    }
    this.runRows('binary_f32_task', code!, plan, [a, b], out as Float32Array);
  }

  select(cond: View, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    const float32 = isFloat32(cond.data) && isFloat32(a.data) && isFloat32(b.data) && isFloat32(out);
    const plan = float32 ? this.planFloat32Rows(shape, [cond, a, b]) : null;
    if (!plan) {
      this.reference.select(cond, a, b, out, shape);
      return;
    }
    this.runRows('select_f32_task', 0, plan, [cond, a, b], out as Float32Array);
  }

  // Contiguous or broadcast rows copy with TypedArray.set / fill (memcpy speed, and the same
  // conversions as element assignment when dtypes differ), with no trip through the arena.
  copy(src: View, out: DataArray, shape: readonly number[]): void {
    const plan = out.length === 0 ? null : planRows(shape, [src]);
    if (!plan) {
      this.reference.copy(src, out, shape);
      return;
    }
    const { rows, cols } = plan;
    const { rowStride, colStride } = plan.operands[0];
    const data = src.data;
    const target = out as Float64Array;
    forEachSlab(plan, (slab, [offset]) => {
      for (let r = 0; r < rows; r++) {
        const from = offset + r * rowStride;
        const to = (slab * rows + r) * cols;
        if (colStride === 0) target.fill(data[from], to, to + cols);
        else if (cols >= SHORT_ROW) target.set(data.subarray(from, from + cols), to);
        else for (let j = 0; j < cols; j++) target[to + j] = data[from + j];
      }
    });
  }

  reduce(
    op: ReduceOp,
    x: DataArray,
    shape: readonly number[],
    axes: readonly number[],
    out: DataArray,
  ): void {
    const split = isFloat32(x) && isFloat32(out) ? splitReduction(shape, axes) : null;
    if (!split) {
      this.reference.reduce(op, x, shape, axes, out);
      return;
    }
    const { outer, length, inner } = split;
    const heap = this.serial.heap;
    heap.reset();
    const input = heap.copyIn(x as Float32Array);
    const result = heap.allocateFloats(outer * inner);
    const accumulators = heap.allocate(inner * 8);
    this.serial.run(
      'reduce_f32_task',
      heap.writeArgs(
        taskArgs('reduce_f32_task', {
          op: REDUCE_CODES[op],
          x: input,
          out: result,
          outer,
          length,
          inner,
          accumulators,
        }),
      ),
    );
    heap.copyOut(result, out as Float32Array, outer * inner);
  }

  // For argmax the reduced axis is the class count (about 10) in training, and oneHot only
  // writes one element per row: neither has enough arithmetic to repay copying x in.
  argmax(x: DataArray, outer: number, n: number, inner: number, out: Int32Array): void {
    this.reference.argmax(x, outer, n, inner, out);
  }

  oneHot(labels: Int32Array, depth: number, out: DataArray): void {
    this.reference.oneHot(labels, depth, out);
  }

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, spec: MatmulSpec): void {
    if (!isFloat32(a) || !isFloat32(b) || !isFloat32(out)) {
      this.reference.matmul(a, b, out, spec);
      return;
    }
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
    if (batch * m * n === 0) return;
    const instance = this.instance(2 * batch * m * n * k >= PARALLEL_GEMM_FLOPS);
    const heap = instance.heap;
    heap.reset();
    const left = heap.copyIn(a.subarray(0, (batch - 1) * aBatchStride + m * k));
    const right = heap.copyIn(b.subarray(0, (batch - 1) * bBatchStride + k * n));
    const product = heap.allocateFloats(batch * m * n);
    const scratch = heap.allocateFloats(instance.threads * instance.gemmScratchFloats);
    const args = heap.writeArgs(
      taskArgs('gemm_f32_task', {
        a: left,
        b: right,
        c: product,
        batch,
        m,
        n,
        k,
        trans_a: Number(transA),
        trans_b: Number(transB),
        a_batch_stride: aBatchStride,
        b_batch_stride: bBatchStride,
        scratch,
        next_unit: 0, // the threads' shared work counter
      }),
    );
    instance.run('gemm_f32_task', args);
    heap.copyOut(product, out, batch * m * n);
  }

  im2col(x: FloatArray, cols: FloatArray, spec: Window2dSpec): void {
    if (!isFloat32(x) || !isFloat32(cols)) {
      this.reference.im2col(x, cols, spec);
      return;
    }
    const heap = this.serial.heap;
    heap.reset();
    const image = heap.copyIn(x);
    const columns = heap.allocateFloats(cols.length);
    this.serial.run(
      'im2col_f32_task',
      heap.writeArgs(taskArgs('im2col_f32_task', { image, cols: columns, ...windowValues(spec) })),
    );
    heap.copyOut(columns, cols);
  }

  col2im(cols: FloatArray, x: FloatArray, spec: Window2dSpec): void {
    if (!isFloat32(x) || !isFloat32(cols)) {
      this.reference.col2im(cols, x, spec);
      return;
    }
    const heap = this.serial.heap;
    heap.reset();
    const columns = heap.copyIn(cols);
    const image = heap.allocateFloats(x.length);
    this.serial.run(
      'col2im_f32_task',
      heap.writeArgs(taskArgs('col2im_f32_task', { image, cols: columns, ...windowValues(spec) })),
    );
    heap.copyOut(image, x);
  }

  maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, spec: Window2dSpec): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.reference.maxPool2d(x, out, indices, spec);
      return;
    }
    const heap = this.serial.heap;
    heap.reset();
    const input = heap.copyIn(x);
    const maxima = heap.allocateFloats(out.length);
    const argmax = heap.allocate(indices.length * 4);
    this.serial.run(
      'max_pool2d_f32_task',
      heap.writeArgs(
        taskArgs('max_pool2d_f32_task', { x: input, out: maxima, indices: argmax, ...windowValues(spec) }),
      ),
    );
    heap.copyOut(maxima, out);
    heap.copyOutInts(argmax, indices);
  }

  // A gather or scatter does one load and one store per element: copying the operands into
  // the arena would cost more than the loop. The scatter adds in the output's precision, not
  // the reference's float64 staging (a max pool's indices rarely repeat).
  gather(x: FloatArray, indices: Int32Array, out: FloatArray): void {
    this.reference.gather(x, indices, out);
  }

  scatterAdd(values: FloatArray, indices: Int32Array, out: FloatArray): void {
    out.fill(0);
    for (let i = 0; i < indices.length; i++) out[indices[i]] += values[i];
  }

  // The updates run on one thread: they are bound by copying the arrays in and out, which
  // would be slower into the shared memory of the pool.
  sgd(param: FloatArray, grad: FloatArray, buffer: FloatArray | null, step: SGDStep): void {
    if (!isFloat32(param) || !isFloat32(grad) || (buffer && !isFloat32(buffer))) {
      this.reference.sgd(param, grad, buffer, step);
      return;
    }
    const { decay, keep, gradWeight, bufferWeight } = sgdCoefficients(step);
    const heap = this.serial.heap;
    heap.reset();
    const [p, g] = [heap.copyIn(param), heap.copyIn(grad)];
    const buf = buffer ? heap.copyIn(buffer) : 0;
    const f = WasmHeap.floatField;
    const args = taskArgs('sgd_f32_task', {
      param: p,
      grad: g,
      buffer: buf,
      length: param.length,
      lr: f(step.lr),
      weight_decay: f(step.weightDecay),
      decay: f(decay),
      keep: f(keep),
      grad_weight: f(gradWeight),
      buffer_weight: f(bufferWeight),
    });
    this.serial.run('sgd_f32_task', heap.writeArgs(args));
    heap.copyOut(p, param);
    if (buffer) heap.copyOut(buf, buffer);
  }

  adam(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, step: AdamStep): void {
    const arrays = [param, grad, expAvg, expAvgSq];
    if (!arrays.every(isFloat32)) {
      this.reference.adam(param, grad, expAvg, expAvgSq, step);
      return;
    }
    const { shrink, l2, keep1, keep2, stepSize, biasCorrection2Sqrt } = adamScalars(step);
    const heap = this.serial.heap;
    heap.reset();
    const [p, g, m, v] = arrays.map((a) => heap.copyIn(a as Float32Array));
    const f = WasmHeap.floatField;
    const args = taskArgs('adam_f32_task', {
      param: p,
      grad: g,
      exp_avg: m,
      exp_avg_sq: v,
      length: param.length,
      shrink: f(shrink),
      l2: f(l2),
      beta1: f(step.beta1),
      keep1: f(keep1),
      beta2: f(step.beta2),
      keep2: f(keep2),
      step_size: f(stepSize),
      bias_correction2_sqrt: f(biasCorrection2Sqrt),
      eps: f(step.eps),
    });
    this.serial.run('adam_f32_task', heap.writeArgs(args));
    heap.copyOut(p, param as Float32Array);
    heap.copyOut(m, expAvg as Float32Array);
    heap.copyOut(v, expAvgSq as Float32Array);
  }

  private instance(parallel: boolean): KernelInstance {
    return (parallel && this.parallel) || this.serial;
  }

  private planFloat32Rows(shape: readonly number[], views: readonly View[]): RowsPlan | null {
    const plan = planRows(shape, views);
    const size = shape.reduce((p, d) => p * d, 1);
    if (!plan || size === 0) return null;
    const compact = plan.operands.every((o) => o.last - o.first + 1 <= MAX_SPAN_PER_ELEMENT * size);
    return compact ? plan : null;
  }

  /** Copies each view's span into the arena and runs a row kernel over every slab. */
  private runRows(
    task: 'binary_f32_task' | 'select_f32_task',
    op: number,
    plan: RowsPlan,
    views: readonly View[],
    out: Float32Array,
  ): void {
    const heap = this.serial.heap;
    heap.reset();
    const bases = plan.operands.map((o, i) => {
      const span = heap.copyIn((views[i].data as Float32Array).subarray(o.first, o.last + 1));
      return span - o.first * 4;
    });
    const { rows, cols } = plan;
    const result = heap.allocateFloats(out.length);
    forEachSlab(plan, (slab, offsets) => {
      const fields: Record<string, number> = { op, out: result + slab * rows * cols * 4, rows, cols };
      plan.operands.forEach((o, i) => {
        fields[`operands[${i}].data`] = bases[i] + offsets[i] * 4;
        fields[`operands[${i}].row_stride`] = o.rowStride;
        fields[`operands[${i}].col_stride`] = o.colStride;
      });
      this.serial.run(task, heap.writeArgs(taskArgs(task, fields)));
    });
    heap.copyOut(result, out);
  }

  // The fused ops' kernels run on the reference code until WebAssembly ports of them exist.
  softmaxCrossEntropy(args: SoftmaxCrossEntropyArgs): void {
    this.reference.softmaxCrossEntropy(args);
  }

  softmaxCrossEntropyBackward(args: SoftmaxCrossEntropyBackwardArgs): void {
    this.reference.softmaxCrossEntropyBackward(args);
  }

  rowSumSquares(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
    this.reference.rowSumSquares(x, out, rows, cols);
  }

  rmsNormalizeRows(x: FloatArray, out: FloatArray, rows: number, cols: number, eps: number): void {
    this.reference.rmsNormalizeRows(x, out, rows, cols, eps);
  }

  batchNormForward(args: BatchNormForwardArgs): void {
    this.reference.batchNormForward(args);
  }

  batchNormBackward(args: BatchNormBackwardArgs): void {
    this.reference.batchNormBackward(args);
  }
}
