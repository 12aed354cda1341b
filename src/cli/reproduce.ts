// `chainrule reproduce TABLE`: trains the rows of a paper's table (reproduce-tables.ts), each
// by `chainrule train` in a child process into DIR/ROW/ (checkpoints every epoch, metrics.jsonl,
// resumable), reads finished rows back from their metrics instead of training them again, and
// writes the paper's figures beside ours as DIR/TABLE.md. A row's run.jsonl (its metrics, then
// a summary line carrying testError) is the file docs/runs/ keeps, and --verify re-runs its
// first epoch to check the logged figures come back exactly.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../backend/index.js';
import { ChainruleError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonLines } from '../io/files.js';
import { type EpochMetrics, lastEvaluated, trainLoop } from '../learn/loop.js';
import { presetOf, rule } from '../learn/registry.js';
import { planRun } from '../learn/run.js';
import type { RunSettings } from '../learn/types.js';
import { check, checkChoice, checkRecord, parse, show } from '../validate.js';
import { formatDuration, formatPercent, outputRule, progressHelp, progressStyle } from './progress.js';
import {
  type PaperFigure,
  REPRODUCE_TABLES,
  type ReproduceRow,
  type ReproduceTable,
} from './reproduce-tables.js';
import {
  backendOptions,
  helpFlag,
  loadCheckpointFile,
  openDataset,
  parseFlags,
  prepareOutDir,
  printHelp,
  setupBackend,
} from './shared.js';

const HELP = `usage: chainrule reproduce TABLE [options]

Trains the rows of a paper's table and writes the paper's figures beside ours (test error,
epochs, wall time, the command that ran). Tables:
${Object.values(REPRODUCE_TABLES)
  .map(
    (t) =>
      `  ${t.name.padEnd(22)} ${t.source}\n${''.padEnd(25)}rows: ${t.rows.map((r) => r.name).join(', ')}`,
  )
  .join('\n')}

Each row runs \`chainrule train --algo RULE --preset PRESET --out DIR/ROW\`: a checkpoint every
epoch, metrics.jsonl, and run.jsonl (the metrics, then a summary line with testError, the
fraction of test images misclassified by the row's inference mode; docs/runs/ keeps these).
A finished row is read back from its files, not trained again. TABLE.md (and the table
printed) holds every row finished in DIR, whichever run of reproduce finished it.

  --row NAME             run one row only (default: every row, in order)
  --out DIR              where the rows' directories and TABLE.md go (default reproduce)
  --resume               continue the rows whose runs an interruption left unfinished
  --epochs N             a shorter check: N epochs instead of the row's (labelled as such)
  --limit N              train on the first N training examples only (labelled as a check)
  --seed N               seed of every row (default 0)
  --verify FILE          re-run the first epoch of the run FILE logs (a run.jsonl, e.g.
                         docs/runs/ff-supervised.jsonl) with its seed and settings, and check
                         its training loss and accuracies come back exactly; trains nothing else
  --json                 print the rows as JSON instead of the table
${progressHelp}
${backendOptions.help}
  -h, --help             this help

${outputRule('DIR/ROW/*, DIR/TABLE.md', 'without --out they go to ./reproduce')}
Ctrl-C stops the row in training after its current batch and saves its checkpoint; run the same
command with --resume to continue.`;

/** The last line of a row's run.jsonl: what ran, and what it reached. */
export interface RunSummary {
  table: string;
  row: string;
  rule: string;
  preset: string;
  epochs: number;
  /** The row's epochs, when `epochs` (those the run was planned for) is fewer: a shorter check. */
  rowEpochs: number;
  limit: number | null;
  seed: number;
  inference: string;
  /** Fraction of the test set misclassified after the last epoch, by `inference`. */
  testError: number;
  wallSeconds: number;
  command: string;
  backend: { name: string; isa?: string; threads: number };
}

export interface ReproduceOptions {
  out: string;
  row?: string;
  resume?: boolean;
  epochs?: number;
  limit?: number;
  seed?: number;
  /** Extra flags for the child `train` (the backend, the progress style). */
  childFlags?: string[];
}

const RUN_LOG = 'run.jsonl';
const METRICS = 'metrics.jsonl';
const CHECKPOINT = 'checkpoint.safetensors';

/** The table named `name`, or an error listing them. */
export function tableNamed(name: string | undefined): ReproduceTable {
  if (name === undefined)
    throw new ChainruleError(
      `reproduce needs a TABLE: one of ${Object.keys(REPRODUCE_TABLES).join(', ')} (see chainrule reproduce --help)`,
    );
  return REPRODUCE_TABLES[checkChoice(name, Object.keys(REPRODUCE_TABLES), 'TABLE')];
}

