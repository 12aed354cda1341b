// What several commands share: flag parsing with clear errors, the backend choice, datasets,
// and checkpoint files.

import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { BACKEND_NAMES, useBackend } from '../backend/index.js';
import { loadDataset } from '../data/datasets.js';
import { type Normalization, parseNormalization } from '../data/loader.js';
import { DATASET_CLASSES, type Dataset, type DatasetName } from '../data/split.js';
import { ChainruleError } from '../errors.js';
import { loadSafetensors } from '../io/safetensors-file.js';
import { type Checkpoint, checkpointOf, snapshotOf } from '../learn/checkpoint.js';
import { restoreTrainer } from '../learn/registry.js';
import type { Trainer, TrainerSnapshot } from '../learn/types.js';
import { checkChoice, inRange, parse, RANGES, show } from '../validate.js';

export const helpFlag = { help: { type: 'boolean', short: 'h' } } as const;

/** Prints a command's help; its exit code. */
export function printHelp(help: string): number {
  process.stdout.write(`${help}\n`);
  return 0;
}

/** Chooses the kernels, then loads the checkpoint named by --checkpoint and rebuilds its trainer. */
export async function restoreFromFlags(
  command: string,
  values: { checkpoint?: string; backend?: string; threads?: string },
): Promise<{ checkpoint: LoadedCheckpoint; trainer: Trainer }> {
  if (!values.checkpoint)
    throw new ChainruleError(`${command} needs --checkpoint FILE (see chainrule ${command} --help)`);
  await setupBackend(values);
  const checkpoint = loadCheckpointFile(values.checkpoint);
  return {
    checkpoint,
    trainer: restoreTrainer(checkpoint.metadata.algorithm, checkpoint.snapshot, values.checkpoint),
  };
}

/**
 * node:util's parseArgs with its usage errors as ChainruleErrors; a value that starts with a
 * dash must be attached with '=' (`--lr=-1`), or it would read as a flag of its own.
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: boolean; options: T }>> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals, options });
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test((error as Error).message)) {
      const at = argv.findIndex((a, i) => a.startsWith('--') && argv[i + 1]?.startsWith('-'));
      const [flag, value] = at >= 0 ? [argv[at], argv[at + 1]] : ['--flag', '-value'];
      throw new ChainruleError(
        `${flag} ${value}: a value that starts with '-' reads as a flag; attach it with '=': ${flag}=${value}`,
      );
    }
    throw error;
  }
}

/** "90s", "5m", "1.5h" or plain seconds -> seconds. */
export function parseDuration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(value.trim());
  const seconds = match
    ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h']
    : NaN;
  if (!inRange(RANGES.duration, seconds))
    throw new ChainruleError(
      `${flag} must be a duration like 90s, 5m or 1h, more than 0 and at most 30 days (720h), got ${show(value)}`,
    );
  return seconds;
}

export const backendOptions = {
  flags: {
    backend: { type: 'string' },
    threads: { type: 'string' },
  },
  help: `  --backend NAME         native (the default where built) | wasm (SIMD) | reference (plain TypeScript)
  --threads N            threads for the native or wasm kernels (default: CHAINRULE_THREADS or all cores)`,
} as const;

/** Selects the kernels before any tensor work: the fastest available unless told otherwise. */
export async function setupBackend(values: { backend?: string; threads?: string }): Promise<void> {
  const name =
    values.backend === undefined ? undefined : checkChoice(values.backend, BACKEND_NAMES, '--backend');
  const threads = parse('threads', values.threads, '--threads');
  const cores = availableParallelism();
  if (threads !== undefined && threads > cores) {
    // More workers than cores only add memory (each has its own stack and heap view) and contention.
    throw new ChainruleError(
      `--threads ${threads} is more than the ${cores} cores of this machine; use 1 to ${cores}`,
    );
  }
  await useBackend(name, threads === undefined ? {} : { threads });
}

export function openDataset(name: string, dataDir: string | undefined, flag = '--dataset'): Dataset {
  const known = checkChoice(name, Object.keys(DATASET_CLASSES) as DatasetName[], flag);
  return loadDataset(known, dataDir === undefined ? {} : { dataDir });
}

/**
 * Makes `dir` (the value of `flag`) a writable directory, before any work that would write
 * there: its missing parents are made one by one (mkdirSync's recursive mode spins forever
 * under /proc), and a test file is written and removed.
 */
export function prepareOutDir(dir: string | undefined, flag = '--out'): string | undefined {
  if (dir === undefined) return undefined;
  if (dir.trim() === '') throw new ChainruleError(`${flag} needs a directory name, got ''`);
  const path = resolve(dir);
  const missing: string[] = [];
  let existing = path;
  while (!existsSync(existing)) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  if (!statSync(existing).isDirectory()) {
    throw new ChainruleError(
      `${flag} ${dir}: ${existing} is a file, not a directory; choose another ${flag}`,
    );
  }
  const fail = (what: string, error: unknown): never => {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new ChainruleError(`${flag} ${dir}: cannot ${what} (${code}); choose a directory you can write to`);
  };
  for (const part of missing) {
    try {
      mkdirSync(part);
    } catch (error) {
      fail(`create ${part}`, error);
    }
  }
  const probe = join(path, `.chainrule-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    fail(`write in ${path}`, error);
  }
  return dir;
}

export interface LoadedCheckpoint extends Checkpoint {
  snapshot: TrainerSnapshot;
  normalization: Normalization;
}

export function loadCheckpointFile(path: string): LoadedCheckpoint {
  const file = loadSafetensors(path, {
    what: 'checkpoint',
    ifMissing: 'train one with `chainrule train --out DIR` (it writes DIR/checkpoint.safetensors)',
  });
  const checkpoint = checkpointOf(file, path);
  return {
    ...checkpoint,
    snapshot: snapshotOf(checkpoint),
    normalization: parseNormalization(checkpoint.metadata.normalization, path),
  };
}
