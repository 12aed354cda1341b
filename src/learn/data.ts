// Adapts a dataset to what the training loop consumes: shuffled training batches per epoch,
// test batches, and a fixed training subset for measuring train accuracy cheaply.

import { DataLoader, type Normalization } from '../data/loader.js';
import type { Dataset } from '../data/split.js';
import type { TrainingData } from './loop.js';

export interface DataOptions {
  batchSize: number;
  seed: number;
  normalization: Normalization;
  /** Train on the first `limit` examples only (quick runs, tests). */
  limit?: number;
  /** Examples of the training set on which train accuracy is measured each epoch. */
  trainEvalCount?: number;
  /** Test examples evaluated (all by default). */
  testLimit?: number;
  /** The shape of one example the model takes (inputShapeOf): images [1, rows, cols] or flat rows. */
  inputShape?: readonly number[];
  /** Random shifts of the training images, up to this many pixels (default 0). */
  maxShift?: number;
}

const EVAL_BATCH = 1000;

export function trainingData(dataset: Dataset, o: DataOptions): TrainingData {
  const images = o.inputShape !== undefined && o.inputShape.length === 3;
  const train = new DataLoader(dataset.train, {
    batchSize: o.batchSize,
    shuffle: true,
    seed: o.seed,
    normalize: o.normalization,
    limit: o.limit,
    images,
    maxShift: o.maxShift,
  });
  const test = new DataLoader(dataset.test, {
    batchSize: EVAL_BATCH,
    normalize: o.normalization,
    limit: o.testLimit,
    images,
  });
  const trainEval = new DataLoader(dataset.train, {
    batchSize: EVAL_BATCH,
    normalize: o.normalization,
    limit: Math.min(o.trainEvalCount ?? 10_000, train.count),
    images,
  });
  return {
    trainBatches: (epoch) => train.batches(epoch),
    trainBatchCount: train.length,
    testBatches: () => test.batches(0),
    trainEvalBatches: () => trainEval.batches(0),
  };
}
