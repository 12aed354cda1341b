// `chainrule compare`: trains bp, ff and fg on the same data, seed and budget, each in its own
// process so each one's peak memory is its own, then puts the results side by side.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChainruleError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { TrainEvent } from '../learn/loop.js';
import { ALGORITHMS, rule } from '../learn/registry.js';
import type { Algorithm } from '../learn/types.js';
import { renderChart } from '../report/render-svg.js';
import { comparePanels } from '../report/run-charts.js';
import { checkChoice, parse } from '../validate.js';
import {
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  outputRule,
  type ProgressStyle,
  plural,
  progressHelp,
  progressReporter,
  progressStyle,
} from './progress.js';
import { backendOptions, helpFlag, parseDuration, parseFlags, prepareOutDir, printHelp } from './shared.js';

const THRESHOLDS = [0.9, 0.95, 0.97, 0.98];
const COMPARE_FILES = ['compare.json', 'compare.md', 'compare.svg'] as const;

const DEFAULT_ALGOS = 'bp,ff,fg';

const HELP = `usage: chainrule compare [options]

Trains learning rules (by default backprop, Forward-Forward and forward gradients) on one
dataset, seed and budget, then prints a table of accuracy, time to each accuracy, speed and memory; with --out
DIR it also writes compare.json, compare.md and compare.svg (test accuracy against time).

  --algos LIST           which to run, comma-separated, any of ${ALGORITHMS.join(', ')}
                         (default ${DEFAULT_ALGOS}); --algo is the same flag
  --time DURATION        wall-time budget per algorithm (e.g. 5m); each stops at its default
                         epochs or at the budget, whichever comes first
  --epochs N             the same number of epochs for every algorithm (default: each one's own)
  --seed N               shared seed (default 0)
  --dataset NAME         mnist | fashion-mnist (default mnist)
  --data-dir DIR         read the four IDX files from DIR instead
  --limit N              train on the first N training examples only
  --evals-per-epoch N    test evaluations per epoch for the curves (default 4)
  --out DIR              write compare.json, compare.md and compare.svg to DIR
  --json                 print the settings and rows (compare.json's content) instead of the table
${progressHelp}
${backendOptions.help}
  -h, --help             this help

${outputRule(COMPARE_FILES.join(', '))}`;

export interface CompareRow {
  algorithm: Algorithm;
  model: string;
  epochs: number;
  finalTestAccuracy: number | null;
  /** Seconds of training until the test accuracy first reached each threshold (null: never). */
  timeTo: Record<string, number | null>;
  samplesPerSecond: number | null;
  peakGraphBytes: number | null;
  peakProcessBytes: number | null;
  trainingSeconds: number;
  curve: [number, number][];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    algos: { type: 'string' },
    algo: { type: 'string' },
    time: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    dataset: { type: 'string' },
    'data-dir': { type: 'string' },
    limit: { type: 'string' },
    'evals-per-epoch': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    progress: { type: 'string' },
    ...backendOptions.flags,
    ...helpFlag,
  });
  if (values.help) return printHelp(HELP);
  const algos = (values.algos ?? values.algo ?? DEFAULT_ALGOS)
    .split(',')
    .map((a) => checkChoice(a.trim(), ALGORITHMS, '--algos'));
  // The children check these too, but a bad one should stop the comparison before any training.
  parseDuration('--time', values.time);
  parse('epochs', values.epochs, '--epochs');
  parse('seed', values.seed, '--seed');
  parse('limit', values.limit, '--limit');
  parse('evaluationsPerEpoch', values['evals-per-epoch'], '--evals-per-epoch');
  const style = progressStyle(values.progress);
  const outDir = prepareOutDir(values.out);
  const seed = values.seed ?? '0';
  const shared = [
    ['--seed', seed],
    ['--dataset', values.dataset],
    ['--data-dir', values['data-dir']],
    ['--limit', values.limit],
    ['--time', values.time],
    ['--epochs', values.epochs],
    ['--backend', values.backend],
    ['--threads', values.threads],
    ['--evals-per-epoch', values['evals-per-epoch'] ?? '4'],
  ].flatMap(([flag, value]) => (value === undefined ? [] : [flag as string, value]));

  const rows: CompareRow[] = [];
  for (const algo of algos) {
    if (style === 'bar' || style === 'lines') process.stderr.write(`\n== ${algo}: ${rule(algo).summary}\n`);
    rows.push(await trainInChild(algo, shared, style));
  }
  const settings = {
    dataset: values.dataset ?? 'mnist',
    seed: Number(seed),
    budget: values.time
      ? `${values.time} per algorithm`
      : values.epochs
        ? `${values.epochs} ${plural(Number(values.epochs), 'epoch')}`
        : 'default epochs',
  };
  const json = `${JSON.stringify({ settings, rows }, null, 2)}\n`;
  const table = markdownTable(rows);
  process.stdout.write(values.json ? json : `${table}\n`);
  if (outDir === undefined) return 0;
  const [jsonFile, mdFile, svgFile] = COMPARE_FILES.map((name) => join(outDir, name));
  writeFileAtomic(jsonFile, json);
  writeFileAtomic(
    mdFile,
    `# chainrule compare\n\nDataset ${settings.dataset}, seed ${settings.seed}, budget: ${settings.budget}.\n\n${table}\n`,
  );
  writeFileAtomic(svgFile, await renderChart(comparePanels(settings.dataset, rows)));
  process.stderr.write(`wrote ${jsonFile}, ${mdFile} and ${svgFile}\n`);
  return 0;
}

