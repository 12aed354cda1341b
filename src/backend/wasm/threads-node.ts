// Node's side of the worker seam: spawning kernel workers with worker_threads. This is the
// only module of the backend that imports Node built-ins; a browser variant would provide the
// same KernelWorkerSpawner with Web Workers.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KernelWorkerHandle, KernelWorkerInit } from './thread-pool.js';

export function spawnNodeKernelWorker(init: KernelWorkerInit): KernelWorkerHandle {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  // An idle worker sleeps in Atomics.wait; it must not keep a finished CLI command alive.
  worker.unref();
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`wasm backend: worker exited with code ${code} before starting`)),
    );
  });
  return { ready, terminate: () => worker.terminate() };
}

export function nodeThreadCount(): number {
  return availableParallelism();
}
