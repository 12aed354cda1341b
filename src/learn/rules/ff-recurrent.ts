// Recurrent Forward-Forward with top-down connections (Hinton 2022, section 3.4): the image is
// shown as a static video; the hidden layers start at rest or from a single bottom-up pass, then
// at each synchronous step every hidden layer's activity comes from the normalised activities
// of the layers below and above one step before (the label's one-hot feeds the top), damped 0.3
// old + 0.7 new. Each layer learns at each counted step from its own goodness loss on what it
// computed from its neighbours' previous (detached) state, so no gradient crosses a layer or a
// step; a softmax head learns from the bottom-up pass alone (with hard negatives, it picks the
// negative labels). A label's score is the goodness summed over the layers and the counted
// steps with that label clamped at the top.

import { ChainruleError, formatShape, ShapeError } from '../../errors.js';
import { noGrad } from '../../ops/dispatch.js';
import { crossEntropy } from '../../ops/nn.js';
import { Rng } from '../../tensor/random.js';
import { tidy } from '../../tensor/scope.js';
import { Tensor, zeros } from '../../tensor/tensor.js';
import { check, checkChoice } from '../../validate.js';
import {
  type FFRecurrentArchitecture,
  type FFRecurrentNetwork,
  RECURRENT_STARTS,
  type RecurrentStart,
} from '../ff-recurrent-model.js';
import { buildModel } from '../models.js';
import { checkOptimizerConfig } from '../optimizer-state.js';
import { ModelTrainer } from '../trainer.js';
import type {
  Capabilities,
  LayerStats,
  RuleDescriptor,
  RulePreset,
  StepOptions,
  StepResult,
} from '../types.js';
import { FF_PRESETS, FF_SCHEDULES, sampleNegativeLabels, scheduledFF } from './ff.js';
import type { FFConfig, FFNegatives } from './ff-config.js';
import { preset } from './preset.js';

/** Rows settled at once in evaluation, counting each label's copy of a row: bounds its memory. */
const SETTLING_ROWS = 2000;

/** The settings it shares with FFConfig (documented there), and the recurrent net's own. */
export interface FFRecurrentConfig
  extends Pick<
    FFConfig,
    'inputs' | 'classes' | 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'headWeightDecay' | 'schedule'
  > {
  /**
   * Wrong labels for the negative data: 'hard', drawn from the softmax head's prediction from
   * the bottom-up pass (the true class masked out), or 'uniform' over the other classes.
   */
  negatives: RecurrentNegatives;
  /** The hidden layers before the first step: 'bottom-up', a single bottom-up pass, or 'zero'. */
  start: RecurrentStart;
  /** Widths of the hidden layers, input side first; the label one-hot sits above the last. */
  hidden: number[];
  /** Synchronous steps of the static video the net settles over: the paper's 8. */
  iterations: number;
  /** First and last step (1-based) whose goodness is learned from and scored: the paper's 3 and 5. */
  scoredFrom: number;
  scoredTo: number;
  /** θ of each layer's goodness (the sum of its squared activities); null: its width, Hinton's. */
  threshold: number | null;
  /** T in p(positive) = sigmoid((goodness - θ)/T); Hinton's 1. */
  temperature: number;
}

/**
 * The paper's recurrent row. The paper gives: two or three hidden layers of 2000 (this takes
 * three, as its figure of the network draws); the hidden layers set by a single bottom-up pass,
 * then 8 damped synchronous steps; negative labels drawn among the wrong classes in proportion
 * to the probabilities a single forward pass gives. Both are here (start 'bottom-up', negatives
 * 'hard', the pass read by a softmax head over all the hidden layers), but at this rate they
 * did not train in a short check, so the row starts from zero with uniform negatives. One epoch
 * of 10,000 examples (`chainrule train --algo ff-recurrent --limit 10000 --epochs 1`, seed 0):
 * - start 'zero', negatives 'uniform' (the default): 46.00% of the test set right (the
 *   supervised row's preset, `--algo ff --preset supervised`, read 56.96% in the same check;
 *   an earlier build that drew other negatives read 56.68%, so the check is a coarse one);
 * - 'bottom-up', 'hard' (`--preset as-written`): 4.35%, every image scored as a 0 or a 1 (its
 *   head, `chainrule eval --inference softmax`, 65.87%);
 * - at half the rate (`--lr 0.0005`): as-written 11.35%, the default 38.02%.
 * Why the paper's two fail here is not known: at 256 units, from the bottom-up start, hard
 * negatives trained about as well as uniform ones (an ad-hoc check, not in the repository).
 * It leaves open, and
 * this chooses: the head reads the bottom-up pass of every hidden layer and learns from it by
 * cross-entropy alongside the layers, as the feed-forward rows' head does, whichever the start
 * and negatives; the image and the label one-hot are length-normalised like every layer's
 * activity; the layers learn at the scored steps 3-5 only (earlier steps settle without
 * learning, later ones change no score); no peer normalisation; and the optimiser, weight costs
 * and schedule of Hinton's released recipe, at a lower rate (see lr).
 */