/** Trains one rule in a child process whose JSON progress events (on its stderr) fill the row. */
function trainInChild(algo: Algorithm, args: string[], style: ProgressStyle): Promise<CompareRow> {
  const bin = fileURLToPath(new URL('../../../bin/chainrule.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'train', '--algo', algo, '--progress', 'json', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const report = progressReporter(style);
  const row: CompareRow = {
    algorithm: algo,
    model: '',
    epochs: 0,
    finalTestAccuracy: null,
    timeTo: Object.fromEntries(THRESHOLDS.map((t) => [String(t), null])),
    samplesPerSecond: null,
    peakGraphBytes: null,
    peakProcessBytes: null,
    trainingSeconds: 0,
    curve: [],
  };
  let pending = '';
  let stderr = '';
  const onEvent = (event: TrainEvent) => {
    report(event);
    if (event.type === 'start') {
      row.model = event.model;
    } else if (event.type === 'evaluation') {
      row.curve.push([event.elapsedSeconds, event.testAccuracy]);
      for (const t of THRESHOLDS) {
        if (row.timeTo[String(t)] === null && event.testAccuracy >= t)
          row.timeTo[String(t)] = event.elapsedSeconds;
      }
    } else if (event.type === 'epoch') {
      const m = event.metrics;
      row.epochs = m.epoch;
      row.finalTestAccuracy = m.testAccuracy;
      row.trainingSeconds = m.elapsedSeconds;
      row.peakGraphBytes = Math.max(row.peakGraphBytes ?? 0, m.peakGraphBytes);
      row.peakProcessBytes = m.peakProcessBytes;
      row.samplesPerSecond = m.samplesPerSecond;
    }
  };
  // Events are JSON lines; anything else on the child's stderr is a message, kept for the error.
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{')) onEvent(JSON.parse(line));
      else stderr += `${line}\n`;
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(row);
      else reject(new ChainruleError(`training ${algo} failed (exit ${code}): ${(stderr + pending).trim()}`));
    });
  });
}

function markdownTable(rows: readonly CompareRow[]): string {
  const header = [
    'algorithm',
    'model',
    'epochs',
    'test accuracy',
    ...THRESHOLDS.map((t) => `time to ${t * 100}%`),
    'samples/s',
    'peak graph memory',
    'process peak',
  ];
  const cell = (s: number | null) => (s === null ? '—' : formatDuration(s));
  const body = rows.map((r) => [
    r.algorithm,
    r.model,
    String(r.epochs),
    r.finalTestAccuracy === null ? '—' : formatPercent(r.finalTestAccuracy),
    ...THRESHOLDS.map((t) => cell(r.timeTo[String(t)])),
    r.samplesPerSecond === null ? '—' : formatRate(r.samplesPerSecond),
    formatBytes(r.peakGraphBytes),
    formatBytes(r.peakProcessBytes),
  ]);
  return [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
