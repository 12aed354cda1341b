// `chainrule train`: one command for every learning rule. The training itself lives in
// src/learn; this file turns flags into a trainer, events into a progress display, and the
// results into files (metrics.jsonl, curves.svg, a safetensors checkpoint).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeAbandonedTemporaries, writeFileAtomic } from '../io/atomic.js';
import { readJsonLines } from '../io/files.js';
import { stopOnSignals } from '../io/signals.js';
import { progressOf } from '../learn/checkpoint.js';
import type { EpochMetrics, LoopResult, RunProgress, TrainEvent } from '../learn/loop.js';
import { lastEvaluated, trainLoop } from '../learn/loop.js';
import { OPTIMIZERS } from '../learn/optimizer-state.js';
import { ALGORITHMS, rule } from '../learn/registry.js';
import { planRun } from '../learn/run.js';
import type { Trainer } from '../learn/types.js';
import { setDetectAnomaly } from '../ops/anomaly.js';
import { renderChart } from '../report/render-svg.js';
import { runPanels } from '../report/run-charts.js';
import { checkChoice, parse, parseWidths } from '../validate.js';
import {
  formatPercent,
  outputRule,
  plural,
  progressHelp,
  progressReporter,
  progressStyle,
} from './progress.js';
import {
  backendOptions,
  helpFlag,
  loadCheckpointFile,
  openDataset,
  parseDuration,
  parseFlags,
  prepareOutDir,
  printHelp,
  setupBackend,
} from './shared.js';

/** Each rule's value of a setting in its default preset, for the help: "bp 5, ff 10, fg 3". */
const perRule = (pick: (r: ReturnType<typeof rule>) => unknown) =>
  ALGORITHMS.map((name) => {
    const value = pick(rule(name));
    return `${name} ${Array.isArray(value) ? value.join(',') : String(value)}`;
  }).join('; ');
const defaultConfig = (r: ReturnType<typeof rule>) => r.presets.default.config as Record<string, unknown>;

/** What --out DIR holds, by the key --json names each path with. */
const RUN_FILES = {
  metrics: 'metrics.jsonl',
  curves: 'curves.svg',
  checkpoint: 'checkpoint.safetensors',
} as const;

const HELP = `usage: chainrule train [options]

Trains a classifier on MNIST (default) and reports accuracy each epoch.

  --algo NAME            learning rule (default bp):
${ALGORITHMS.map((name) => `                           ${name}: ${rule(name).summary}`).join('\n')}
  --preset NAME          a named configuration of the rule (default: default):
${ALGORITHMS.flatMap((name) =>
  Object.entries(rule(name).presets).map(
    ([p, preset]) => `                           ${name} ${p}: ${preset.summary}`,
  ),
).join('\n')}
  --model mlp|cnn        bp's network: the seed network (mlp, default) or a LeNet-shaped CNN over
                         images (cnn; without --preset it takes bp's cnn preset)
  --epochs N             epochs (default: ${perRule((r) => r.presets.default.run.epochs)})
  --batch-size N         minibatch size (default: ${perRule((r) => r.presets.default.run.batchSize)})
  --hidden W[,W...]      hidden layer widths (default: ${perRule((r) => defaultConfig(r).hidden)})
  --lr X                 peak learning rate (default: ${perRule((r) => defaultConfig(r).lr)});
                         a negative value must be attached: --lr=-1 (it is refused, but by name)
  --optimizer NAME       ${OPTIMIZERS.join(' | ')} (default: ${perRule((r) => defaultConfig(r).optimizer)})
  --schedule NAME        learning-rate schedule (default: ${perRule((r) => defaultConfig(r).schedule)}):
${ALGORITHMS.map((name) => `                           ${name}: ${rule(name).schedules.join(' | ')}`).join('\n')}
  --seed N               seed of initialisation, shuffling and sampling (default 0)
  --dataset NAME         mnist | fashion-mnist (default mnist)
  --data-dir DIR         read the four IDX files from DIR instead
  --limit N              train on the first N training examples only
  --shift N              shift each training image by up to N pixels each way, seeded per epoch
                         (the Forward-Forward paper's jitter is 2; default 0)
  --out DIR              write metrics.jsonl, curves.svg and checkpoint.safetensors to DIR
  --resume FILE          continue the run saved in a checkpoint: the model and the run go on as
                         saved, so --algo, --preset, --hidden, --lr, --optimizer, --schedule,
                         --seed, --batch-size, --limit and --dataset may only repeat its values;
                         --epochs may raise the total (the schedule is planned for the new length),
                         and --eval-every may change
  --time DURATION        stop training after this much wall time (e.g. 90s, 5m, 1h)
  --evals-per-epoch N    extra test evaluations within each epoch (accuracy-against-time curves)
  --eval-every N         measure train and test accuracy after every N epochs, and after the
                         first, the last and one a stop ends at (default 1: each epoch); the
                         others log null. Goodness inference can cost as much as the training
  --json                 print the result as one JSON object instead of a line of text
  --detect-anomaly       check every op for NaN/Inf and name the first that makes one, forward
                         or backward (slower; for finding where training breaks)
${progressHelp}
${backendOptions.help}
  -h, --help             this help

${outputRule(Object.values(RUN_FILES).join(', '), '--resume FILE without --out saves the run back into FILE')}
Ctrl-C (or SIGTERM) stops after the current batch and saves a resumable checkpoint (with --out or
--resume); a second one quits at once, without saving.`;

