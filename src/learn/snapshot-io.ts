// What the trainers share in turning themselves into a snapshot and back: a module's tensors
// under one name prefix, and rebuilding a trainer whose saved settings may be bad, with every
// error naming where the snapshot came from.

import { ChainruleError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TrainerSnapshot } from './types.js';

/** `module`'s state dict with every name under `prefix.`, added to `tensors`. */
export function addModuleTensors(tensors: Record<string, Tensor>, prefix: string, module: Module): void {
  for (const [name, t] of Object.entries(module.stateDict())) tensors[`${prefix}.${name}`] = t;
}

/** Loads the snapshot's tensors named `prefix.*` into `module`; a mismatch is reported against `source`. */
export function loadModuleTensors(
  snapshot: TrainerSnapshot,
  prefix: string,
  module: Module,
  source: string,
): void {
  const start = `${prefix}.`;
  const own: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(snapshot.tensors))
    if (name.startsWith(start)) own[name.slice(start.length)] = t;
  try {
    module.loadStateDict(own);
  } catch (error) {
    if (!(error instanceof ChainruleError)) throw error;
    throw new ChainruleError(`${source}: ${error.message}`);
  }
}

/**
 * A trainer rebuilt from a snapshot: `create` builds it from the saved settings (a setting it
 * refuses is reported as an invalid `what` in `source`), then it takes the snapshot's state.
 */
export function rebuildTrainer<T extends { restore(snapshot: TrainerSnapshot, source: string): void }>(
  snapshot: TrainerSnapshot,
  source: string,
  what: string,
  create: () => T,
): T {
  let trainer: T;
  try {
    trainer = create();
  } catch (error) {
    if (!(error instanceof ChainruleError)) throw error;
    throw new ChainruleError(`${source}: invalid ${what}: ${error.message}`);
  }
  trainer.restore(snapshot, source);
  return trainer;
}
