// The Tensor: a contiguous row-major buffer with a shape and a dtype, plus the few fields the
// chain rule needs (the node that made it, its gradient, its forward-mode tangent).
// Arithmetic methods are attached by src/ops; this file knows nothing of any op's math.

import type { DataArray, DType } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import type { Node } from './node.js';
import { currentScope, ReleasedTensorError, type Scope, storage } from './pool.js';
import { defaultRng, type Rng } from './random.js';

export type { DType } from '../backend/kernels.js';
export type Shape = readonly number[];
export type NestedArray = number | NestedArray[];

let nextTensorId = 0;

export class Tensor {
  readonly id = nextTensorId++;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Null once the tidy() scope that made the tensor ended without it (see src/tensor/scope.ts). */
  #data: DataArray | null;
  #grad: Tensor | null = null;
  #node: Node | null = null;
  /** What made a released tensor, for the error that says it was used. */
  #madeBy: string | null = null;
  /** Set on leaves whose gradient the user wants in `.grad` after `backward()`. */
  requiresGrad = false;
  /** A label for printing and for `explain` (variable names of expressions). */
  name: string | undefined;
  /** @internal The open scope that decides at its end whether this tensor lives on (null: none does). */
  scope: Scope<Tensor> | null;

  constructor(data: DataArray, shape: Shape) {
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new ShapeError(
        `Tensor: ${data.length} values cannot fill shape ${formatShape(shape)} (needs ${size})`,
      );
    }
    this.#data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    const scope = currentScope<Tensor>();
    this.scope = scope;
    scope?.tensors.push(this);
  }

  /** The values, row-major: the tensor's storage itself, not a copy. */
  get data(): DataArray {
    if (this.#data === null) throw new ReleasedTensorError(this.shape, this.#madeBy);
    return this.#data;
  }

  /** @internal The storage, or null once released: for the scopes' bookkeeping, which must not throw. */
  get liveData(): DataArray | null {
    return this.#data;
  }

  /** The operation that produced this tensor in a recorded graph; null for leaves. */
  get node(): Node | null {
    if (this.#data === null) throw new ReleasedTensorError(this.shape, this.#madeBy);
    return this.#node;
  }

  set node(node: Node | null) {
    this.#node = node;
  }

  get grad(): Tensor | null {
    if (this.#data === null) throw new ReleasedTensorError(this.shape, this.#madeBy);
    return this.#grad;
  }

  /** A gradient set inside a scope lives on as long as this tensor does (the scope asks). */
  set grad(grad: Tensor | null) {
    this.#grad = grad;
    currentScope<Tensor>()?.gradOwners.push(this);
  }

  /** @internal Ends the tensor (its scope ended without it): using it throws from now on. */
  releaseForScope(): void {
    this.#madeBy = this.#node ? this.#node.op.name : null;
    this.#data = null;
    this.#node = null;
    this.#grad = null;
    this.scope = null;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True when this tensor takes part in reverse-mode differentiation. */
  get tracksGrad(): boolean {
    return this.requiresGrad || this.node !== null;
  }

  /** Marks a leaf as a parameter of the differentiation (PyTorch's requires_grad_). */
  requireGrad(flag = true): this {
    if (this.node && !flag) {
      throw new ChainruleError('requireGrad(false) on a non-leaf tensor: call detach() instead');
    }
    if (flag && this.dtype === 'int32') {
      throw new ChainruleError(
        "requireGrad(): an int32 tensor holds labels and has no gradient; cast it with .to('float32') first",
      );
    }
    this.requiresGrad = flag;
    return this;
  }

  /** A tensor sharing these values but cut from the graph: no gradient flows through it. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  item(): number {
    if (this.size !== 1) {
      throw new ShapeError(
        `item(): the tensor has ${this.size} elements (shape ${formatShape(this.shape)}), not 1`,
      );
    }
    return this.data[0];
  }

  /** Values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    const fmt = (v: number) => (this.dtype === 'int32' ? String(v) : formatNumber(v));
    const render = (value: NestedArray, depth: number): string => {
      if (!Array.isArray(value)) return fmt(value);
      if (value.length > 12) {
        const head = value.slice(0, 3).map((v) => render(v, depth + 1));
        const tail = value.slice(-3).map((v) => render(v, depth + 1));
        return `[${[...head, '...', ...tail].join(depth === this.ndim - 1 ? ', ' : `,\n${' '.repeat(depth + 8)}`)}]`;
      }
      const sep = depth === this.ndim - 1 ? ', ' : `,\n${' '.repeat(depth + 8)}`;
      return `[${value.map((v) => render(v, depth + 1)).join(sep)}]`;
    };
    const extras = [`shape=${formatShape(this.shape)}`, `dtype=${this.dtype}`];
    if (this.node) extras.push(`op=${this.node.op.name}`);
    else if (this.requiresGrad) extras.push('requiresGrad');
    return `tensor(${render(this.toArray(), 0)}, ${extras.join(', ')})`;
  }
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(`invalid shape ${formatShape(shape)}: sizes must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function dtypeOf(data: DataArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  throw new ChainruleError('tensor data must be a Float32Array, Float64Array or Int32Array');
}

/** Zeroed storage for `size` values (from the pool inside a scope: see pool.ts). */
export function allocate(dtype: DType, size: number): DataArray {
  return storage(dtype, size, true);
}

/** Storage that a kernel is about to overwrite whole (an op's output): not zeroed where that costs. */
export function allocateUninitialized(dtype: DType, size: number): DataArray {
  return storage(dtype, size, false);
}

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

function finish(t: Tensor, options: CreateOptions | undefined): Tensor {
  if (options?.requiresGrad) t.requireGrad();
  return t;
}

/** Builds a tensor from nested arrays, a number, or a typed array (with an optional shape). */
export function tensor(values: NestedArray | DataArray, options?: CreateOptions & { shape?: Shape }): Tensor {
  const dtype = options?.dtype ?? (ArrayBuffer.isView(values) ? dtypeOf(values) : 'float32');
  if (ArrayBuffer.isView(values)) {
    const data = dtypeOf(values) === dtype ? values : allocate(dtype, values.length);
    if (data !== values) data.set(values);
    return finish(new Tensor(data, options?.shape ?? [values.length]), options);
  }
  const shape: number[] = [];
  for (let v: NestedArray = values; Array.isArray(v); v = v[0]) shape.push(v.length);
  const data = allocate(dtype, sizeOf(shape));
  let i = 0;
  const fill = (v: NestedArray, dim: number) => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ShapeError('tensor(): nested arrays must be rectangular');
      data[i++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ShapeError(
        `tensor(): nested arrays must be rectangular (expected length ${shape[dim]} at depth ${dim})`,
      );
    }
    for (const item of v) fill(item, dim + 1);
  };
  fill(values, 0);
  const t = new Tensor(data, options?.shape ?? shape);
  return finish(t, options);
}

export function full(shape: Shape, value: number, options?: CreateOptions): Tensor {
  const data = allocate(options?.dtype ?? 'float32', sizeOf(shape));
  data.fill(value);
  return finish(new Tensor(data, shape), options);
}

export const zeros = (shape: Shape, options?: CreateOptions) => full(shape, 0, options);
export const ones = (shape: Shape, options?: CreateOptions) => full(shape, 1, options);

export function arange(start: number, stop?: number, step = 1, options?: CreateOptions): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new ChainruleError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocate(options?.dtype ?? 'float32', n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(new Tensor(data, [n]), options);
}

export function eye(n: number, options?: CreateOptions): Tensor {
  const data = allocate(options?.dtype ?? 'float32', n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return finish(new Tensor(data, [n, n]), options);
}

export interface RandomOptions extends CreateOptions {
  rng?: Rng;
}

function randomTensor(
  shape: Shape,
  options: RandomOptions | undefined,
  fill: (rng: Rng, data: DataArray) => void,
): Tensor {
  const data = allocate(options?.dtype ?? 'float32', sizeOf(shape));
  fill(options?.rng ?? defaultRng(), data);
  return finish(new Tensor(data, shape), options);
}

/** Uniform in [low, high). */
export function rand(shape: Shape, options?: RandomOptions & { low?: number; high?: number }): Tensor {
  return randomTensor(shape, options, (rng, data) => rng.fillUniform(data, options?.low, options?.high));
}

/** Normal with the given mean and standard deviation (0 and 1 by default). */
export function randn(shape: Shape, options?: RandomOptions & { mean?: number; std?: number }): Tensor {
  return randomTensor(shape, options, (rng, data) => rng.fillNormal(data, options?.mean, options?.std));
}
