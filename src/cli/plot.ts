// `chainrule plot`: the charts train and compare write, drawn again from the files they logged
// (a run's metrics.jsonl, a comparison's compare.json), alone or several runs together.

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ChainruleError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readJsonLines, readRegularFile } from '../io/files.js';
import { ALGORITHMS, type Algorithm } from '../learn/registry.js';
import { renderChart } from '../report/render-svg.js';
import { type CompareCurve, comparePanels, type RunCurves, runPanels } from '../report/run-charts.js';
import { helpFlag, parseFlags, printHelp, restoreFromFlags } from './shared.js';

const HELP = `usage: chainrule plot --metrics FILE [--metrics FILE ...] --out FILE.svg

Draws the chart of logged runs as an SVG file:
  DIR/metrics.jsonl    a run of \`chainrule train --out DIR\`: loss and accuracy by epoch (its
                       curves.svg); with several runs, each run's loss and test accuracy
  DIR/compare.json     a run of \`chainrule compare --out DIR\`: test accuracy against training
                       time (its compare.svg)
A run's rule and model, which name and colour its lines, come from the checkpoint.safetensors
beside its metrics.jsonl.

  --metrics FILE         a metrics.jsonl or a compare.json (repeat for several runs)
  --out FILE             where to write the SVG (written atomically)
  -h, --help             this help`;

const MAX_LOG_BYTES = 64 * 2 ** 20;
const METRICS = ['epoch', 'trainLoss'] as const;
/** Null on the epochs a run with --eval-every did not evaluate. */
const ACCURACIES = ['trainAccuracy', 'testAccuracy'] as const;

async function runCurves(path: string): Promise<RunCurves> {
  const lines = readJsonLines(path, { what: 'metrics file', maxBytes: MAX_LOG_BYTES });
  const history = lines.map((line, i) => {
    const m = line as Record<string, unknown>;
    const missing =
      METRICS.find((key) => typeof m?.[key] !== 'number') ??
      ACCURACIES.find((key) => typeof m?.[key] !== 'number' && m?.[key] !== null);
    if (missing)
      throw new ChainruleError(
        `metrics file ${path}: line ${i + 1} has no number '${missing}'; pass a metrics.jsonl that chainrule train --out wrote`,
      );
    return m as Record<(typeof METRICS)[number], number> & Record<(typeof ACCURACIES)[number], number | null>;
  });
  if (!history.length)
    throw new ChainruleError(`metrics file ${path} holds no epochs yet; plot it after one`);
  const checkpoint = join(dirname(path), 'checkpoint.safetensors');
  if (!existsSync(checkpoint)) return { label: basename(dirname(path)) || path, history };
  const { trainer } = await restoreFromFlags('plot', { checkpoint, backend: 'reference' });
  return { label: `${trainer.algorithm}: ${trainer.describe()}`, rule: trainer.algorithm, history };
}

function compareCurves(path: string): { dataset: string; rows: CompareCurve[] } {
  const fail = (what: string): never => {
    throw new ChainruleError(`${path}: ${what}; pass a compare.json that chainrule compare --out wrote`);
  };
  let parsed: { settings?: { dataset?: unknown }; rows?: unknown };
  try {
    parsed = JSON.parse(
      new TextDecoder().decode(readRegularFile(path, { what: 'compare file', maxBytes: MAX_LOG_BYTES })),
    );
  } catch (error) {
    if (error instanceof ChainruleError) throw error;
    return fail('not JSON');
  }
  if (!Array.isArray(parsed?.rows)) return fail("no 'rows'");
  const rows = parsed.rows.map((row: Partial<CompareCurve>, i: number) => {
    if (!ALGORITHMS.includes(row?.algorithm as Algorithm)) fail(`row ${i + 1} names no learning rule`);
    const curve = row.curve;
    const isPoint = (p: unknown) =>
      Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number');
    if (!Array.isArray(curve) || !curve.every(isPoint))
      fail(`row ${i + 1} has no curve of [seconds, accuracy] points`);
    return {
      algorithm: row.algorithm as Algorithm,
      model: String(row.model ?? ''),
      curve: curve as [number, number][],
    };
  });
  return { dataset: String(parsed.settings?.dataset ?? 'mnist'), rows };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    metrics: { type: 'string', multiple: true },
    out: { type: 'string' },
    ...helpFlag,
  });
  if (values.help) return printHelp(HELP);
  const files = values.metrics ?? [];
  if (!files.length) throw new ChainruleError('plot needs --metrics FILE (see chainrule plot --help)');
  if (!values.out) throw new ChainruleError('plot needs --out FILE.svg (see chainrule plot --help)');
  const comparisons = files.filter((f) => f.endsWith('.json'));
  let svg: string;
  if (comparisons.length) {
    if (files.length > 1)
      throw new ChainruleError('plot draws one compare.json at a time, and no metrics.jsonl beside it');
    const { dataset, rows } = compareCurves(comparisons[0]);
    svg = await renderChart(comparePanels(dataset, rows));
  } else {
    const runs: RunCurves[] = [];
    for (const file of files) runs.push(await runCurves(file));
    svg = await renderChart(runPanels(runs));
  }
  writeFileAtomic(values.out, svg);
  process.stderr.write(`wrote ${values.out}\n`);
  return 0;
}
