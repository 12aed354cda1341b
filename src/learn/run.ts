// One way to set up a training run, for the CLI and the playground alike: the settings
// resolved (what the user gave, then the checkpoint's, then the rule's defaults), the trainer
// created or restored, the data built, and the checkpoint bytes produced. Resuming takes the
// checkpoint's model and run as they are: a setting that would change them is refused, by name,
// with the checkpoint's value and what to do; only more epochs (and where to write) may change.

import { fitNormalization, type Normalization, parseNormalization } from '../data/loader.js';
import type { Dataset } from '../data/split.js';
import { ChainruleError } from '../errors.js';
import { check, checkRecord, show } from '../validate.js';
import { type Checkpoint, checkpointRunInfo, encodeCheckpoint, snapshotOf } from './checkpoint.js';
import { type DataOptions, trainingData } from './data.js';
import type { EpochMetrics, RunProgress, TrainingData } from './loop.js';
import { inputShapeOf } from './models.js';
import { presetOf, resolveConfig, restoreTrainer, rule } from './registry.js';
import type { RuleDescriptor, RunSettings, Trainer } from './types.js';

/** What the user asked for; anything left undefined comes from the checkpoint or the defaults. */
export interface RunRequest {
  algorithm?: string;
  preset?: string;
  /** The rule's settings given (hidden, lr, optimizer, schedule, ...). */
  config?: Record<string, unknown>;
  settings?: Partial<RunSettings>;
  dataset?: string;
  /** A checkpoint to continue from, and the name to give it in errors. */
  resume?: { checkpoint: Checkpoint; source: string };
  /**
   * How an error names a setting, by its field name ('batchSize', 'hidden', 'dataset', ...):
   * the CLI says '--batch-size', the playground 'Backprop batch size'.
   */
  label?: (field: string) => string;
}

export interface Run {
  rule: RuleDescriptor;
  trainer: Trainer;
  settings: RunSettings;
  dataset: string;
  normalization: Normalization;
  data: TrainingData;
  /** Optimisation steps already taken (a resumed run's). */
  startStep: number;
  /**
   * The checkpoint after `step` steps, with the last finished epoch's metrics and the loop's
   * progress at that step (so a resume mid-epoch continues the epoch's figures).
   */
  checkpoint(step: number, metrics: EpochMetrics | undefined, progress?: RunProgress): Uint8Array;
}

/** Options of the data beyond the run's settings (the playground evaluates on fewer examples). */
export type ExtraDataOptions = Pick<DataOptions, 'testLimit' | 'trainEvalCount'>;

const RUN_SETTINGS = ['seed', 'batchSize', 'epochs', 'limit', 'maxShift', 'evalEvery'] as const;
/** Settings a resumed run may change: they do not change what it learns. */
const CHANGEABLE_ON_RESUME: readonly string[] = ['epochs', 'evalEvery'];

export function planRun(
  request: RunRequest,
  openDataset: (name: string) => Dataset,
  dataOptions: ExtraDataOptions = {},
): Run {
  const label = request.label ?? ((field: string) => field);
  let dataset: Dataset;
  let planned: Planned;
  if (request.resume) {
    planned = resumed(request, request.resume, label);
    dataset = openDataset(planned.dataset);
  } else {
    dataset = openDataset(request.dataset ?? 'mnist');
    planned = fresh(request, dataset, label);
  }
  const { rule: r, trainer, settings, normalization } = planned;
  checkBatchSize(r, trainer, settings, dataset, label);
  const data = trainingData(dataset, {
    batchSize: settings.batchSize,
    seed: settings.seed,
    normalization,
    limit: settings.limit ?? undefined,
    maxShift: settings.maxShift,
    inputShape: inputShapeOf(trainer.architecture),
    ...dataOptions,
  });
  if (settings.epochs * data.trainBatchCount <= planned.startStep) {
    const done = Number((planned.startStep / data.trainBatchCount).toFixed(3));
    const trained = `has trained ${done} epoch${done === 1 ? '' : 's'} already`;
    const more = `${label('epochs')} ${Math.floor(done) + 1} or more to train on`;
    throw new ChainruleError(
      request.settings?.epochs === undefined
        ? `${request.resume?.source} ${trained}, all of its run; pass ${more}`
        : `${label('epochs')} ${settings.epochs}: ${request.resume?.source} ${trained}; pass ${more}`,
    );
  }
  return {
    ...planned,
    data,
    checkpoint: (step, metrics, progress) =>
      encodeCheckpoint(
        trainer.algorithm,
        trainer.snapshot(),
        checkpointRunInfo({
          dataset: dataset.name,
          normalization,
          step,
          batchesPerEpoch: data.trainBatchCount,
          metrics,
          progress,
          run: settings,
        }),
      ),
  };
}

type Planned = Omit<Run, 'data' | 'checkpoint'>;

function fresh(request: RunRequest, dataset: Dataset, label: (f: string) => string): Planned {
  const r = rule(request.algorithm ?? 'bp', label('algorithm'));
  const preset = presetOf(r, request.preset, label('preset'));
  const normalization = fitNormalization(preset.run.normalization, dataset.train);
  const given = request.settings ?? {};
  const settings: RunSettings = {
    seed: given.seed ?? 0,
    batchSize: given.batchSize ?? preset.run.batchSize,
    epochs: given.epochs ?? preset.run.epochs,
    limit: given.limit ?? null,
    maxShift: given.maxShift ?? preset.run.maxShift ?? 0,
    evalEvery: given.evalEvery ?? 1,
  };
  checkRunSettings(settings, label);
  const config = resolveConfig(
    r,
    { preset: request.preset, normalization, config: request.config },
    `${r.name} settings`,
  );
  const trainer = r.build(config, settings.seed);
  return { rule: r, trainer, settings, dataset: dataset.name, normalization, startStep: 0 };
}

