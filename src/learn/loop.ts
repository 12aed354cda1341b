// The training loop every algorithm shares: epochs of minibatch steps, evaluation, timing and
// memory figures, reported as events. It yields to the event loop now and then so a Ctrl-C
// handler (CLI) or a stop message (browser worker) can be heard mid-epoch.

import type { Batch } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { graphMemory, noGrad, resetGraphPeak } from '../ops/dispatch.js';
import { argmax } from '../ops/reduce.js';
import { tidy } from '../tensor/scope.js';
import type { LayerStats, Trainer } from './types.js';

export type { Batch } from '../data/loader.js';

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  /** Accuracy on the training subset and the test set; null on an epoch that was not evaluated (see evalEvery). */
  trainAccuracy: number | null;
  testAccuracy: number | null;
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
      /** Mean loss over the epoch so far (it restarts, so it jumps, at each epoch). */
      loss: number;
      /** Moving average of the batch losses, carried across epochs: a curve without cliffs. */
      smoothedLoss: number;
      samplesPerSecond: number;
      etaSeconds: number;
      layers?: LayerStats[];
    }
  | { type: 'evaluation'; epoch: number; elapsedSeconds: number; testAccuracy: number }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'end'; reason: 'done' | 'interrupted' | 'time'; epochsCompleted: number };

/** The last epoch of `history` that was evaluated (with evalEvery above 1 not all are), if any. */
export function lastEvaluated<M extends Pick<EpochMetrics, 'testAccuracy'>>(
  history: readonly M[],
): (M & { testAccuracy: number }) | undefined {
  for (let i = history.length - 1; i >= 0; i--)
    if (history[i].testAccuracy !== null) return history[i] as M & { testAccuracy: number };
  return undefined;
}

/** Weight of the past in the smoothed loss: about the last 1/(1 - 0.95) = 20 batches count. */
export const LOSS_SMOOTHING = 0.95;

/**
 * An exponential moving average whose start is not pulled toward zero: the running sum is
 * divided by the weight it has accumulated (as Adam corrects its moments).
 */
function movingAverage(decay: number): (value: number) => number {
  let sum = 0;
  let weight = 0;
  return (value) => {
    sum = decay * sum + (1 - decay) * value;
    weight = decay * weight + (1 - decay);
    return sum / weight;
  };
}

export interface TrainingData {
  /** The minibatches of one training epoch (shuffled per epoch by the caller's seed). */
  trainBatches(epoch: number): Iterable<Batch>;
  trainBatchCount: number;
  /** Unshuffled batches over the test set. */
  testBatches(): Iterable<Batch>;
  /** A fixed subset of the training set for train accuracy (all of it is slow for FF). */
  trainEvalBatches(): Iterable<Batch>;
}

/**
 * Where a run stands, in the figures an epoch reports: what a checkpoint taken mid-epoch must
 * carry so that the resumed epoch's loss, rate and times cover the whole epoch.
 */
export interface RunProgress {
  /** Training seconds of the epochs completed before the current one. */
  elapsedSeconds: number;
  /** The current epoch so far: the sum of per-example losses, the examples and the seconds. */
  epochLossSum: number;
  epochSamples: number;
  epochSeconds: number;
}