/** The flags that set the run's settings, by the field (and quantity) each one sets. */
const RUN_FLAGS = {
  seed: 'seed',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  limit: 'limit',
  shift: 'maxShift',
  'eval-every': 'evalEvery',
} as const;
/** The flags that set the rule's settings, by field. */
const RULE_FLAGS = {
  hidden: 'hidden',
  lr: 'lr',
  optimizer: 'optimizer',
  schedule: 'schedule',
  model: 'model',
} as const;
const RUN_SETUP_FLAGS = { algo: 'algorithm', preset: 'preset', dataset: 'dataset' } as const;

/** The flag each setting comes from, so errors from the shared run set-up name it. */
const FLAG_OF: Record<string, string> = Object.fromEntries(
  Object.entries({ ...RUN_FLAGS, ...RULE_FLAGS, ...RUN_SETUP_FLAGS }).map(([flag, field]) => [
    field,
    `--${flag}`,
  ]),
);

const stringFlags = <const N extends string>(names: readonly N[]) =>
  Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])) as Record<N, { type: 'string' }>;
const keysOf = <T extends object>(o: T) => Object.keys(o) as (keyof T & string)[];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...stringFlags(keysOf({ ...RUN_FLAGS, ...RULE_FLAGS, ...RUN_SETUP_FLAGS })),
    ...stringFlags(['data-dir', 'out', 'resume', 'time', 'evals-per-epoch', 'progress']),
    json: { type: 'boolean' },
    'detect-anomaly': { type: 'boolean' },
    ...backendOptions.flags,
    ...helpFlag,
  });
  if (values.help) return printHelp(HELP);
  // Every flag is checked before anything is loaded, resumed or trained.
  const settings = Object.fromEntries(
    keysOf(RUN_FLAGS).map((flag) => [RUN_FLAGS[flag], parse(RUN_FLAGS[flag], values[flag], `--${flag}`)]),
  );
  const config = {
    hidden: parseWidths(values.hidden, '--hidden'),
    lr: parse('lr', values.lr, '--lr'),
    optimizer:
      values.optimizer === undefined ? undefined : checkChoice(values.optimizer, OPTIMIZERS, '--optimizer'),
    schedule: values.schedule,
    // Only bp has a model setting: the other rules' configurations refuse the key itself.
    ...(values.model === undefined ? {} : { model: values.model }),
  };
  // The rule is known here unless a resumed checkpoint names it (then the run set-up compares).
  const named = values.algo ?? (values.resume ? undefined : 'bp');
  if (named !== undefined && values.schedule !== undefined)
    checkChoice(values.schedule, rule(named, '--algo').schedules, `--schedule (for ${named})`);
  else if (values.algo !== undefined) rule(values.algo, '--algo');
  const timeBudgetSeconds = parseDuration('--time', values.time);
  const evaluationsPerEpoch = parse('evaluationsPerEpoch', values['evals-per-epoch'], '--evals-per-epoch');
  const style = progressStyle(values.progress);
  const outDir = prepareOutDir(values.out);
  if (outDir) removeAbandonedTemporaries(outDir);
  await setupBackend(values);
  if (values['detect-anomaly']) setDetectAnomaly(true);

  const resumed = values.resume ? loadCheckpointFile(values.resume) : undefined;
  const planned = planRun(
    {
      algorithm: values.algo,
      // --model cnn starts from the cnn preset (its hidden width and epochs), unless told otherwise.
      preset:
        values.preset ??
        (values.model === 'cnn' && (values.algo ?? 'bp') === 'bp' && !values.resume ? 'cnn' : undefined),
      config,
      settings,
      dataset: values.dataset,
      resume: resumed && { checkpoint: resumed, source: values.resume! },
      label: (field) => FLAG_OF[field] ?? field,
    },
    (name) => openDataset(name, values['data-dir']),
  );
  const { trainer, data } = planned;
  const checkpointPath = outDir ? join(outDir, RUN_FILES.checkpoint) : values.resume;
  // The checkpoint decides: metrics lines past its epoch (written just before a kill) are redone.
  const history: EpochMetrics[] =
    outDir && resumed
      ? readHistory(outDir).filter((m) => m.epoch * data.trainBatchCount <= planned.startStep)
      : [];
  const save = (step: number, metrics: EpochMetrics | undefined, progress: RunProgress) => {
    if (checkpointPath) writeFileAtomic(checkpointPath, planned.checkpoint(step, metrics, progress));
  };

  const report = progressReporter(style);
  // Metrics first: a kill between them leaves a line the resume redoes, never a lost one.
  const saveEpoch = async (metrics: EpochMetrics) => {
    history.push(metrics);
    if (outDir) await writeRunFiles(outDir, history, trainer);
    save(metrics.epoch * data.trainBatchCount, metrics, {
      elapsedSeconds: metrics.elapsedSeconds,
      epochLossSum: 0,
      epochSamples: 0,
      epochSeconds: 0,
    });
  };
  const stop = stopOnSignals({ command: 'chainrule train' });
  try {
    const result = await trainLoop(trainer, data, {
      epochs: planned.settings.epochs,
      startStep: planned.startStep,
      startProgress: resumed ? progressOf(resumed.metadata) : undefined,
      timeBudgetSeconds,
      evaluationsPerEpoch,
      evalEvery: planned.settings.evalEvery,
      signal: stop.signal,
      onEvent: (event: TrainEvent) => {
        report(event);
        if (event.type === 'epoch') return saveEpoch(event.metrics);
      },
    });
    return finish(result, history, {
      json: values.json === true,
      run: { algorithm: trainer.algorithm, model: trainer.describe(), dataset: planned.dataset },
      outDir,
      checkpointPath,
      save,
    });
  } finally {
    // Kept until the checkpoint is saved: the save is synchronous, so a second Ctrl-C waits for it.
    stop.dispose();
  }
}

