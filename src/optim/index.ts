// Optimisers and learning-rate schedules with torch.optim's formulas and semantics.

export { Adam, type AdamHyperparameters, type AdamOptions, type AdamState, AdamW } from './adam.js';
export {
  type GroupInput,
  type Hyperparameters,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamState,
  type ParamsInput,
} from './optimizer.js';
export {
  CosineAnnealingLR,
  LinearLR,
  type LinearLROptions,
  LRScheduler,
  OneCycleLR,
  type OneCycleLROptions,
  type ScheduleRule,
  type SchedulerStateDict,
  type ScheduleValue,
  StepLR,
} from './schedules.js';
export { SGD, type SGDHyperparameters, type SGDOptions, type SGDState } from './sgd.js';
