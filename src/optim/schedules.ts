// Learning-rate schedules with torch.optim.lr_scheduler's semantics: constructing one sets
// the epoch-0 rate, and each step() (once per epoch or per batch, as the schedule is meant)
// advances one epoch and writes the new rate into every parameter group.
//
// Rates are computed in closed form from each group's rate at construction (the base rate).
// torch's schedulers mostly update the current rate recursively, which gives the same
// sequence (to rounding) unless something else changes the rate between steps.

import { ChainruleError } from '../errors.js';
import { check, checkRecord } from '../validate.js';
import type { Hyperparameters, Optimizer } from './optimizer.js';

/** One point of a schedule: the rate, and for OneCycleLR the momentum. */
export interface ScheduleValue {
  lr: number;
  momentum?: number;
}

/** A schedule as a function of the epoch and of a group's base rate. */
export type ScheduleRule = (epoch: number, baseLr: number) => ScheduleValue;

export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
}

/** Drives an optimiser's rates by a rule; subclasses are the named schedules. */
export class LRScheduler {
  #epoch = 0;
  private baseLrs: number[];
  private lastLrs: number[] = [];

  constructor(
    private readonly optimizer: Optimizer,
    private readonly rule: ScheduleRule,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** The epoch the current rates belong to: 0 after construction, then one more per step(). */
  get lastEpoch(): number {
    return this.#epoch;
  }

  /** Advances one epoch and sets the rates for it. */
  step(): void {
    this.#epoch += 1;
    this.apply();
  }

  /** The rate of each group as this scheduler last set it. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores the position in the schedule and sets the rates for it. */
  loadStateDict(dict: SchedulerStateDict): void {
    checkRecord(dict, 'loadStateDict: the scheduler state');
    check('count', dict.lastEpoch, 'loadStateDict: the scheduler state lastEpoch');
    if (!Array.isArray(dict.baseLrs)) {
      throw new ChainruleError('loadStateDict: the scheduler state baseLrs must be a list of rates');
    }
    for (const [i, lr] of dict.baseLrs.entries())
      check('lr', lr, `loadStateDict: the scheduler state baseLrs[${i}]`);
    if (dict.baseLrs.length !== this.baseLrs.length) {
      throw new ChainruleError(
        `loadStateDict: the scheduler state has ${dict.baseLrs.length} base rates for ${this.baseLrs.length} parameter groups; ` +
          'load it into a scheduler over an optimiser with the same groups',
      );
    }
    this.#epoch = dict.lastEpoch;
    this.baseLrs = [...dict.baseLrs];
    this.apply();
  }

  private apply(): void {
    this.lastLrs = this.optimizer.paramGroups.map((group, i) => {
      const { lr, momentum } = this.rule(this.#epoch, this.baseLrs[i]);
      group.lr = lr;
      if (momentum !== undefined) setMomentum(group, momentum);
      return lr;
    });
  }
}

/** Throws unless `value` is a scheduler's stateDict(), naming `name` and the bad field. */
export function checkSchedulerState(value: unknown, name: string): SchedulerStateDict {
  const dict = checkRecord(value, name);
  check('count', dict.lastEpoch, `${name}.lastEpoch`);
  if (!Array.isArray(dict.baseLrs)) throw new ChainruleError(`${name}.baseLrs must be a list of rates`);
  for (const [i, lr] of dict.baseLrs.entries()) check('lr', lr, `${name}.baseLrs[${i}]`);
  return dict as unknown as SchedulerStateDict;
}

/** Sets Adam's beta1 or SGD's momentum, whichever the group has. */
function setMomentum(group: Hyperparameters, momentum: number): void {
  const g = group as Hyperparameters & { betas?: readonly [number, number]; momentum?: number };
  if (g.betas) g.betas = [momentum, g.betas[1]];
  else g.momentum = momentum;
}

/** Multiplies the rate by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer, stepSize: number, gamma = 0.1) {
    check('positiveCount', stepSize, 'StepLR: stepSize');
    super(optimizer, (epoch, baseLr) => ({ lr: baseLr * gamma ** Math.floor(epoch / stepSize) }));
  }
}

/**
 * Half a cosine from the base rate down to etaMin over tMax epochs; past tMax the cosine goes
 * on (back up), as torch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer, tMax: number, etaMin = 0) {
    check('positiveCount', tMax, 'CosineAnnealingLR: tMax');
    super(optimizer, (epoch, baseLr) => ({
      lr: etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2,
    }));
  }
}

export interface LinearLROptions {
  /** Multiplier of the base rate at epoch 0 (default 1/3), in (0, 1]. */
  startFactor?: number;
  /** Multiplier reached at totalIters and kept after (default 1), in [0, 1]. */
  endFactor?: number;
  /** Epochs over which the multiplier moves linearly (default 5). */
  totalIters?: number;
}

/** Scales the rate by a factor moving linearly from startFactor to endFactor: warm-up, or linear decay. */
export class LinearLR extends LRScheduler {
  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = options;
    check('shrink', startFactor, 'LinearLR: startFactor');
    check('fraction', endFactor, 'LinearLR: endFactor');
    check('positiveCount', totalIters, 'LinearLR: totalIters');
    super(optimizer, (epoch, baseLr) => ({
      lr: baseLr * (startFactor + ((endFactor - startFactor) * Math.min(epoch, totalIters)) / totalIters),
    }));
  }
}