function finish(
  result: LoopResult,
  history: EpochMetrics[],
  o: {
    json: boolean;
    run: { algorithm: string; model: string; dataset: string };
    outDir: string | undefined;
    checkpointPath: string | undefined;
    save: (step: number, m: EpochMetrics | undefined, progress: RunProgress) => void;
  },
): number {
  if (result.reason === 'interrupted') {
    if (o.checkpointPath) {
      o.save(result.step, history.at(-1), result.progress);
      process.stderr.write(
        `saved a resumable checkpoint after step ${result.step} to ${o.checkpointPath}; continue with: chainrule train --resume ${o.checkpointPath}${o.outDir ? ` --out ${o.outDir}` : ''}\n`,
      );
    } else {
      process.stderr.write('stopped; nothing saved (pass --out DIR to keep checkpoints)\n');
    }
    return 130;
  }
  // A run that ends (not stopped) evaluates its last epoch, so this is that epoch.
  const last = lastEvaluated(history);
  if (o.json) {
    const files = o.outDir ? runFiles(o.outDir) : {};
    const summary = { ...o.run, reason: result.reason, final: history.at(-1) ?? null, history, files };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else if (last) {
    process.stdout.write(
      `final test accuracy ${formatPercent(last.testAccuracy)} after ${last.epoch} ${plural(last.epoch, 'epoch')} ` +
        `(${(last.elapsedSeconds / last.epoch).toFixed(1)} s per epoch)\n`,
    );
  }
  if (o.outDir) process.stderr.write(`wrote ${Object.values(runFiles(o.outDir)).join(', ')}\n`);
  return 0;
}

const runFiles = (outDir: string) =>
  Object.fromEntries(Object.entries(RUN_FILES).map(([key, name]) => [key, join(outDir, name)]));

function readHistory(outDir: string): EpochMetrics[] {
  const path = join(outDir, RUN_FILES.metrics);
  if (!existsSync(path)) return [];
  return readJsonLines(path, { what: 'metrics file', maxBytes: 64 * 2 ** 20 }) as EpochMetrics[];
}

async function writeRunFiles(outDir: string, history: EpochMetrics[], trainer: Trainer): Promise<void> {
  writeFileAtomic(join(outDir, RUN_FILES.metrics), history.map((m) => JSON.stringify(m)).join('\n') + '\n');
  const run = { label: `${trainer.algorithm}: ${trainer.describe()}`, rule: trainer.algorithm, history };
  writeFileAtomic(join(outDir, RUN_FILES.curves), await renderChart(runPanels([run])));
}
