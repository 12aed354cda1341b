// Forward-Forward (Hinton 2022): every layer learns from a loss of its own, computed from its
// own activities, on every minibatch; no gradient crosses a layer boundary. Each layer sees
// its input length-normalised and cut from the graph (detached), so its loss graph reaches
// its own weights and nothing below, and is freed by its backward pass before the next layer
// runs: the recorded graph never holds more than one layer.

import { hybridImages } from '../../data/hybrid.js';
import { type Normalization, normalizePixels } from '../../data/loader.js';
import { ChainruleError, formatShape, ShapeError } from '../../errors.js';
import { noGrad } from '../../ops/dispatch.js';
import { crossEntropy } from '../../ops/nn.js';
import { sumSquares } from '../../ops/rows.js';
import { concat } from '../../ops/shape.js';
import { LRScheduler } from '../../optim/schedules.js';
import { Rng } from '../../tensor/random.js';
import { tidy } from '../../tensor/scope.js';
import { allocate, Tensor, zeros } from '../../tensor/tensor.js';
import { buildModel, type FFNetwork, type FFStackArchitecture } from '../models.js';
import { makeOptimizer, makeSchedule, ScheduledOptimizer } from '../optimizer-state.js';
import { ModelTrainer } from '../trainer.js';
import type { Capabilities, LayerStats, RuleDescriptor, StepOptions, StepResult } from '../types.js';
import {
  checkFFConfig,
  FF_PRESETS,
  FF_SCHEDULES,
  type FFConfig,
  type FFNegatives,
  imageSide,
} from './ff-config.js';

export * from './ff-config.js';

/** Decay of each unit's running mean activity for peer normalisation (Hinton's 0.9). */
const PEER_MEAN_DECAY = 0.9;

/** The input value of a white pixel (byte 255) under `normalization`: the natural labelValue. */
export function labelValueFor(normalization: Normalization): number {
  return normalizePixels([255], normalization)[0];
}

/**
 * A wrong label per row of `labels`, never the true one: 'uniform' over the other classes, or
 * 'hard': drawn from softmax(logits) [batch, classes] with the true class masked out and the
 * rest renormalised.
 */
export function sampleNegativeLabels(
  mode: Exclude<FFNegatives, 'hybrid'>,
  labels: Int32Array,
  logits: Tensor,
  rng: Rng,
): Int32Array {
  const classes = logits.shape[1];
  const out = new Int32Array(labels.length);
  const weights = new Float64Array(classes);
  for (let r = 0; r < labels.length; r++) {
    const truth = labels[r];
    if (mode === 'uniform') {
      out[r] = (truth + 1 + rng.int(classes - 1)) % classes;
      continue;
    }
    const row = logits.data.subarray(r * classes, (r + 1) * classes);
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (c !== truth) max = Math.max(max, row[c]);
    let total = 0;
    for (let c = 0; c < classes; c++) {
      weights[c] = c === truth ? 0 : Math.exp(row[c] - max);
      total += weights[c];
    }
    // The largest weight is exactly 1, so total >= 1 and the walk always lands on a wrong class.
    let u = rng.uniform() * total;
    let pick = -1;
    for (let c = 0; c < classes && u >= 0; c++) {
      if (weights[c] === 0) continue;
      pick = c;
      u -= weights[c];
    }
    out[r] = pick;
  }
  return out;
}

/** One layer's objective on a minibatch, before its backward pass. */
export interface FFLayerObjective {
  /** 0-based index of the layer. */
  layer: number;
  /** softplus((θ - G⁺)/T) + softplus((G⁻ - θ)/T), batch means, plus the peer-normalisation penalty. */
  loss: Tensor;
  /** Goodness of each row: the positive rows, then the negative ones [2·batch]. */
  goodness: Tensor;
  /** The layer's ReLU activities, positive rows then negative rows, cut from the graph. */
  activity: Tensor;
}

const capabilities: Capabilities = {
  inferenceModes: ['softmax', 'goodness'],
  labelScores: 'goodness',
  layerStats: ['goodnessPositive', 'goodnessNegative', 'activationNorm', 'gradientNorm'],
};

