// Which kernels the engine calls. By default the WASM SIMD kernels (single-threaded, created
// on first use where a synchronous compile is allowed); `useFastestBackend()` adds worker
// threads. The reference backend is the fallback and the oracle every backend is tested against.

import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference/index.js';
import {
  createWasmKernels,
  createWasmKernelsSync,
  type WasmKernelsOptions,
  wasmSimdSupported,
} from './wasm/index.js';

export type { Kernels } from './kernels.js';

let active: Kernels | null = null;

const env = (name: string): string | undefined =>
  typeof process !== 'undefined' ? process.env?.[name] : undefined;

/** Browsers refuse large synchronous compiles on their main thread; Node and workers allow them. */
const syncCompileAllowed = () =>
  typeof process !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

function defaultBackend(): Kernels {
  if (env('CHAINRULE_BACKEND') === 'reference' || !wasmSimdSupported() || !syncCompileAllowed()) {
    return new ReferenceKernels();
  }
  return createWasmKernelsSync();
}

export function getBackend(): Kernels {
  active ??= defaultBackend();
  return active;
}

export function setBackend(kernels: Kernels): void {
  active = kernels;
}

/**
 * Switches to the fastest kernels available: WASM SIMD with worker threads (CHAINRULE_THREADS
 * or the core count), else the reference backend. CHAINRULE_BACKEND=reference opts out.
 */
export async function useFastestBackend(options: WasmKernelsOptions = {}): Promise<Kernels> {
  active =
    env('CHAINRULE_BACKEND') === 'reference' || !wasmSimdSupported()
      ? new ReferenceKernels()
      : await createWasmKernels(options);
  return active;
}

/** Runs fn with `kernels` as the active backend, restoring the previous one afterwards. */
export function withBackend<T>(kernels: Kernels, fn: () => T): T {
  const previous = active;
  active = kernels;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
