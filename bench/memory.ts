// Resident memory over a long training run on the default backend (native where built;
// CHAINRULE_BACKEND picks another): the seed network's shape
// (784 -> hidden -> BatchNorm -> tanh -> 10, Adam), stepped `steps` times, with the process's
// RSS printed every tenth of the way, with the new storage the steps allocated (each step runs
// in a tidy() scope, so after warm-up it takes all its storage from the pool: 0 new buffers).
// Flat after warm-up means no step leaks, natively or in JS.
//
//   node dist/bench/memory.js [steps=10000] [hidden=256] [batch=64]

import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { backendInfo, useBackend } from '../src/backend/index.js';
import { createTrainer } from '../src/learn/registry.js';
import { Rng } from '../src/tensor/random.js';
import { poolStats } from '../src/tensor/scope.js';
import { randn, Tensor } from '../src/tensor/tensor.js';

// Each sample follows a full collection, so that garbage not yet collected does not count.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

export interface MemorySample {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  /** New storage buffers per step since the last sample (the first sample's include warm-up). */
  freshBuffersPerStep: number;
  /** Storage idle in the pool between steps. */
  pooledBytes: number;
}

export async function measureResidentMemory(
  steps: number,
  hidden: number,
  batch: number,
): Promise<MemorySample[]> {
  await useBackend(undefined);
  const rng = new Rng(0);
  const trainer = createTrainer('bp', { hidden: [hidden], schedule: 'constant', lr: 1e-3 });
  trainer.plan(steps);
  const batches = Array.from({ length: 8 }, () => ({
    x: randn([batch, 784], { rng }),
    y: new Tensor(
      Int32Array.from({ length: batch }, () => rng.int(10)),
      [batch],
    ),
  }));
  const samples: MemorySample[] = [];
  const every = Math.max(1, Math.floor(steps / 10));
  let freshBefore = poolStats().freshBuffers;
  for (let i = 1; i <= steps; i++) {
    const { x, y } = batches[i % batches.length];
    trainer.step(x, y);
    if (i % every === 0) {
      collectGarbage();
      const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
      const { freshBuffers, pooledBytes } = poolStats();
      samples.push({
        rss,
        heapUsed,
        arrayBuffers,
        freshBuffersPerStep: (freshBuffers - freshBefore) / every,
        pooledBytes,
      });
      freshBefore = freshBuffers;
    }
  }
  return samples;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [steps = 10000, hidden = 256, batch = 64] = process.argv.slice(2).map(Number);
  const samples = await measureResidentMemory(steps, hidden, batch);
  const { name, isa, threads } = backendInfo();
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  process.stdout.write(
    `${steps} steps, hidden ${hidden}, batch ${batch}, ${name}${isa ? ` ${isa}` : ''}, ${threads} threads\n`,
  );
  samples.forEach(({ rss, heapUsed, arrayBuffers, freshBuffersPerStep, pooledBytes }, i) => {
    const after = Math.round(((i + 1) * steps) / samples.length);
    process.stdout.write(
      `  after ${after} steps: RSS ${mib(rss)} MiB (JS heap ${mib(heapUsed)}, array buffers ${mib(arrayBuffers)}, ` +
        `pool ${mib(pooledBytes)}); new buffers per step ${freshBuffersPerStep.toFixed(2)}\n`,
    );
  });
  const growth = samples[samples.length - 1].rss - samples[0].rss;
  process.stdout.write(`growth from the first sample to the last: ${mib(growth)} MiB\n`);
}