/** The rows `--row` selects: all of them, or the one named (an error lists the table's rows). */
export function selectRows(table: ReproduceTable, row: string | undefined): readonly ReproduceRow[] {
  if (row === undefined) return table.rows;
  const names = table.rows.map((r) => r.name);
  return [table.rows[names.indexOf(checkChoice(row, names, `--row (for ${table.name})`))]];
}

/** The epochs a row trains: the paper's where the row names them, else its preset's. */
export const rowEpochs = (row: ReproduceRow): number =>
  row.epochs ?? presetOf(rule(row.rule), row.preset).run.epochs;

/** The `chainrule train` arguments that run `row` into `dir` (from scratch). */
export function trainArguments(row: ReproduceRow, dir: string, o: Omit<ReproduceOptions, 'out'>): string[] {
  return [
    '--algo',
    row.rule,
    '--preset',
    row.preset,
    '--epochs',
    String(o.epochs ?? rowEpochs(row)),
    ...(o.limit === undefined ? [] : ['--limit', String(o.limit)]),
    ...(o.seed === undefined ? [] : ['--seed', String(o.seed)]),
    ...(row.evalEvery === undefined ? [] : ['--eval-every', String(row.evalEvery)]),
    '--out',
    dir,
  ];
}

/**
 * Runs (or reads back) the selected rows of `table`, and writes DIR/TABLE.md with every row
 * finished in DIR, so rows run one at a time (--row) build up one table. Returns the
 * selected rows' summaries and that table.
 */
export async function reproduce(
  table: ReproduceTable,
  o: ReproduceOptions,
): Promise<{ summaries: RunSummary[]; markdown: string }> {
  const rows = selectRows(table, o.row);
  const summaries: RunSummary[] = [];
  for (const row of rows) summaries.push(await reproduceRow(table, row, o));
  const finished = table.rows.flatMap((row) => {
    const summary = summaries.find((s) => s.row === row.name) ?? readSummary(join(o.out, row.name));
    return summary ? [summary] : [];
  });
  const markdown = markdownTable(table, finished);
  writeFileAtomic(join(o.out, `${table.name}.md`), `${markdown}\n`);
  return { summaries, markdown };
}

async function reproduceRow(
  table: ReproduceTable,
  row: ReproduceRow,
  o: ReproduceOptions,
): Promise<RunSummary> {
  const dir = join(o.out, row.name);
  const epochs = o.epochs ?? rowEpochs(row);
  const args = trainArguments(row, dir, o);
  const command = `chainrule train ${args.join(' ')}`;
  const history = readMetrics(dir);
  const last = history.at(-1);
  const done = last !== undefined && last.epoch >= epochs;
  const checkpoint = join(dir, CHECKPOINT);
  const settings = { limit: o.limit ?? null, seed: o.seed ?? 0 };
  if (existsSync(checkpoint)) {
    // A row's directory holds one run, planned once: a check on fewer examples or epochs is
    // never passed off as the row, and the schedule (planned for the epochs) is never changed
    // midway, so --verify can re-run its first epoch.
    const saved = loadCheckpointFile(checkpoint).metadata.run as RunSettings;
    const given = { ...settings, epochs };
    for (const field of ['limit', 'seed', 'epochs'] as const) {
      if (field === 'epochs' && done) continue;
      if (saved[field] !== given[field])
        throw new ChainruleError(
          `${dir} holds a run of row ${row.name} with ${field} ${saved[field] ?? 'none'}, not ${given[field] ?? 'none'}; ` +
            `repeat its --${field}, or choose another --out`,
        );
    }
  }
  if (!done) {
    if (existsSync(checkpoint)) {
      if (!o.resume)
        throw new ChainruleError(
          `${dir} holds an unfinished run of row ${row.name} (${last?.epoch ?? 0} of ${epochs} epochs); ` +
            'pass --resume to continue it, or choose another --out',
        );
      // A resumed run keeps its own settings; only the epochs may be said again.
      await trainInChild(
        ['--resume', checkpoint, '--out', dir, '--epochs', String(epochs)],
        o.childFlags ?? [],
      );
    } else {
      await trainInChild(args, o.childFlags ?? []);
    }
  }
  const metrics = readMetrics(dir);
  // A finished run evaluates its last epoch; with --eval-every not every epoch before it.
  const final = lastEvaluated(metrics);
  if (!final) throw new ChainruleError(`${join(dir, METRICS)}: no epoch was evaluated; run the row again`);
  const summary: RunSummary = {
    table: table.name,
    row: row.name,
    rule: row.rule,
    preset: row.preset,
    epochs: final.epoch,
    rowEpochs: rowEpochs(row),
    ...settings,
    inference: row.inference,
    testError: 1 - final.testAccuracy,
    wallSeconds: final.elapsedSeconds,
    command,
    backend: readBackend(),
  };
  const previous = done ? readSummary(dir) : undefined;
  const kept = previous && previous.epochs === summary.epochs ? previous : summary;
  writeFileAtomic(
    join(dir, RUN_LOG),
    [...metrics, kept].map((line) => JSON.stringify(line)).join('\n') + '\n',
  );
  return kept;
}

