// Forward-Forward (Hinton 2022): every layer learns from a loss of its own, computed from its
// own activities, on every minibatch; no gradient crosses a layer boundary. Each layer sees
// its input length-normalised and cut from the graph (detached), so its loss graph reaches
// its own weights and nothing below, and is freed by its backward pass before the next layer
// runs: the recorded graph never holds more than one layer.

import { type Normalization, normalizePixels } from '../data/loader.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { sameShape } from '../ops/broadcast.js';
import { noGrad } from '../ops/dispatch.js';
import { crossEntropy } from '../ops/nn.js';
import { concat } from '../ops/shape.js';
import { Adam } from '../optim/adam.js';
import { LRScheduler } from '../optim/schedules.js';
import { SGD } from '../optim/sgd.js';
import { Rng } from '../tensor/random.js';
import { allocate, randn, Tensor, zeros } from '../tensor/tensor.js';
import {
  checkFFConfig,
  type FFConfig,
  type FFInference,
  type FFNegatives,
  type FFPresetName,
  resolveFFConfig,
} from './ff-config.js';
import { loadResume, makeSchedule, ScheduledOptimizer, saveResume } from './optimizer-state.js';
import { rebuildTrainer } from './snapshot-io.js';
import type { LayerStats, StepOptions, StepResult, Trainer, TrainerSnapshot } from './types.js';

export * from './ff-config.js';

/** Added to the root mean square before dividing, so an all-zero activity stays zero. */
const RMS_EPSILON = 1e-8;
/** Decay of each unit's running mean activity for peer normalisation (Hinton's 0.9). */
const PEER_MEAN_DECAY = 0.9;

/** Each row divided by its root mean square: only the direction of the activity passes on. */
function rmsNormalize(h: Tensor): Tensor {
  return h.div(h.square().mean(1, true).sqrt().add(RMS_EPSILON));
}

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
  mode: FFNegatives,
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

export class FFTrainer implements Trainer {
  readonly algorithm = 'ff';
  readonly config: FFConfig;
  readonly layers: Linear[];
  /** The softmax head over layers readoutFrom..L (zero at the start: uniform predictions). */
  readonly head: Linear;
  /** Per layer, each unit's running mean activity on positive data (peer normalisation). */
  readonly peerMeans: Tensor[];
  private readonly optimizer: ScheduledOptimizer;
  private readonly rng: Rng;

  constructor(config: FFConfig, seed: number) {
    checkFFConfig(config);
    this.config = config;
    this.rng = new Rng(seed);
    const widths = [config.inputSize, ...config.hidden];
    this.layers = config.hidden.map((width, i) => {
      // Hinton's initialisation, W ~ N(0, 1/fan_in) and zero biases: on a length-normalised input
      // it starts each layer's goodness near width/2, within reach of θ. PyTorch's uniform
      // initialisation starts it near width/6 and learned far worse in a measured epoch.
      const layer = new Linear(widths[i], width, { rng: this.rng });
      layer.weight.data.set(randn(layer.weight.shape, { rng: this.rng, std: 1 / Math.sqrt(widths[i]) }).data);
      layer.bias!.data.fill(0);
      return layer;
    });
    const readWidth = config.hidden.slice(config.readoutFrom - 1).reduce((a, b) => a + b, 0);
    this.head = new Linear(readWidth, config.classes, { rng: this.rng });
    this.head.weight.data.fill(0);
    this.head.bias!.data.fill(0);
    this.peerMeans = config.hidden.map((width) => zeros([width]));
    const groups = [
      { params: this.layers.flatMap((l) => l.parameters()), weightDecay: config.weightDecay },
      { params: this.head.parameters(), weightDecay: config.headWeightDecay },
    ];
    // SGD's dampening equal to its momentum makes the buffer a moving average of the gradient,
    // Hinton's "gradient smoothing", so the step size does not grow with the momentum.
    const optimizer =
      config.optimizer === 'adam'
        ? new Adam(groups, { lr: config.lr })
        : new SGD(groups, { lr: config.lr, momentum: config.momentum, dampening: config.momentum });
    // Hinton's schedule holds the rate for the first half, then decays it linearly to 0.
    this.optimizer = new ScheduledOptimizer(optimizer, (opt, steps) =>
      config.schedule === 'linear-second-half'
        ? new LRScheduler(opt, (step, base) => ({ lr: base * Math.min(1, (2 * (steps - step)) / steps) }))
        : makeSchedule(opt, { ...config, schedule: config.schedule }, steps),
    );
  }

