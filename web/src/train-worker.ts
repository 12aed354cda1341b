// One learning rule, trained off the page's thread: the library's own registry, training loop
// and checkpoint format, driven by messages (protocol.ts). The loop yields to the event loop
// between batches, so stop, predict and checkpoint requests are answered mid-run.

import {
  type Algorithm,
  algorithm,
  checkpointRunInfo,
  createWasmKernelsSync,
  DATASET_CLASSES,
  DataLoader,
  decodeCheckpoint,
  type EpochMetrics,
  encodeCheckpoint,
  evaluate,
  FFTrainer,
  fitNormalization,
  type Normalization,
  noGrad,
  normalizePixels,
  parseNormalization,
  ReferenceKernels,
  type Split,
  setBackend,
  snapshotOf,
  Tensor,
  type TrainEvent,
  type Trainer,
  type TrainingData,
  trainingData,
  trainLoop,
  wasmSimdSupported,
} from '../../src/browser.js';
import type { FromWorker, ModelInfo, ToWorker, TrainSettings } from './protocol.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

setBackend(wasmSimdSupported() ? createWasmKernelsSync() : new ReferenceKernels());

/** How often progress reaches the page: often enough for live charts, rarely enough to stay cheap. */
const PROGRESS_EVERY_MS = 100;

interface Run {
  settings: TrainSettings;
  data: TrainingData;
  batchesPerEpoch: number;
  step: number;
  seconds: number;
  history: EpochMetrics[];
}

/** The model this worker holds, trained here or restored from a checkpoint. */
let model: { trainer: Trainer; normalization: Normalization; run: Run | null } | null = null;
let controller: AbortController | null = null;

function modelInfo(trainer: Trainer): ModelInfo {
  return { model: trainer.describe(), architecture: trainer.snapshot().architecture };
}

/** The trainer's per-label goodness, where the learning rule has one (Forward-Forward). */
function goodnessOf(trainer: Trainer, x: Tensor): number[] | undefined {
  return trainer instanceof FFTrainer ? [...noGrad(() => trainer.goodnessPerLabel(x)).data] : undefined;
}

async function train(trainer: Trainer, normalization: Normalization, run: Run): Promise<void> {
  model = { trainer, normalization, run };
  controller = new AbortController();
  const started = performance.now();
  const seconds = () => run.seconds + (performance.now() - started) / 1000;
  let lastProgress = 0;
  // Progress is posted at most every PROGRESS_EVERY_MS, so only the steps it will report need statistics.
  const progressDue = () => performance.now() - lastProgress >= PROGRESS_EVERY_MS;
  const onEvent = (event: TrainEvent) => {
    switch (event.type) {
      case 'start':
        post({ type: 'started', epochs: event.epochs, ...modelInfo(trainer) });
        break;
      case 'progress': {
        if (!progressDue() && event.batch < event.batches) return;
        lastProgress = performance.now();
        const { epoch, batch, batches, loss, samplesPerSecond, layers } = event;
        post({ type: 'progress', seconds: seconds(), epoch, batch, batches, loss, samplesPerSecond, layers });
        break;
      }
      case 'evaluation':
        post({
          type: 'evaluation',
          seconds: seconds(),
          epoch: event.epoch,
          testAccuracy: event.testAccuracy,
        });
        break;
      case 'epoch':
        run.history.push(event.metrics);
        break;
      case 'end':
        break;
    }
  };
  try {
    const result = await trainLoop(trainer, run.data, {
      epochs: run.settings.epochs,
      startStep: run.step,
      evaluationsPerEpoch: run.settings.evaluationsPerEpoch,
      signal: controller.signal,
      onEvent,
      wantsLayerStats: progressDue,
    });
    run.step = result.step;
    post({ type: 'stopped', reason: result.reason, step: result.step });
  } finally {
    run.seconds = seconds();
    controller = null;
  }
}