export interface OneCycleLROptions {
  /** Fraction of the steps spent raising the rate (default 0.3). */
  pctStart?: number;
  /** How the rate moves within each phase (default 'cos'). */
  anneal?: 'cos' | 'linear';
  /** The starting rate is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The final rate is the starting rate / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /**
   * Move momentum inversely to the rate, between maxMomentum and baseMomentum (default true):
   * SGD's momentum, or Adam's beta1.
   */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/**
 * The one-cycle policy (Smith & Topin): the rate climbs from maxLr/divFactor to maxLr over
 * the first pctStart of totalSteps, then anneals to maxLr/(divFactor·finalDivFactor), while
 * momentum does the opposite. Step it once per batch; stepping past totalSteps is an error.
 */
export class OneCycleLR extends LRScheduler {
  constructor(optimizer: Optimizer, maxLr: number, totalSteps: number, options: OneCycleLROptions = {}) {
    const {
      pctStart = 0.3,
      anneal = 'cos',
      divFactor = 25,
      finalDivFactor = 1e4,
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
    } = options;
    check('lr', maxLr, 'OneCycleLR: maxLr');
    check('positiveCount', totalSteps, 'OneCycleLR: totalSteps');
    check('positive', divFactor, 'OneCycleLR: divFactor');
    check('positive', finalDivFactor, 'OneCycleLR: finalDivFactor');
    check('fraction', pctStart, 'OneCycleLR: pctStart');
    if (anneal !== 'cos' && anneal !== 'linear') {
      throw new ChainruleError(`OneCycleLR: anneal must be 'cos' or 'linear', got '${anneal as string}'`);
    }
    if (cycleMomentum) {
      for (const group of optimizer.paramGroups) {
        if (!('betas' in group || 'momentum' in group)) {
          throw new ChainruleError(
            'OneCycleLR: cycleMomentum needs an optimiser with momentum (SGD) or betas (Adam); pass cycleMomentum: false',
          );
        }
      }
    }
    const initialLr = maxLr / divFactor;
    const minLr = initialLr / finalDivFactor;
    const interpolate =
      anneal === 'cos'
        ? (start: number, end: number, pct: number) =>
            end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
        : (start: number, end: number, pct: number) => (end - start) * pct + start;
    // Each phase ends at its step (torch's end_step); the second extends to totalSteps.
    const warmUp = {
      start: 0,
      end: pctStart * totalSteps - 1,
      lr: [initialLr, maxLr],
      momentum: [maxMomentum, baseMomentum],
    };
    const coolDown = {
      start: warmUp.end,
      end: totalSteps - 1,
      lr: [maxLr, minLr],
      momentum: [baseMomentum, maxMomentum],
    };
    super(optimizer, (epoch) => {
      if (epoch > totalSteps) {
        throw new ChainruleError(
          `OneCycleLR: stepped ${epoch} times but totalSteps is ${totalSteps}; create the scheduler with the full number of steps`,
        );
      }
      const phase = epoch <= warmUp.end ? warmUp : coolDown;
      // A phase of zero length is already complete (torch divides by zero there).
      const pct = phase.end === phase.start ? 1 : (epoch - phase.start) / (phase.end - phase.start);
      return {
        lr: interpolate(phase.lr[0], phase.lr[1], pct),
        momentum: cycleMomentum ? interpolate(phase.momentum[0], phase.momentum[1], pct) : undefined,
      };
    });
  }
}
