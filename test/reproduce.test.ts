// `chainrule reproduce`: the tables agree with the presets they name, rows are selected by
// name with the valid ones listed, the Markdown table labels a check as one, a finished row is
// read back instead of retrained, and --verify gets a logged first epoch back exactly.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  markdownTable,
  type RunSummary,
  readRunLog,
  reproduce,
  rowEpochs,
  selectRows,
  tableNamed,
  trainArguments,
  verifyRun,
} from '../src/cli/reproduce.js';
import { REPRODUCE_TABLES, type ReproduceTable } from '../src/cli/reproduce-tables.js';
import { createTrainer, presetOf, rule } from '../src/learn/registry.js';

test("every row's preset exists, runs the paper's epochs, and reads out by the row's inference", () => {
  for (const table of Object.values(REPRODUCE_TABLES)) {
    const names = table.rows.map((r) => r.name);
    assert.equal(new Set(names).size, names.length, `${table.name}: row names are unique`);
    for (const row of table.rows) {
      const preset = presetOf(rule(row.rule), row.preset);
      if (row.epochs !== undefined)
        assert.equal(preset.run.epochs, row.epochs, `${table.name} ${row.name}: epochs`);
      assert.equal(rowEpochs(row), preset.run.epochs);
      // The paper's FF networks are large; the inference mode depends neither on the widths
      // nor on whether the layers are locally connected.
      const local = 'receptiveFields' in preset.config ? { receptiveFields: null } : {};
      const small = row.rule.startsWith('ff') ? { hidden: [4, 4], ...local } : {};
      const trainer = createTrainer(row.rule, small as never, { preset: row.preset });
      assert.equal(trainer.inference, row.inference, `${table.name} ${row.name}: inference`);
    }
  }
  assert.deepEqual(
    REPRODUCE_TABLES['fg-local'].rows.map((r) => r.rule),
    ['bp', 'lg-bp', 'fg', 'fg-a', 'lg-fg-w', 'lg-fg-a', 'fa', 'dfa'],
  );
});

test('rows and tables are chosen by name, and a bad name lists the valid ones', () => {
  const table = tableNamed('ff-paper');
  assert.equal(selectRows(table, undefined).length, table.rows.length);
  assert.deepEqual(
    selectRows(table, 'unsupervised').map((r) => r.name),
    ['unsupervised'],
  );
  const [local] = selectRows(table, 'unsupervised-local');
  assert.deepEqual(
    [local.paper, local.preset, local.epochs, local.inference],
    [0.0116, 'unsupervised-local', 60, 'softmax'],
  );
  assert.throws(
    () => selectRows(table, 'unsupervized'),
    /--row \(for ff-paper\) must be one of supervised, supervised-fast, unsupervised, unsupervised-local, recurrent, jittered, got "unsupervized"/,
  );
  assert.throws(() => tableNamed('ff'), /TABLE must be one of ff-paper, fg-local/);
  assert.throws(() => tableNamed(undefined), /reproduce needs a TABLE/);
});

test("a row's spaced evaluations are part of its command; the supervised row ran before them", () => {
  const table = tableNamed('ff-paper');
  const command = (name: string) => trainArguments(selectRows(table, name)[0], 'DIR', {}).join(' ');
  assert.equal(command('supervised'), '--algo ff --preset supervised --epochs 60 --out DIR');
  assert.equal(
    command('supervised-fast'),
    '--algo ff --preset supervised-fast --epochs 40 --eval-every 5 --out DIR',
  );
  assert.match(command('recurrent'), /--eval-every 5 /);
  assert.match(command('jittered'), /--eval-every 10 /);
});

const summary = (o: Partial<RunSummary>): RunSummary => ({
  table: 'fg-local',
  row: 'fa',
  rule: 'fa',
  preset: 'default',
  epochs: 5,
  rowEpochs: 5,
  limit: null,
  seed: 0,
  inference: 'logits',
  testError: 0.0291,
  wallSeconds: 125,
  command: 'chainrule train --algo fa --preset default --epochs 5 --out r/fa',
  backend: { name: 'native', threads: 2 },
  ...o,
});

test('the Markdown table puts the paper beside ours, and labels a shorter check', () => {
  const table = tableNamed('fg-local');
  const lines = markdownTable(table, [
    summary({}),
    summary({ row: 'bp', rule: 'bp', epochs: 1, limit: 2000, testError: 0.1 }),
  ]).split('\n');
  assert.equal(lines[0], table.source);
  assert.equal(lines[2], "| row | the paper's setting | paper | ours | epochs | wall time | command |");
  assert.equal(
    lines[4],
    '| fa | feedback alignment | 2.80%-3.30% | 2.91% (logits) | 5 | 2:05 | `chainrule train --algo fa --preset default --epochs 5 --out r/fa` |',
  );
  assert.match(
    lines[5],
    /^\| bp \| backprop \| 2\.66% \| 10\.00% \(logits\), a check: 1 of 5 epochs, 2000 training examples \| 1 \|/,
  );
});

/** A one-row table on the playground's small network, so a run takes a second or two. */
const SMALL: ReproduceTable = {
  name: 'small',
  source: 'a test table',
  rows: [
    {
      name: 'quick',
      setting: 'two layers of 256',
      paper: 0.5,
      rule: 'ff',
      preset: 'quick',
      inference: 'softmax',
    },
    {
      name: 'bp',
      setting: 'the seed network',
      paper: 0.25,
      rule: 'bp',
      preset: 'default',
      inference: 'logits',
    },
  ],
};

