// Entry point of a kernel worker thread in Node (see threads-node.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { type KernelWorkerInit, serveKernelJobs } from './thread-pool.js';

serveKernelJobs(workerData as KernelWorkerInit, () => parentPort?.postMessage('started'));
