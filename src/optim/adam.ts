// Adam and AdamW: torch.optim's algorithms and defaults, including the bias corrections.
// Adam folds weight decay into the gradient (L2 regularisation); AdamW decays the weights
// directly, decoupled from the adaptive step.

import { getBackend } from '../backend/index.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { checkRange, floatData, Optimizer, type ParamState, type ParamsInput } from './optimizer.js';

export interface AdamHyperparameters {
  lr: number;
  /** Decay rates of the gradient's running mean and of its running square. */
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

export type AdamOptions = Partial<AdamHyperparameters>;

export interface AdamState extends ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** The shared machinery; the two differ only in where weight decay enters. */
abstract class AdamFamily extends Optimizer<AdamHyperparameters, AdamState> {
  constructor(
    name: string,
    private readonly decoupledWeightDecay: boolean,
    params: ParamsInput<AdamHyperparameters>,
    defaults: AdamHyperparameters,
  ) {
    super(name, params, defaults, (group) => {
      checkRange(name, 'lr', group.lr, 0);
      checkRange(name, 'eps', group.eps, 0);
      checkRange(name, 'weightDecay', group.weightDecay, 0);
      checkRange(name, 'betas[0]', group.betas[0], 0, 1);
      checkRange(name, 'betas[1]', group.betas[1], 0, 1);
    });
  }

  protected initialState(param: Tensor): AdamState {
    const like = { dtype: param.dtype };
    return { step: 0, expAvg: zeros(param.shape, like), expAvgSq: zeros(param.shape, like) };
  }

  protected update(param: Tensor, grad: Tensor, state: AdamState, group: AdamHyperparameters): void {
    state.step += 1;
    getBackend().adam(floatData(param), floatData(grad), floatData(state.expAvg), floatData(state.expAvgSq), {
      lr: group.lr,
      beta1: group.betas[0],
      beta2: group.betas[1],
      eps: group.eps,
      weightDecay: group.weightDecay,
      decoupledWeightDecay: this.decoupledWeightDecay,
      step: state.step,
    });
  }
}

const adamDefaults = { lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8 };

export class Adam extends AdamFamily {
  constructor(params: ParamsInput<AdamHyperparameters>, options: AdamOptions = {}) {
    super('Adam', false, params, { ...adamDefaults, weightDecay: 0, ...options });
  }
}

/** Adam with decoupled weight decay (default 1e-2), as torch.optim.AdamW. */
export class AdamW extends AdamFamily {
  constructor(params: ParamsInput<AdamHyperparameters>, options: AdamOptions = {}) {
    super('AdamW', true, params, { ...adamDefaults, weightDecay: 1e-2, ...options });
  }
}