const HINTON = FF_PRESETS.hinton.config;
const PAPER: FFRecurrentConfig = {
  inputs: HINTON.inputs,
  classes: HINTON.classes,
  hidden: [2000, 2000, 2000],
  optimizer: HINTON.optimizer,
  // Hinton's 0.005 tripped the divergence guard at the second batch (measured on 2,000 examples),
  // and so did 0.002 (on 10,000).
  lr: 0.001,
  momentum: HINTON.momentum,
  weightDecay: HINTON.weightDecay,
  headWeightDecay: HINTON.headWeightDecay,
  negatives: 'uniform',
  start: 'zero',
  schedule: HINTON.schedule,
  iterations: 8,
  scoredFrom: 3,
  scoredTo: 5,
  threshold: HINTON.threshold,
  temperature: HINTON.temperature,
};

export const FF_RECURRENT_PRESETS = {
  default: preset(
    "the paper's recurrent row: 3 x 2000 ReLU with top-down input, 8 damped steps, goodness over steps 3-5 (paper: 1.31%)",
    PAPER,
    { epochs: 60, batchSize: 100, normalization: 'unit' },
  ),
  'as-written': preset(
    "the paper's own start and negatives: a bottom-up pass, hard negatives from a softmax head (did not train at this rate in a short check)",
    { ...PAPER, start: 'bottom-up', negatives: 'hard' },
    { epochs: 60, batchSize: 100, normalization: 'unit' },
  ),
  quick: preset(
    "the playground's: two layers of 128, one epoch",
    { ...PAPER, hidden: [128, 128], optimizer: 'adam', lr: 0.001, weightDecay: 0, headWeightDecay: 0 },
    { epochs: 1, batchSize: 100, normalization: 'unit' },
  ),
} satisfies Record<string, RulePreset<FFRecurrentConfig>>;

function checkConfig(c: FFRecurrentConfig, where: string): void {
  checkOptimizerConfig(c, where, FF_SCHEDULES);
  check('weightDecay', c.headWeightDecay, `${where}.headWeightDecay`);
  checkChoice(c.negatives, RECURRENT_NEGATIVES, `${where}.negatives`);
  checkChoice(c.start, RECURRENT_STARTS, `${where}.start`);
  check('count', c.iterations, `${where}.iterations`);
  check('count', c.scoredFrom, `${where}.scoredFrom`);
  check('count', c.scoredTo, `${where}.scoredTo`);
  if (!(c.scoredFrom >= 1 && c.scoredFrom <= c.scoredTo && c.scoredTo <= c.iterations))
    throw new ChainruleError(
      `${where}: the scored steps ${c.scoredFrom}-${c.scoredTo} must lie within steps 1-${c.iterations}, first before last`,
    );
  if (c.threshold !== null) check('nonNegative', c.threshold, `${where}.threshold`);
  check('positive', c.temperature, `${where}.temperature`);
}

type RecurrentNegatives = Exclude<FFNegatives, 'hybrid'>;
const RECURRENT_NEGATIVES: readonly RecurrentNegatives[] = ['hard', 'uniform'];

const capabilities: Capabilities = {
  // 'softmax': the head's logits from the bottom-up pass, no settling.
  inferenceModes: ['goodness', 'softmax'],
  labelScores: 'goodness',
  layerStats: ['goodnessPositive', 'goodnessNegative', 'gradientNorm'],
};

const architectureOf = (c: FFRecurrentConfig): FFRecurrentArchitecture => ({
  kind: 'ff-recurrent',
  inputs: c.inputs,
  hidden: c.hidden,
  classes: c.classes,
});

/** One layer's objective at one step, before its backward pass. */
export interface FFRecurrentObjective {
  layer: number;
  /** The step (1-based) it was computed at. */
  iteration: number;
  loss: Tensor;
  /** Goodness of each row: the positive rows, then the negative ones [2·batch]. */
  goodness: Tensor;
}

export class FFRecurrentTrainer extends ModelTrainer<FFRecurrentConfig> {
  readonly algorithm = 'ff-recurrent' as const;
  declare readonly model: FFRecurrentNetwork;

  constructor(config: FFRecurrentConfig, seed: number) {
    const rng = new Rng(seed);
    const architecture = architectureOf(config);
    const model = buildModel(architecture, rng) as FFRecurrentNetwork;
    const groups = [
      { params: model.layers.flatMap((l) => l.parameters()), weightDecay: config.weightDecay },
      { params: model.head.parameters(), weightDecay: config.headWeightDecay },
    ];
    super(config, architecture, model, scheduledFF(groups, config), capabilities, rng, 'goodness');
  }

