// No dispose(), no tidy(): a long training run's memory stops growing on its own. The JS heap
// (after a full collection), the WebAssembly memory and the recorded graph are all measured.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setBackend } from '../src/backend/index.js';
import { createWasmKernels } from '../src/backend/wasm/index.js';
import { createTrainer } from '../src/learn/registry.js';
import { graphMemory } from '../src/ops/dispatch.js';
import { Rng } from '../src/tensor/random.js';
import { randn, Tensor } from '../src/tensor/tensor.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

test('memory stays flat over a long training run without any manual freeing', async () => {
  const kernels = await createWasmKernels({ threads: 2 });
  setBackend(kernels);
  try {
    const rng = new Rng(0);
    const trainer = createTrainer('bp', { hidden: [128] });
    trainer.plan(600);
    const batches = Array.from({ length: 8 }, () => ({
      x: randn([64, 784], { rng }),
      y: new Tensor(
        Int32Array.from({ length: 64 }, () => rng.int(10)),
        [64],
      ),
    }));
    const run = (steps: number) => {
      for (let i = 0; i < steps; i++) {
        const { x, y } = batches[i % batches.length];
        trainer.step(x, y);
        assert.equal(graphMemory.liveBytes, 0, 'each step releases its whole graph');
      }
      collectGarbage();
      return { heap: process.memoryUsage().heapUsed, wasm: kernels.memoryBytes };
    };
    run(100);
    const warm = run(100);
    const later = run(300);
    assert.equal(later.wasm, warm.wasm, 'WebAssembly memory does not grow');
    const growth = later.heap - warm.heap;
    assert.ok(growth < 2 * 2 ** 20, `the heap grew by ${growth} bytes over 300 more steps`);
  } finally {
    await kernels.close();
  }
});
