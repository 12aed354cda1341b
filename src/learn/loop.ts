// The training loop every algorithm shares: epochs of minibatch steps, evaluation, timing and
// memory figures, reported as events. It yields to the event loop now and then so a Ctrl-C
// handler (CLI) or a stop message (browser worker) can be heard mid-epoch.

import type { Batch } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { graphMemory, noGrad, resetGraphPeak } from '../ops/dispatch.js';
import { argmax } from '../ops/reduce.js';
import type { LayerStats, Trainer } from './types.js';

export type { Batch } from '../data/loader.js';

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  epochSeconds: number;
  samplesPerSecond: number;
  /** Largest number of bytes the recorded graph held at once (activations kept for backward). */
  peakGraphBytes: number;
  /** Peak resident memory of the whole process so far, where the platform reports it. */
  peakProcessBytes: number | null;
  elapsedSeconds: number;
  lr?: number;
}

export type TrainEvent =
  | {
      type: 'start';
      algorithm: string;
      model: string;
      epochs: number;
      batchesPerEpoch: number;
      startEpoch: number;
    }
  | {
      type: 'progress';
      epoch: number;
      batch: number;
      batches: number;
      loss: number;
      samplesPerSecond: number;
      etaSeconds: number;
      layers?: LayerStats[];
    }
  | { type: 'evaluation'; epoch: number; elapsedSeconds: number; testAccuracy: number }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'end'; reason: 'done' | 'interrupted' | 'time'; epochsCompleted: number };

export interface TrainingData {
  /** The minibatches of one training epoch (shuffled per epoch by the caller's seed). */
  trainBatches(epoch: number): Iterable<Batch>;
  trainBatchCount: number;
  /** Unshuffled batches over the test set. */
  testBatches(): Iterable<Batch>;
  /** A fixed subset of the training set for train accuracy (all of it is slow for FF). */
  trainEvalBatches(): Iterable<Batch>;
}

export interface LoopOptions {
  epochs: number;
  /** Optimisation steps already taken when resuming; training continues from the next one. */
  startStep?: number;
  /** Stop after this much training wall time (the `compare --time` budget). */
  timeBudgetSeconds?: number;
  /** Extra test evaluations per epoch, for time-to-accuracy curves. */
  evaluationsPerEpoch?: number;
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** How often to yield to the event loop, in milliseconds. */
  yieldEveryMs?: number;
  /** Asked before each step: should its progress event carry per-layer statistics? (Default: never.) */
  wantsLayerStats?: () => boolean;
}

const now = () => performance.now();
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function processPeakBytes(): number | null {
  const proc = (globalThis as { process?: { resourceUsage?: () => { maxRSS: number } } }).process;
  return proc?.resourceUsage ? proc.resourceUsage().maxRSS * 1024 : null;
}

/** Fraction of examples whose highest score is the true label; also the confusion matrix. */
export function evaluate(
  trainer: Pick<Trainer, 'scores'>,
  batches: Iterable<Batch>,
  classes = 10,
): { accuracy: number; confusion: number[][] } {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let total = 0;
  noGrad(() => {
    for (const { x, y } of batches) {
      const predicted = argmax(trainer.scores(x), -1).data;
      for (let i = 0; i < predicted.length; i++) {
        confusion[y.data[i]][predicted[i]]++;
        if (predicted[i] === y.data[i]) correct++;
      }
      total += predicted.length;
    }
  });
  return { accuracy: total ? correct / total : 0, confusion };
}

export interface LoopResult {
  history: EpochMetrics[];
  /** Optimisation steps taken in all, including those before a resume. */
  step: number;
  reason: 'done' | 'interrupted' | 'time';
}

