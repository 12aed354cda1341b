// `chainrule train`: one command for every learning rule. The training itself lives in
// src/learn; this file turns flags into a trainer, events into a progress display, and the
// results into files (metrics.jsonl, curves.svg, a safetensors checkpoint).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fitNormalization, type Normalization } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkpointRunInfo } from '../learn/checkpoint.js';
import { trainingData } from '../learn/data.js';
import type { EpochMetrics, LoopResult, TrainEvent } from '../learn/loop.js';
import { trainLoop } from '../learn/loop.js';
import { OPTIMIZERS, type OptimizerName, SCHEDULES, type ScheduleName } from '../learn/optimizer-state.js';
import { algorithm } from '../learn/registry.js';
import type { Trainer } from '../learn/types.js';
import { ALGORITHMS } from '../learn/types.js';
import { percent, renderChart } from '../report/svg-plot.js';
import { formatPercent, plural, progressReporter } from './progress.js';
import {
  backendOptions,
  helpFlag,
  loadCheckpointFile,
  openDataset,
  parseChoice,
  parseDuration,
  parseNumber,
  parseWidths,
  printHelp,
  saveCheckpointFile,
  setupBackend,
} from './shared.js';

const HELP = `usage: chainrule train [options]

Trains a classifier on MNIST (default) and reports accuracy each epoch.

  --algo bp|ff|fg        learning rule (default bp):
${Object.entries(ALGORITHMS)
  .map(([k, v]) => `                           ${k}: ${v}`)
  .join('\n')}
  --epochs N             epochs (default: 5 for bp; the preset's for ff and fg)
  --batch-size N         minibatch size (default 128 for bp)
  --hidden W[,W...]      hidden layer widths (bp default 1024; ff default 500,500; fg default 32)
  --lr X                 peak learning rate (bp default 3e-3 with one-cycle)
  --optimizer NAME       ${OPTIMIZERS.join(' | ')} (bp default adam)
  --schedule NAME        ${SCHEDULES.join(' | ')} (bp default onecycle)
  --preset NAME          ff presets: default, hinton, paper
  --seed N               seed of initialisation, shuffling and sampling (default 0)
  --dataset NAME         mnist | fashion-mnist (default mnist)
  --data-dir DIR         read the four IDX files from DIR instead
  --limit N              train on the first N training examples only
  --out DIR              write metrics.jsonl, curves.svg and checkpoint.safetensors to DIR
  --resume FILE          continue the run saved in a checkpoint
  --time DURATION        stop training after this much wall time (e.g. 90s, 5m, 1h)
  --evals-per-epoch N    extra test evaluations within each epoch (accuracy-against-time curves)
  --json                 print JSON lines instead of text
${backendOptions.help}
  -h, --help             this help

Ctrl-C stops after the current batch and saves a resumable checkpoint (with --out or --resume).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      algo: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      hidden: { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      schedule: { type: 'string' },
      preset: { type: 'string' },
      seed: { type: 'string' },
      dataset: { type: 'string' },
      'data-dir': { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      time: { type: 'string' },
      'evals-per-epoch': { type: 'string' },
      json: { type: 'boolean' },
      ...backendOptions.flags,
      ...helpFlag,
    },
  });
  if (values.help) return printHelp(HELP);
  await setupBackend(values);

  const resumed = values.resume ? loadCheckpointFile(values.resume) : null;
  const algo = resumed?.metadata.algorithm ?? values.algo ?? 'bp';
  if (resumed && values.algo && values.algo !== algo) {
    throw new ChainruleError(
      `--algo ${values.algo} conflicts with the checkpoint, which was trained by ${algo}; drop --algo`,
    );
  }
  const entry = algorithm(algo);
  const preset = values.preset;
  const defaults = entry.defaults(preset);
  const previous = resumed?.metadata.run;
  const seed = parseNumber('--seed', values.seed, { integer: true, min: 0 }) ?? previous?.seed ?? 0;
  const epochs =
    parseNumber('--epochs', values.epochs, { integer: true, min: 1 }) ?? previous?.epochs ?? defaults.epochs;
  const batchSize =
    parseNumber('--batch-size', values['batch-size'], { integer: true, min: 1 }) ??
    previous?.batchSize ??
    defaults.batchSize;
  const limit =
    parseNumber('--limit', values.limit, { integer: true, min: 1 }) ?? previous?.limit ?? undefined;
  const datasetName = values.dataset ?? resumed?.metadata.dataset ?? 'mnist';
  const dataset = openDataset(datasetName, values['data-dir']);

  let trainer: Trainer;
  let normalization: Normalization;
  let startStep = 0;
  if (resumed) {
    trainer = entry.restore(resumed.snapshot, values.resume);
    normalization = resumed.normalization;
    startStep = resumed.metadata.step;
  } else {
    normalization = fitNormalization(defaults.normalization, dataset.train);
    trainer = entry.create({
      seed,
      normalization,
      preset,
      hidden: parseWidths(values.hidden),
      lr: parseNumber('--lr', values.lr, { min: 0, exclusive: true }),
      optimizer: parseChoice<OptimizerName>('--optimizer', values.optimizer, OPTIMIZERS),
      schedule: parseChoice<ScheduleName>('--schedule', values.schedule, SCHEDULES),
    });
  }

  const outDir = values.out;
  if (outDir) mkdirSync(outDir, { recursive: true });
  const checkpointPath = outDir ? join(outDir, 'checkpoint.safetensors') : values.resume;
  const data = trainingData(dataset, { batchSize, seed, normalization, limit });
  const history: EpochMetrics[] = outDir && resumed ? readHistory(outDir) : [];
  const runSettings = { seed, batchSize, epochs, limit: limit ?? null };
  const save = (step: number, metrics: EpochMetrics | undefined) => {
    if (!checkpointPath) return;
    saveCheckpointFile(
      checkpointPath,
      trainer,
      checkpointRunInfo({
        dataset: dataset.name,
        normalization,
        step,
        batchesPerEpoch: data.trainBatchCount,
        metrics,
        run: runSettings,
      }),
    );
  };

  const style = values.json ? 'json' : process.stdout.isTTY ? 'bar' : 'lines';
  const report = progressReporter(style);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await trainLoop(trainer, data, {
      epochs,
      startStep,
      timeBudgetSeconds: parseDuration('--time', values.time),
      evaluationsPerEpoch: parseNumber('--evals-per-epoch', values['evals-per-epoch'], {
        integer: true,
        min: 0,
      }),
      signal: controller.signal,
      onEvent: (event: TrainEvent) => {
        report(event);
        if (event.type === 'epoch') {
          history.push(event.metrics);
          save(event.metrics.epoch * data.trainBatchCount, event.metrics);
          if (outDir) writeRunFiles(outDir, history, trainer);
        }
      },
    });
    return finish(result, history, { json: values.json === true, outDir, checkpointPath, save });
  } finally {
    // Kept until the checkpoint is saved: the save is synchronous, so a second Ctrl-C waits for it.
    process.off('SIGINT', onSigint);
  }
}

function finish(
  result: LoopResult,
  history: EpochMetrics[],
  o: {
    json: boolean;
    outDir: string | undefined;
    checkpointPath: string | undefined;
    save: (step: number, m: EpochMetrics | undefined) => void;
  },
): number {
  if (result.reason === 'interrupted') {
    if (o.checkpointPath) {
      o.save(result.step, history.at(-1));
      process.stderr.write(
        `saved a resumable checkpoint after step ${result.step} to ${o.checkpointPath}; continue with: chainrule train --resume ${o.checkpointPath}${o.outDir ? ` --out ${o.outDir}` : ''}\n`,
      );
    } else {
      process.stderr.write('stopped; nothing saved (pass --out DIR to keep checkpoints)\n');
    }
    return 130;
  }
  const last = history.at(-1);
  if (last && o.json) process.stdout.write(`${JSON.stringify({ type: 'result', ...last })}\n`);
  else if (last) {
    process.stdout.write(
      `final test accuracy ${formatPercent(last.testAccuracy)} after ${last.epoch} ${plural(last.epoch, 'epoch')} ` +
        `(${(last.elapsedSeconds / last.epoch).toFixed(1)} s per epoch)\n`,
    );
    if (o.outDir)
      process.stdout.write(
        `wrote ${join(o.outDir, 'metrics.jsonl')}, curves.svg and checkpoint.safetensors\n`,
      );
  }
  return 0;
}

function readHistory(outDir: string): EpochMetrics[] {
  const path = join(outDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readLines(path).map((line) => JSON.parse(line) as EpochMetrics);
}

const readLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());

function writeRunFiles(outDir: string, history: EpochMetrics[], trainer: Trainer): void {
  writeFileAtomic(join(outDir, 'metrics.jsonl'), history.map((m) => JSON.stringify(m)).join('\n') + '\n');
  const label = `${trainer.algorithm}: ${trainer.describe()}`;
  writeFileAtomic(
    join(outDir, 'curves.svg'),
    renderChart([
      {
        title: 'Training loss',
        xLabel: 'epoch',
        yLabel: 'loss',
        series: [{ name: label, points: history.map((m) => [m.epoch, m.trainLoss]) }],
      },
      {
        title: 'Accuracy',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        yFormat: percent,
        series: [
          { name: 'train', points: history.map((m) => [m.epoch, m.trainAccuracy]) },
          { name: 'test', points: history.map((m) => [m.epoch, m.testAccuracy]) },
        ],
      },
    ]),
  );
}
