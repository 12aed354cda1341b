// The learning rules by name: how the CLI and the playground build a trainer from options,
// or rebuild one from a checkpoint, without knowing any algorithm's internals.

import type { Normalization, NormalizeKind } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { bpFromSnapshot, createBPTrainer } from './bp.js';
import { createFFTrainer, FF_PRESETS, type FFPresetName, ffFromSnapshot, labelValueFor } from './ff.js';
import { createFGTrainer, FG_DEFAULTS, fgFromSnapshot } from './fg.js';
import type { OptimizerName, ScheduleName } from './optimizer-state.js';
import { ALGORITHMS, type Algorithm, type Trainer, type TrainerSnapshot } from './types.js';

/** Options common to every algorithm; each reads the ones that apply to it. */
export interface TrainerOptions {
  seed: number;
  /** How pixels become inputs (Forward-Forward writes its label at a white pixel's value). */
  normalization: Normalization;
  /** Hidden layer widths, input side first. */
  hidden?: number[];
  lr?: number;
  optimizer?: OptimizerName;
  schedule?: ScheduleName;
  /** A named configuration of the algorithm (Forward-Forward: default, hinton, paper). */
  preset?: string;
}

export interface AlgorithmEntry {
  create(options: TrainerOptions): Trainer;
  /** `source` names where the snapshot came from (a file) in error messages. */
  restore(snapshot: TrainerSnapshot, source?: string): Trainer;
  /** Epochs, minibatch size and input scaling when the user gives none (they may depend on the preset). */
  defaults(preset?: string): { epochs: number; batchSize: number; normalization: NormalizeKind };
}

const entries: Record<Algorithm, AlgorithmEntry> = {
  bp: {
    create: (o) => {
      if (o.preset) throw new ChainruleError(`--preset applies to --algo ff only, not bp`);
      return createBPTrainer(
        { hidden: o.hidden, lr: o.lr, optimizer: o.optimizer, schedule: o.schedule },
        { seed: o.seed },
      );
    },
    restore: (snapshot, source) => bpFromSnapshot(snapshot, source),
    defaults: () => ({ epochs: 5, batchSize: 128, normalization: 'standardize' }),
  },
  ff: {
    create: (o) => {
      if (o.optimizer === 'adamw') throw new ChainruleError('--algo ff supports --optimizer adam or sgd');
      return createFFTrainer(
        {
          hidden: o.hidden,
          lr: o.lr,
          optimizer: o.optimizer,
          schedule: o.schedule,
          labelValue: labelValueFor(o.normalization),
        },
        { seed: o.seed, preset: ffPreset(o.preset) },
      );
    },
    restore: (snapshot, source) => ffFromSnapshot(snapshot, source),
    defaults: (preset) => {
      const { epochs, batchSize, inputs } = FF_PRESETS[ffPreset(preset)];
      return { epochs, batchSize, normalization: inputs };
    },
  },
  fg: {
    create: (o) => {
      if (o.preset) throw new ChainruleError(`--preset applies to --algo ff only, not fg`);
      return createFGTrainer(
        { hidden: o.hidden, lr: o.lr, optimizer: o.optimizer, schedule: o.schedule },
        { seed: o.seed },
      );
    },
    restore: (snapshot, source) => fgFromSnapshot(snapshot, source),
    defaults: () => ({
      epochs: FG_DEFAULTS.epochs,
      batchSize: FG_DEFAULTS.batchSize,
      normalization: 'standardize',
    }),
  },
};

function ffPreset(name: string | undefined): FFPresetName {
  const preset = name ?? 'default';
  if (!Object.hasOwn(FF_PRESETS, preset)) {
    throw new ChainruleError(
      `unknown Forward-Forward preset '${preset}': use one of ${Object.keys(FF_PRESETS).join(', ')}`,
    );
  }
  return preset as FFPresetName;
}

export function algorithm(name: string): AlgorithmEntry {
  if (!Object.hasOwn(entries, name)) {
    throw new ChainruleError(`unknown algorithm '${name}': use one of ${Object.keys(ALGORITHMS).join(', ')}`);
  }
  return entries[name as Algorithm];
}