function resumed(
  request: RunRequest,
  from: NonNullable<RunRequest['resume']>,
  label: (f: string) => string,
): Planned {
  const { checkpoint, source } = from;
  const { metadata } = checkpoint;
  const trainer = restoreTrainer(metadata.algorithm, snapshotOf(checkpoint), source);
  const r = rule(trainer.algorithm);
  const saved = readRunSettings(metadata.run, `${source}: run`);
  const startStep = check('count', metadata.step, `${source}: step`);
  const dataset = typeof metadata.dataset === 'string' ? metadata.dataset : show(metadata.dataset);
  const refuse = (field: string, given: unknown, theirs: unknown, fix: string): never => {
    throw new ChainruleError(
      `${label(field)} ${show(given)} conflicts with ${source}, which has ${field} ${show(theirs)}; ${fix}`,
    );
  };
  const fixFlag = (field: string) =>
    `drop ${label(field)} to continue that run, or start a new run without resuming`;
  if (request.algorithm !== undefined && request.algorithm !== trainer.algorithm)
    refuse('algorithm', request.algorithm, trainer.algorithm, fixFlag('algorithm'));
  if (request.preset !== undefined) {
    throw new ChainruleError(
      `${label('preset')} ${request.preset}: a preset sets up a new run, and ${source} keeps its own settings; drop ${label('preset')}`,
    );
  }
  if (request.dataset !== undefined && request.dataset !== dataset)
    refuse(
      'dataset',
      request.dataset,
      dataset,
      `${fixFlag('dataset')}, as the model was trained on ${dataset}`,
    );
  const config = trainer.config as Record<string, unknown>;
  for (const [field, value] of Object.entries(request.config ?? {})) {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(config[field]))
      refuse(field, value, config[field], fixFlag(field));
  }
  const given = request.settings ?? {};
  for (const field of RUN_SETTINGS) {
    const value = given[field];
    // More epochs is how a finished run trains on; the schedule is planned for the new length.
    if (CHANGEABLE_ON_RESUME.includes(field) || value === undefined || value === saved[field]) continue;
    refuse(
      field,
      value,
      saved[field],
      `${fixFlag(field)}: the rest of the run must see the data as it began`,
    );
  }
  const settings = {
    ...saved,
    epochs: given.epochs ?? saved.epochs,
    evalEvery: given.evalEvery ?? saved.evalEvery ?? 1,
  };
  checkRunSettings(settings, label);
  const normalization = parseNormalization(metadata.normalization, source);
  return { rule: r, trainer, settings, dataset, normalization, startStep };
}

function checkRunSettings(s: RunSettings, label: (field: string) => string): void {
  check('seed', s.seed, label('seed'));
  check('epochs', s.epochs, label('epochs'));
  check('batchSize', s.batchSize, label('batchSize'));
  if (s.limit !== null) check('limit', s.limit, label('limit'));
  if (s.maxShift !== undefined) check('maxShift', s.maxShift, label('maxShift'));
  if (s.evalEvery !== undefined) check('evalEvery', s.evalEvery, label('evalEvery'));
}

/** A checkpoint's run settings, each checked and named under `name`. */
function readRunSettings(value: unknown, name: string): RunSettings {
  const run = checkRecord(value, name);
  const field = (f: string) => `${name}.${f}`;
  const settings = {
    seed: run.seed as number,
    batchSize: run.batchSize as number,
    epochs: run.epochs as number,
    limit: run.limit as number | null,
    // Checkpoints from before image shifts were saved trained without them.
    ...(run.maxShift === undefined ? {} : { maxShift: run.maxShift as number }),
    // and before evaluations could be spaced, evaluated every epoch.
    ...(run.evalEvery === undefined ? {} : { evalEvery: run.evalEvery as number }),
  };
  checkRunSettings(settings, field);
  return settings;
}

/**
 * A minibatch must be big enough for the rule's layers: batch normalisation needs two
 * examples to normalise over, in every batch of the epoch, the last one included.
 */
function checkBatchSize(
  r: RuleDescriptor,
  trainer: Trainer,
  settings: RunSettings,
  dataset: Dataset,
  label: (field: string) => string,
): void {
  const least = r.minBatchSize(trainer.config);
  if (least <= 1) return;
  const why = `${r.name} here has batch normalisation, which needs at least ${least} examples in every batch`;
  if (settings.batchSize < least)
    throw new ChainruleError(`${label('batchSize')} ${settings.batchSize}: ${why}; use ${least} or more`);
  const examples = Math.min(settings.limit ?? dataset.train.count, dataset.train.count);
  const last = examples % settings.batchSize;
  if (last > 0 && last < least) {
    throw new ChainruleError(
      `${label('batchSize')} ${settings.batchSize}: ${examples} examples leave ${last} in the last batch, and ${why}; ` +
        `change ${label('batchSize')} or ${label('limit')}`,
    );
  }
}
