// What several commands share: flag parsing with clear errors, the backend choice, datasets,
// and checkpoint files.

import { readFileSync } from 'node:fs';
import { setBackend, useFastestBackend } from '../backend/index.js';
import { ReferenceKernels } from '../backend/reference/index.js';
import { loadDataset } from '../data/datasets.js';
import { type Normalization, parseNormalization } from '../data/loader.js';
import type { Dataset, DatasetName } from '../data/split.js';
import { ChainruleError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  type RunInfo,
  snapshotOf,
} from '../learn/checkpoint.js';
import { algorithm } from '../learn/registry.js';
import type { Trainer, TrainerSnapshot } from '../learn/types.js';

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
    trainer: algorithm(checkpoint.metadata.algorithm).restore(checkpoint.snapshot, values.checkpoint),
  };
}

export function parseNumber(
  flag: string,
  value: string | undefined,
  rule: { integer?: boolean; min?: number; exclusive?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const kind = rule.integer ? 'an integer' : 'a number';
  const bound = rule.min === undefined ? '' : ` ${rule.exclusive ? '>' : '>='} ${rule.min}`;
  const ok =
    value.trim() !== '' &&
    Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (rule.min === undefined || (rule.exclusive ? n > rule.min : n >= rule.min));
  if (!ok) throw new ChainruleError(`${flag} must be ${kind}${bound}, got '${value}'`);
  return n;
}

export function parseChoice<T extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T))
    throw new ChainruleError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** "90s", "5m", "1.5h" or plain seconds -> seconds. */
export function parseDuration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(value.trim());
  const seconds = match
    ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h']
    : NaN;
  if (!(seconds > 0))
    throw new ChainruleError(`${flag} must be a duration like 90s, 5m or 1h, got '${value}'`);
  return seconds;
}

/** "1000,1000,1000" -> [1000, 1000, 1000]. */
export function parseWidths(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((w) => parseNumber('--hidden', w.trim(), { integer: true, min: 1 })!);
}

export const backendOptions = {
  flags: {
    backend: { type: 'string' },
    threads: { type: 'string' },
  },
  help: `  --backend NAME         wasm (SIMD, the default where supported) | reference (plain TypeScript)
  --threads N            worker threads for the wasm kernels (default: CHAINRULE_THREADS or all cores)`,
} as const;

/** Selects the kernels before any tensor work: WASM SIMD with threads unless told otherwise. */
export async function setupBackend(values: { backend?: string; threads?: string }): Promise<void> {
  const name = parseChoice('--backend', values.backend, ['wasm', 'reference'] as const);
  const threads = parseNumber('--threads', values.threads, { integer: true, min: 1 });
  if (name === 'reference') {
    setBackend(new ReferenceKernels());
    return;
  }
  const kernels = await useFastestBackend(threads === undefined ? {} : { threads });
  if (name === 'wasm' && kernels.name !== 'wasm') {
    throw new ChainruleError(
      'this runtime has no WebAssembly SIMD (or CHAINRULE_BACKEND=reference is set); use --backend reference',
    );
  }
}

export function openDataset(name: string, dataDir: string | undefined): Dataset {
  return loadDataset(name as DatasetName, dataDir === undefined ? {} : { dataDir });
}

export interface LoadedCheckpoint extends Checkpoint {
  snapshot: TrainerSnapshot;
  normalization: Normalization;
}

export function loadCheckpointFile(path: string): LoadedCheckpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ChainruleError(
      code === 'ENOENT'
        ? `checkpoint ${path} does not exist; train one with \`chainrule train --out DIR\` (it writes DIR/checkpoint.safetensors)`
        : `cannot read checkpoint ${path}: ${(err as Error).message}`,
    );
  }
  const checkpoint = decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
  return {
    ...checkpoint,
    snapshot: snapshotOf(checkpoint),
    normalization: parseNormalization(checkpoint.metadata.normalization, path),
  };
}

export function saveCheckpointFile(path: string, trainer: Trainer, run: RunInfo): void {
  writeFileAtomic(path, encodeCheckpoint(trainer.algorithm, trainer.snapshot(), run));
}
