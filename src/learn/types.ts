// One interface for every learning rule. A Trainer owns a model and its update rule; the
// training loop (loop.ts) drives any Trainer over the data and emits the same events, which
// the CLI turns into progress bars and files and the playground into charts.

import type { Normalization, NormalizeKind } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Architecture } from './models.js';

/** A learning rule's name: a key of registry.ts's table, so a new rule is named there alone. */
export type { Algorithm } from './registry.js';

import type { Algorithm } from './registry.js';

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

/**
 * What a trainer needs saved to rebuild itself: the model's tensors (under `model.`) and the
 * optimiser's (under `optimizer.`), plus a JSON-able description. Read back from a file, the
 * description is untrusted until restoreTrainer has checked it.
 */
export interface TrainerSnapshot {
  tensors: Record<string, Tensor>;
  /** How the model turns an input into class scores by default (one of its rule's inferenceModes). */
  inference: string;
  architecture: Architecture;
  /** The rule's configuration, less what the architecture already says. */
  hyperparameters: Record<string, unknown>;
  /** Anything else needed to resume exactly (optimiser state, the sampler's RNG state). */
  resume: Record<string, unknown>;
}

/** The run's settings: how long, on what and in what order it trains (never part of a model's config). */
export interface RunSettings {
  seed: number;
  batchSize: number;
  epochs: number;
  /** Train on the first `limit` examples (null: all of them). */
  limit: number | null;
  /** Shift each training image by up to this many pixels each way (absent or 0: none); see DataLoader. */
  maxShift?: number;
  /** Evaluate after every this many epochs (absent or 1: each), and after the first and last; see trainLoop. */
  evalEvery?: number;
}

/** The safetensors `__metadata__` of a checkpoint (each field stored as a JSON string). */
export interface CheckpointMetadata extends Omit<TrainerSnapshot, 'tensors'> {
  format: 'chainrule-checkpoint';
  version: 2;
  algorithm: Algorithm;
  dataset: string;
  normalization: { kind: string; mean: number; std: number };
  /** The settings the run trained with, so `--resume` continues the same run. */
  run: RunSettings;
  epoch: number;
  step: number;
  metrics: Record<string, number | null>;
}

export interface Trainer {
  readonly algorithm: Algorithm;
  /** The default of its rule's inference modes (what scores() uses unless told otherwise). */
  readonly inference: string;
  /** Its rule's configuration, resolved and checked. */
  readonly config: object;
  /** The network it trains, and its description. */
  readonly model: Module;
  readonly architecture: Architecture;
  /** Total optimisation steps planned, so schedules can be set (call before the first step). */
  plan(totalSteps: number): void;
  /** One update on a minibatch: x [batch, features] float32, y [batch] int32. */
  step(x: Tensor, y: Tensor, options?: StepOptions): StepResult;
  /**
   * Class scores [batch, classes], higher meaning more likely; argmax is the prediction.
   * `inference` picks one of the rule's capabilities.inferenceModes (default: this.inference).
   */
  scores(x: Tensor, inference?: string): Tensor;
  /** Class probabilities [batch, classes] for display. */
  probabilities(x: Tensor, inference?: string): Tensor;
  /** Per-label scores [batch, classes] where the rule's capabilities.labelScores names them. */
  labelScores?(x: Tensor): Tensor;
  /**
   * Where its network settles over time steps (recurrent Forward-Forward): every hidden layer's
   * activity [rows, width] at each step, for one label clamped at the top of every row of x.
   */
  settle?(x: Tensor, label: number): Tensor[][];
  /** Where settle exists: the first and last step (1-based) whose goodness labelScores sums. */
  readonly scoredSteps?: readonly [number, number];
  /** The current learning rate, for the metrics. */
  readonly lr: number;
  /** The architecture for humans ("784-1024-BN-tanh-10"). */
  describe(): string;
  snapshot(): TrainerSnapshot;
  /** Takes the state of a snapshot of the same architecture; errors name `source`. */
  restore(snapshot: TrainerSnapshot, source?: string): void;
}

/** What a rule can do beyond training, so callers ask instead of testing classes. */
export interface Capabilities {
  /** The ways its trainers turn inputs into class scores; scores() takes any of them. */
  inferenceModes: readonly string[];
  /** What labelScores() returns (e.g. 'goodness'), or null where the rule has no per-label scores. */
  labelScores: string | null;
  /** The per-layer statistics a step reports when asked. */
  layerStats: readonly Exclude<keyof LayerStats, 'name'>[];
}

/** A named configuration and the run it was made for. */
export interface RulePreset<C> {
  summary: string;
  config: C;
  /** The run it was made for; maxShift is the image jitter (see RunSettings), absent for none. */
  run: { epochs: number; batchSize: number; normalization: NormalizeKind; maxShift?: number };
}

/**
 * A learning rule: everything a caller (the CLI, the playground, a test) needs to build,
 * check, save and restore its trainers. Every rule is one of these in registry.ts's table.
 */
export interface RuleDescriptor<C extends object = object> {
  /** Its key in registry.ts's table. */
  name: string;
  /** What it is, in a line. */
  summary: string;
  /** What the loss of its steps is; rules that name the same loss can share a loss axis. */
  loss: string;
  /** Named configurations; 'default' is used unless another is named. */
  presets: { default: RulePreset<C> } & Record<string, RulePreset<C>>;
  capabilities: Capabilities;
  /** The learning-rate schedules its configuration may name. */
  schedules: readonly string[];
  /**
   * Throws a ChainruleError naming `${where}.field` for the first bad setting other than the
   * architecture's (resolveConfig reads those through the architecture reader).
   */
  check(config: C, where: string): void;
  /** Settings that follow from how the inputs are scaled (Forward-Forward's label value). */
  inputSettings?(normalization: Normalization): Partial<C>;
  /** The fewest examples per minibatch the configuration can learn from (batch norm needs 2). */
  minBatchSize(config: C): number;
  /** The network the configuration describes; its fields are not repeated in the hyperparameters. */
  architecture(config: C): Architecture;
  /** A trainer for a checked configuration, initialised from `seed`. */
  build(config: C, seed: number): Trainer;
}