  plan(totalSteps: number): void {
    this.optimizer.plan(totalSteps);
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  /** One update of every layer and the head; the loss is the head's cross-entropy plus every layer's FF loss. */
  step(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    this.checkBatch(x, y);
    // The head learns from a neutral-label pass whose activities carry no graph, so its
    // cross-entropy reaches the head alone; its predictions pick the hard negatives.
    const logits = this.headLogits(noGrad(() => this.activities(this.labelled(x, [null]))));
    const headLoss = crossEntropy(logits, y);
    headLoss.backward();
    const negatives = sampleNegativeLabels(this.config.negatives, y.data as Int32Array, logits, this.rng);
    let loss = headLoss.item();
    const layers: LayerStats[] = [];
    for (const objective of this.layerObjectives(x, y.data as Int32Array, negatives)) {
      objective.loss.backward();
      loss += objective.loss.item();
      if (options.layerStats) layers.push(this.layerStats(objective, x.shape[0]));
    }
    this.optimizer.step();
    return { loss, layers: options.layerStats ? layers : undefined };
  }

  /**
   * Each layer's objective on positive data (x with label y) and negative data (x with the
   * wrong labels `negatives`), produced lazily: the caller runs a layer's backward pass (which
   * frees its graph) before asking for the next. Exposed so tests can inspect the graphs;
   * like a step, it folds the positive activities into the peer-normalisation means.
   */
  *layerObjectives(x: Tensor, labels: Int32Array, negatives: Int32Array): Generator<FFLayerObjective> {
    const batch = x.shape[0];
    let h = this.labelled(x, [labels, negatives]);
    for (const [i, layer] of this.layers.entries()) {
      const activity = layer.forward(rmsNormalize(h)).relu();
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

  scores(x: Tensor): Tensor {
    return this.scoresBy(this.config.inference, x);
  }

  /** Class scores by either inference mode, whatever the configured one. */
  scoresBy(mode: FFInference, x: Tensor): Tensor {
    this.checkInput(x);
    if (mode === 'goodness') return this.goodnessPerLabel(x);
    return noGrad(() => this.headLogits(this.activities(this.labelled(x, [null]))));
  }

  /**
   * Softmax of the scores. For 'goodness' the logit of a label is its summed goodness over T:
   * each layer's log-odds of "positive" is (G - θ)/T, and θ is the same for every label.
   */
  probabilities(x: Tensor): Tensor {
    const scores = this.scores(x);
    return noGrad(() =>
      (this.config.inference === 'goodness' ? scores.div(this.config.temperature) : scores).softmax(-1),
    );
  }

  /** [batch, classes]: the goodness of layers readoutFrom..L summed, with each label in turn. */
  goodnessPerLabel(x: Tensor): Tensor {
    this.checkInput(x);
    const batch = x.shape[0];
    const { classes, readoutFrom } = this.config;
    const out = new Float32Array(batch * classes);
    noGrad(() => {
      for (let c = 0; c < classes; c++) {
        const activities = this.activities(this.labelled(x, [new Int32Array(batch).fill(c)]));
        for (const a of activities.slice(readoutFrom - 1)) {
          const g = this.goodness(a).data;
          for (let r = 0; r < batch; r++) out[r * classes + c] += g[r];
        }
      }
    });
    return new Tensor(out, [batch, classes]);
  }

  describe(): string {
    const { inputSize, hidden, goodness, negatives, inference } = this.config;
    return `${[inputSize, ...hidden].join('-')} ReLU (${goodness} goodness, ${negatives} negatives, ${inference} readout)`;
  }

  snapshot(): TrainerSnapshot {
    const tensors = this.modelState();
    const { inputSize, classes, hidden, readoutFrom } = this.config;
    return {
      tensors,
      inference: this.config.inference,
      architecture: { inputSize, classes, hidden: [...hidden], readoutFrom, activation: 'relu' },
      hyperparameters: { ...this.config, hidden: [...hidden] },
      resume: saveResume(this.optimizer, this.rng, tensors),
    };
  }

  /** Restores weights, optimiser and sampler state saved by snapshot(). */
  restore(snapshot: TrainerSnapshot, source = 'checkpoint'): void {
    const tensors = Object.fromEntries(
      Object.entries(snapshot.tensors).filter(([key]) => !key.startsWith('optimizer.')),
    );
    const expected = this.liveState();
    const problems = Object.entries(expected).flatMap(([key, t]) => {
      const given = tensors[key];
      if (!given) return [`missing '${key}'`];
      return sameShape(given.shape, t.shape)
        ? []
        : [`'${key}' has shape ${formatShape(given.shape)}, expected ${formatShape(t.shape)}`];
    });
    const extra = Object.keys(tensors).filter((k) => !Object.hasOwn(expected, k));
    if (problems.length || extra.length) {
      const all = [...problems, ...extra.map((k) => `unexpected '${k}'`)];
      throw new ChainruleError(
        `${source}: the tensors do not fit this Forward-Forward network (${all.join('; ')}); it was saved from another architecture or is damaged`,
      );
    }
    for (const [key, t] of Object.entries(expected)) t.data.set(tensors[key].data);
    loadResume(snapshot.resume, source, this.optimizer, this.rng, snapshot.tensors);
  }

  // ---- internals -----------------------------------------------------------------------------

  /** The tensors that are the model, by checkpoint name (the live ones, not copies). */
  private liveState(): Record<string, Tensor> {
    const named = (prefix: string, module: Module) =>
      module.namedParameters().map(([name, t]): [string, Tensor] => [`${prefix}.${name}`, t]);
    return Object.fromEntries([
      ...this.layers.flatMap((layer, i) => named(`layers.${i}`, layer)),
      ...named('head', this.head),
      ...this.peerMeans.map((t, i): [string, Tensor] => [`peer_means.${i}`, t]),
    ]);
  }

  private modelState(): Record<string, Tensor> {
    return Object.fromEntries(
      Object.entries(this.liveState()).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]),
    );
  }

  private threshold(layer: number): number {
    const { threshold, goodness, hidden } = this.config;
    return threshold ?? (goodness === 'sum' ? hidden[layer] : 1);
  }

  private goodness(activity: Tensor): Tensor {
    const squares = activity.square();
    return this.config.goodness === 'sum' ? squares.sum(1) : squares.mean(1);
  }

  /** Every layer's activities for an input that already carries its label pixels. */
  private activities(input: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let h = input;
    for (const layer of this.layers) {
      h = layer.forward(rmsNormalize(h)).relu();
      out.push(h);
    }
    return out;
  }

  private headLogits(activities: Tensor[]): Tensor {
    return this.head.forward(concat(activities.slice(this.config.readoutFrom - 1).map(rmsNormalize), 1));
  }

  /**
   * x with its label pixels overwritten, once per label set, stacked: a one-hot of each row's
   * label scaled by labelValue, or for null the neutral label (labelValue/classes everywhere).
   */
  private labelled(x: Tensor, labelSets: readonly (Int32Array | null)[]): Tensor {
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
    const means = this.peerMeans[layer];
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
      const grad = this.layers[objective.layer].weight.grad;
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
    if (x.ndim !== 2 || x.shape[1] !== this.config.inputSize) {
      throw new ShapeError(
        `Forward-Forward: input of shape ${formatShape(x.shape)} must be [batch, ${this.config.inputSize}]; ` +
          'flatten the images, or build the network with the inputSize of your data',
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

/** A Forward-Forward trainer: a preset (default unless named) with `config` applied, initialised from `seed`. */
export function createFFTrainer(
  config: Partial<FFConfig>,
  options: { seed: number; preset?: FFPresetName },
): FFTrainer {
  return new FFTrainer(resolveFFConfig(config, options.preset), options.seed);
}

/** Rebuilds a trainer from snapshot() (e.g. a checkpoint read back), to evaluate or resume. */
export function ffFromSnapshot(snapshot: TrainerSnapshot, source = 'checkpoint'): FFTrainer {
  return rebuildTrainer(snapshot, source, 'Forward-Forward hyperparameters', () =>
    createFFTrainer(snapshot.hyperparameters as Partial<FFConfig>, { seed: 0 }),
  );
}
