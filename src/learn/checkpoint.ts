// Checkpoints are safetensors files: the weights (and optimiser state) as tensors, and in
// `__metadata__` everything needed to rebuild the trainer (architecture, algorithm,
// hyper-parameters, normalisation, epoch, metrics). Each metadata field is a JSON string, as
// the format allows only strings there. Pure bytes in and out, so the browser can use it.

import type { Normalization } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type Safetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { show } from '../validate.js';
import { fromFormat1 } from './format1.js';
import type { EpochMetrics, RunProgress } from './loop.js';
import type { Algorithm, CheckpointMetadata, TrainerSnapshot } from './types.js';

const FIELDS = [
  'format',
  'version',
  'algorithm',
  'inference',
  'architecture',
  'hyperparameters',
  'resume',
  'dataset',
  'normalization',
  'epoch',
  'step',
  'metrics',
  'run',
] as const satisfies readonly (keyof CheckpointMetadata)[];

export type RunInfo = Pick<
  CheckpointMetadata,
  'dataset' | 'normalization' | 'epoch' | 'step' | 'metrics' | 'run'
>;

export function encodeCheckpoint(algorithm: Algorithm, snapshot: TrainerSnapshot, run: RunInfo): Uint8Array {
  const { tensors, ...described } = snapshot;
  const metadata: CheckpointMetadata = {
    format: 'chainrule-checkpoint',
    version: 2,
    algorithm,
    ...described,
    ...run,
  };
  const strings = Object.fromEntries(FIELDS.map((k) => [k, JSON.stringify(metadata[k])]));
  return encodeSafetensors(tensors, strings);
}

export interface Checkpoint {
  metadata: CheckpointMetadata;
  tensors: Record<string, Tensor>;
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  return checkpointOf(decodeSafetensors(bytes, source), source);
}

/** The checkpoint a decoded safetensors file holds; `source` names it in errors. */
export function checkpointOf({ tensors, metadata: strings }: Safetensors, source: string): Checkpoint {
  const parsed: Record<string, unknown> = {};
  for (const key of FIELDS) {
    if (strings[key] === undefined) {
      throw new ChainruleError(
        `${source} is a safetensors file but not a chainrule checkpoint (its metadata has no '${key}'); ` +
          'pass a checkpoint written by `chainrule train --out DIR`',
      );
    }
    try {
      parsed[key] = JSON.parse(strings[key]);
    } catch {
      throw new ChainruleError(
        `${source}: checkpoint metadata '${key}' is not valid JSON; the file is corrupt`,
      );
    }
  }
  const { format, version } = parsed;
  if (format === 'chainrule-checkpoint' && version === 1) {
    const upgraded = fromFormat1(parsed, tensors, source);
    return { metadata: upgraded.metadata as unknown as CheckpointMetadata, tensors: upgraded.tensors };
  }
  if (format !== 'chainrule-checkpoint' || version !== 2) {
    throw new ChainruleError(`${source}: unsupported checkpoint format ${show(format)} v${show(version)}`);
  }
  return { metadata: parsed as unknown as CheckpointMetadata, tensors };
}

export function snapshotOf(checkpoint: Checkpoint): TrainerSnapshot {
  const { metadata, tensors } = checkpoint;
  return {
    tensors,
    inference: metadata.inference,
    architecture: metadata.architecture,
    hyperparameters: metadata.hyperparameters,
    resume: metadata.resume,
  };
}

/** The run's part of a checkpoint's metadata, from what the training loop knows. */
export function checkpointRunInfo(o: {
  dataset: string;
  normalization: Normalization;
  step: number;
  batchesPerEpoch: number;
  metrics: EpochMetrics | undefined;
  /** The loop's figures at `step`, so a resume continues the epoch's loss and the run's times. */
  progress?: RunProgress;
  run: RunInfo['run'];
}): RunInfo {
  const m = o.metrics;
  return {
    dataset: o.dataset,
    normalization: { kind: o.normalization.kind, mean: o.normalization.mean, std: o.normalization.std },
    epoch: o.step / o.batchesPerEpoch,
    step: o.step,
    metrics: {
      ...(m && {
        trainLoss: m.trainLoss,
        trainAccuracy: m.trainAccuracy,
        testAccuracy: m.testAccuracy,
        peakGraphBytes: m.peakGraphBytes,
      }),
      ...o.progress,
    },
    run: o.run,
  };
}

/** The progress a checkpoint saved (see checkpointRunInfo), or undefined for older checkpoints. */
export function progressOf(metadata: CheckpointMetadata): RunProgress | undefined {
  const m = metadata.metrics ?? {};
  const fields = ['elapsedSeconds', 'epochLossSum', 'epochSamples', 'epochSeconds'] as const;
  if (!fields.every((k) => typeof m[k] === 'number' && Number.isFinite(m[k]) && m[k] >= 0)) return undefined;
  return Object.fromEntries(fields.map((k) => [k, m[k]])) as unknown as RunProgress;
}