  protected trainStep(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    this.checkBatch(x, y);
    const labels = y.data as Int32Array;
    // The head learns from the bottom-up pass, cut from the graph, so its cross-entropy reaches
    // the head alone; its predictions pick the hard negatives.
    const pass = noGrad(() => this.model.bottomUp(x));
    const logits = this.model.headLogits(pass);
    const headLoss = crossEntropy(logits, y);
    headLoss.backward();
    const negatives = sampleNegativeLabels(this.config.negatives, labels, logits, this.rng!);
    let loss = headLoss.item();
    const stats = new Map<number, LayerStats>();
    this.learnAtScoredSteps(
      x,
      labels,
      negatives,
      (objective) => {
        objective.loss.backward();
        loss += objective.loss.item();
        // The last scored step's figures stand for the layer.
        if (options.layerStats) stats.set(objective.layer, this.layerStats(objective, x.shape[0]));
      },
      this.config.start === 'bottom-up' ? pass : this.model.initialState(x, 'zero'),
    );
    this.optimizer.step();
    return { loss, layers: options.layerStats ? [...stats.values()] : undefined };
  }

  /**
   * Settles x against its labels (positive rows) and the wrong ones (negative rows), handing
   * every layer's objective at every scored step to `learn`, which runs its backward pass.
   * Each step runs in a scope of its own that ends with it, so only the (detached) state
   * outlives a step: a training step holds one step's storage at a time, not all of them.
   * Exposed so tests can inspect the graphs, which `learn` must do before it returns.
   */
  learnAtScoredSteps(
    x: Tensor,
    labels: Int32Array,
    negatives: Int32Array,
    learn: (objective: FFRecurrentObjective) => void,
    start = noGrad(() => this.model.initialState(x, this.config.start)),
  ): void {
    const batch = x.shape[0];
    // The positive and the negative rows share their image: the two label groups settle together.
    const image = x.reshape([1, batch, this.config.inputs]);
    const top = this.labelGroups([labels, negatives]);
    const { scoredFrom, scoredTo, temperature } = this.config;
    let state = start.map((s) => s.reshape([1, ...s.shape]));
    for (let t = 1; t <= scoredTo; t++) {
      const previous = state;
      state = tidy(() => {
        if (t < scoredFrom) return noGrad(() => this.model.step(previous, image, top));
        const next = this.model.step(previous, image, top);
        for (const [i, activity] of next.entries()) {
          // [groups, batch]: one group while the label has not reached the layer, else two.
          const goodness = activity.square().sum(-1);
          const margin = goodness.sub(this.threshold(i)).div(temperature);
          const loss = margin
            .slice(0, 0, 1)
            .neg()
            .softplus()
            .mean()
            .add(margin.slice(0, -1).softplus().mean());
          const bothGroups = goodness
            .detach()
            .broadcastTo([2, batch])
            .reshape([2 * batch]);
          learn({ layer: i, iteration: t, loss, goodness: bothGroups });
        }
        return next.map((activity) => activity.detach());
      });
    }
  }

  /**
   * Every hidden layer's activity at each of the `iterations` steps, for one label clamped at
   * the top of every row of x: how the net settles (the playground draws it).
   */
  settle(x: Tensor, label: number): Tensor[][] {
    this.checkInput(x);
    const top = this.labelGroups([new Int32Array(x.shape[0]).fill(label)]).reshape([x.shape[0], -1]);
    return noGrad(() => {
      const steps: Tensor[][] = [];
      let state = this.model.initialState(x, this.config.start);
      for (let t = 1; t <= this.config.iterations; t++) steps.push((state = this.model.step(state, x, top)));
      return steps;
    });
  }

  get scoredSteps(): readonly [number, number] {
    return [this.config.scoredFrom, this.config.scoredTo];
  }

  protected scoresBy(mode: string, x: Tensor): Tensor {
    this.checkInput(x);
    return mode === 'softmax' ? this.model.headLogits(this.model.bottomUp(x)) : this.labelScores(x);
  }

  /** [batch, classes]: each label's goodness summed over the layers and the scored steps. */
  labelScores(x: Tensor): Tensor {
    this.checkInput(x);
    const batch = x.shape[0];
    const { classes } = this.config;
    const out = new Float32Array(batch * classes);
    // Every label settles at once on a chunk of the rows, in a scope per chunk and per step, so
    // only a few states are alive at a time (every step's storage at once, for ten labels, was
    // 11.8 GB at 3 x 2000 on an evaluation batch of 1,000, measured).
    const chunk = Math.max(1, Math.floor(SETTLING_ROWS / classes));
    for (let from = 0; from < batch; from += chunk) {
      const rows = Math.min(chunk, batch - from);
      noGrad(() =>
        tidy(() => {
          const scores = this.settledGoodness(x.slice(0, from, from + rows)).data;
          for (let c = 0; c < classes; c++)
            for (let r = 0; r < rows; r++) out[(from + r) * classes + c] = scores[c * rows + r];
        }),
      );
    }
    return new Tensor(out, [batch, classes]);
  }

