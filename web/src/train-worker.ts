// One learning rule, trained off the page's thread: the library's own registry, training loop
// and checkpoint format, driven by messages (protocol.ts). The loop yields to the event loop
// between batches, so stop, predict and checkpoint requests are answered mid-run.

import {
  type Algorithm,
  createWasmKernelsSync,
  DATASET_CLASSES,
  DataLoader,
  type Dataset,
  decodeCheckpoint,
  type EpochMetrics,
  evaluate,
  inputShapeOf,
  type Normalization,
  noGrad,
  normalizePixels,
  parseNormalization,
  planRun,
  ReferenceKernels,
  type Run,
  restoreTrainer,
  rule,
  type Split,
  setBackend,
  snapshotOf,
  Tensor,
  type TrainEvent,
  type Trainer,
  trainLoop,
  wasmSimdSupported,
} from '../../src/browser.js';
import { LOOKS, PLAYGROUND_PRESET } from './algorithms.js';
import {
  type FromWorker,
  type ModelInfo,
  SETTING_LABELS,
  type ToWorker,
  type TrainSettings,
} from './protocol.js';
import { settlingOf } from './settling.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

// The WASM kernels' relaxed-SIMD build (fused multiply-add) where the browser validates it, else
// their plain build (createWasmKernelsSync's choice); without WebAssembly SIMD, the reference.
setBackend(wasmSimdSupported() ? createWasmKernelsSync() : new ReferenceKernels());

/** How often progress reaches the page: often enough for live charts, rarely enough to stay cheap. */
const PROGRESS_EVERY_MS = 100;

/** A run this worker trains: the shared run set-up, and where the loop left it. */
interface Training {
  run: Run;
  settings: TrainSettings;
  /** The dataset the run was set up with, to set up its continuation. */
  open: () => Dataset;
  step: number;
  seconds: number;
  history: EpochMetrics[];
}

/** The model this worker holds, trained here or restored from a checkpoint. */
let model: { trainer: Trainer; normalization: Normalization; training: Training | null } | null = null;
let controller: AbortController | null = null;

function modelInfo(trainer: Trainer): ModelInfo {
  return { model: trainer.describe(), architecture: trainer.architecture };
}

/** The trainer's per-label scores, where its rule has them (Forward-Forward's goodness). */
function labelScoresOf(trainer: Trainer, x: Tensor): number[] | undefined {
  if (!rule(trainer.algorithm).capabilities.labelScores || !trainer.labelScores) return undefined;
  return [...noGrad(() => trainer.labelScores!(x)).data];
}

const mnistDataset = (train: Split, test: Split): Dataset => ({
  name: 'mnist',
  classes: DATASET_CLASSES.mnist,
  train,
  test,
});