/**
 * The optimiser of Forward-Forward's layers, by Hinton's recipe or the shared ones. SGD's
 * dampening equal to its momentum makes the buffer a moving average of the gradient, his
 * "gradient smoothing", so the step size does not grow with the momentum; his schedule holds
 * the rate for the first half, then decays it linearly to 0.
 */
export function scheduledFF(
  groups: { params: Tensor[]; weightDecay: number }[],
  config: Pick<FFConfig, 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'schedule'>,
): ScheduledOptimizer {
  const optimizer = makeOptimizer(groups, config, config.momentum);
  return new ScheduledOptimizer(optimizer, (opt, steps) =>
    config.schedule === 'linear-second-half'
      ? new LRScheduler(opt, (step, base) => ({ lr: base * Math.min(1, (2 * (steps - step)) / steps) }))
      : makeSchedule(opt, { ...config, schedule: config.schedule }, steps),
  );
}

const architectureOf = (c: FFConfig): FFStackArchitecture => ({
  kind: 'ff-stack',
  inputs: c.inputs,
  hidden: c.hidden,
  receptiveFields: c.receptiveFields,
  classes: c.classes,
  readoutFrom: c.readoutFrom,
});

export class FFTrainer extends ModelTrainer<FFConfig> {
  readonly algorithm = 'ff' as const;
  declare readonly model: FFNetwork;

  constructor(config: FFConfig, seed: number) {
    const rng = new Rng(seed);
    const architecture = architectureOf(config);
    const model = buildModel(architecture, rng) as FFNetwork;
    const groups = [
      { params: model.layers.flatMap((l) => l.parameters()), weightDecay: config.weightDecay },
      { params: model.head.parameters(), weightDecay: config.headWeightDecay },
    ];
    super(config, architecture, model, scheduledFF(groups, config), capabilities, rng, config.inference);
  }

  get layers(): FFNetwork['layers'] {
    return this.model.layers;
  }

  get head(): FFNetwork['head'] {
    return this.model.head;
  }

  /** One update of every layer and the head; the loss is the head's cross-entropy plus every layer's FF loss. */
  protected trainStep(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    this.checkBatch(x, y);
    // The head learns from a neutral-label pass whose activities carry no graph, so its
    // cross-entropy reaches the head alone; its predictions pick the hard negatives.
    const logits = this.model.headLogits(noGrad(() => this.model.activities(this.labelled(x, [null]))));
    const headLoss = crossEntropy(logits, y);
    headLoss.backward();
    const labels = y.data as Int32Array;
    const { negatives: mode, inputs } = this.config;
    const side = mode === 'hybrid' ? imageSide(inputs, 'Forward-Forward inputs') : 0;
    const negatives =
      mode === 'hybrid'
        ? hybridImages(x, labels, this.rng!, { height: side, width: side }).images
        : sampleNegativeLabels(mode, labels, logits, this.rng!);
    let loss = headLoss.item();
    const layers: LayerStats[] = [];
    for (const objective of this.layerObjectives(x, labels, negatives)) {
      objective.loss.backward();
      loss += objective.loss.item();
      if (options.layerStats) layers.push(this.layerStats(objective, x.shape[0]));
    }
    this.optimizer.step();
    return { loss, layers: options.layerStats ? layers : undefined };
  }