  /** [classes, rows]: the goodness of x settled under each label, summed over layers and scored steps. */
  private settledGoodness(x: Tensor): Tensor {
    const rows = x.shape[0];
    const { classes, inputs, scoredFrom, scoredTo } = this.config;
    const everyLabel = Array.from({ length: classes }, (_, c) => new Int32Array(rows).fill(c));
    const image = x.reshape([1, rows, inputs]);
    const top = this.labelGroups(everyLabel);
    let state = this.model.initialState(image, this.config.start);
    let total = zeros([classes, rows]);
    for (let t = 1; t <= scoredTo; t++) {
      const previous = state;
      state = tidy(() => this.model.step(previous, image, top));
      if (t < scoredFrom) continue;
      // A layer the label has not reached yet has one group, standing for every label.
      for (const activity of state) total = total.add(activity.square().sum(-1));
    }
    return total;
  }

  /** By goodness, each label's logit is its summed goodness over T, as for the feed-forward stack. */
  override probabilities(x: Tensor, inference = this.inference): Tensor {
    const scores = this.scores(x, inference);
    return noGrad(() =>
      (inference === 'goodness' ? scores.div(this.config.temperature) : scores).softmax(-1),
    );
  }

  override describe(): string {
    const { iterations, scoredFrom, scoredTo, negatives, start } = this.config;
    return `${super.describe()} (${start} start, ${iterations} steps, goodness over steps ${scoredFrom}-${scoredTo}, ${negatives} negatives)`;
  }

  private threshold(layer: number): number {
    return this.config.threshold ?? this.config.hidden[layer];
  }

  /** Each label set as one-hot rows, a group apiece: [sets, rows, classes]. */
  private labelGroups(labelSets: readonly Int32Array[]): Tensor {
    const { classes } = this.config;
    const rows = labelSets[0].length;
    const out = new Float32Array(labelSets.length * rows * classes);
    let r = 0;
    for (const labels of labelSets) for (const label of labels) out[r++ * classes + label] = 1;
    return new Tensor(out, [labelSets.length, rows, classes]);
  }

  private layerStats(objective: FFRecurrentObjective, batch: number): LayerStats {
    return noGrad(() => {
      const layer = this.model.layers[objective.layer];
      const grads = [layer.up.weight.grad, layer.down.weight.grad];
      return {
        name: `layer ${objective.layer + 1}`,
        goodnessPositive: objective.goodness.slice(0, 0, batch).mean().item(),
        goodnessNegative: objective.goodness.slice(0, batch).mean().item(),
        gradientNorm: Math.hypot(...grads.map((g) => (g ? g.norm().item() : 0))),
      };
    });
  }

  private checkInput(x: Tensor): void {
    if (x.ndim !== 2 || x.shape[1] !== this.config.inputs)
      throw new ShapeError(
        `recurrent Forward-Forward: input of shape ${formatShape(x.shape)} must be [batch, ${this.config.inputs}]; flatten the images`,
      );
    if (x.dtype === 'int32')
      throw new ChainruleError('recurrent Forward-Forward: the input must be float32 or float64, not int32');
  }

  private checkBatch(x: Tensor, y: Tensor): void {
    this.checkInput(x);
    if (y.dtype !== 'int32' || y.ndim !== 1 || y.shape[0] !== x.shape[0])
      throw new ShapeError(
        `recurrent Forward-Forward: labels must be int32 [${x.shape[0]}], got ${y.dtype} ${formatShape(y.shape)}`,
      );
    for (const label of y.data) {
      if (!(label >= 0 && label < this.config.classes))
        throw new ChainruleError(
          `recurrent Forward-Forward: label ${label} is not a class in [0, ${this.config.classes - 1}]; set classes to the number of classes`,
        );
    }
  }
}

export const recurrentForwardForward: RuleDescriptor<FFRecurrentConfig> = {
  name: 'ff-recurrent',
  summary:
    'recurrent Forward-Forward (top-down input, a static video settling over steps; no gradient crosses a layer or a step)',
  loss: "every layer's goodness loss at every scored step",
  presets: FF_RECURRENT_PRESETS,
  capabilities,
  schedules: FF_SCHEDULES,
  check: checkConfig,
  minBatchSize: () => 1,
  architecture: architectureOf,
  build: (config, seed) => new FFRecurrentTrainer(config, seed),
};