const readBackend = () => {
  const { name, isa, threads } = backendInfo();
  return { name, isa, threads };
};

function readMetrics(dir: string): EpochMetrics[] {
  const path = join(dir, METRICS);
  return existsSync(path)
    ? (readJsonLines(path, { what: 'metrics file', maxBytes: 64 * 2 ** 20 }) as EpochMetrics[])
    : [];
}

/** The summary a finished row's run.jsonl already holds (its backend and wall time are the run's). */
function readSummary(dir: string): RunSummary | undefined {
  const path = join(dir, RUN_LOG);
  if (!existsSync(path)) return undefined;
  return readRunLog(path).summary;
}

/** A run.jsonl: its epochs' metrics and its summary line, each checked. */
export function readRunLog(path: string): { metrics: EpochMetrics[]; summary: RunSummary } {
  const lines = readJsonLines(path, { what: 'run log', maxBytes: 64 * 2 ** 20 });
  const summary = checkRecord(lines.at(-1), `${path}: last line`) as unknown as RunSummary;
  const fix = 'the last line must be the summary `chainrule reproduce` writes; restore the file';
  for (const field of ['table', 'row', 'rule', 'preset', 'inference'] as const)
    if (typeof summary[field] !== 'string')
      throw new ChainruleError(`${path}: summary.${field} is missing; ${fix}`);
  check('epochs', summary.epochs, `${path}: summary.epochs`);
  check('seed', summary.seed, `${path}: summary.seed`);
  if (summary.limit !== null) check('limit', summary.limit, `${path}: summary.limit`);
  if (!(summary.testError >= 0 && summary.testError <= 1))
    throw new ChainruleError(
      `${path}: summary.testError must be a fraction in [0, 1], got ${show(summary.testError)}; ${fix}`,
    );
  const metrics = lines.slice(0, -1) as EpochMetrics[];
  if (metrics[0]?.epoch !== 1)
    throw new ChainruleError(`${path}: the first line must be epoch 1's metrics; restore the file`);
  return { metrics, summary };
}

/** Trains with `chainrule train` in a child process; its progress shows on our stderr. */
function trainInChild(args: string[], flags: string[]): Promise<void> {
  const bin = fileURLToPath(new URL('../../../bin/chainrule.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'train', ...args, ...flags], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new ChainruleError(
            `chainrule train ${args.join(' ')} stopped (exit ${code}): see its message above; ` +
              'a checkpoint it saved is kept, and --resume continues from it',
          ),
        );
    });
  });
}

/** The figures of a run that depend only on the seed, the settings and the kernels, not on time. */
const EXACT_FIELDS = ['trainLoss', 'trainAccuracy', 'testAccuracy'] as const;

/**
 * Re-runs the first epoch of the run `path` logs with its rule, preset, seed, limit and epochs
 * (so the schedule is the same) on the active backend, and lists each logged figure that did
 * not come back exactly (an empty list: verified).
 */
export async function verifyRun(
  path: string,
  table: ReproduceTable,
  rowName?: string,
): Promise<{ summary: RunSummary; mismatches: string[] }> {
  const { metrics, summary } = readRunLog(path);
  if (summary.table !== table.name)
    throw new ChainruleError(
      `${path} logs a run of table ${summary.table}, not ${table.name}; name that table`,
    );
  if (rowName !== undefined && summary.row !== rowName)
    throw new ChainruleError(`${path} logs row ${summary.row}, not ${rowName}; drop --row or name that row`);
  selectRows(table, summary.row);
  const run = planRun(
    {
      algorithm: summary.rule,
      preset: summary.preset,
      settings: { epochs: summary.epochs, seed: summary.seed, limit: summary.limit },
    },
    (name) => openDataset(name, undefined),
  );
  const stop = new AbortController();
  let first: EpochMetrics | undefined;
  await trainLoop(run.trainer, run.data, {
    epochs: summary.epochs,
    signal: stop.signal,
    onEvent: (event) => {
      if (event.type !== 'epoch' || first) return;
      first = event.metrics;
      stop.abort();
    },
  });
  if (!first) throw new ChainruleError(`${path}: the first epoch did not finish; run the check again`);
  const logged = metrics[0];
  const mismatches = EXACT_FIELDS.filter((f) => logged[f] !== first![f]).map(
    (f) => `${f}: logged ${logged[f]}, re-run ${first![f]}`,
  );
  return { summary, mismatches };
}