function startTraining(
  name: Algorithm,
  settings: TrainSettings,
  trainSplit: Split,
  testSplit: Split,
): Promise<void> {
  const normalization = fitNormalization('standardize', trainSplit);
  const { seed, lr, hidden } = settings;
  const trainer = algorithm(name).create({ seed, lr, hidden, normalization });
  const data = trainingData(
    { name: 'mnist', classes: DATASET_CLASSES.mnist, train: trainSplit, test: testSplit },
    {
      batchSize: settings.batchSize,
      seed: settings.seed,
      normalization,
      limit: settings.trainExamples,
      testLimit: settings.testExamples,
      trainEvalCount: settings.testExamples,
    },
  );
  const run: Run = {
    settings,
    data,
    batchesPerEpoch: data.trainBatchCount,
    step: 0,
    seconds: 0,
    history: [],
  };
  return train(trainer, normalization, run);
}

/** Continues a stopped run exactly as the CLI's --resume does: from a snapshot, schedules included. */
function resume(): Promise<void> {
  if (!model?.run) throw new Error('there is no stopped run to resume: start training first');
  const { trainer, normalization, run } = model;
  return train(algorithm(trainer.algorithm).restore(trainer.snapshot()), normalization, run);
}

function checkpointBytes(): Uint8Array {
  if (!model) throw new Error('no model to save yet: train one or load a checkpoint first');
  const { trainer, normalization, run } = model;
  if (!run)
    throw new Error(
      'this model was loaded from a checkpoint and not trained further: that file is its checkpoint',
    );
  const info = checkpointRunInfo({
    dataset: 'mnist',
    normalization,
    step: run.step,
    batchesPerEpoch: run.batchesPerEpoch,
    metrics: run.history.at(-1),
    run: {
      seed: run.settings.seed,
      batchSize: run.settings.batchSize,
      epochs: run.settings.epochs,
      limit: run.settings.trainExamples,
    },
  });
  return encodeCheckpoint(trainer.algorithm, trainer.snapshot(), info);
}

function load(bytes: Uint8Array, name: string, test: Split, testExamples: number): void {
  const checkpoint = decodeCheckpoint(bytes, name);
  const { metadata } = checkpoint;
  const trainer = algorithm(metadata.algorithm).restore(snapshotOf(checkpoint));
  const normalization = parseNormalization(metadata.normalization, name);
  model = { trainer, normalization, run: null };
  const batches = new DataLoader(test, { batchSize: 1000, normalize: normalization, limit: testExamples });
  const { accuracy } = evaluate(trainer, batches);
  post({ type: 'loaded', metadata, testAccuracy: accuracy, ...modelInfo(trainer) });
}

function predict(id: number, pixels: Uint8Array): void {
  if (!model) throw new Error('no model to predict with yet: train one or load a checkpoint first');
  const { trainer, normalization } = model;
  const x = new Tensor(normalizePixels(pixels, normalization), [1, pixels.length]);
  const probabilities = [...noGrad(() => trainer.probabilities(x)).data];
  post({ type: 'prediction', id, probabilities, goodness: goodnessOf(trainer, x) });
}

/** Requests that replace the model must wait until training has stopped. */
function whenStopped(request: string): void {
  if (controller) throw new Error(`stop training before you ${request}`);
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'train' || message.type === 'resume') whenStopped('start again');
  if (message.type === 'load') whenStopped('load a checkpoint');
  switch (message.type) {
    case 'train':
      return startTraining(message.algorithm, message.settings, message.data.train, message.data.test);
    case 'stop':
      controller?.abort();
      return;
    case 'resume':
      return resume();
    case 'checkpoint': {
      const bytes = checkpointBytes();
      post({ type: 'checkpoint', bytes }, [bytes.buffer]);
      return;
    }
    case 'load':
      return load(message.bytes, message.name, message.test, message.testExamples);
    case 'predict':
      return predict(message.id, message.pixels);
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  });
};
