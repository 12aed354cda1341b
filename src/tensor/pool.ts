// Where tensor storage comes from. Outside any scope every buffer is fresh, as it always was.
// Inside a scope (tidy, src/tensor/scope.ts) a buffer comes from a pool keyed by its size when
// one of that size is idle there, and the buffers of the scope's tensors that do not outlive it
// go back to the pool when it ends, so the next training step reuses the last one's storage.
// This file knows which buffers a scope handed out and which tensors it made; scope.ts decides
// which of them live on.

import type { DataArray, DType } from '../backend/kernels.js';
import { ChainruleError, formatShape } from '../errors.js';

/** A scope over tensors of type T (Tensor: this file does not import it, which imports this one). */
export interface Scope<T extends object = object> {
  readonly parent: Scope<T> | null;
  /** Tensors made while this scope was the innermost, and those that outlived its inner scopes. */
  readonly tensors: T[];
  /** Buffers the pool handed out in this scope, and those its inner scopes' survivors hold. */
  readonly buffers: ArrayBuffer[];
  /** Tensors whose `.grad` was set in this scope: the gradient of a tensor that lives on lives on. */
  readonly gradOwners: T[];
}

let innermost: Scope | null = null;

/** The scope that new tensors and buffers belong to, or null outside every scope. */
export function currentScope<T extends object>(): Scope<T> | null {
  return innermost as Scope<T> | null;
}

export function openScope<T extends object>(): Scope<T> {
  const scope: Scope<T> = { parent: innermost as Scope<T> | null, tensors: [], buffers: [], gradOwners: [] };
  innermost = scope;
  return scope;
}

/** Makes `scope`'s parent the innermost again; `scope` must be the innermost. */
export function leaveScope(scope: Scope<object>): void {
  if (innermost !== scope) throw new ChainruleError('internal: tidy() scopes closed out of order');
  innermost = scope.parent;
  if (innermost === null) trimPool();
}

// ---- the pool ------------------------------------------------------------------------------

/** Idle buffers by byte length, and the outermost scope that last took or returned one of that length. */
const idle = new Map<number, { buffers: ArrayBuffer[]; lastUsed: number }>();
/** Outermost scopes ended so far. */
let generation = 0;
/**
 * A size no outermost scope has used for this many scopes (the last, smaller batch of an
 * epoch, a run with other shapes) leaves the pool. Enough for an evaluation's batches (each in
 * a scope of its own) to pass without evicting the training steps' storage, and the other way.
 */
const IDLE_SCOPES = 64;

function trimPool(): void {
  generation++;
  for (const [bytes, entry] of idle) {
    if (generation - entry.lastUsed > IDLE_SCOPES) {
      stats.pooledBuffers -= entry.buffers.length;
      stats.pooledBytes -= entry.buffers.length * bytes;
      idle.delete(bytes);
    }
  }
}

/** Puts a buffer no live tensor holds back in the pool. */
export function recycle(buffer: ArrayBuffer): void {
  const bytes = buffer.byteLength;
  let entry = idle.get(bytes);
  if (!entry) idle.set(bytes, (entry = { buffers: [], lastUsed: generation }));
  entry.buffers.push(buffer);
  entry.lastUsed = generation;
  stats.pooledBuffers++;
  stats.pooledBytes += bytes;
}

function takeIdle(bytes: number): ArrayBuffer | undefined {
  const entry = idle.get(bytes);
  const buffer = entry?.buffers.pop();
  if (buffer) {
    entry!.lastUsed = generation;
    stats.pooledBuffers--;
    stats.pooledBytes -= bytes;
  }
  return buffer;
}

/** Counts since the process started; a test or a bench reads the difference over a step. */
export interface PoolStats {
  /** Buffers (and their bytes) created new for tensor storage, in a scope or outside one. */
  freshBuffers: number;
  freshBytes: number;
  /** Buffers a scope took from the pool instead. */
  reusedBuffers: number;
  reusedBytes: number;
  /** Buffers idle in the pool now, and their bytes. */
  pooledBuffers: number;
  pooledBytes: number;
}

