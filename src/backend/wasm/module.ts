// Loading the kernels binary: choosing the build, decoding the embedded base64, compiling
// once per build and memory kind, and instantiating against a given memory. Shared by the
// main thread and the workers.

import { ChainruleError } from '../../errors.js';
import { plainWasmBase64, relaxedWasmBase64 } from './binary.js';

/** A kernel entry point: does `thread`'s share, out of `threads`, of the job at `args`. */
export type KernelTask = (args: number, thread: number, threads: number) => void;

/** The exported kernels, in the order the thread pool refers to them by index. */
export const KERNEL_TASKS = [
  'gemm_f32_task',
  'unary_f32_task',
  'binary_f32_task',
  'select_f32_task',
  'reduce_f32_task',
  'sgd_f32_task',
  'adam_f32_task',
  'im2col_f32_task',
  'col2im_f32_task',
  'max_pool2d_f32_task',
] as const;
export type KernelTaskName = (typeof KERNEL_TASKS)[number];

export type KernelExports = Record<KernelTaskName, KernelTask> & {
  /** First byte past the binary's static data and (unused) stack. */
  readonly __heap_base: WebAssembly.Global;
  /** Floats of packing scratch each thread needs for gemm_f32_task. */
  gemm_scratch_floats(): number;
};

/** 64 KiB pages of the wasm32 address space (4 GiB), the maximum the binaries declare. */
export const MAX_MEMORY_PAGES = 65536;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The two builds of kernels.c (scripts/build-wasm.sh): `relaxed` adds relaxed SIMD's fused
 * multiply-add; `plain`, SIMD128 only, runs on every engine with WebAssembly SIMD.
 */
export const WASM_BUILDS = ['relaxed', 'plain'] as const;
export type WasmBuild = (typeof WASM_BUILDS)[number];

const BINARIES: Record<WasmBuild, { single: string; shared: string }> = {
  relaxed: relaxedWasmBase64,
  plain: plainWasmBase64,
};

function binaryFor(build: WasmBuild, sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  const binaries = BINARIES[build];
  return decodeBase64(sharedMemory ? binaries.shared : binaries.single);
}

const compiled = new Map<string, WebAssembly.Module>();
const cacheKey = (build: WasmBuild, sharedMemory: boolean) =>
  `${build}/${sharedMemory ? 'shared' : 'single'}`;

/** Compiles (once) `build`'s binary for a shared or a plain memory, off the main thread where possible. */
export async function compileKernels(build: WasmBuild, sharedMemory: boolean): Promise<WebAssembly.Module> {
  const key = cacheKey(build, sharedMemory);
  const cached = compiled.get(key);
  if (cached) return cached;
  const module = await WebAssembly.compile(binaryFor(build, sharedMemory));
  compiled.set(key, module);
  return module;
}

/**
 * Synchronous compile, for Node and workers (browsers refuse to compile modules this
 * large synchronously on their main thread).
 */
export function compileKernelsSync(build: WasmBuild, sharedMemory: boolean): WebAssembly.Module {
  const key = cacheKey(build, sharedMemory);
  const cached = compiled.get(key);
  if (cached) return cached;
  const module = new WebAssembly.Module(binaryFor(build, sharedMemory));
  compiled.set(key, module);
  return module;
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);

/** Whether this engine runs WebAssembly fixed-width SIMD, which the kernels require. */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

// (module (func (param v128 v128 v128) (result v128)
//   local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32,
  1, 32, 2, 253, 133, 2, 11,
]);

/**
 * Whether this engine runs relaxed SIMD, which the relaxed build needs (Chromium 114+,
 * Firefox 145+, Node 21+, or Node 20 with --experimental-wasm-relaxed-simd).
 */
export function relaxedSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Which build runs, and why, for `chainrule info`. */
export interface WasmBuildChoice {
  build: WasmBuild;
  reason: string;
}

/**
 * Picks the build: `requested` (else the CHAINRULE_WASM_BUILD environment variable) when
 * given, else relaxed where the engine validates a relaxed SIMD instruction, else plain.
 * `relaxedValid` stands in for the engine's answer in tests.
 */
export function chooseWasmBuild(
  requested?: WasmBuild,
  relaxedValid: boolean = relaxedSimdSupported(),
): WasmBuildChoice {
  const fromEnv = typeof process !== 'undefined' ? process.env?.CHAINRULE_WASM_BUILD : undefined;
  const how = requested ? `build: '${requested}'` : `CHAINRULE_WASM_BUILD=${fromEnv}`;
  const wanted = requested ?? (fromEnv || undefined);
  if (wanted !== undefined && !(WASM_BUILDS as readonly string[]).includes(wanted)) {
    throw new ChainruleError(`${how} is not a WASM build; use one of ${WASM_BUILDS.join(', ')}`);
  }
  if (wanted === 'relaxed' && !relaxedValid) {
    throw new ChainruleError(
      `${how}: this engine has no relaxed SIMD (it needs Chromium 114+, Firefox 145+, Node 21+ or Node 20 with --experimental-wasm-relaxed-simd); use the plain build`,
    );
  }
  if (wanted !== undefined) return { build: wanted as WasmBuild, reason: `${how} asked for it` };
  return relaxedValid
    ? { build: 'relaxed', reason: 'WebAssembly.validate accepts f32x4.relaxed_madd here' }
    : { build: 'plain', reason: 'WebAssembly.validate rejects f32x4.relaxed_madd: no relaxed SIMD here' };
}
