// The native backend: the Node-API addon built from addon.c and isa-*.c at install. Its
// kernels read and write the tensors' typed arrays in place (no copies in or out), run the
// widest instruction set the CPU has, and split large work over a persistent pool of native
// threads. Whatever it does not do natively (other dtypes, kernels it lacks) its fallback
// backend does, so kernels added to the Kernels interface work here before they are ported.

import { ChainruleError } from '../../errors.js';
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
  sgdCoefficients,
  UNARY_OPS,
  type UnaryOp,
  type View,
  type Window2dSpec,
} from '../kernels.js';
import { splitReduction } from '../wasm/strided.js';

/** Instruction sets the addon is compiled for, lowest first (enum Isa in isa.h). */
export const ISAS = ['portable', 'avx2', 'avx512'] as const;
export type Isa = (typeof ISAS)[number];

interface Addon {
  setArgs(args: Float64Array): void;
  cpu(): { isas: Isa[]; cores: number };
  matmul(a: Float32Array, b: Float32Array, out: Float32Array): void;
  unary(x: Float32Array, out: Float32Array): void;
  binary(a: Float32Array, b: Float32Array, out: Float32Array): void;
  select(cond: Float32Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  copy(src: Float32Array, out: Float32Array): void;
  reduce(x: Float32Array, out: Float32Array): void;
  sgd(param: Float32Array, grad: Float32Array, buffer: Float32Array | null): void;
  adam(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array): void;
  rowSumSquares(x: Float32Array, out: Float32Array): void;
  rmsNormalizeRows(x: Float32Array, out: Float32Array): void;
  batchNormForward(
    x: Float32Array,
    weight: Float32Array | null,
    bias: Float32Array | null,
    out: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  batchNormBackward(
    g: Float32Array,
    x: Float32Array,
    weight: Float32Array | null,
    mean: Float32Array,
    variance: Float32Array,
    gx: Float32Array,
    gWeight: Float32Array,
    gBias: Float32Array,
  ): void;
  im2col(x: Float32Array, cols: Float32Array): void;
  col2im(cols: Float32Array, x: Float32Array): void;
  maxPool2d(x: Float32Array, out: Float32Array, indices: Int32Array): void;
  gather(x: Float32Array, indices: Int32Array, out: Float32Array): void;
  scatterAdd(values: Float32Array, indices: Int32Array, out: Float32Array): void;
}

/** The addon, or why there is none. */
export type NativeAddon =
  | { loaded: true; path: string; isas: readonly Isa[]; cores: number; addon: Addon; args: Float64Array }
  | { loaded: false; reason: string };

const ADDON_PATH = '../../../../build/Release/chainrule_native.node';
const INSTALL_STATUS_PATH = '../../../../build/native-status.json';
const ARGS_LENGTH = 64; // enum in addon.c
const MAX_RANK = 16;

interface NodeBuiltins {
  getBuiltinModule?: (name: string) => unknown;
}

function nodeBuiltin<T>(name: string): T | null {
  const get = typeof process !== 'undefined' ? (process as NodeBuiltins).getBuiltinModule : undefined;
  return get ? (get(name) as T) : null;
}

/** Why the install left no addon, from the status scripts/build-native.mjs recorded. */
function installReason(fs: typeof import('node:fs'), url: typeof import('node:url')): string {
  try {
    const status = JSON.parse(
      fs.readFileSync(url.fileURLToPath(new URL(INSTALL_STATUS_PATH, import.meta.url)), 'utf8'),
    );
    if (typeof status.reason === 'string' && !status.built)
      return `the native addon was not built: ${status.reason}`;
  } catch {
    // No status: the install script never ran (a source checkout without npm install).
  }
  return 'the native addon is not built (run npm install, or npm rebuild chainrule)';
}

let cached: NativeAddon | null = null;

/** Loads the addon once per process (only Node can: elsewhere it reports why not). */
export function loadNativeAddon(): NativeAddon {
  cached ??= loadOnce();
  return cached;
}

function loadOnce(): NativeAddon {
  const module = nodeBuiltin<typeof import('node:module')>('node:module');
  const fs = nodeBuiltin<typeof import('node:fs')>('node:fs');
  const url = nodeBuiltin<typeof import('node:url')>('node:url');
  if (!module || !fs || !url) {
    const runtime = typeof process !== 'undefined' ? `Node ${process.version}` : 'this runtime';
    return { loaded: false, reason: `${runtime} cannot load native addons here (needs Node 20.16 or later)` };
  }
  const path = url.fileURLToPath(new URL(ADDON_PATH, import.meta.url));
  if (!fs.existsSync(path)) return { loaded: false, reason: installReason(fs, url) };
  try {
    const addon = module.createRequire(import.meta.url)(path) as Addon;
    const args = new Float64Array(ARGS_LENGTH);
    addon.setArgs(args);
    const { isas, cores } = addon.cpu();
    return { loaded: true, path, isas, cores, addon, args };
  } catch (error) {
    return { loaded: false, reason: `the native addon failed to load: ${(error as Error).message}` };
  }
}

export interface NativeKernelsOptions {
  /** Threads that share large kernels, the calling one included (default: CHAINRULE_THREADS, else every core). */
  threads?: number;
  /** The instruction set (default: CHAINRULE_ISA, else the widest this CPU runs). */
  isa?: Isa;
}

/** The native kernels: Kernels, plus what they run on. */
export type NativeBackend = Kernels & { readonly isa: Isa; readonly threads: number };

const env = (name: string): string | undefined =>
  typeof process !== 'undefined' ? process.env?.[name] : undefined;

function chooseIsa(supported: readonly Isa[], option: Isa | undefined): Isa {
  const requested = option ?? env('CHAINRULE_ISA');
  if (requested === undefined || requested === '') return supported[supported.length - 1];
  const source = option === undefined ? `CHAINRULE_ISA=${requested}` : `isa: '${requested}'`;
  if (!(ISAS as readonly string[]).includes(requested)) {
    throw new ChainruleError(`${source} is not an instruction set; use one of ${ISAS.join(', ')}`);
  }
  if (!supported.includes(requested as Isa)) {
    throw new ChainruleError(`${source}: this CPU runs only ${supported.join(', ')}; choose one of those`);
  }
  return requested as Isa;
}

function chooseThreads(option: number | undefined, cores: number): number {
  const fromEnv = env('CHAINRULE_THREADS');
  const threads = option ?? (fromEnv ? Number(fromEnv) : cores);
  if (!Number.isInteger(threads) || threads < 1) {
    const source = option === undefined ? `CHAINRULE_THREADS=${fromEnv}` : `threads: ${option}`;
    throw new ChainruleError(`native backend: ${source} is not a positive integer`);
  }
  return threads;
}

const unaryCodes = new Map(UNARY_OPS.map((op, code) => [op, code]));
// enum BinaryOp in isa.h follows BINARY_OPS; pow stays with the fallback (it needs float64 pow).
const BINARY_CODES: Record<BinaryOp, number | undefined> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: undefined,
  maximum: 5,
  minimum: 6,
  gt: 7,
  ge: 8,
  lt: 9,
  le: 10,
  eq: 11,
};
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
/** A Window2dSpec's fields in the order of the Window struct in spatial.h. */
const WINDOW_FIELDS = [
  'batch',
  'channels',
  'height',
  'width',
  'kernelH',
  'kernelW',
  'strideH',
  'strideW',
  'padH',
  'padW',
  'dilationH',
  'dilationW',
  'outH',
  'outW',
] as const satisfies readonly (keyof Window2dSpec)[];

const isFloat32 = (array: DataArray | null): array is Float32Array => array instanceof Float32Array;

/** A fused kernel's operands with every array a Float32Array, as the addon takes them. */
type AsFloat32<A> = {
  [K in keyof A]: A[K] extends number ? A[K] : null extends A[K] ? Float32Array | null : Float32Array;
};

/** Whether the addon can take every operand of a fused kernel (null ones stand for its defaults). */
function allFloat32<A extends object>(args: A): args is A & AsFloat32<A> {
  return Object.values(args).every((v) => typeof v === 'number' || v === null || isFloat32(v));
}

/** The kernels this backend runs natively; every other Kernels method is the fallback's. */
class NativeKernelMethods {
  readonly name = 'native';
  private readonly isaCode: number;