const figure = (f: PaperFigure) =>
  typeof f === 'number' ? formatPercent(f) : `${formatPercent(f[0])}-${formatPercent(f[1])}`;

/** The table as Markdown: the paper's error beside ours, with the epochs, wall time and command. */
export function markdownTable(table: ReproduceTable, summaries: readonly RunSummary[]): string {
  const header = ['row', "the paper's setting", 'paper', 'ours', 'epochs', 'wall time', 'command'];
  const body = summaries.map((s) => {
    const row = table.rows.find((r) => r.name === s.row)!;
    const checks = [
      s.epochs < s.rowEpochs ? `${s.epochs} of ${s.rowEpochs} epochs` : '',
      s.limit !== null ? `${s.limit} training examples` : '',
    ].filter(Boolean);
    return [
      row.name,
      row.setting,
      figure(row.paper),
      `${formatPercent(s.testError)} (${s.inference})${checks.length ? `, a check: ${checks.join(', ')}` : ''}`,
      String(s.epochs),
      formatDuration(s.wallSeconds),
      `\`${s.command}\``,
    ];
  });
  return [
    `${table.source}`,
    '',
    ...[header, header.map(() => '---'), ...body].map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      row: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      epochs: { type: 'string' },
      limit: { type: 'string' },
      seed: { type: 'string' },
      verify: { type: 'string' },
      json: { type: 'boolean' },
      progress: { type: 'string' },
      ...backendOptions.flags,
      ...helpFlag,
    },
    true,
  );
  if (values.help) return printHelp(HELP);
  if (positionals.length > 1)
    throw new ChainruleError(`reproduce runs one TABLE at a time, got ${positionals.join(', ')}`);
  const table = tableNamed(positionals[0]);
  if (values.row !== undefined) selectRows(table, values.row);
  const options = {
    epochs: parse('epochs', values.epochs, '--epochs'),
    limit: parse('limit', values.limit, '--limit'),
    seed: parse('seed', values.seed, '--seed'),
  };
  const style = progressStyle(values.progress);
  if (values.verify !== undefined) {
    for (const flag of ['epochs', 'limit', 'seed', 'resume', 'out'] as const) {
      if (values[flag] !== undefined)
        throw new ChainruleError(`--verify re-runs the logged run as it was: drop --${flag}`);
    }
    await setupBackend(values);
    const { summary, mismatches } = await verifyRun(values.verify, table, values.row);
    const { name, threads } = readBackend();
    const where = `on ${name} with ${threads} thread(s); logged on ${summary.backend?.name} with ${summary.backend?.threads}`;
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ file: values.verify, verified: mismatches.length === 0, mismatches }, null, 2)}\n`,
      );
    else if (mismatches.length === 0)
      process.stdout.write(`${values.verify}: epoch 1 of row ${summary.row} came back exactly (${where})\n`);
    else
      process.stdout.write(
        `${values.verify}: epoch 1 of row ${summary.row} differs (${where}):\n  ${mismatches.join('\n  ')}\n`,
      );
    return mismatches.length === 0 ? 0 : 1;
  }
  const out = prepareOutDir(values.out ?? 'reproduce')!;
  await setupBackend(values);
  const childFlags = [
    '--progress',
    style,
    ...(values.backend === undefined ? [] : ['--backend', values.backend]),
    ...(values.threads === undefined ? [] : ['--threads', values.threads]),
  ];
  const { summaries, markdown } = await reproduce(table, {
    out,
    row: values.row,
    resume: values.resume,
    ...options,
    childFlags,
  });
  if (values.json)
    process.stdout.write(`${JSON.stringify({ table: table.name, rows: summaries }, null, 2)}\n`);
  else process.stdout.write(`${markdown}\n`);
  process.stderr.write(`wrote ${join(out, `${table.name}.md`)}\n`);
  return 0;
}