  /**
   * Each layer's objective on positive data (x with label y) and negative data (x with the
   * wrong labels `negatives`, or for 'hybrid' negatives the unlabelled images `negatives`
   * against x unlabelled), produced lazily: the caller runs a layer's backward pass (which
   * frees its graph) before asking for the next. Exposed so tests can inspect the graphs;
   * like a step, it folds the positive activities into the peer-normalisation means.
   */
  *layerObjectives(
    x: Tensor,
    labels: Int32Array,
    negatives: Int32Array | Tensor,
  ): Generator<FFLayerObjective> {
    const batch = x.shape[0];
    if (this.unsupervised !== negatives instanceof Tensor)
      throw new ChainruleError(
        `Forward-Forward: ${this.unsupervised ? "'hybrid' negatives are images" : 'negatives are wrong labels'}; pass ${this.unsupervised ? 'a tensor of them' : 'an Int32Array'}`,
      );
    let h =
      negatives instanceof Tensor
        ? concat([x, negatives.detach()], 0)
        : this.labelled(x, [labels, negatives]);
    for (const [i, layer] of this.model.layers.entries()) {
      const activity = layer.forward(h);
      const goodness = this.goodness(activity);
      const theta = this.threshold(i);
      const margin = goodness.sub(theta).div(this.config.temperature);
      const positive = margin.slice(0, 0, batch);
      const negative = margin.slice(0, batch);
      let loss = positive.neg().softplus().mean().add(negative.softplus().mean());
      if (this.config.peerNormalization > 0)
        loss = loss.add(this.peerPenalty(i, activity.slice(0, 0, batch)));
      // The next layer's input is a fresh leaf: nothing it computes can reach this layer.
      h = activity.detach();
      yield { layer: i, loss, goodness: goodness.detach(), activity: h };
    }
  }

  protected scoresBy(mode: string, x: Tensor): Tensor {
    this.checkInput(x);
    if (mode === 'goodness') {
      if (this.unsupervised)
        throw new ChainruleError(
          "Forward-Forward with 'hybrid' negatives learned without labels, so goodness cannot score them; use inference 'softmax'",
        );
      return this.labelScores(x);
    }
    return this.model.forward(this.labelled(x, [null]));
  }

  /**
   * Softmax of the scores. For 'goodness' the logit of a label is its summed goodness over T:
   * each layer's log-odds of "positive" is (G - θ)/T, and θ is the same for every label.
   */
  override probabilities(x: Tensor, inference = this.inference): Tensor {
    const scores = this.scores(x, inference);
    return noGrad(() =>
      (inference === 'goodness' ? scores.div(this.config.temperature) : scores).softmax(-1),
    );
  }

  /** [batch, classes]: the goodness of layers readoutFrom..L summed, with each label in turn. */
  labelScores(x: Tensor): Tensor {
    this.checkInput(x);
    const batch = x.shape[0];
    const { classes, readoutFrom } = this.config;
    const out = new Float32Array(batch * classes);
    // A scope per label, so one batch's ten passes do not hold all their storage at once.
    noGrad(() => {
      for (let c = 0; c < classes; c++) {
        tidy(() => {
          const activities = this.model.activities(this.labelled(x, [new Int32Array(batch).fill(c)]));
          for (const a of activities.slice(readoutFrom - 1)) {
            const g = this.goodness(a).data;
            for (let r = 0; r < batch; r++) out[r * classes + c] += g[r];
          }
        });
      }
    });
    return new Tensor(out, [batch, classes]);
  }

