// The WebAssembly SIMD backend: kernels compiled from kernels.c, optionally sharing large
// kernels with worker threads.

import { WasmHeap } from './heap.js';
import { chooseWasmBuild, compileKernels, compileKernelsSync, type WasmBuild } from './module.js';
import { ThreadPool } from './thread-pool.js';
import { KernelInstance, WasmKernels } from './wasm-kernels.js';

export {
  chooseWasmBuild,
  relaxedSimdSupported,
  WASM_BUILDS,
  type WasmBuild,
  type WasmBuildChoice,
  wasmSimdSupported,
} from './module.js';
export { WasmKernels } from './wasm-kernels.js';

export interface WasmKernelsOptions {
  /**
   * Threads that share large kernels, the calling one included. Defaults to the
   * CHAINRULE_THREADS environment variable, else os.availableParallelism(). 1 runs
   * everything on the calling thread, with no workers and no SharedArrayBuffer. Outside
   * Node the backend is single-threaded for now.
   */
  threads?: number;
  /**
   * Which build of the kernels runs: 'relaxed' (fused multiply-add) or 'plain'. Defaults to
   * the CHAINRULE_WASM_BUILD environment variable, else relaxed where the engine has it.
   */
  build?: WasmBuild;
}

type NodeThreads = typeof import('./threads-node.js');

// A computed specifier keeps bundlers from pulling the Node-only worker module (and its
// node: imports) into browser builds.
const nodeThreadsModule = './threads-node.js';

async function loadNodeThreads(): Promise<NodeThreads | null> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  return isNode ? ((await import(/* @vite-ignore */ nodeThreadsModule)) as NodeThreads) : null;
}

function requestedThreads(option: number | undefined, defaultCount: () => number): number {
  const fromEnv = typeof process !== 'undefined' ? process.env.CHAINRULE_THREADS : undefined;
  const threads = option ?? (fromEnv ? Number(fromEnv) : defaultCount());
  if (!Number.isInteger(threads) || threads < 1) {
    const source = option === undefined ? `CHAINRULE_THREADS=${fromEnv}` : `threads: ${option}`;
    throw new RangeError(`wasm backend: ${source} is not a positive integer`);
  }
  return threads;
}

/** Creates the WebAssembly backend, starting its worker threads when threads > 1. */
export async function createWasmKernels(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const node = await loadNodeThreads();
  const requested = requestedThreads(options.threads, () => node?.nodeThreadCount() ?? 1);
  const threads = node && typeof SharedArrayBuffer === 'function' ? requested : 1;
  const build = chooseWasmBuild(options.build);
  const serial = new KernelInstance(await compileKernels(build.build, false), WasmHeap.createMemory(false));
  if (threads === 1 || !node) return new WasmKernels(build, serial);
  const module = await compileKernels(build.build, true);
  const memory = WasmHeap.createMemory(true);
  const pool = new ThreadPool(threads, module, memory, node.spawnNodeKernelWorker);
  try {
    await pool.ready();
  } catch (error) {
    await pool.close();
    throw error;
  }
  return new WasmKernels(build, serial, new KernelInstance(module, memory, pool));
}

/**
 * Creates a single-threaded WebAssembly backend synchronously, for code that cannot await
 * (Node, or a browser worker: browsers refuse synchronous compiles this large on their
 * main thread). createWasmKernels can add threads later.
 */
export function createWasmKernelsSync(options: Pick<WasmKernelsOptions, 'build'> = {}): WasmKernels {
  const build = chooseWasmBuild(options.build);
  const module = compileKernelsSync(build.build, false);
  return new WasmKernels(build, new KernelInstance(module, WasmHeap.createMemory(false)));
}
