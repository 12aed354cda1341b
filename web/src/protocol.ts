// The messages between the page and a training worker (one worker per learning rule).

import type { Algorithm, Architecture, CheckpointMetadata, LayerStats, Split } from '../../src/browser.js';

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Hidden layer widths, input side first (the seed network has one). */
  hidden: number[];
  /** Train on the first N training examples. */
  trainExamples: number;
  /** Evaluate on the first N test examples. */
  testExamples: number;
  seed: number;
  /** Test evaluations per epoch, for the accuracy-against-time curve. */
  evaluationsPerEpoch: number;
}

/** How the form names each setting, so errors from the library's run set-up name its field. */
export const SETTING_LABELS: Record<string, string> = {
  epochs: 'epochs',
  batchSize: 'batch size',
  lr: 'learning rate',
  hidden: 'hidden widths',
  limit: 'training examples',
  seed: 'seed',
};

export interface TrainingSplits {
  train: Split;
  test: Split;
}

export type ToWorker =
  | { type: 'train'; algorithm: Algorithm; settings: TrainSettings; data: TrainingSplits }
  | { type: 'stop' }
  | { type: 'resume' }
  | { type: 'checkpoint' }
  /** A checkpoint file's bytes; the model is evaluated on `test` once restored. */
  | { type: 'load'; bytes: Uint8Array; name: string; test: Split; testExamples: number }
  /** 28x28 grey pixel bytes, light on dark as in MNIST. */
  | { type: 'predict'; id: number; pixels: Uint8Array }
  /** How a network that settles over time steps (Trainer.settle) settles on one image. */
  | { type: 'settle'; id: number; pixels: Uint8Array };

/** How a recurrent net settled on one image, with each label in turn clamped at the top. */
export interface Settling {
  /** Width of each hidden layer, input side first. */
  widths: number[];
  /** Time steps it ran for. */
  steps: number;
  /** The first and last step (1-based) whose goodness the rule's scores sum. */
  scored: readonly [number, number];
  /**
   * Per label: every step's activity, step by step, each step the hidden layers' units one
   * layer after another [steps × sum of widths].
   */
  activity: Float32Array[];
  /** Per label: the goodness at each step (the squared activities of every layer, summed). */
  goodness: number[][];
  /** Per label: the rule's own score (labelScores); its largest is the prediction. */
  scores: number[];
}

/** What the page needs to show a model: its summary and architecture. */
export interface ModelInfo {
  model: string;
  architecture: Architecture;
}

export type FromWorker =
  | ({ type: 'started'; epochs: number } & ModelInfo)
  | {
      type: 'progress';
      /** Wall-clock seconds of training in this worker (stopped time excluded). */
      seconds: number;
      epoch: number;
      batch: number;
      batches: number;
      /** The smoothed training loss (the loop's moving average, carried across epochs). */
      loss: number;
      samplesPerSecond: number;
      layers?: LayerStats[];
    }
  | { type: 'evaluation'; seconds: number; epoch: number; testAccuracy: number }
  | { type: 'stopped'; reason: 'done' | 'interrupted' | 'time'; step: number }
  | { type: 'checkpoint'; bytes: Uint8Array }
  | ({ type: 'loaded'; metadata: CheckpointMetadata; testAccuracy: number } & ModelInfo)
  | {
      type: 'prediction';
      id: number;
      probabilities: number[];
      /** Forward-Forward only: the goodness of the image paired with each candidate label. */
      goodness?: number[];
    }
  | { type: 'settling'; id: number; settling: Settling }
  | { type: 'error'; message: string };
