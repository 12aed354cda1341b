// Feedback alignment (Lillicrap, Cownden, Tweed and Akerman 2016) and direct feedback alignment
// (Nøkland 2016): the error comes down through fixed random matrices instead of the transposed
// forward weights, so no layer needs to know another's weights. The forward weights come to
// align with the feedback, and the error it carries becomes useful.
//   FA:  δ_l = (δ_{l+1} · B_{l+1}) ⊙ f'(z_l), B_{l+1} shaped like W_{l+1}: layer by layer;
//   DFA: δ_l = (e · B_l) ⊙ f'(z_l), B_l from the classes to layer l: every hidden layer at once,
// with e = softmax(logits) − onehot(y), the output error. Each weight's gradient is then
// δ_lᵀ·h_{l−1}, as in backprop. The chain rule is applied by hand on one forward pass: nothing
// is recorded, and the feedback matrices (buffers, saved with the model) never change.

import { noGrad } from '../../ops/dispatch.js';
import { crossEntropy } from '../../ops/nn.js';
import { oneHot } from '../../ops/shape.js';
import { Rng } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  activate,
  activationSlope,
  type FeedbackMlp,
  type FeedbackMlpArchitecture,
  perceptron,
} from '../local-models.js';
import { buildModel } from '../models.js';
import {
  checkOptimizerConfig,
  type OptimizerConfig,
  SCHEDULES,
  scheduledOptimizer,
} from '../optimizer-state.js';
import { ModelTrainer } from '../trainer.js';
import type { Algorithm, RuleDescriptor, StepOptions, StepResult } from '../types.js';
import { logitsCapabilities, setLinearGrad, weightGradNorms } from './fg-a.js';
import { preset } from './preset.js';

export interface FeedbackConfig extends Omit<FeedbackMlpArchitecture, 'kind'>, OptimizerConfig {}

const capabilities = logitsCapabilities;

export class FeedbackAlignmentTrainer extends ModelTrainer<FeedbackConfig> {
  declare readonly model: FeedbackMlp;

  constructor(
    readonly algorithm: Algorithm,
    architecture: FeedbackMlpArchitecture,
    config: FeedbackConfig,
    seed: number,
  ) {
    const model = buildModel(architecture, new Rng(seed));
    super(config, architecture, model, scheduledOptimizer(model.parameters(), config), capabilities, null);
  }

  protected trainStep(x: Tensor, y: Tensor, options: StepOptions = {}): StepResult {
    const { activation } = this.config;
    const { layers, feedback } = this.model;
    const direct = this.architecture.kind === 'dfa-mlp';
    const loss = noGrad(() => {
      const inputs: Tensor[] = [];
      const pre: Tensor[] = [];
      const logits = layers.reduce((h, layer, l) => {
        inputs.push(h);
        const z = layer.forward(h);
        pre.push(z);
        return l < layers.length - 1 ? activate(activation, z) : z;
      }, x);
      // dL/dlogits of the mean cross-entropy.
      const error = logits
        .softmax(-1)
        .sub(oneHot(y, logits.shape[1], logits.dtype))
        .div(x.shape[0]);
      let delta = error;
      for (let l = layers.length - 1; l >= 0; l--) {
        setLinearGrad(layers[l], inputs[l], delta, 1);
        if (l > 0)
          delta = (direct ? error : delta)
            .matmul(feedback[l - 1])
            .mul(activationSlope(activation, pre[l - 1]));
      }
      return crossEntropy(logits, y).item();
    });
    this.optimizer.step();
    return { loss, layers: options.layerStats ? weightGradNorms(this.model) : undefined };
  }

  protected scoresBy(_mode: string, x: Tensor): Tensor {
    return this.model.forward(x);
  }
}

const DEFAULT: FeedbackConfig = {
  inputs: 784,
  classes: 10,
  hidden: [512, 512],
  activation: 'tanh',
  optimizer: 'adam',
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'cosine',
};

function feedbackRule(
  name: Algorithm,
  kind: FeedbackMlpArchitecture['kind'],
  summary: string,
): RuleDescriptor<FeedbackConfig> {
  const architecture = perceptron(kind);
  return {
    name,
    summary,
    loss: 'cross-entropy',
    presets: {
      default: preset('784-512-512-10 tanh, Adam with a cosine schedule', DEFAULT, {
        epochs: 5,
        batchSize: 128,
      }),
      quick: preset(
        "the playground's: 256 hidden units, one epoch",
        { ...DEFAULT, hidden: [256] },
        { epochs: 1, batchSize: 64 },
      ),
    },
    capabilities,
    schedules: SCHEDULES,
    check: checkOptimizerConfig,
    minBatchSize: () => 1,
    architecture,
    build: (config, seed) => new FeedbackAlignmentTrainer(name, architecture(config), config, seed),
  };
}

export const feedbackAlignment = feedbackRule(
  'fa',
  'fa-mlp',
  'feedback alignment (errors sent down through fixed random matrices)',
);
export const directFeedbackAlignment = feedbackRule(
  'dfa',
  'dfa-mlp',
  'direct feedback alignment (the output error sent to every layer through fixed random matrices)',
);
