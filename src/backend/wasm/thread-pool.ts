// The fork-join protocol between the calling thread and the kernel workers, independent of
// how workers are spawned (threads-node.ts for Node; a Web Worker variant can implement the
// same KernelWorkerSpawner). All threads instantiate the same module over one shared memory,
// so a job is just (kernel index, argument address): the caller publishes it in a small
// shared control block, wakes the workers, does share 0 itself, and waits for the rest.
//
// The Kernels interface is synchronous, so the caller blocks in Atomics.wait. Node allows
// that on its main thread; in a browser the caller would have to be a worker itself.

import { instantiateKernels, KERNEL_TASKS, type KernelExports, type KernelTaskName } from './module.js';

/** What a worker is started with (structured-cloned, the memory and control block shared). */
export interface KernelWorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** This worker's share index, 1-based: share 0 belongs to the calling thread. */
  thread: number;
}

export interface KernelWorkerHandle {
  /** Settles when the worker has instantiated the kernels, or rejects if it failed to start. */
  readonly ready: Promise<void>;
  terminate(): Promise<unknown>;
}

export type KernelWorkerSpawner = (init: KernelWorkerInit) => KernelWorkerHandle;

// Int32 slots of the control block.
const GENERATION = 0; // bumped once per job; workers sleep on it
const PENDING = 1; // workers still running the current job
const TASK = 2;
const ARGS = 3;
const THREADS = 4;
const FAILED = 5; // set by a worker whose share threw
const STOP = 6;
const CONTROL_SLOTS = 7;

// Neither side spins before Atomics.wait. A spinning thread occupies a core that the thread
// it waits for may need: on the 2-vCPU development VM a round trip took 5-9 µs with plain
// futex waits and 100-200 µs with a 20 µs spin (the woken thread queued behind the spinner).

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly workers: KernelWorkerHandle[] = [];

  /** Starts threads - 1 workers; the calling thread is the remaining one. */
  constructor(
    readonly threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    spawn: KernelWorkerSpawner,
  ) {
    const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
    this.control = new Int32Array(control);
    for (let thread = 1; thread < threads; thread++) {
      this.workers.push(spawn({ module, memory, control, thread }));
    }
  }

  /** Resolves once every worker runs, so that failures to start surface here. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.ready));
  }

  /** Runs `task` on every thread and returns when all shares are done. */
  run(exports: KernelExports, task: KernelTaskName, args: number): void {
    const control = this.control;
    control[TASK] = KERNEL_TASKS.indexOf(task);
    control[ARGS] = args;
    control[THREADS] = this.threads;
    Atomics.store(control, PENDING, this.workers.length);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    let callerError: unknown = null;
    try {
      exports[task](args, 0, this.threads);
    } catch (error) {
      callerError = error;
    }
    // Even when share 0 failed, wait: the workers are still writing into the arena.
    for (
      let pending = Atomics.load(control, PENDING);
      pending !== 0;
      pending = Atomics.load(control, PENDING)
    ) {
      Atomics.wait(control, PENDING, pending);
    }
    if (callerError !== null) throw callerError;
    if (Atomics.exchange(control, FAILED, 0) !== 0)
      throw new Error(`wasm backend: a worker failed in ${task}`);
  }

  /** Stops and terminates the workers. */
  async close(): Promise<void> {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * A worker's life: instantiate the kernels over the shared memory, report `onStarted`, then
 * run its share of each job until stopped. Never returns before the pool closes.
 */
export function serveKernelJobs(init: KernelWorkerInit, onStarted: () => void): void {
  const control = new Int32Array(init.control);
  const exports = instantiateKernels(init.module, init.memory);
  onStarted();
  let seen = 0;
  for (;;) {
    let generation = Atomics.load(control, GENERATION);
    while (generation === seen) {
      Atomics.wait(control, GENERATION, seen);
      generation = Atomics.load(control, GENERATION);
    }
    seen = generation;
    if (Atomics.load(control, STOP) !== 0) return;
    try {
      exports[KERNEL_TASKS[control[TASK]]](control[ARGS], init.thread, control[THREADS]);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
  }
}
