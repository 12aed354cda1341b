// Resident memory over a long training run on the native backend: the seed network's shape
// (784 -> hidden -> BatchNorm -> tanh -> 10, Adam), stepped `steps` times, with the process's
// RSS printed every tenth of the way. Flat after warm-up means no step leaks, natively or in JS.
//
//   node dist/bench/memory.js [steps=10000] [hidden=256] [batch=64]

import { pathToFileURL } from 'node:url';
import { backendInfo, useBackend } from '../src/backend/index.js';
import { createBPTrainer } from '../src/learn/bp.js';
import { Rng } from '../src/tensor/random.js';
import { randn, Tensor } from '../src/tensor/tensor.js';

export async function measureResidentMemory(steps: number, hidden: number, batch: number): Promise<number[]> {
  await useBackend('native');
  const rng = new Rng(0);
  const trainer = createBPTrainer({ hidden: [hidden], schedule: 'constant', lr: 1e-3 }, { seed: 0 });
  trainer.plan(steps);
  const batches = Array.from({ length: 8 }, () => ({
    x: randn([batch, 784], { rng }),
    y: new Tensor(
      Int32Array.from({ length: batch }, () => rng.int(10)),
      [batch],
    ),
  }));
  const samples: number[] = [];
  const every = Math.max(1, Math.floor(steps / 10));
  for (let i = 1; i <= steps; i++) {
    const { x, y } = batches[i % batches.length];
    trainer.step(x, y);
    if (i % every === 0) samples.push(process.memoryUsage().rss);
  }
  return samples;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [steps = 10000, hidden = 256, batch = 64] = process.argv.slice(2).map(Number);
  const samples = await measureResidentMemory(steps, hidden, batch);
  const { name, isa, threads } = backendInfo();
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  process.stdout.write(
    `${steps} steps, hidden ${hidden}, batch ${batch}, ${name} ${isa}, ${threads} threads\n`,
  );
  samples.forEach((rss, i) => {
    process.stdout.write(
      `  after ${Math.round(((i + 1) * steps) / samples.length)} steps: RSS ${mib(rss)} MiB\n`,
    );
  });
  const growth = samples[samples.length - 1] - samples[0];
  process.stdout.write(`growth from the first sample to the last: ${mib(growth)} MiB\n`);
}
