// Activity-perturbed forward gradients (Ren, Kornblith, Liao and Hinton 2023, "Scaling Forward
// Gradient With Local Losses"). Weight perturbation (fg.ts) guesses a direction over every
// weight; here the guess is over each layer's pre-activations z instead, which are far fewer
// (a layer of n units has n per example against n·fan_in weights). One forward-mode pass
// carries random tangents u on every z to each example's loss and returns its directional
// derivative d = Σ_l ∂L/∂z_l·u_l; (d·u_l) estimates ∂L/∂z_l without bias (E[u uᵀ] = I), and a
// Linear's weight gradient follows from it and the layer's input, as backprop's would:
// ∂L/∂W = (∂L/∂z)ᵀ·input. Nothing is recorded for a backward pass.

import { jvpAt } from '../../autodiff/forward.js';
import { ChainruleError, formatShape, ShapeError } from '../../errors.js';
import type { Linear, Sequential } from '../../nn/layers.js';
import { noGrad } from '../../ops/dispatch.js';
import { concat, oneHot } from '../../ops/shape.js';
import { Rng } from '../../tensor/random.js';
import { type DType, type Tensor, zeros } from '../../tensor/tensor.js';
import { check, show } from '../../validate.js';
import { activate } from '../local-models.js';
import { buildModel, type MlpArchitecture, mlpArchitecture } from '../models.js';
import {
  checkOptimizerConfig,
  type OptimizerConfig,
  SCHEDULES,
  scheduledOptimizer,
} from '../optimizer-state.js';
import { ModelTrainer } from '../trainer.js';
import type { Capabilities, RuleDescriptor, StepOptions, StepResult } from '../types.js';
import { preset } from './preset.js';

/**
 * Each example's cross-entropy, the loss whose per-example derivatives FG-A needs: [rows] for
 * logits [rows, classes], or [rows, groups] for one classifier per group, [rows, groups, classes].
 */
export function exampleCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  const classes = logits.shape.at(-1)!;
  const target = oneHot(labels, classes, logits.dtype);
  const aligned = logits.ndim === 3 ? target.reshape([labels.length, 1, classes]) : target;
  return logits.logSoftmax(-1).mul(aligned).sum(-1).neg();
}

/**
 * Tangents of random signs (Rademacher), 32 from each draw of the generator. E[u uᵀ] = I as
 * for standard-normal tangents, so the estimate stays unbiased; its variance is lower (u_i² is
 * always 1, where a normal's fourth moment is 3), and drawing a sign costs a bit where a
 * normal costs a logarithm and a cosine (randn took 80 ms for one step's tangents of a
 * 1024-unit block at 16 tangents per example, on two loaded cores).
 */
export function randomSigns(shape: readonly number[], rng: Rng, dtype: DType = 'float32'): Tensor {
  const t = zeros(shape, { dtype });
  const data = t.data;
  for (let i = 0; i < data.length; i += 32) {
    const bits = rng.nextUint32();
    const end = Math.min(32, data.length - i);
    for (let b = 0; b < end; b++) data[i + b] = (bits >>> b) & 1 ? 1 : -1;
  }
  return t;
}

/** One activity-perturbed estimate: the separate losses, and an estimate of ∂(Σ losses)/∂a per activity a. */
export interface ActivityGradient {
  /** Each loss at the unperturbed activities: [examples], or [examples, groups]. */
  losses: Tensor;
  /** Per activity, (d·u): each slice of it scaled by the directional derivative of the loss it belongs to. */
  gradients: Tensor[];
}

/**
 * The activity-perturbed forward gradient of separate losses. `lossOf(perturbations)` must add
 * perturbations[l] to activity l as it computes it (they are zeros: the tangents ride on them)
 * and return the losses, whose shape begins every activity's shape: loss [n] (or [n, g]) owns
 * the slice activity[n] (or activity[n, g]) and must depend on no other slice (no batch
 * statistics, no classifier reading two groups), so its directional derivative is its own.
 * One forward-mode pass, with random-sign tangents of the given `shapes` from `rng`.
 */
export function activityGradient(
  lossOf: (perturbations: readonly Tensor[]) => Tensor,
  shapes: readonly (readonly number[])[],
  rng: Rng,
  dtype: DType = 'float32',
): ActivityGradient {
  const perturbations = shapes.map((s) => zeros(s, { dtype }));
  const tangents = shapes.map((s) => randomSigns(s, rng, dtype));
  const pass = jvpAt(
    () => lossOf(perturbations),
    perturbations.map((p, i) => [p, tangents[i]]),
  );
  const owned = pass.out.shape;
  if (
    owned.length === 0 ||
    shapes.some((s) => s.length <= owned.length || owned.some((d, i) => s[i] !== d))
  ) {
    throw new ShapeError(
      `activity forward gradient: the losses' shape ${formatShape(owned)} must begin every activity's shape (${shapes.map(formatShape).join(', ')}): one loss per example (or per example and group)`,
    );
  }
  return {
    losses: pass.out,
    gradients: tangents.map((u) =>
      u.mul(pass.tangent.reshape([...owned, ...u.shape.slice(owned.length).map(() => 1)])),
    ),
  };
}

/** `t` stacked `times` times along the batch: one copy per direction. */
export const repeatRows = (t: Tensor, times: number): Tensor =>
  times === 1 ? t : concat(Array(times).fill(t), 0);

/** `labels` repeated `times` times, matching repeatRows. */
export function repeatLabels(labels: Int32Array, times: number): Int32Array {
  const out = new Int32Array(labels.length * times);
  for (let k = 0; k < times; k++) out.set(labels, k * labels.length);
  return out;
}