async function train(training: Training): Promise<void> {
  const { run } = training;
  model = { trainer: run.trainer, normalization: run.normalization, training };
  controller = new AbortController();
  const started = performance.now();
  const seconds = () => training.seconds + (performance.now() - started) / 1000;
  let lastProgress = 0;
  // Progress is posted at most every PROGRESS_EVERY_MS, so only the steps it will report need statistics.
  const progressDue = () => performance.now() - lastProgress >= PROGRESS_EVERY_MS;
  const onEvent = (event: TrainEvent) => {
    switch (event.type) {
      case 'start':
        post({ type: 'started', epochs: event.epochs, ...modelInfo(run.trainer) });
        break;
      case 'progress': {
        if (!progressDue() && event.batch < event.batches) return;
        lastProgress = performance.now();
        const { epoch, batch, batches, smoothedLoss: loss, samplesPerSecond, layers } = event;
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
        training.history.push(event.metrics);
        break;
      case 'end':
        break;
    }
  };
  try {
    const result = await trainLoop(run.trainer, run.data, {
      epochs: run.settings.epochs,
      startStep: run.startStep,
      evaluationsPerEpoch: training.settings.evaluationsPerEpoch,
      signal: controller.signal,
      onEvent,
      wantsLayerStats: progressDue,
    });
    training.step = result.step;
    post({ type: 'stopped', reason: result.reason, step: result.step });
  } finally {
    training.seconds = seconds();
    controller = null;
  }
}

/** The settings the page sends, named in errors as its form names them. */
function startTraining(
  name: Algorithm,
  settings: TrainSettings,
  trainSplit: Split,
  testSplit: Split,
): Promise<void> {
  const { title } = LOOKS[name];
  const dataset = mnistDataset(trainSplit, testSplit);
  const run = planRun(
    {
      algorithm: name,
      preset: PLAYGROUND_PRESET,
      config: { lr: settings.lr, hidden: settings.hidden },
      settings: {
        seed: settings.seed,
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        limit: settings.trainExamples,
      },
      label: (field) => `${title} ${SETTING_LABELS[field] ?? field}`,
    },
    () => dataset,
    { testLimit: settings.testExamples, trainEvalCount: settings.testExamples },
  );
  return train({ run, settings, open: () => dataset, step: 0, seconds: 0, history: [] });
}

/** Continues a stopped run exactly as the CLI's --resume does: through its checkpoint bytes. */
function resume(): Promise<void> {
  const training = model?.training;
  if (!training) throw new Error('there is no stopped run to resume: start training first');
  const dataset = training.open();
  const bytes = checkpointBytes();
  const run = planRun(
    { resume: { checkpoint: decodeCheckpoint(bytes, 'the stopped run'), source: 'the stopped run' } },
    () => dataset,
    { testLimit: training.settings.testExamples, trainEvalCount: training.settings.testExamples },
  );
  return train({ ...training, run });
}

function checkpointBytes(): Uint8Array {
  if (!model) throw new Error('no model to save yet: train one or load a checkpoint first');
  const { training } = model;
  if (!training)
    throw new Error(
      'this model was loaded from a checkpoint and not trained further: that file is its checkpoint',
    );
  return training.run.checkpoint(training.step, training.history.at(-1));
}

function load(bytes: Uint8Array, name: string, test: Split, testExamples: number): void {
  const checkpoint = decodeCheckpoint(bytes, name);
  const { metadata } = checkpoint;
  const trainer = restoreTrainer(metadata.algorithm, snapshotOf(checkpoint), name);
  const normalization = parseNormalization(metadata.normalization, name);
  model = { trainer, normalization, training: null };
  const batches = new DataLoader(test, {
    batchSize: 1000,
    normalize: normalization,
    limit: testExamples,
    images: inputShapeOf(trainer.architecture).length === 3,
  });
  const { accuracy } = evaluate(trainer, batches);
  post({ type: 'loaded', metadata, testAccuracy: accuracy, ...modelInfo(trainer) });
}

/** The model, and one image of pixel bytes as its input [1, ...]. */
function modelInput(pixels: Uint8Array, use: string): { trainer: Trainer; x: Tensor } {
  if (!model) throw new Error(`no model to ${use} yet: train one or load a checkpoint first`);
  const { trainer, normalization } = model;
  const x = new Tensor(normalizePixels(pixels, normalization), [1, ...inputShapeOf(trainer.architecture)]);
  return { trainer, x };
}

function predict(id: number, pixels: Uint8Array): void {
  const { trainer, x } = modelInput(pixels, 'predict with');
  const probabilities = [...noGrad(() => trainer.probabilities(x)).data];
  post({ type: 'prediction', id, probabilities, goodness: labelScoresOf(trainer, x) });
}

function settle(id: number, pixels: Uint8Array): void {
  const { trainer, x } = modelInput(pixels, 'settle');
  const settling = settlingOf(trainer, x);
  post(
    { type: 'settling', id, settling },
    settling.activity.map((a) => a.buffer),
  );
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
    case 'settle':
      return settle(message.id, message.pixels);
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  });
};
