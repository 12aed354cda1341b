// Backpropagation on the seed network of our founding question:
//   Input -> Linear -> BatchNorm -> Tanh -> Linear -> cross-entropy.
// Every step waits for the loss, then one backward pass gives every parameter's gradient.

import { Linear, ReLU, Sequential, Tanh } from '../nn/layers.js';
import { BatchNorm1d } from '../nn/normalization.js';
import { noGrad } from '../ops/dispatch.js';
import { crossEntropy } from '../ops/nn.js';
import { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkChoice, checkInteger, checkKnownKeys, checkNumber, checkWidths } from './config-checks.js';
import {
  OPTIMIZERS,
  type OptimizerConfig,
  type SavedOptimizer,
  SCHEDULES,
  type ScheduledOptimizer,
  scheduledOptimizer,
} from './optimizer-state.js';
import { addModuleTensors, loadModuleTensors, rebuildTrainer } from './snapshot-io.js';
import type { StepOptions, StepResult, Trainer, TrainerSnapshot } from './types.js';

export interface SeedNetworkShape {
  inputs: number;
  /**
   * Widths of the hidden layers, each Linear -> BatchNorm -> Tanh. The seed network has one
   * (1024 by default); more make the deep networks whose memory `compare` sets against FF's.
   */
  hidden: number[];
  classes: number;
  /** Batch normalisation between the first Linear and the tanh (the seed network has it). */
  batchNorm: boolean;
}

export interface BPConfig extends SeedNetworkShape, OptimizerConfig {}

/**
 * Defaults chosen to reach 98% MNIST test accuracy in 5 epochs: standardised inputs, a wide
 * hidden layer, Adam with a one-cycle schedule peaking at 3e-3 (plain SGD at 0.1 stops near
 * 96.6% in 5 epochs in PyTorch).
 */
export const BP_DEFAULTS: BPConfig = {
  inputs: 784,
  hidden: [1024],
  classes: 10,
  batchNorm: true,
  optimizer: 'adam',
  lr: 3e-3,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'onecycle',
};

/** The seed network; its parameter names match torch.nn.Sequential's ('0.weight', '1.running_mean', ...). */
/** The seed network's hidden activation, or ReLU for the networks that learn without it. */
export type HiddenActivation = 'tanh' | 'relu';

export function seedNetwork(
  shape: SeedNetworkShape,
  rng: Rng,
  activation: HiddenActivation = 'tanh',
): Sequential {
  const widths = [shape.inputs, ...shape.hidden];
  const hidden = shape.hidden.flatMap((width, i) => [
    new Linear(widths[i], width, { rng }),
    ...(shape.batchNorm ? [new BatchNorm1d(width)] : []),
    activation === 'tanh' ? new Tanh() : new ReLU(),
  ]);
  return new Sequential(...hidden, new Linear(widths.at(-1)!, shape.classes, { rng }));
}

/** "784-1024-BN-tanh-10". */
export const describeSeedNetwork = (s: SeedNetworkShape, activation: HiddenActivation = 'tanh') =>
  [s.inputs, ...s.hidden.map((w) => `${w}${s.batchNorm ? '-BN' : ''}-${activation}`), s.classes].join('-');

class BackpropTrainer implements Trainer {
  readonly algorithm = 'bp' as const;
  readonly model: Sequential;
  private readonly optimizer: ScheduledOptimizer;

  constructor(
    readonly config: BPConfig,
    seed: number,
  ) {
    this.model = seedNetwork(config, new Rng(seed));
    this.optimizer = scheduledOptimizer(this.model.parameters(), config);
  }

  plan(totalSteps: number): void {
    this.optimizer.plan(totalSteps);
  }

  step(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    this.model.train();
    const loss = crossEntropy(this.model.forward(x), y);
    loss.backward();
    const layers = options.layerStats
      ? noGrad(() =>
          this.model
            .namedParameters()
            .filter(([name]) => name.endsWith('weight'))
            .map(([name, p]) => ({ name, gradientNorm: p.grad ? p.grad.norm().item() : 0 })),
        )
      : undefined;
    this.optimizer.step();
    return { loss: loss.item(), layers };
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  scores(x: Tensor): Tensor {
    this.model.eval();
    return noGrad(() => this.model.forward(x));
  }

  probabilities(x: Tensor): Tensor {
    return this.scores(x).softmax(-1);
  }

  describe(): string {
    return describeSeedNetwork(this.config);
  }

  snapshot(): TrainerSnapshot {
    const tensors: Record<string, Tensor> = {};
    addModuleTensors(tensors, 'model', this.model);
    const { inputs, hidden, classes, batchNorm, ...hyperparameters } = this.config;
    return {
      tensors,
      inference: 'logits',
      architecture: { kind: 'seed-network', inputs, hidden, classes, batchNorm },
      hyperparameters,
      resume: { optimizer: this.optimizer.save(tensors) },
    };
  }

  restore(snapshot: TrainerSnapshot, source = 'checkpoint'): void {
    loadModuleTensors(snapshot, 'model', this.model, source);
    const saved = snapshot.resume.optimizer as SavedOptimizer | undefined;
    if (saved) this.optimizer.load(saved, snapshot.tensors);
  }
}

function checkBPConfig(c: BPConfig): void {
  const owner = 'backprop';
  checkInteger(owner, 'inputs', c.inputs);
  checkWidths(owner, 'hidden', c.hidden);
  checkInteger(owner, 'classes', c.classes, 2);
  checkChoice(owner, 'optimizer', c.optimizer, OPTIMIZERS);
  checkChoice(owner, 'schedule', c.schedule, SCHEDULES);
  checkNumber(owner, 'lr', c.lr, 0);
  checkNumber(owner, 'momentum', c.momentum, 0, 1);
  checkNumber(owner, 'weightDecay', c.weightDecay, 0);
}

export function createBPTrainer(config: Partial<BPConfig>, options: { seed: number }): BackpropTrainer {
  checkKnownKeys('backprop', config, BP_DEFAULTS);
  const given = Object.entries(config).filter(([, v]) => v !== undefined);
  const full: BPConfig = { ...BP_DEFAULTS, ...Object.fromEntries(given) };
  checkBPConfig(full);
  return new BackpropTrainer(full, options.seed);
}

/** Rebuilds a trainer from snapshot() (e.g. a checkpoint read back), to evaluate or resume. */
export function bpFromSnapshot(snapshot: TrainerSnapshot, source = 'checkpoint'): BackpropTrainer {
  const { kind: _kind, ...architecture } = snapshot.architecture;
  return rebuildTrainer(snapshot, source, 'backprop architecture or hyperparameters', () =>
    createBPTrainer(
      { ...(architecture as Partial<SeedNetworkShape>), ...(snapshot.hyperparameters as Partial<BPConfig>) },
      { seed: 0 },
    ),
  );
}

export type { BackpropTrainer };
