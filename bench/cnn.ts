// The CNN's training step, as `chainrule train --model cnn` takes it (two stages of 5x5
// convolution, ReLU and 2x2 max pooling with 16 and 32 filters, 128 ReLU units, batch 128,
// Adam), in chainrule (native on every core and on one, WASM on 2 threads and 1) and in PyTorch
// on the same network, measured in the same run. chainrule runs in a child process of its own,
// as in training.ts; the ratios are against its first row, the fastest backend on every core.
//
//   node dist/bench/cnn.js

import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setBackend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { createNativeKernels, loadNativeAddon } from '../src/backend/native/index.js';
import { createWasmKernels, createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { createTrainer } from '../src/learn/registry.js';
import { Rng } from '../src/tensor/random.js';
import { randn, Tensor } from '../src/tensor/tensor.js';
import { SYSTEM_PYTHON } from './python.js';
import { timeSteps } from './training.js';

export interface CnnBenchRow {
  runner: string;
  settings: string;
  msPerStep: number;
}

const CNN = { channels: [16, 32], hidden: 128, batch: 128 };

/** ms per step of the cnn preset's trainer on `kernels`. */
async function chainruleStep(kernels: Kernels): Promise<number> {
  const rng = new Rng(1);
  const x = randn([CNN.batch, 1, 28, 28], { rng });
  const y = new Tensor(
    Int32Array.from({ length: CNN.batch }, () => rng.int(10)),
    [CNN.batch],
  );
  setBackend(kernels);
  const trainer = createTrainer(
    'bp',
    { channels: CNN.channels, hidden: [CNN.hidden], schedule: 'constant', lr: 1e-3 },
    { seed: 0, preset: 'cnn' },
  );
  trainer.plan(1);
  return timeSteps(() => trainer.step(x, y));
}

const threadText = (threads: number) => `${threads} thread${threads > 1 ? 's' : ''}`;

/** The native backend on every core and on one (when the addon is built), then WASM on 2 and 1. */
async function chainruleRows(): Promise<CnnBenchRow[]> {
  const rows: CnnBenchRow[] = [];
  if (loadNativeAddon().loaded) {
    for (const threads of [undefined, 1]) {
      const kernels = createNativeKernels(createWasmKernelsSync(), { threads });
      const msPerStep = await chainruleStep(kernels);
      rows.push({
        runner: 'chainrule',
        settings: `native ${kernels.isa}, ${threadText(kernels.threads)}`,
        msPerStep,
      });
    }
  }
  for (const threads of [2, 1]) {
    const kernels = await createWasmKernels({ threads });
    rows.push({
      runner: 'chainrule',
      settings: `wasm SIMD, ${threadText(threads)}`,
      msPerStep: await chainruleStep(kernels),
    });
    await kernels.close();
  }
  return rows;
}

function torchRow(): CnnBenchRow[] {
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import torch']).status !== 0) {
    process.stderr.write(`PyTorch skipped: ${SYSTEM_PYTHON} cannot import torch\n`);
    return [];
  }
  const script = fileURLToPath(new URL('../../bench/torch_training.py', import.meta.url));
  const spec = { task: 'cnn', channels: CNN.channels, hidden: CNN.hidden, batch: CNN.batch };
  const r = spawnSync(SYSTEM_PYTHON, [script, JSON.stringify(spec)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch CNN benchmark failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as { secondsPerStep: number; threads: number; version: string };
  return [
    {
      runner: 'pytorch',
      settings: `torch ${result.version}, default threading (${result.threads} intra-op thread)`,
      msPerStep: result.secondsPerStep * 1000,
    },
  ];
}

const CHAINRULE_ONLY = '--chainrule-json';

export function runCnnBench(): CnnBenchRow[] {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), CHAINRULE_ONLY], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`the chainrule CNN benchmark failed (exit ${child.status})`);
  return [...(JSON.parse(child.stdout) as CnnBenchRow[]), ...torchRow()];
}

export function formatCnnTable(rows: readonly CnnBenchRow[]): string {
  const [ours] = rows;
  const lines = [
    'CNN training step (train --model cnn: conv 16 and 32, 5x5, max pooling, 128 units), batch 128:',
  ];
  for (const r of rows) {
    const ratio = r === ours ? '' : `   chainrule is ${(r.msPerStep / ours.msPerStep).toFixed(2)}x`;
    lines.push(
      `  ${`${r.runner} (${r.settings})`.padEnd(72)} ${r.msPerStep.toFixed(1).padStart(8)} ms/step${ratio}`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes(CHAINRULE_ONLY)) process.stdout.write(JSON.stringify(await chainruleRows()));
  else process.stdout.write(`${formatCnnTable(runCnnBench())}\n`);
}