  override describe(): string {
    const { goodness, negatives, inference } = this.config;
    return `${super.describe()} (${goodness} goodness, ${negatives} negatives, ${inference} readout)`;
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Trained on hybrid negatives: the layers never see a label. */
  private get unsupervised(): boolean {
    return this.config.negatives === 'hybrid';
  }

  private threshold(layer: number): number {
    const { threshold, goodness, hidden } = this.config;
    return threshold ?? (goodness === 'sum' ? hidden[layer] : 1);
  }

  private goodness(activity: Tensor): Tensor {
    const squares = sumSquares(activity);
    return this.config.goodness === 'sum' ? squares : squares.div(activity.shape[1]);
  }

  /**
   * x with its label pixels overwritten, once per label set, stacked: a one-hot of each row's
   * label scaled by labelValue, or for null the neutral label (labelValue/classes everywhere).
   * An unsupervised network's input is the image as it is.
   */
  private labelled(x: Tensor, labelSets: readonly (Int32Array | null)[]): Tensor {
    if (this.unsupervised) return x;
    const [batch, features] = x.shape;
    const { classes, labelValue } = this.config;
    const out = allocate(x.dtype, labelSets.length * x.size);
    labelSets.forEach((labels, s) => {
      out.set(x.data, s * x.size);
      for (let r = 0; r < batch; r++) {
        const row = (s * batch + r) * features;
        for (let c = 0; c < classes; c++)
          out[row + c] = labels ? (labels[r] === c ? labelValue : 0) : labelValue / classes;
      }
    });
    return new Tensor(out, [labelSets.length * batch, features]);
  }

  /**
   * Peer normalisation: after folding this batch into each unit's running mean activity m,
   * a penalty whose gradient with respect to each positive activity is -λ·(mean(m) - m_unit)/batch,
   * i.e. Hinton's ascent term λ·(mean(m) - m_unit) averaged over the batch like his gradients.
   */
  private peerPenalty(layer: number, positive: Tensor): Tensor {
    const means = this.model.layers[layer].peerMean;
    const batchMean = positive.mean(0);
    const batchMeans = batchMean.data;
    let layerMean = 0;
    for (let j = 0; j < means.size; j++) {
      means.data[j] = PEER_MEAN_DECAY * means.data[j] + (1 - PEER_MEAN_DECAY) * batchMeans[j];
      layerMean += means.data[j] / means.size;
    }
    const pull = zeros(means.shape, { dtype: positive.dtype });
    for (let j = 0; j < means.size; j++) pull.data[j] = layerMean - means.data[j];
    return batchMean.mul(pull).sum().mul(-this.config.peerNormalization);
  }

  private layerStats(objective: FFLayerObjective, batch: number): LayerStats {
    return noGrad(() => {
      const { goodness, activity } = objective;
      const grad = this.model.layers[objective.layer].weight.grad;
      return {
        name: `layer ${objective.layer + 1}`,
        goodnessPositive: goodness.slice(0, 0, batch).mean().item(),
        goodnessNegative: goodness.slice(0, batch).mean().item(),
        activationNorm: activity.norm(1).mean().item(),
        gradientNorm: grad ? grad.norm().item() : 0,
      };
    });
  }

  private checkInput(x: Tensor): void {
    if (x.ndim !== 2 || x.shape[1] !== this.config.inputs) {
      throw new ShapeError(
        `Forward-Forward: input of shape ${formatShape(x.shape)} must be [batch, ${this.config.inputs}]; ` +
          'flatten the images, or build the network with the inputs of your data',
      );
    }
    if (x.dtype === 'int32')
      throw new ChainruleError('Forward-Forward: the input must be float32 or float64, not int32');
  }

  private checkBatch(x: Tensor, y: Tensor): void {
    this.checkInput(x);
    if (y.dtype !== 'int32' || y.ndim !== 1 || y.shape[0] !== x.shape[0]) {
      throw new ShapeError(
        `Forward-Forward: labels must be int32 [${x.shape[0]}], got ${y.dtype} ${formatShape(y.shape)}`,
      );
    }
    for (const label of y.data) {
      if (!(label >= 0 && label < this.config.classes)) {
        throw new ChainruleError(
          `Forward-Forward: label ${label} is not a class in [0, ${this.config.classes - 1}]; set classes to the number of classes`,
        );
      }
    }
  }
}

export const forwardForward: RuleDescriptor<FFConfig> = {
  name: 'ff',
  summary: 'Forward-Forward (a local loss per layer, no backward pass across layers)',
  loss: "every layer's goodness loss plus the head's cross-entropy",
  presets: FF_PRESETS,
  capabilities,
  schedules: FF_SCHEDULES,
  check: checkFFConfig,
  // The label is written at a white pixel's value, whatever the scaling.
  inputSettings: (normalization) => ({ labelValue: labelValueFor(normalization) }),
  // Hybrid negatives mix two images of the same minibatch.
  minBatchSize: (config) => (config.negatives === 'hybrid' ? 2 : 1),
  architecture: architectureOf,
  build: (config, seed) => new FFTrainer(config, seed),
};
