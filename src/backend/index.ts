// Which kernels the engine calls. The fastest available backend registers itself here;
// the reference backend is the fallback and the oracle.

import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference/index.js';

export type { Kernels } from './kernels.js';

let active: Kernels = new ReferenceKernels();

export function getBackend(): Kernels {
  return active;
}

export function setBackend(kernels: Kernels): void {
  active = kernels;
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
