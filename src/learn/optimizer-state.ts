// Optimisers and schedules, built from a small config and saved into checkpoints: tensors of
// their state under `optimizer.<param>.<name>`, everything else as JSON in the metadata.

import { ChainruleError } from '../errors.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import {
  CosineAnnealingLR,
  checkSchedulerState,
  LinearLR,
  LRScheduler,
  OneCycleLR,
  type SchedulerStateDict,
  StepLR,
} from '../optim/schedules.js';
import { SGD } from '../optim/sgd.js';
import { Tensor } from '../tensor/tensor.js';
import { check, checkChoice, checkRecord } from '../validate.js';

export const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const SCHEDULES = ['onecycle', 'cosine', 'linear', 'step', 'constant'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface OptimizerConfig {
  optimizer: OptimizerName;
  /** The peak learning rate (the one-cycle maximum, or the constant rate). */
  lr: number;
  /** SGD's momentum (Adam's beta1 is its default 0.9, cycled by one-cycle). */
  momentum: number;
  weightDecay: number;
  schedule: ScheduleName;
}

/** Checks the optimiser settings every rule shares; each error names `${where}.field`. */
export function checkOptimizerConfig(
  c: Omit<OptimizerConfig, 'schedule'> & { schedule: string },
  where: string,
  schedules: readonly string[] = SCHEDULES,
): void {
  checkChoice(c.optimizer, OPTIMIZERS, `${where}.optimizer`);
  check('lr', c.lr, `${where}.lr`);
  check('momentum', c.momentum, `${where}.momentum`);
  check('weightDecay', c.weightDecay, `${where}.weightDecay`);
  checkChoice(c.schedule, schedules, `${where}.schedule`);
}

/**
 * The configured optimiser over `params` (or groups of them with their own weight decay).
 * `sgdDampening` lets a rule make SGD's buffer a moving average of the gradient.
 */
export function makeOptimizer(
  params: Tensor[] | { params: Tensor[]; weightDecay: number }[],
  c: Omit<OptimizerConfig, 'schedule'>,
  sgdDampening = 0,
): Optimizer {
  switch (c.optimizer) {
    case 'adam':
      return new Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
    case 'sgd':
      return new SGD(params, {
        lr: c.lr,
        momentum: c.momentum,
        dampening: sgdDampening,
        weightDecay: c.weightDecay,
      });
    default:
      throw new ChainruleError(
        `unknown optimizer '${c.optimizer as string}': use one of ${OPTIMIZERS.join(', ')}`,
      );
  }
}

/** A per-step schedule over `totalSteps` optimisation steps. */
export function makeSchedule(
  optimizer: Optimizer,
  c: Pick<OptimizerConfig, 'lr' | 'momentum' | 'optimizer' | 'schedule'>,
  totalSteps: number,
): LRScheduler {
  const steps = Math.max(1, totalSteps);
  switch (c.schedule) {
    case 'onecycle':
      return new OneCycleLR(optimizer, c.lr, steps, {
        cycleMomentum: c.optimizer === 'sgd' ? c.momentum > 0 : true,
      });
    case 'cosine':
      return new CosineAnnealingLR(optimizer, steps);
    case 'linear':
      return new LinearLR(optimizer, { startFactor: 1, endFactor: 0, totalIters: steps });
    case 'step':
      // A tenth of the rate for the last third of training.
      return new StepLR(optimizer, Math.ceil((steps * 2) / 3), 0.1);
    case 'constant':
      return new LRScheduler(optimizer, (_step, base) => ({ lr: base }));
    default:
      throw new ChainruleError(
        `unknown schedule '${c.schedule as string}': use one of ${SCHEDULES.join(', ')}`,
      );
  }
}

/**
 * An optimiser and its per-step schedule, as every trainer drives them. The schedule needs
 * the run's length, so it is built by plan(); a position restored from a checkpoint before
 * that waits until then.
 */
export class ScheduledOptimizer {
  private schedule: LRScheduler | null = null;
  private pendingSchedule: SchedulerStateDict | null = null;

  constructor(
    readonly optimizer: Optimizer,
    private readonly scheduleFor: (optimizer: Optimizer, totalSteps: number) => LRScheduler,
  ) {}

  /**
   * Builds the schedule for a run of `totalSteps`. Planning again starts a new run's schedule
   * from the same base rates, not from wherever the last one left them.
   */
  plan(totalSteps: number): void {
    const baseLrs = this.schedule?.stateDict().baseLrs;
    if (baseLrs) {
      for (const [i, group] of this.optimizer.paramGroups.entries()) group.lr = baseLrs[i];
    }
    this.schedule = this.scheduleFor(this.optimizer, Math.max(1, totalSteps));
    if (this.pendingSchedule) this.schedule.loadStateDict(this.pendingSchedule);
    this.pendingSchedule = null;
  }

  /** Updates the parameters from their gradients, clears the gradients, advances the schedule. */
  step(): void {
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.schedule?.step();
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  /** Adds the state's tensors to `tensors` and returns the rest as JSON for the metadata. */
  save(tensors: Record<string, Tensor>): SavedOptimizer {
    return saveOptimizer(this.optimizer, this.schedule, tensors);
  }

  /** Restores a save(); a malformed one is refused naming the field, before anything changes. */
  load(saved: SavedOptimizer, tensors: Record<string, Tensor>): void {
    const where = 'resume.optimizer';
    checkRecord(saved.numbers, `${where}.numbers`);
    for (const [index, numbers] of Object.entries(saved.numbers)) {
      for (const [name, value] of Object.entries(checkRecord(numbers, `${where}.numbers.${index}`)))
        check('count', value, `${where}.numbers.${index}.${name}`);
    }
    const schedule =
      saved.schedule === null ? null : checkSchedulerState(saved.schedule, `${where}.schedule`);
    try {
      loadOptimizer(this.optimizer, saved, tensors);
    } catch (error) {
      if (!(error instanceof ChainruleError)) throw error;
      throw new ChainruleError(`${where}: ${error.message}`);
    }
    this.pendingSchedule = schedule as SchedulerStateDict | null;
  }
}

/** The usual pairing: makeOptimizer over `params`, then makeSchedule once the run is planned. */
export function scheduledOptimizer(params: Tensor[], config: OptimizerConfig): ScheduledOptimizer {
  return new ScheduledOptimizer(makeOptimizer(params, config), (optimizer, steps) =>
    makeSchedule(optimizer, config, steps),
  );
}

/** Splits an optimiser's state into checkpoint tensors and JSON. */
function saveOptimizer(optimizer: Optimizer, schedule: LRScheduler | null, tensors: Record<string, Tensor>) {
  const dict = optimizer.stateDict();
  const numbers: Record<string, Record<string, number>> = {};
  for (const [index, state] of Object.entries(dict.state)) {
    for (const [name, value] of Object.entries(state)) {
      if (value instanceof Tensor) tensors[`optimizer.${index}.${name}`] = value;
      else (numbers[index] ??= {})[name] = value;
    }
  }
  return { paramGroups: dict.paramGroups, numbers, schedule: schedule?.stateDict() ?? null };
}

export type SavedOptimizer = ReturnType<typeof saveOptimizer>;

function loadOptimizer(optimizer: Optimizer, saved: SavedOptimizer, tensors: Record<string, Tensor>): void {
  const state: Record<number, ParamState> = {};
  for (const [key, t] of Object.entries(tensors)) {
    const match = /^optimizer\.(\d+)\.(\w+)$/.exec(key);
    if (match) (state[Number(match[1])] ??= {})[match[2]] = t;
  }
  for (const [index, numbers] of Object.entries(saved.numbers))
    Object.assign((state[Number(index)] ??= {}), numbers);
  optimizer.loadStateDict({ state, paramGroups: saved.paramGroups } as OptimizerStateDict);
}
