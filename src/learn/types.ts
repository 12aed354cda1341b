// One interface for every learning rule. A Trainer owns a model and its update rule; the
// training loop (loop.ts) drives any Trainer over the data and emits the same events, which
// the CLI turns into progress bars and files and the playground into charts.

import type { Tensor } from '../tensor/tensor.js';

export type Algorithm = 'bp' | 'ff' | 'fg';

export const ALGORITHMS: Record<Algorithm, string> = {
  bp: 'backpropagation (reverse-mode chain rule)',
  ff: 'Forward-Forward (a local loss per layer, no backward pass across layers)',
  fg: 'forward gradients (forward-mode JVPs along random directions, no backward pass)',
};

/** What one training step reports. */
export interface StepResult {
  loss: number;
  /** Per-layer statistics (norms, FF goodness) for live views, when the step was asked for them. */
  layers?: LayerStats[];
}

export interface StepOptions {
  /**
   * Also report per-layer statistics. They cost extra reductions every step (0.8 ms of a
   * 10.5 ms seed-network step for its weight-gradient norms), so only a view that shows them asks.
   */
  layerStats?: boolean;
}

export interface LayerStats {
  name: string;
  activationNorm?: number;
  gradientNorm?: number;
  goodnessPositive?: number;
  goodnessNegative?: number;
}

/** What a trainer needs saved to rebuild itself: weights plus JSON-able description. */
export interface TrainerSnapshot {
  tensors: Record<string, Tensor>;
  /** How the model turns an input into class scores (e.g. 'logits', 'goodness', 'softmax'). */
  inference: string;
  architecture: Record<string, unknown>;
  hyperparameters: Record<string, unknown>;
  /** Anything else needed to resume exactly (optimiser step counts, RNG state). */
  resume: Record<string, unknown>;
}

/** The safetensors `__metadata__` of a checkpoint (each field stored as a JSON string). */
export interface CheckpointMetadata extends Omit<TrainerSnapshot, 'tensors'> {
  format: 'chainrule-checkpoint';
  version: 1;
  algorithm: Algorithm;
  dataset: string;
  normalization: { kind: string; mean: number; std: number };
  /** The run's settings, so `--resume` continues the same run. */
  run: { seed: number; batchSize: number; epochs: number; limit: number | null };
  epoch: number;
  step: number;
  metrics: Record<string, number | null>;
}

export interface Trainer {
  readonly algorithm: Algorithm;
  /** Total optimisation steps planned, so schedules can be set (call before the first step). */
  plan(totalSteps: number): void;
  /** One update on a minibatch: x [batch, features] float32, y [batch] int32. */
  step(x: Tensor, y: Tensor, options?: StepOptions): StepResult;
  /** Class scores [batch, classes], higher meaning more likely; argmax is the prediction. */
  scores(x: Tensor): Tensor;
  /** Class probabilities [batch, classes] for display. */
  probabilities(x: Tensor): Tensor;
  /** The current learning rate, for the metrics. */
  readonly lr: number;
  /** The architecture for humans ("784-1024-BN-tanh-10"). */
  describe(): string;
  snapshot(): TrainerSnapshot;
}