export async function trainLoop(
  trainer: Trainer,
  data: TrainingData,
  options: LoopOptions,
): Promise<LoopResult> {
  const emit = options.onEvent ?? (() => {});
  const batches = data.trainBatchCount;
  const yieldEvery = options.yieldEveryMs ?? 100;
  let step = options.startStep ?? 0;
  const startEpoch = Math.floor(step / batches);
  const history: EpochMetrics[] = [];
  trainer.plan(options.epochs * batches);
  emit({
    type: 'start',
    algorithm: trainer.algorithm,
    model: trainer.describe(),
    epochs: options.epochs,
    batchesPerEpoch: batches,
    startEpoch,
  });
  // Wall time spent training, excluding evaluations, so rates and budgets measure learning alone.
  let trainingSeconds = 0;
  let reason: LoopResult['reason'] = 'done';
  const evaluationStride = Math.max(1, Math.floor(batches / Math.max(1, options.evaluationsPerEpoch ?? 0)));
  const testAccuracy = () => evaluate(trainer, data.testBatches()).accuracy;
  let lastYield = now();
  for (let epoch = startEpoch; epoch < options.epochs && reason === 'done'; epoch++) {
    resetGraphPeak();
    const skip = step - epoch * batches;
    let segmentStart = now();
    let epochSeconds = 0;
    let lossSum = 0;
    let samples = 0;
    let batch = 0;
    for (const { x, y } of data.trainBatches(epoch)) {
      if (batch < skip) {
        batch++;
        continue;
      }
      const result = trainer.step(x, y, { layerStats: options.wantsLayerStats?.() ?? false });
      step++;
      batch++;
      if (!Number.isFinite(result.loss)) {
        throw new ChainruleError(
          `training diverged: the loss became ${result.loss} at epoch ${epoch + 1}, batch ${batch}; lower --lr`,
        );
      }
      lossSum += result.loss * x.shape[0];
      samples += x.shape[0];
      const t = now();
      const seconds = epochSeconds + (t - segmentStart) / 1000;
      const rate = samples / Math.max(seconds, 1e-9);
      emit({
        type: 'progress',
        epoch: epoch + 1,
        batch,
        batches,
        loss: lossSum / samples,
        samplesPerSecond: rate,
        etaSeconds: ((batches - batch) * seconds) / (batch - skip),
        layers: result.layers,
      });
      if (options.evaluationsPerEpoch && batch % evaluationStride === 0 && batch < batches) {
        epochSeconds = seconds;
        emit({
          type: 'evaluation',
          epoch: epoch + batch / batches,
          elapsedSeconds: trainingSeconds + seconds,
          testAccuracy: testAccuracy(),
        });
        segmentStart = now();
      }
      if (t - lastYield > yieldEvery) {
        await yieldToEventLoop();
        lastYield = now();
      }
      if (options.signal?.aborted) reason = 'interrupted';
      else if (
        options.timeBudgetSeconds !== undefined &&
        trainingSeconds + epochSeconds + (now() - segmentStart) / 1000 >= options.timeBudgetSeconds
      )
        reason = 'time';
      if (reason !== 'done') break;
    }
    epochSeconds += (now() - segmentStart) / 1000;
    trainingSeconds += epochSeconds;
    if (reason === 'interrupted') break;
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      trainLoss: lossSum / Math.max(1, samples),
      trainAccuracy: evaluate(trainer, data.trainEvalBatches()).accuracy,
      testAccuracy: testAccuracy(),
      epochSeconds,
      samplesPerSecond: samples / epochSeconds,
      peakGraphBytes: graphMemory.peakBytes,
      peakProcessBytes: processPeakBytes(),
      elapsedSeconds: trainingSeconds,
      lr: trainer.lr,
    };
    history.push(metrics);
    emit({
      type: 'evaluation',
      epoch: epoch + 1,
      elapsedSeconds: trainingSeconds,
      testAccuracy: metrics.testAccuracy,
    });
    emit({ type: 'epoch', metrics });
  }
  emit({ type: 'end', reason, epochsCompleted: Math.floor(step / batches) });
  return { history, step, reason };
}
