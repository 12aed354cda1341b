// Loading the kernels binary: decoding the embedded base64, compiling once per memory kind,
// and instantiating against a given memory. Shared by the main thread and the workers.

import { sharedMemoryWasmBase64, singleThreadedWasmBase64 } from './binary.js';

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

function binaryFor(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  return decodeBase64(sharedMemory ? sharedMemoryWasmBase64 : singleThreadedWasmBase64);
}

const compiled = new Map<boolean, WebAssembly.Module>();

/** Compiles (once) the binary for a shared or a plain memory, off the main thread where possible. */
export async function compileKernels(sharedMemory: boolean): Promise<WebAssembly.Module> {
  const cached = compiled.get(sharedMemory);
  if (cached) return cached;
  const module = await WebAssembly.compile(binaryFor(sharedMemory));
  compiled.set(sharedMemory, module);
  return module;
}

/**
 * Synchronous compile, for Node and workers (browsers refuse to compile modules this
 * large synchronously on their main thread).
 */
export function compileKernelsSync(sharedMemory: boolean): WebAssembly.Module {
  const cached = compiled.get(sharedMemory);
  if (cached) return cached;
  const module = new WebAssembly.Module(binaryFor(sharedMemory));
  compiled.set(sharedMemory, module);
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
