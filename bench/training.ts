// Training throughput: the seed network (784 -> 1024 -> BatchNorm -> tanh -> 10, batch 128,
// Adam) and one Forward-Forward step (784-1000-1000-1000, minibatch 100), in chainrule and in
// its peers measured in the same run: TensorFlow.js (cpu and wasm backends) and PyTorch.
// chainrule runs in a child process of its own: loading TensorFlow.js into a process slowed
// chainrule's training step there by a quarter (11.3 -> 14.3 ms), so sharing one would
// understate chainrule, as running torch in-process would understate torch.
//
//   node dist/bench/training.js

import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { setBackend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { ReferenceKernels } from '../src/backend/reference/index.js';
import { createWasmKernels } from '../src/backend/wasm/index.js';
import { createTrainer } from '../src/learn/registry.js';
import { Rng } from '../src/tensor/random.js';
import { randn, Tensor } from '../src/tensor/tensor.js';
import { SYSTEM_PYTHON } from './python.js';

export interface TrainingBenchRow {
  task: 'seed network' | 'ff step';
  runner: string;
  /** How the runner was configured (threads, variant). */
  settings: string;
  samplesPerSecond: number;
  msPerStep: number;
}

const SEED = { hidden: 1024, batch: 128 };
const FF = { widths: [784, 1000, 1000, 1000], batch: 100 };

/**
 * Best mean time per step over `repeats` runs of `steps` steps, after a warm-up of at least
 * three steps and a second, so that the JIT and the heap have settled for whichever runner
 * happens to go first.
 */
export async function timeSteps(step: () => unknown, steps: number, repeats = 3): Promise<number> {
  const warmUpStart = performance.now();
  for (let i = 0; i < 3 || performance.now() - warmUpStart < 1000; i++) await step();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) await step();
    best = Math.min(best, (performance.now() - start) / steps);
  }
  return best;
}

function row(
  task: TrainingBenchRow['task'],
  runner: string,
  settings: string,
  batch: number,
  ms: number,
): TrainingBenchRow {
  return { task, runner, settings, msPerStep: ms, samplesPerSecond: (batch * 1000) / ms };
}

function randomBatch(batch: number, features: number) {
  const rng = new Rng(1);
  const x = randn([batch, features], { rng });
  const y = new Tensor(
    Int32Array.from({ length: batch }, () => rng.int(10)),
    [batch],
  );
  return { x, y };
}

async function chainruleSeed(kernels: Kernels, settings: string, steps: number): Promise<TrainingBenchRow> {
  setBackend(kernels);
  const trainer = createTrainer('bp', { hidden: [SEED.hidden], schedule: 'constant', lr: 1e-3 });
  trainer.plan(1);
  const { x, y } = randomBatch(SEED.batch, 784);
  return row(
    'seed network',
    'chainrule',
    settings,
    SEED.batch,
    await timeSteps(() => trainer.step(x, y), steps),
  );
}

async function chainruleFF(kernels: Kernels, settings: string, steps: number): Promise<TrainingBenchRow> {
  setBackend(kernels);
  const trainer = createTrainer('ff', { hidden: FF.widths.slice(1) });
  trainer.plan(1000);
  const { x, y } = randomBatch(FF.batch, 784);
  return row('ff step', 'chainrule', settings, FF.batch, await timeSteps(() => trainer.step(x, y), steps));
}

type TF = typeof tfjs;

async function loadTfjs(): Promise<TF> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  return tf;
}

/** A dense layer whose gradient products are written out with explicit transposes. */
function explicitDense(tf: TF, x: tfjs.Tensor2D, w: tfjs.Variable) {
  const f = tf.customGrad((...args: (tfjs.Tensor | tfjs.GradSaveFunc)[]) => {
    const [input, weight, save] = args as [tfjs.Tensor2D, tfjs.Tensor2D, tfjs.GradSaveFunc];
    save([input, weight]);
    return {
      value: tf.matMul(input, weight),
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => {
        const [si, sw] = saved as [tfjs.Tensor2D, tfjs.Tensor2D];
        const g = dy as tfjs.Tensor2D;
        return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(si), g)];
      },
    };
  });
  return f(x, w) as tfjs.Tensor2D;
}