const stats: PoolStats = {
  freshBuffers: 0,
  freshBytes: 0,
  reusedBuffers: 0,
  reusedBytes: 0,
  pooledBuffers: 0,
  pooledBytes: 0,
};

/** A copy of the storage counters (see PoolStats). */
export function poolStats(): PoolStats {
  return { ...stats };
}

// ---- storage -------------------------------------------------------------------------------

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Node's Buffer, absent in browsers. */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;

/** Below this many bytes typed arrays live on V8's heap, where zeroing them costs next to nothing. */
const UNINITIALIZED_MIN_BYTES = 4096;

/**
 * Storage for `size` values of `dtype`: zeroed, or (`zeroed` false) holding whatever it held,
 * for a kernel that overwrites it whole. In Node fresh storage of the second kind is not zeroed
 * first: zeroing fresh memory, and faulting its pages in, cost more than many of the kernels
 * that fill it (1.6 ms against 9 µs for 3 MiB, measured). Inside a scope it comes from the pool
 * when it can, and is the scope's to hand back.
 */
export function storage(dtype: DType, size: number, zeroed: boolean): DataArray {
  const array = Object.hasOwn(ARRAYS, dtype) ? ARRAYS[dtype] : undefined;
  if (array === undefined) {
    throw new ChainruleError(`unknown dtype '${dtype as string}': use float32, float64 or int32`);
  }
  const bytes = size * array.BYTES_PER_ELEMENT;
  const scope = innermost;
  if (scope && bytes > 0) {
    const reused = takeIdle(bytes);
    if (reused) {
      stats.reusedBuffers++;
      stats.reusedBytes += bytes;
      scope.buffers.push(reused);
      const view = new array(reused);
      if (zeroed) view.fill(0);
      return view;
    }
  }
  const fresh = freshStorage(array, size, bytes, zeroed, scope !== null);
  if (bytes === 0) return fresh;
  stats.freshBuffers++;
  stats.freshBytes += bytes;
  if (scope) scope.buffers.push(fresh.buffer as ArrayBuffer);
  return fresh;
}
function freshStorage(
  array: (typeof ARRAYS)[DType],
  size: number,
  bytes: number,
  zeroed: boolean,
  pooled: boolean,
): DataArray {
  try {
    // A pooled view spans its whole buffer, so the buffer's length is the pool's key.
    if (!zeroed && NodeBuffer && bytes >= UNINITIALIZED_MIN_BYTES) {
      return new array(NodeBuffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer, 0, size);
    }
    return pooled ? new array(new ArrayBuffer(bytes)) : new array(size);
  } catch (err) {
    // The engine refuses lengths past its typed-array limit or memory it cannot get: say which tensor.
    if (!(err instanceof RangeError)) throw err;
    const gib = bytes / 2 ** 30;
    const dtype = Object.keys(ARRAYS).find((name) => ARRAYS[name as DType] === array);
    throw new ChainruleError(
      `cannot allocate a ${dtype} tensor of ${size} elements (${gib.toFixed(1)} GiB): ${err.message}; ` +
        'one tensor cannot hold that many; use a smaller shape',
      { cause: err },
    );
  }
}

/** Using a tensor after the scope that made it ended (and gave its storage to other tensors). */
export class ReleasedTensorError extends ChainruleError {
  override name = 'ReleasedTensorError';

  constructor(shape: readonly number[], madeBy: string | null) {
    super(
      `this tensor (shape ${formatShape(shape)}${madeBy ? `, made by ${madeBy}` : ''}) was released when the ` +
        'tidy() scope that made it ended, and its storage went back to the pool for other tensors; ' +
        'return it from the function given to tidy(), or keep() it, to use it after the scope',
    );
  }
}
