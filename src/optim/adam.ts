// Adam and AdamW: torch.optim's algorithms and defaults, including the bias corrections.
// Adam folds weight decay into the gradient (L2 regularisation); AdamW decays the weights
// directly, decoupled from the adaptive step.

import { getBackend } from '../backend/index.js';
import { ChainruleError } from '../errors.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { check, show } from '../validate.js';
import { floatData, Optimizer, type ParamState, type ParamsInput } from './optimizer.js';

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
    super(name, params, defaults);
  }

  protected checkGroup(group: AdamHyperparameters, where: string): void {
    check('eps', group.eps, `${where}: eps`);
    check('weightDecay', group.weightDecay, `${where}: weightDecay`);
    if (!Array.isArray(group.betas) || group.betas.length !== 2) {
      throw new ChainruleError(`${where}: betas must be a pair [beta1, beta2], got ${show(group.betas)}`);
    }
    check('beta', group.betas[0], `${where}: betas[0]`);
    check('beta', group.betas[1], `${where}: betas[1]`);
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