async function tfjsSeed(
  tf: TF,
  backend: 'cpu' | 'wasm',
  explicit: boolean,
  steps: number,
): Promise<TrainingBenchRow> {
  await tf.setBackend(backend);
  await tf.ready();
  const { hidden, batch } = SEED;
  const w1 = tf.variable(tf.randomUniform([784, hidden], -0.035, 0.035));
  const b1 = tf.variable(tf.zeros([hidden]));
  const gamma = tf.variable(tf.ones([hidden]));
  const beta = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.randomUniform([hidden, 10], -0.03, 0.03));
  const b2 = tf.variable(tf.zeros([10]));
  const x = tf.randomNormal([batch, 784]) as tfjs.Tensor2D;
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tfjs.Tensor1D, 10);
  const optimizer = tf.train.adam(1e-3);
  const dense = (input: tfjs.Tensor2D, w: tfjs.Variable) =>
    explicit ? explicitDense(tf, input, w) : tf.matMul(input, w);
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => {
        const h = dense(x, w1).add(b1);
        const { mean, variance } = tf.moments(h, 0);
        const normalized = h.sub(mean).div(variance.add(1e-5).sqrt()).mul(gamma).add(beta);
        const logits = dense(normalized.tanh() as tfjs.Tensor2D, w2).add(b2);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tfjs.Scalar;
      });
      // Reading a value waits for the backend to finish the step.
      w2.dataSync();
    });
  const ms = await timeSteps(step, steps);
  tf.disposeVariables();
  const settings = `${backend} backend${backend === 'wasm' ? ', 1 thread' : ''}, ${explicit ? 'explicit transposes' : 'as shipped'}`;
  return row('seed network', 'tfjs', settings, batch, ms);
}

function torchRows(): TrainingBenchRow[] {
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import torch']).status !== 0) {
    process.stderr.write(
      `PyTorch skipped: ${SYSTEM_PYTHON} cannot import torch (apt-get install python3-torch libopenblas0)\n`,
    );
    return [];
  }
  const script = fileURLToPath(new URL('../../bench/torch_training.py', import.meta.url));
  const run = (spec: object) => {
    const r = spawnSync(SYSTEM_PYTHON, [script, JSON.stringify(spec)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`PyTorch benchmark failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { secondsPerStep: number; threads: number; version: string };
  };
  const seed = run({ task: 'seed', hidden: SEED.hidden, batch: SEED.batch, steps: 60 });
  const ff = run({ task: 'ff', widths: FF.widths, batch: FF.batch, steps: 30 });
  const settings = (r: typeof seed) =>
    `torch ${r.version}, default threading (${r.threads} intra-op thread, OpenBLAS)`;
  return [
    row('seed network', 'pytorch', settings(seed), SEED.batch, seed.secondsPerStep * 1000),
    row('ff step', 'pytorch', settings(ff), FF.batch, ff.secondsPerStep * 1000),
  ];
}

/** chainrule's rows, measured in this process (which must not have loaded TensorFlow.js). */
async function chainruleRows(): Promise<TrainingBenchRow[]> {
  const wasm2 = await createWasmKernels({ threads: 2 });
  const wasm1 = await createWasmKernels({ threads: 1 });
  const reference = new ReferenceKernels();
  const rows: TrainingBenchRow[] = [];
  rows.push(await chainruleSeed(wasm2, 'wasm SIMD, 2 threads', 40));
  rows.push(await chainruleSeed(wasm1, 'wasm SIMD, 1 thread', 30));
  rows.push(await chainruleSeed(reference, 'reference backend (plain TypeScript)', 2));
  rows.push(await chainruleFF(wasm2, 'wasm SIMD, 2 threads', 10));
  rows.push(await chainruleFF(wasm1, 'wasm SIMD, 1 thread', 10));
  await wasm2.close();
  await wasm1.close();
  return rows;
}

const CHAINRULE_ONLY = '--chainrule-json';

export async function runTrainingBench(): Promise<TrainingBenchRow[]> {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), CHAINRULE_ONLY], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`the chainrule training benchmark failed (exit ${child.status})`);
  const rows: TrainingBenchRow[] = JSON.parse(child.stdout);
  const tf = await loadTfjs();
  rows.push(await tfjsSeed(tf, 'wasm', true, 20));
  rows.push(await tfjsSeed(tf, 'wasm', false, 3));
  rows.push(await tfjsSeed(tf, 'cpu', false, 2));
  rows.push(...torchRows());
  return rows;
}

export function formatTrainingTable(rows: readonly TrainingBenchRow[]): string {
  const lines: string[] = [];
  for (const task of ['seed network', 'ff step'] as const) {
    const taskRows = rows.filter((r) => r.task === task);
    const ours = taskRows.find((r) => r.runner === 'chainrule');
    if (!ours) continue;
    lines.push(
      `${task === 'seed network' ? 'Seed network training, batch 128' : 'Forward-Forward step, 784-1000-1000-1000, batch 100'}:`,
    );
    for (const r of taskRows) {
      const ratio =
        r === ours ? '' : `   chainrule is ${(ours.samplesPerSecond / r.samplesPerSecond).toFixed(2)}x`;
      lines.push(
        `  ${`${r.runner} (${r.settings})`.padEnd(72)} ${Math.round(r.samplesPerSecond).toLocaleString('en-US').padStart(8)} samples/s${ratio}`,
      );
    }
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes(CHAINRULE_ONLY)) {
    process.stdout.write(JSON.stringify(await chainruleRows()));
  } else {
    process.stdout.write(`${formatTrainingTable(await runTrainingBench())}\n`);
  }
}