  constructor(
    private readonly addon: Addon,
    private readonly args: Float64Array,
    readonly isa: Isa,
    readonly threads: number,
    private readonly fallback: Kernels,
  ) {
    this.isaCode = ISAS.indexOf(isa);
  }

  /** Starts the argument block of a call: instruction set, threads, then `fields`. */
  private setArgs(...fields: number[]): void {
    const args = this.args;
    args[0] = this.isaCode;
    args[1] = this.threads;
    for (let i = 0; i < fields.length; i++) args[2 + i] = fields[i];
  }

  /** Writes a strided layout (rank, shape, then each view's offset and strides) at `at`. */
  private setLayout(at: number, shape: readonly number[], views: readonly View[]): void {
    const args = this.args;
    args[at++] = shape.length;
    for (const d of shape) args[at++] = d;
    for (const view of views) {
      args[at++] = view.offset;
      for (const s of view.strides) args[at++] = s;
    }
  }

  unary(op: UnaryOp, x: DataArray, out: DataArray): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.fallback.unary(op, x, out);
      return;
    }
    this.setArgs(unaryCodes.get(op)!);
    this.addon.unary(x, out);
  }

  binary(op: BinaryOp, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    const code = BINARY_CODES[op];
    if (
      code === undefined ||
      shape.length > MAX_RANK ||
      !isFloat32(a.data) ||
      !isFloat32(b.data) ||
      !isFloat32(out)
    ) {
      this.fallback.binary(op, a, b, out, shape);
      return;
    }
    this.setArgs(code);
    this.setLayout(3, shape, [a, b]);
    this.addon.binary(a.data, b.data, out);
  }

  select(cond: View, a: View, b: View, out: DataArray, shape: readonly number[]): void {
    const float32 = isFloat32(cond.data) && isFloat32(a.data) && isFloat32(b.data) && isFloat32(out);
    if (!float32 || shape.length > MAX_RANK) {
      this.fallback.select(cond, a, b, out, shape);
      return;
    }
    this.setArgs();
    this.setLayout(2, shape, [cond, a, b]);
    this.addon.select(cond.data as Float32Array, a.data as Float32Array, b.data as Float32Array, out);
  }

  copy(src: View, out: DataArray, shape: readonly number[]): void {
    if (!isFloat32(src.data) || !isFloat32(out) || shape.length > MAX_RANK) {
      this.fallback.copy(src, out, shape);
      return;
    }
    this.setArgs();
    this.setLayout(2, shape, [src]);
    this.addon.copy(src.data, out);
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
      this.fallback.reduce(op, x, shape, axes, out);
      return;
    }
    this.setArgs(REDUCE_CODES[op], split.outer, split.length, split.inner);
    this.addon.reduce(x as Float32Array, out as Float32Array);
  }

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, spec: MatmulSpec): void {
    if (!isFloat32(a) || !isFloat32(b) || !isFloat32(out)) {
      this.fallback.matmul(a, b, out, spec);
      return;
    }
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
    this.setArgs(batch, m, n, k, Number(transA), Number(transB), aBatchStride, bBatchStride);
    this.addon.matmul(a, b, out);
  }

  im2col(x: FloatArray, cols: FloatArray, spec: Window2dSpec): void {
    if (!isFloat32(x) || !isFloat32(cols)) {
      this.fallback.im2col(x, cols, spec);
      return;
    }
    this.setArgs(...WINDOW_FIELDS.map((field) => spec[field]));
    this.addon.im2col(x, cols);
  }

  col2im(cols: FloatArray, x: FloatArray, spec: Window2dSpec): void {
    if (!isFloat32(cols) || !isFloat32(x)) {
      this.fallback.col2im(cols, x, spec);
      return;
    }
    this.setArgs(...WINDOW_FIELDS.map((field) => spec[field]));
    this.addon.col2im(cols, x);
  }

  maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, spec: Window2dSpec): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.fallback.maxPool2d(x, out, indices, spec);
      return;
    }
    this.setArgs(...WINDOW_FIELDS.map((field) => spec[field]));
    this.addon.maxPool2d(x, out, indices);
  }

  gather(x: FloatArray, indices: Int32Array, out: FloatArray): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.fallback.gather(x, indices, out);
      return;
    }
    this.setArgs();
    this.addon.gather(x, indices, out);
  }

  scatterAdd(values: FloatArray, indices: Int32Array, out: FloatArray): void {
    if (!isFloat32(values) || !isFloat32(out)) {
      this.fallback.scatterAdd(values, indices, out);
      return;
    }
    this.setArgs();
    this.addon.scatterAdd(values, indices, out);
  }

  sgd(param: FloatArray, grad: FloatArray, buffer: FloatArray | null, step: SGDStep): void {
    if (!isFloat32(param) || !isFloat32(grad) || (buffer && !isFloat32(buffer))) {
      this.fallback.sgd(param, grad, buffer, step);
      return;
    }
    const { decay, keep, gradWeight, bufferWeight } = sgdCoefficients(step);
    this.setArgs(step.lr, step.weightDecay, decay, keep, gradWeight, bufferWeight);
    this.addon.sgd(param, grad, buffer as Float32Array | null);
  }

  adam(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, step: AdamStep): void {
    if (!isFloat32(param) || !isFloat32(grad) || !isFloat32(expAvg) || !isFloat32(expAvgSq)) {
      this.fallback.adam(param, grad, expAvg, expAvgSq, step);
      return;
    }
    const { shrink, l2, keep1, keep2, stepSize, biasCorrection2Sqrt } = adamScalars(step);
    this.setArgs(shrink, l2, step.beta1, keep1, step.beta2, keep2, stepSize, biasCorrection2Sqrt, step.eps);
    this.addon.adam(param, grad, expAvg, expAvgSq);
  }

  rowSumSquares(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.fallback.rowSumSquares(x, out, rows, cols);
      return;
    }
    this.setArgs(rows, cols);
    this.addon.rowSumSquares(x, out);
  }

  rmsNormalizeRows(x: FloatArray, out: FloatArray, rows: number, cols: number, eps: number): void {
    if (!isFloat32(x) || !isFloat32(out)) {
      this.fallback.rmsNormalizeRows(x, out, rows, cols, eps);
      return;
    }
    this.setArgs(rows, cols, eps);
    this.addon.rmsNormalizeRows(x, out);
  }

  batchNormForward(args: BatchNormForwardArgs): void {
    if (!allFloat32(args)) {
      this.fallback.batchNormForward(args);
      return;
    }
    const { x, weight, bias, out, mean, variance, rows, features, eps } = args;
    this.setArgs(rows, features, eps);
    this.addon.batchNormForward(x, weight, bias, out, mean, variance);
  }

  batchNormBackward(args: BatchNormBackwardArgs): void {
    if (!allFloat32(args)) {
      this.fallback.batchNormBackward(args);
      return;
    }
    const { g, x, weight, mean, variance, gx, gWeight, gBias, rows, features, eps } = args;
    this.setArgs(rows, features, eps);
    this.addon.batchNormBackward(g, x, weight, mean, variance, gx, gWeight, gBias);
  }
}

