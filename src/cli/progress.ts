// Turns training events into what a person watches: a live bar on a terminal, plain lines
// in a log (no carriage returns, nothing redrawn), or JSON lines for other programs. All of it
// goes to stderr: stdout carries only a command's results, so `| jq` or `> file` gets them alone.

import type { EpochMetrics, TrainEvent } from '../learn/loop.js';
import { checkChoice } from '../validate.js';

export const PROGRESS_STYLES = ['bar', 'lines', 'json', 'none'] as const;
export type ProgressStyle = (typeof PROGRESS_STYLES)[number];

export const progressHelp = `  --progress STYLE       how progress shows on stderr: ${PROGRESS_STYLES.join(' | ')} (default: bar on a
                         terminal, lines otherwise; json is one event per line)`;

/**
 * Every command's rule for where its output goes, for its help: results on stdout, the rest on
 * stderr, and files only where --out names a directory (`files`: what it writes there).
 */
export function outputRule(files?: string, exception?: string): string {
  return (
    [
      'Results go to stdout (as JSON with --json); progress, messages and errors go to stderr.',
      files ? `Files (${files}) are written only with --out DIR, never by default` : 'It writes no files.',
    ].join('\n') + (files ? (exception ? `;\n${exception}.` : '.') : '')
  );
}

/** The --progress flag's style, or the default for where stderr goes. */
export function progressStyle(
  value: string | undefined,
  err: { isTTY?: boolean } = process.stderr,
): ProgressStyle {
  if (value !== undefined) return checkChoice(value, PROGRESS_STYLES, '--progress');
  return err.isTTY ? 'bar' : 'lines';
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** The word for n of a thing: plural(1, 'epoch') is 'epoch', plural(2, 'batch', 'batches') 'batches'. */
export const plural = (n: number, one: string, many = `${one}s`) => (n === 1 ? one : many);

export const formatRate = (r: number) => Math.round(r).toLocaleString('en-US');
export const formatPercent = (v: number) => `${(v * 100).toFixed(2)}%`;

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u ? 1 : 0)} ${units[u]}`;
}

export function epochLine(m: EpochMetrics, epochs: number): string {
  const accuracy =
    m.trainAccuracy === null || m.testAccuracy === null
      ? 'not evaluated'
      : `train ${formatPercent(m.trainAccuracy)}  test ${formatPercent(m.testAccuracy)}`;
  return (
    `epoch ${m.epoch}/${epochs}  loss ${m.trainLoss.toFixed(4)}  ${accuracy}  ` +
    `${m.epochSeconds.toFixed(1)}s  ${formatRate(m.samplesPerSecond)} samples/s`
  );
}

export function progressReporter(
  style: ProgressStyle,
  out: NodeJS.WritableStream = process.stderr,
): (e: TrainEvent) => void {
  let epochs = 0;
  let lastDraw = 0;
  const width = 28;
  return (event) => {
    if (style === 'none') return;
    if (style === 'json') {
      if (event.type !== 'progress') out.write(`${JSON.stringify(event)}\n`);
      return;
    }
    switch (event.type) {
      case 'start':
        epochs = event.epochs;
        out.write(
          `training ${event.model} by ${event.algorithm}: ${event.epochs} ${plural(event.epochs, 'epoch')} of ${event.batchesPerEpoch} ${plural(event.batchesPerEpoch, 'batch', 'batches')}` +
            (event.startEpoch ? ` (resuming after epoch ${event.startEpoch})` : '') +
            '\n',
        );
        return;
      case 'progress': {
        if (style !== 'bar') return;
        const t = performance.now();
        if (t - lastDraw < 100 && event.batch !== event.batches) return;
        lastDraw = t;
        const filled = Math.round((event.batch / event.batches) * width);
        const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}`;
        out.write(
          `\r\x1b[Kepoch ${event.epoch}/${epochs} [${bar}] ${event.batch}/${event.batches}  loss ${event.loss.toFixed(4)}  ` +
            `${formatRate(event.samplesPerSecond)} samples/s  ETA ${formatDuration(event.etaSeconds)}`,
        );
        return;
      }
      case 'epoch':
        out.write(`${style === 'bar' ? '\r\x1b[K' : ''}${epochLine(event.metrics, epochs)}\n`);
        return;
      case 'end':
        if (event.reason === 'interrupted') out.write(`${style === 'bar' ? '\n' : ''}interrupted\n`);
        if (event.reason === 'time') out.write('time budget reached\n');
        return;
      default:
        return;
    }
  };
}
