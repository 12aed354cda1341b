// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
// decay: torch.optim.SGD's algorithm and defaults.

import { getBackend } from '../backend/index.js';
import { ChainruleError } from '../errors.js';
import { keep } from '../tensor/scope.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { check, checkBoolean } from '../validate.js';
import { floatData, Optimizer, type ParamState, type ParamsInput } from './optimizer.js';

export interface SGDHyperparameters {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export type SGDOptions = Pick<SGDHyperparameters, 'lr'> & Partial<Omit<SGDHyperparameters, 'lr'>>;

/** The momentum buffer appears with the first step that uses momentum. */
export interface SGDState extends Partial<ParamState> {
  momentumBuffer?: Tensor;
}

export class SGD extends Optimizer<SGDHyperparameters, SGDState> {
  constructor(params: ParamsInput<SGDHyperparameters>, options: SGDOptions) {
    const defaults: SGDHyperparameters = {
      momentum: 0,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
      ...options,
    };
    super('SGD', params, defaults);
  }

  protected checkGroup(group: SGDHyperparameters, where: string): void {
    check('momentum', group.momentum, `${where}: momentum`);
    check('fraction', group.dampening, `${where}: dampening`);
    check('weightDecay', group.weightDecay, `${where}: weightDecay`);
    checkBoolean(group.nesterov, `${where}: nesterov`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new ChainruleError(`${where}: nesterov needs momentum > 0 and dampening 0`);
    }
  }

  protected initialState(): SGDState {
    return {};
  }

  protected update(param: Tensor, grad: Tensor, state: SGDState, group: SGDHyperparameters): void {
    const firstStep = group.momentum !== 0 && !state.momentumBuffer;
    if (firstStep) state.momentumBuffer = keep(zeros(param.shape, { dtype: param.dtype }));
    const buffer = group.momentum !== 0 ? floatData(state.momentumBuffer!) : null;
    getBackend().sgd(floatData(param), floatData(grad), buffer, { ...group, firstStep });
  }
}
