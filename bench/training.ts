// Training throughput: the seed network (784 -> 1024 -> BatchNorm -> tanh -> 10, batch 128,
// Adam) and one Forward-Forward step (784-1000-1000-1000, minibatch 100), in chainrule (native
// and WASM backends, and a user's own loop over nn modules) and in its peers measured in the
// same run: PyTorch (default threading and one thread, doing the same work) and TensorFlow.js
// (cpu and wasm backends, when `npm run bench:setup` installed it). Then a scaling table: the
// seed network at hidden 256 / 1024 / 4096 and batch 32 / 128 / 512, native against PyTorch.
// chainrule runs in a child process of its own: loading TensorFlow.js into a process slowed
// chainrule's training step there by a quarter (11.3 -> 14.3 ms), so sharing one would
// understate chainrule, as running torch in-process would understate torch.
//
//   node dist/bench/training.js

import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setBackend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { createNativeKernels, loadNativeAddon } from '../src/backend/native/index.js';
import { createWasmKernels, createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { createTrainer } from '../src/learn/registry.js';
import { BatchNorm1d, Linear, Sequential, Tanh } from '../src/nn/index.js';
import { crossEntropy } from '../src/ops/nn.js';
import { Adam } from '../src/optim/adam.js';
import { Rng } from '../src/tensor/random.js';
import { tidy } from '../src/tensor/scope.js';
import { randn, Tensor } from '../src/tensor/tensor.js';
import { ONE_THREAD_ENV } from './gemm.js';
import { progress } from './progress.js';
import { SYSTEM_PYTHON } from './python.js';
import { loadTfjs, type TF } from './tfjs.js';

export interface TrainingBenchRow {
  /** 'seed network', 'ff step', or a scaling entry 'seed network h<hidden> b<batch>'. */
  task: string;
  runner: string;
  /** How the runner was configured (threads, variant). */
  settings: string;
  samplesPerSecond: number;
  msPerStep: number;
}

const SEED = { hidden: 1024, batch: 128 };
const FF = { widths: [784, 1000, 1000, 1000], batch: 100 };
const SCALING = { hidden: [256, 1024, 4096], batch: [32, 128, 512] };
const scalingTask = (hidden: number, batch: number) => `seed network h${hidden} b${batch}`;

/**
 * Best mean time per step over `repeats` runs, after a warm-up of at least three steps and a
 * second, so that the JIT and the heap have settled for whichever runner happens to go first.
 * Each run takes about half a second, however long a step is.
 */
export async function timeSteps(step: () => unknown, repeats = 3): Promise<number> {
  const warmUpStart = performance.now();
  let warmUpSteps = 0;
  for (; warmUpSteps < 3 || performance.now() - warmUpStart < 1000; warmUpSteps++) await step();
  const estimate = (performance.now() - warmUpStart) / warmUpSteps;
  const steps = Math.min(50, Math.max(2, Math.round(500 / estimate)));
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) await step();
    best = Math.min(best, (performance.now() - start) / steps);
  }
  return best;
}

function row(task: string, runner: string, settings: string, batch: number, ms: number): TrainingBenchRow {
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

async function chainruleSeed(
  kernels: Kernels,
  settings: string,
  { hidden, batch } = SEED,
  task = 'seed network',
): Promise<TrainingBenchRow> {
  progress(`training: chainrule ${task}, ${settings}`);
  setBackend(kernels);
  const trainer = createTrainer('bp', { hidden: [hidden], schedule: 'constant', lr: 1e-3 });
  trainer.plan(1);
  const { x, y } = randomBatch(batch, 784);
  return row(task, 'chainrule', settings, batch, await timeSteps(() => trainer.step(x, y)));
}

/**
 * The seed network as a user writes it: nn modules, crossEntropy, Adam, reading the loss each
 * step; `scoped`, each step in tidy() as the trainer's are (so it reuses its storage).
 */
async function chainruleUserLoop(
  kernels: Kernels,
  settings: string,
  scoped: boolean,
): Promise<TrainingBenchRow> {
  const how = scoped ? "a user's own loop in tidy()" : "a user's own loop";
  progress(`training: chainrule seed network as ${how}, ${settings}`);
  setBackend(kernels);
  const model = new Sequential(
    new Linear(784, SEED.hidden),
    new BatchNorm1d(SEED.hidden),
    new Tanh(),
    new Linear(SEED.hidden, 10),
  );
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const { x, y } = randomBatch(SEED.batch, 784);
  const step = () => {
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    return loss.item();
  };
  return row(
    'seed network',
    'chainrule',
    `${settings}, ${how}`,
    SEED.batch,
    await timeSteps(scoped ? () => tidy(step) : step),
  );
}

async function chainruleFF(kernels: Kernels, settings: string): Promise<TrainingBenchRow> {
  progress(`training: chainrule ff step, ${settings}`);
  setBackend(kernels);
  const trainer = createTrainer('ff', { hidden: FF.widths.slice(1) });
  trainer.plan(1000);
  const { x, y } = randomBatch(FF.batch, 784);
  return row('ff step', 'chainrule', settings, FF.batch, await timeSteps(() => trainer.step(x, y)));
}

/** A dense layer whose gradient products are written out with explicit transposes. */
function explicitDense(tf: TF, x: TF, w: TF) {
  const f = tf.customGrad((input: TF, weight: TF, save: (tensors: TF[]) => void) => {
    save([input, weight]);
    return {
      value: tf.matMul(input, weight),
      gradFunc: (g: TF, [si, sw]: TF[]) => [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(si), g)],
    };
  });
  return f(x, w);
}