/** [times·batch, n] -> [batch, n]: each example's estimates summed over the directions. */
export const sumOverDirections = (g: Tensor, times: number): Tensor =>
  times === 1 ? g : g.reshape([times, g.shape[0] / times, g.shape[1]]).sum(0);

/**
 * A Linear's gradient from its pre-activation's: ∂L/∂W = gᵀ·input and ∂L/∂b = Σ_rows g, both
 * divided by `scale` (the number of examples times directions the estimates were summed over).
 */
export function setLinearGrad(layer: Linear, input: Tensor, g: Tensor, scale: number): void {
  layer.weight.grad = g.T.matmul(input).div(scale);
  if (layer.bias) layer.bias.grad = g.sum(0).div(scale);
}

/**
 * A multilayer perceptron learned by activity-perturbed forward gradients. Its defaults were
 * measured on MNIST with standardised inputs (see the preset).
 */
export interface FGAConfig extends Omit<MlpArchitecture, 'kind'>, OptimizerConfig {
  /**
   * Tangents per example per step (K): the batch runs K times side by side in one pass, each
   * copy with its own tangents, and the estimates are averaged. The first layer's
   * pre-activation is computed once for all of them.
   */
  directions: number;
}

const DEFAULT: FGAConfig = {
  inputs: 784,
  classes: 10,
  hidden: [256],
  batchNorm: false,
  activation: 'relu',
  directions: 16,
  optimizer: 'adam',
  lr: 3e-3,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'cosine',
};

/** What a rule that scores by logits and reports weight-gradient norms can do (FG-A, local losses, FA, DFA). */
export const logitsCapabilities: Capabilities = {
  inferenceModes: ['logits'],
  labelScores: null,
  layerStats: ['gradientNorm'],
};

const capabilities = logitsCapabilities;

export class FGATrainer extends ModelTrainer<FGAConfig> {
  readonly algorithm = 'fg-a' as const;
  readonly linears: readonly Linear[];

  constructor(config: FGAConfig, seed: number) {
    const rng = new Rng(seed);
    const architecture = mlpArchitecture(config);
    const model = buildModel(architecture, rng);
    super(config, architecture, model, scheduledOptimizer(model.parameters(), config), capabilities, rng);
    // Without batch norm the Sequential is Linear, activation, ..., Linear.
    this.linears = (model as Sequential).layers.filter((_, i) => i % 2 === 0) as Linear[];
  }

  protected trainStep(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    const loss = this.estimateGradients(x, y);
    this.optimizer.step();
    return { loss, layers: options.layerStats ? weightGradNorms(this.model) : undefined };
  }

  /** Sets every parameter's .grad to its activity-perturbed estimate on a batch; returns the mean loss. */
  estimateGradients(x: Tensor, y: Tensor): number {
    const { directions: k, activation } = this.config;
    const batch = x.shape[0];
    const labels = repeatLabels(Int32Array.from(y.data), k);
    const inputs: Tensor[] = [];
    const estimate = activityGradient(
      (perturbations) => {
        inputs.length = 0;
        let h = x;
        this.linears.forEach((layer, l) => {
          inputs.push(h);
          const z = layer.forward(h);
          // Every direction shares the first pre-activation; only the tangents differ.
          const pre = (l === 0 ? repeatRows(z, k) : z).add(perturbations[l]);
          h = l < this.linears.length - 1 ? activate(activation, pre) : pre;
        });
        return exampleCrossEntropy(h, labels);
      },
      this.linears.map((l) => [batch * k, l.outFeatures]),
      this.rng!,
      x.dtype,
    );
    noGrad(() =>
      this.linears.forEach((layer, l) => {
        const g = estimate.gradients[l];
        setLinearGrad(layer, inputs[l], l === 0 ? sumOverDirections(g, k) : g, batch * k);
      }),
    );
    return estimate.losses.mean().item();
  }

  protected scoresBy(_mode: string, x: Tensor): Tensor {
    return this.model.forward(x);
  }

  override describe(): string {
    const { directions } = this.config;
    return `${super.describe()}, activity-perturbed forward gradients (${directions} tangent${directions > 1 ? 's' : ''} per example)`;
  }
}

/** Each weight's gradient norm, as the rules' layer statistics report them. */
export function weightGradNorms(model: { namedParameters(): [string, Tensor][] }) {
  return model
    .namedParameters()
    .filter(([name]) => name.endsWith('weight'))
    .map(([name, p]) => ({ name, gradientNorm: p.grad ? p.grad.norm().item() : 0 }));
}

export const activityForwardGradients: RuleDescriptor<FGAConfig> = {
  name: 'fg-a',
  summary: 'activity-perturbed forward gradients (tangents on pre-activations, no backward pass)',
  loss: 'cross-entropy',
  presets: {
    // Measured on MNIST: 96.73% test accuracy after 20 epochs, 97.07% after 30 (14 s an epoch on two cores).
    default: preset('784-256-relu-10, 16 tangents per example: 97% in 30 epochs', DEFAULT, {
      epochs: 30,
      batchSize: 64,
    }),
    quick: preset("the playground's: one epoch", DEFAULT, { epochs: 1, batchSize: 64 }),
  },
  capabilities,
  schedules: SCHEDULES,
  check(c, where) {
    check('directions', c.directions, `${where}.directions`);
    if (c.batchNorm !== false) {
      throw new ChainruleError(
        `${where}.batchNorm must be false, got ${show(c.batchNorm)}: activity perturbation needs each example's loss to depend on that example alone, and batch statistics mix them`,
      );
    }
    checkOptimizerConfig(c, where);
  },
  minBatchSize: () => 1,
  architecture: mlpArchitecture,
  build: (config, seed) => new FGATrainer(config, seed),
};
