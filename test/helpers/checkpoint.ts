// A trainer's snapshot taken through the checkpoint bytes and back, as a file would carry it.

import type { Normalization } from '../../src/data/loader.js';
import { decodeCheckpoint, encodeCheckpoint, snapshotOf } from '../../src/learn/checkpoint.js';
import type { Trainer, TrainerSnapshot } from '../../src/learn/types.js';

export function throughCheckpoint(
  trainer: Trainer,
  run: { normalization: Normalization; step: number; seed: number; batchSize: number; limit: number },
): TrainerSnapshot {
  const bytes = encodeCheckpoint(trainer.algorithm, trainer.snapshot(), {
    dataset: 'mnist',
    normalization: run.normalization,
    epoch: 0,
    step: run.step,
    metrics: {},
    run: { seed: run.seed, batchSize: run.batchSize, epochs: 1, limit: run.limit },
  });
  return snapshotOf(decodeCheckpoint(bytes, 'memory'));
}