test('a row runs into DIR/ROW, is read back when finished, and its first epoch verifies exactly', async () => {
  const out = mkdtempSync(join(tmpdir(), 'chainrule-reproduce-'));
  try {
    const options = { out, epochs: 1, limit: 200, seed: 4, childFlags: ['--progress', 'none'] };
    const {
      summaries: [first],
      markdown,
    } = await reproduce(SMALL, { ...options, row: 'quick' });
    assert.equal(first.epochs, 1);
    assert.equal(first.limit, 200);
    assert.ok(first.testError > 0 && first.testError < 1);
    const log = join(out, 'quick', 'run.jsonl');
    const { metrics, summary: logged } = readRunLog(log);
    assert.equal(metrics.length, 1);
    assert.deepEqual(logged, first);
    assert.match(markdown, /\| quick \| two layers of 256 \| 50\.00% \|/);
    assert.doesNotMatch(markdown, /\| bp \|/, 'a row not run is not in the table');
    assert.equal(readFileSync(join(out, 'small.md'), 'utf8'), `${markdown}\n`);

    // Finished: read back, not trained again (the log, wall time included, is unchanged).
    const before = readFileSync(log, 'utf8');
    const {
      summaries: [again],
    } = await reproduce(SMALL, { ...options, row: 'quick' });
    assert.deepEqual(again, first);
    assert.equal(readFileSync(log, 'utf8'), before);
    // Rows run one at a time build up one table: the one finished before stays in it.
    const later = await reproduce(SMALL, { ...options, row: 'bp' });
    assert.deepEqual(
      later.markdown
        .split('\n')
        .slice(4)
        .map((line) => line.split(' | ')[0]),
      ['| quick', '| bp'],
    );
    await assert.rejects(
      reproduce(SMALL, { ...options, row: 'quick', limit: 300 }),
      /holds a run of row quick with limit 200, not 300/,
    );

    assert.deepEqual((await verifyRun(log, SMALL)).mismatches, []);
    const tampered = join(out, 'tampered.jsonl');
    const lines = before.trim().split('\n');
    const epoch = JSON.parse(lines[0]);
    writeFileSync(
      tampered,
      [JSON.stringify({ ...epoch, testAccuracy: epoch.testAccuracy + 0.01 }), lines[1]].join('\n'),
    );
    const { mismatches } = await verifyRun(tampered, SMALL);
    assert.deepEqual(
      mismatches.map((m) => m.split(':')[0]),
      ['testAccuracy'],
    );
    await assert.rejects(verifyRun(log, SMALL, 'other'), /logs row quick, not other/);
    await assert.rejects(verifyRun(log, tableNamed('ff-paper')), /logs a run of table small, not ff-paper/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

const LOGGED_RUNS = new URL('../../docs/runs/', import.meta.url);
const loggedRuns = () => readdirSync(LOGGED_RUNS).filter((f) => f.endsWith('.jsonl'));
/** docs/runs/README.md's naming: ff-paper's rows as ff-ROW.jsonl, the others as TABLE-ROW.jsonl. */
const loggedRunFile = (table: string, row: string) => `${table.replace('-paper', '')}-${row}.jsonl`;
const readLoggedRun = (file: string) => readRunLog(fileURLToPath(new URL(file, LOGGED_RUNS)));

test("every logged run in docs/runs is its row's full run, and its summary agrees with its last epoch", () => {
  const logs = loggedRuns();
  assert.ok(logs.includes('ff-supervised.jsonl'));
  for (const file of logs) {
    const { metrics, summary } = readLoggedRun(file);
    assert.equal(file, loggedRunFile(summary.table, summary.row));
    const [row] = selectRows(tableNamed(summary.table), summary.row);
    assert.deepEqual(
      [summary.rule, summary.preset, summary.inference, summary.limit, summary.epochs],
      [row.rule, row.preset, row.inference, null, rowEpochs(row)],
      `${file}: the row as the table defines it, all its examples and epochs`,
    );
    assert.deepEqual(
      metrics.map((m) => m.epoch),
      Array.from({ length: summary.epochs }, (_, i) => i + 1),
      file,
    );
    assert.equal(summary.testError, 1 - metrics.at(-1)!.testAccuracy!, file);
    assert.match(
      summary.command,
      new RegExp(`^chainrule train ${trainArguments(row, '\\S+', {}).join(' ')}$`),
    );
  }
});

test("the README's tables of papers' rows are reproduce's tables of the logged runs", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n');
  const header = markdownTable(REPRODUCE_TABLES['fg-local'], []).split('\n').at(-2)!;
  const tables = readme.flatMap((line, i) => (line === header ? [i + 2] : []));
  assert.equal(tables.length, 2, 'the fg-local and ff-paper tables');
  const listed = new Set<string>();
  for (const start of tables) {
    let end = start;
    while (readme[end]?.startsWith('| ')) end++;
    const lines = readme.slice(start, end);
    const names = lines.map((l) => l.split(' | ')[0].slice(2));
    const table = Object.values(REPRODUCE_TABLES).find((t) => t.rows.some((r) => r.name === names[0]))!;
    const summaries = names.map((name) => readLoggedRun(loggedRunFile(table.name, name)).summary);
    // The README shows where to write a run (runs/ROW), not where this machine's went, and
    // marks wall times that need a footnote.
    const expected = markdownTable(table, summaries)
      .split('\n')
      .slice(-names.length)
      .map((l, i) => l.replace(/--out \S+`/, `--out runs/${names[i]}\``));
    assert.deepEqual(
      lines.map((l) => l.replace(/(\d+:\d\d)[*†‡]+ \|/, '$1 |')),
      expected,
      `README's ${table.name} table`,
    );
    for (const name of names) listed.add(loggedRunFile(table.name, name));
  }
  assert.deepEqual([...listed].sort(), loggedRuns().sort(), 'every logged run is in a README table');
});
