// Which kernels the engine calls. By default the native addon where it is built and loads
// (multi-threaded from the first op), else the WASM SIMD kernels (single-threaded, created on
// first use where a synchronous compile is allowed; `useFastestBackend()` adds worker
// threads), else the reference backend: the fallback and the oracle every backend is tested
// against. CHAINRULE_BACKEND (or the CLI's --backend) picks one explicitly.

import { ChainruleError } from '../errors.js';
import type { Kernels } from './kernels.js';
import { createNativeKernels, loadNativeAddon, type NativeKernelsOptions } from './native/index.js';
import { ReferenceKernels } from './reference/index.js';
import {
  chooseWasmBuild,
  createWasmKernels,
  createWasmKernelsSync,
  type WasmBuild,
  type WasmBuildChoice,
  type WasmKernelsOptions,
  wasmSimdSupported,
} from './wasm/index.js';

export type { Kernels } from './kernels.js';

export const BACKEND_NAMES = ['native', 'wasm', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What runs the kernels and why it was chosen, for `chainrule info` and error messages. */
export interface BackendInfo {
  name: string;
  /** The native backend's instruction set. */
  isa?: string;
  threads: number;
  reason: string;
  /**
   * The WASM build that runs (relaxed or plain) and why: the wasm backend's, or the one behind
   * the native backend for what it lacks; absent where no WASM runs.
   */
  wasm?: WasmBuildChoice;
}

let active: Kernels | null = null;
let activeReason = 'set by setBackend()';

const env = (name: string): string | undefined =>
  typeof process !== 'undefined' ? process.env?.[name] : undefined;

/** Browsers refuse large synchronous compiles on their main thread; Node and workers allow them. */
const syncCompileAllowed = () =>
  typeof process !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/** The backend CHAINRULE_BACKEND names, if it names one. */
function requestedByEnv(): BackendName | undefined {
  const value = env('CHAINRULE_BACKEND');
  if (value === undefined || value === '') return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new ChainruleError(
      `CHAINRULE_BACKEND=${value} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`,
    );
  }
  return value as BackendName;
}

/** The kernels behind the native ones for what they do not run: WASM if it compiles here. */
const nativeFallback = (build?: WasmBuild): Kernels =>
  wasmSimdSupported() && syncCompileAllowed() ? createWasmKernelsSync({ build }) : new ReferenceKernels();

interface Choice {
  name: BackendName;
  reason: string;
}

/** Picks a backend: the one asked for (by `flag`, else CHAINRULE_BACKEND), else the fastest here. */
function choose(requested: BackendName | undefined, how: string): Choice {
  if (requested) return { name: requested, reason: `${how} asked for it` };
  const native = loadNativeAddon();
  if (native.loaded) return { name: 'native', reason: `the native addon loaded from ${native.path}` };
  if (wasmSimdSupported()) return { name: 'wasm', reason: native.reason };
  return { name: 'reference', reason: `${native.reason}, and this runtime has no WebAssembly SIMD` };
}

function defaultBackend(): Kernels {
  const requested = requestedByEnv();
  const choice = choose(requested, `CHAINRULE_BACKEND=${requested}`);
  activeReason = choice.reason;
  if (choice.name === 'native') return createNativeKernels(nativeFallback());
  if (choice.name === 'wasm' && syncCompileAllowed()) {
    if (!wasmSimdSupported())
      throw new ChainruleError('CHAINRULE_BACKEND=wasm: this runtime has no WebAssembly SIMD');
    return createWasmKernelsSync();
  }
  if (choice.name === 'wasm') activeReason = 'a browser page compiles the WASM kernels asynchronously only';
  return new ReferenceKernels();
}

export function getBackend(): Kernels {
  active ??= defaultBackend();
  return active;
}

export function setBackend(kernels: Kernels): void {
  active = kernels;
  activeReason = 'set by setBackend()';
}

export type BackendOptions = WasmKernelsOptions & NativeKernelsOptions;

/**
 * Switches to `name` (else CHAINRULE_BACKEND, else the fastest available: native, then WASM
 * SIMD with worker threads, then reference), with `threads` (default CHAINRULE_THREADS or the
 * core count). Throws a ChainruleError naming the reason when the one asked for cannot run.
 */
export async function useBackend(
  name: BackendName | undefined,
  options: BackendOptions = {},
): Promise<Kernels> {
  const choice = choose(
    name ?? requestedByEnv(),
    name ? `--backend ${name}` : `CHAINRULE_BACKEND=${env('CHAINRULE_BACKEND')}`,
  );
  let kernels: Kernels;
  if (choice.name === 'native') {
    kernels = createNativeKernels(nativeFallback(options.build), options);
  } else if (choice.name === 'wasm') {
    if (!wasmSimdSupported())
      throw new ChainruleError('this runtime has no WebAssembly SIMD; use --backend reference');
    kernels = await createWasmKernels(options);
  } else {
    kernels = new ReferenceKernels();
  }
  active = kernels;
  activeReason = choice.reason;
  return kernels;
}

/** Switches to the fastest kernels available, or the ones CHAINRULE_BACKEND names. */
export function useFastestBackend(options: BackendOptions = {}): Promise<Kernels> {
  return useBackend(undefined, options);
}

/** The active backend (creating the default one if none is), with its settings and why it runs. */
export function backendInfo(): BackendInfo {
  const kernels = getBackend() as Kernels & { isa?: string; threads?: number; build?: WasmBuildChoice };
  const wasm =
    kernels.build ?? (kernels.name === 'native' && wasmSimdSupported() ? chooseWasmBuild() : undefined);
  return { name: kernels.name, isa: kernels.isa, threads: kernels.threads ?? 1, reason: activeReason, wasm };
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