async function tfjsSeed(tf: TF, backend: 'cpu' | 'wasm', explicit: boolean): Promise<TrainingBenchRow> {
  progress(
    `training: TensorFlow.js seed network, ${backend} backend${explicit ? ', explicit transposes' : ''}`,
  );
  await tf.setBackend(backend);
  await tf.ready();
  const { hidden, batch } = SEED;
  const w1 = tf.variable(tf.randomUniform([784, hidden], -0.035, 0.035));
  const b1 = tf.variable(tf.zeros([hidden]));
  const gamma = tf.variable(tf.ones([hidden]));
  const beta = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.randomUniform([hidden, 10], -0.03, 0.03));
  const b2 = tf.variable(tf.zeros([10]));
  const x = tf.randomNormal([batch, 784]);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const optimizer = tf.train.adam(1e-3);
  const dense = (input: TF, w: TF) => (explicit ? explicitDense(tf, input, w) : tf.matMul(input, w));
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => {
        const h = dense(x, w1).add(b1);
        const { mean, variance } = tf.moments(h, 0);
        const normalized = h.sub(mean).div(variance.add(1e-5).sqrt()).mul(gamma).add(beta);
        const logits = dense(normalized.tanh(), w2).add(b2);
        return tf.losses.softmaxCrossEntropy(labels, logits);
      });
      // Reading a value waits for the backend to finish the step.
      w2.dataSync();
    });
  const ms = await timeSteps(step);
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
  const run = (spec: object, threads: 0 | 1) => {
    const r = spawnSync(SYSTEM_PYTHON, [script, JSON.stringify({ ...spec, threads })], {
      encoding: 'utf8',
      env: threads ? { ...process.env, ...ONE_THREAD_ENV } : process.env,
    });
    if (r.status !== 0) throw new Error(`PyTorch benchmark failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { secondsPerStep: number; threads: number; version: string };
  };
  const settings = (r: { threads: number; version: string }, threads: 0 | 1) =>
    `torch ${r.version}, ${threads ? '1 thread' : `default threading (${r.threads} intra-op)`}, OpenBLAS`;
  const rows: TrainingBenchRow[] = [];
  for (const threads of [0, 1] as const) {
    progress(`training: PyTorch seed network and ff step, ${threads ? '1 thread' : 'default threading'}`);
    const seed = run({ task: 'seed', ...SEED }, threads);
    rows.push(
      row('seed network', 'pytorch', settings(seed, threads), SEED.batch, seed.secondsPerStep * 1000),
    );
    const ff = run({ task: 'ff', ...FF }, threads);
    rows.push(row('ff step', 'pytorch', settings(ff, threads), FF.batch, ff.secondsPerStep * 1000));
  }
  for (const hidden of SCALING.hidden) {
    for (const batch of SCALING.batch) {
      progress(`training: PyTorch ${scalingTask(hidden, batch)}`);
      const r = run({ task: 'seed', hidden, batch }, 0);
      rows.push(row(scalingTask(hidden, batch), 'pytorch', settings(r, 0), batch, r.secondsPerStep * 1000));
    }
  }
  return rows;
}

/** Each measurement run twice, the runs interleaved, and each one's fastest row. */
async function alternately(
  ...measurements: (() => Promise<TrainingBenchRow>)[]
): Promise<TrainingBenchRow[]> {
  const best: (TrainingBenchRow | null)[] = measurements.map(() => null);
  for (let round = 0; round < 2; round++) {
    for (const [i, measure] of measurements.entries()) {
      const r = await measure();
      if (!best[i] || r.samplesPerSecond > best[i].samplesPerSecond) best[i] = r;
    }
  }
  return best as TrainingBenchRow[];
}

/** chainrule's rows, measured in this process (which must not have loaded TensorFlow.js). */
async function chainruleRows(): Promise<TrainingBenchRow[]> {
  const wasm2 = await createWasmKernels({ threads: 2 });
  const wasm1 = await createWasmKernels({ threads: 1 });
  const rows: TrainingBenchRow[] = [];
  const native = loadNativeAddon().loaded ? createNativeKernels(createWasmKernelsSync()) : null;
  const native1 = native && createNativeKernels(createWasmKernelsSync(), { threads: 1 });
  const nativeSettings = (k: { isa: string; threads: number }) =>
    `native ${k.isa}, ${k.threads} thread${k.threads > 1 ? 's' : ''}`;
  if (native && native1) {
    // The trainer's step and a user's loop do the same kernel calls on the same data; each is
    // measured twice, alternately, keeping its best, so neither gains from going second.
    const seedRows = await alternately(
      () => chainruleSeed(native, nativeSettings(native)),
      () => chainruleUserLoop(native, nativeSettings(native), false),
      () => chainruleUserLoop(native, nativeSettings(native), true),
    );
    rows.push(...seedRows);
    rows.push(await chainruleSeed(native1, nativeSettings(native1)));
  }
  rows.push(await chainruleSeed(wasm2, 'wasm SIMD, 2 threads'));
  rows.push(await chainruleSeed(wasm1, 'wasm SIMD, 1 thread'));
  if (native && native1) {
    rows.push(await chainruleFF(native, nativeSettings(native)));
    rows.push(await chainruleFF(native1, nativeSettings(native1)));
  }
  rows.push(await chainruleFF(wasm2, 'wasm SIMD, 2 threads'));
  rows.push(await chainruleFF(wasm1, 'wasm SIMD, 1 thread'));
  const fastest = native ?? wasm2;
  const fastestSettings = native ? nativeSettings(native) : 'wasm SIMD, 2 threads';
  for (const hidden of SCALING.hidden) {
    for (const batch of SCALING.batch) {
      rows.push(await chainruleSeed(fastest, fastestSettings, { hidden, batch }, scalingTask(hidden, batch)));
    }
  }
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
  const tf = loadTfjs();
  if (tf) {
    rows.push(await tfjsSeed(tf, 'wasm', true));
    rows.push(await tfjsSeed(tf, 'wasm', false));
    rows.push(await tfjsSeed(tf, 'cpu', false));
  }
  rows.push(...torchRows());
  return rows;
}

const TASK_TITLES: Record<string, string> = {
  'seed network': `Seed network training (784-${SEED.hidden}-BatchNorm-tanh-10, Adam), batch ${SEED.batch}:`,
  'ff step': `Forward-Forward step, ${FF.widths.join('-')}, batch ${FF.batch} (both do the same work):`,
};

export function formatTrainingTable(rows: readonly TrainingBenchRow[]): string {
  const lines: string[] = [];
  for (const task of Object.keys(TASK_TITLES)) {
    const taskRows = rows.filter((r) => r.task === task);
    const ours = taskRows.find((r) => r.runner === 'chainrule');
    if (!ours) continue;
    lines.push(TASK_TITLES[task]);
    for (const r of taskRows) {
      const ratio =
        r === ours ? '' : `   chainrule is ${(ours.samplesPerSecond / r.samplesPerSecond).toFixed(2)}x`;
      lines.push(
        `  ${`${r.runner} (${r.settings})`.padEnd(72)} ${Math.round(r.samplesPerSecond).toLocaleString('en-US').padStart(8)} samples/s${ratio}`,
      );
    }
  }
  lines.push(
    '',
    "Seed network scaling, samples/s (chainrule's fastest backend against PyTorch, default threading):",
  );
  lines.push(
    `  ${'hidden'.padEnd(8)}${'batch'.padStart(6)}${'chainrule'.padStart(12)}${'pytorch'.padStart(12)}${'ratio'.padStart(9)}`,
  );
  for (const hidden of SCALING.hidden) {
    for (const batch of SCALING.batch) {
      const find = (runner: string) =>
        rows.find((r) => r.task === scalingTask(hidden, batch) && r.runner === runner);
      const ours = find('chainrule');
      const theirs = find('pytorch');
      const figure = (r: TrainingBenchRow | undefined) =>
        r ? Math.round(r.samplesPerSecond).toLocaleString('en-US') : '-';
      const ratio = ours && theirs ? `${(ours.samplesPerSecond / theirs.samplesPerSecond).toFixed(2)}x` : '-';
      lines.push(
        `  ${String(hidden).padEnd(8)}${String(batch).padStart(6)}${figure(ours).padStart(12)}${figure(theirs).padStart(12)}${ratio.padStart(9)}`,
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