export interface LoopOptions {
  epochs: number;
  /** Optimisation steps already taken when resuming; training continues from the next one. */
  startStep?: number;
  /** The progress saved with startStep's checkpoint (older checkpoints have none). */
  startProgress?: RunProgress;
  /** Stop after this much training wall time (the `compare --time` budget). */
  timeBudgetSeconds?: number;
  /** Extra test evaluations per epoch, for time-to-accuracy curves. */
  evaluationsPerEpoch?: number;
  /**
   * Evaluate (train and test accuracy) after every this many epochs (default 1), and always
   * after the first, the last and the one a stop ends the run at: goodness inference can take
   * as long as the epoch's training.
   */
  evalEvery?: number;
  signal?: AbortSignal;
  /** An epoch's event may return a promise (its files being written): training waits for it. */
  onEvent?: (event: TrainEvent) => unknown;
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

/** One evaluation, a batch per step of the generator; its return value is evaluate()'s. */
function* evaluationSteps(
  trainer: Pick<Trainer, 'scores'>,
  batches: Iterable<Batch>,
  classes: number,
): Generator<void, { accuracy: number; confusion: number[][] }> {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let total = 0;
  for (const { x, y } of batches) {
    // Each batch's scores in a scope: their storage serves the next batch's.
    const predicted = tidy(() => noGrad(() => argmax(trainer.scores(x), -1))).data;
    for (let i = 0; i < predicted.length; i++) {
      confusion[y.data[i]][predicted[i]]++;
      if (predicted[i] === y.data[i]) correct++;
    }
    total += predicted.length;
    yield;
  }
  return { accuracy: total ? correct / total : 0, confusion };
}

/** Fraction of examples whose highest score is the true label; also the confusion matrix. */
export function evaluate(
  trainer: Pick<Trainer, 'scores'>,
  batches: Iterable<Batch>,
  classes = 10,
): { accuracy: number; confusion: number[][] } {
  const steps = evaluationSteps(trainer, batches, classes);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * evaluate() that yields to the event loop every `yieldEveryMs`: an evaluation can take a
 * minute (goodness inference runs the net once per label), and a Ctrl-C must be heard in it.
 */
async function evaluateYielding(
  trainer: Pick<Trainer, 'scores'>,
  batches: Iterable<Batch>,
  yieldEveryMs: number,
): Promise<number> {
  const steps = evaluationSteps(trainer, batches, 10);
  let lastYield = now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value.accuracy;
    if (now() - lastYield > yieldEveryMs) {
      await yieldToEventLoop();
      lastYield = now();
    }
  }
}

export interface LoopResult {
  history: EpochMetrics[];
  /** Optimisation steps taken in all, including those before a resume. */
  step: number;
  /** The figures to save with a checkpoint at `step`, so a resume continues them. */
  progress: RunProgress;
  reason: 'done' | 'interrupted' | 'time';
}

/** A loss this many times the run's first (or 1, if larger) has diverged, as surely as NaN. */
export const DIVERGENCE_FACTOR = 100;

function checkLoss(loss: number, first: number, at: string): void {
  if (!Number.isFinite(loss)) {
    throw new ChainruleError(`training diverged: the loss became ${loss} at ${at}; lower --lr`);
  }
  const limit = DIVERGENCE_FACTOR * Math.max(first, 1);
  if (loss > limit) {
    throw new ChainruleError(
      `training diverged: the loss rose to ${loss.toPrecision(3)} at ${at}, more than ${DIVERGENCE_FACTOR} times ` +
        `its first value (${first.toPrecision(3)}); lower --lr`,
    );
  }
}

export async function trainLoop(
  trainer: Trainer,
  data: TrainingData,
  options: LoopOptions,
): Promise<LoopResult> {
  const emit = options.onEvent ?? (() => {});
  const batches = data.trainBatchCount;
  const yieldEvery = options.yieldEveryMs ?? 100;
  const evalEvery = options.evalEvery ?? 1;
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
  const resumed = options.startProgress;
  let trainingSeconds = resumed?.elapsedSeconds ?? 0;
  let firstLoss: number | undefined;
  let reason: LoopResult['reason'] = 'done';
  const evaluationStride = Math.max(1, Math.floor(batches / Math.max(1, options.evaluationsPerEpoch ?? 0)));
  const testAccuracy = () => evaluateYielding(trainer, data.testBatches(), yieldEvery);
  let lastYield = now();
  let progress: RunProgress = {
    elapsedSeconds: trainingSeconds,
    epochLossSum: 0,
    epochSamples: 0,
    epochSeconds: 0,
  };
  const smooth = movingAverage(LOSS_SMOOTHING);
  for (let epoch = startEpoch; epoch < options.epochs && reason === 'done'; epoch++) {
    resetGraphPeak();
    const skip = step - epoch * batches;
    // The first epoch of a resume continues the figures of the batches before the interrupt.
    const carried = epoch === startEpoch && skip > 0 ? resumed : undefined;
    let segmentStart = now();
    let epochSeconds = carried?.epochSeconds ?? 0;
    let lossSum = carried?.epochLossSum ?? 0;
    let samples = carried?.epochSamples ?? 0;
    // Batches whose time `epochSeconds` covers: all of them, unless an older checkpoint lacked it.
    const untimed = carried ? 0 : skip;
    let batch = 0;
    for (const { x, y } of data.trainBatches(epoch)) {
      if (batch < skip) {
        batch++;
        continue;
      }
      const result = trainer.step(x, y, { layerStats: options.wantsLayerStats?.() ?? false });
      step++;
      batch++;
      firstLoss ??= result.loss;
      checkLoss(result.loss, firstLoss, `epoch ${epoch + 1}, batch ${batch}`);
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
        smoothedLoss: smooth(result.loss),
        samplesPerSecond: rate,
        etaSeconds: ((batches - batch) * seconds) / (batch - untimed),
        layers: result.layers,
      });
      if (options.evaluationsPerEpoch && batch % evaluationStride === 0 && batch < batches) {
        epochSeconds = seconds;
        emit({
          type: 'evaluation',
          epoch: epoch + batch / batches,
          elapsedSeconds: trainingSeconds + seconds,
          testAccuracy: await testAccuracy(),
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
    // An interrupt on an epoch's last batch still finishes that epoch (its evaluation and metrics).
    if (reason === 'interrupted' && batch < batches) {
      progress = {
        elapsedSeconds: trainingSeconds,
        epochLossSum: lossSum,
        epochSamples: samples,
        epochSeconds,
      };
      break;
    }
    trainingSeconds += epochSeconds;
    progress = { elapsedSeconds: trainingSeconds, epochLossSum: 0, epochSamples: 0, epochSeconds: 0 };
    const evaluated =
      (epoch + 1) % evalEvery === 0 || epoch === 0 || epoch + 1 === options.epochs || reason !== 'done';
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      trainLoss: lossSum / Math.max(1, samples),
      trainAccuracy: evaluated ? await evaluateYielding(trainer, data.trainEvalBatches(), yieldEvery) : null,
      testAccuracy: evaluated ? await testAccuracy() : null,
      epochSeconds,
      samplesPerSecond: samples / epochSeconds,
      peakGraphBytes: graphMemory.peakBytes,
      peakProcessBytes: processPeakBytes(),
      elapsedSeconds: trainingSeconds,
      lr: trainer.lr,
    };
    history.push(metrics);
    if (metrics.testAccuracy !== null)
      emit({
        type: 'evaluation',
        epoch: epoch + 1,
        elapsedSeconds: trainingSeconds,
        testAccuracy: metrics.testAccuracy,
      });
    await emit({ type: 'epoch', metrics });
    // A stop asked for during the epoch's evaluation ends the run here, not a batch into the next.
    if (options.signal?.aborted) reason = 'interrupted';
  }
  emit({ type: 'end', reason, epochsCompleted: Math.floor(step / batches) });
  return { history, step, progress, reason };
}
