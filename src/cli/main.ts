// The `chainrule` command: dispatches to one module per subcommand, loaded on demand so
// `chainrule explain` never pays for the training stack.

import { readFileSync } from 'node:fs';
import { ChainruleError } from '../errors.js';

const commands: Record<
  string,
  { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }
> = {
  explain: {
    summary: 'walk the chain rule through an expression, both ways',
    load: () => import('./explain.js'),
  },
  train: {
    summary: 'train a network (backprop, Forward-Forward or forward gradients)',
    load: () => import('./train.js'),
  },
  eval: {
    summary: 'accuracy, per-class accuracy and confusion matrix of a checkpoint',
    load: () => import('./eval.js'),
  },
  predict: { summary: 'classify a 28x28 grey PNG with a checkpoint', load: () => import('./predict.js') },
  export: {
    summary: "a checkpoint's weights as a PyTorch state_dict (safetensors, strict-loadable)",
    load: () => import('./export.js'),
  },
  compare: {
    summary: 'train bp, ff and fg on one budget and compare them',
    load: () => import('./compare.js'),
  },
  reproduce: {
    summary: "a paper's table, row by row: its figures beside ours (ff-paper, fg-local)",
    load: () => import('./reproduce.js'),
  },
  plot: {
    summary: "draw logged runs' charts again: metrics.jsonl or compare.json to SVG",
    load: () => import('./plot.js'),
  },
  info: { summary: 'which kernel backend runs here, on what, and why', load: () => import('./info.js') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'usage: chainrule <command> [options]',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `chainrule help <command>` (or `chainrule <command> --help`) for its options,',
    '`chainrule --version` for the version.',
  ].join('\n');
}

/** The version in the package's own manifest (dist/src/cli/ sits three folders below it). */
export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return manifest.version;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    process.stdout.write(`chainrule ${version()}\n`);
    return 0;
  }
  // `chainrule help train` is `chainrule train --help`.
  const [name, args] = first === 'help' && rest.length > 0 ? [rest[0], ['--help']] : [first, rest];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`chainrule: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    const module = await command.load();
    return await module.run(args);
  } catch (err) {
    // Errors users can act on print as one line; anything else is a bug and keeps its stack.
    if (err instanceof ChainruleError || isUsageError(err)) {
      const hint = isUsageError(err) ? `; see chainrule ${name} --help` : '';
      process.stderr.write(`chainrule ${name}: ${(err as Error).message}${hint}\n`);
      return 2;
    }
    throw err;
  }
}

/** node:util parseArgs rejects unknown or malformed flags with these codes. */
function isUsageError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