/** Every method of `kernels`' classes, bound to it, by name. */
function methodsOf(kernels: Kernels): Map<string, (...args: unknown[]) => unknown> {
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  for (
    let proto = Object.getPrototypeOf(kernels);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (kernels as unknown as Record<string, unknown>)[key];
      if (key !== 'constructor' && typeof value === 'function' && !methods.has(key)) {
        methods.set(key, value.bind(kernels));
      }
    }
  }
  return methods;
}

/**
 * Creates the native backend, or throws a ChainruleError saying why it cannot (no addon, or
 * an instruction set or thread count this machine cannot honour). `fallback` runs whatever
 * the addon does not.
 */
export function createNativeKernels(fallback: Kernels, options: NativeKernelsOptions = {}): NativeBackend {
  const native = loadNativeAddon();
  if (!native.loaded) throw new ChainruleError(`native backend unavailable: ${native.reason}`);
  const isa = chooseIsa(native.isas, options.isa);
  const threads = chooseThreads(options.threads, native.cores);
  const kernels = new NativeKernelMethods(native.addon, native.args, isa, threads, fallback);
  const own = new Set(Object.getOwnPropertyNames(NativeKernelMethods.prototype));
  for (const [key, method] of methodsOf(fallback)) {
    if (!own.has(key)) Object.defineProperty(kernels, key, { value: method });
  }
  return kernels as unknown as NativeBackend;
}
