// The WebAssembly kernels in Chromium, which has relaxed SIMD: the relaxed build is chosen in
// a page and in a dedicated worker (where the playground trains), and its GEMM matches a
// float64 JavaScript product in every layout, on odd sizes and across the packing blocks.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LIBRARY_PATH, type LibraryPage, openLibraryPage } from './helpers/chromium-page.js';

let library: LibraryPage;
let wasmModule: string;

before(async () => {
  library = await openLibraryPage();
  wasmModule = `${library.origin}${LIBRARY_PATH}backend/wasm/index.js`;
});

after(async () => {
  await library?.close();
});

test('Chromium validates relaxed SIMD and picks the relaxed build, in a page and in a worker', async () => {
  const choices = await library.page.evaluate(async (url) => {
    const wasm = await import(url);
    const kernels = await wasm.createWasmKernels();
    // Like the playground's train-worker.ts: a synchronous compile inside a dedicated worker.
    const source = `import { createWasmKernelsSync } from '${url}';
      postMessage(createWasmKernelsSync().build);`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), {
      type: 'module',
    });
    const inWorker = await new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
    });
    worker.terminate();
    return { supported: wasm.relaxedSimdSupported(), inPage: kernels.build, inWorker };
  }, wasmModule);
  assert.equal(choices.supported, true, 'Chromium 114+ validates relaxed SIMD');
  const chosen = { build: 'relaxed', reason: 'WebAssembly.validate accepts f32x4.relaxed_madd here' };
  assert.deepEqual(choices.inPage, chosen);
  assert.deepEqual(choices.inWorker, chosen);
});

test("the relaxed build's GEMM in Chromium matches a float64 product in every layout", async () => {
  // [m, n, k]: single elements, odd edges, k across the 256-deep block, m across the 128-row one.
  const shapes = [
    [1, 1, 1],
    [5, 3, 7],
    [17, 33, 5],
    [33, 17, 259],
    [131, 9, 40],
    [127, 130, 300],
  ];
  const mismatches = await library.page.evaluate(
    async ({ url, shapes }) => {
      const wasm = await import(url);
      const kernels = await wasm.createWasmKernels({ build: 'relaxed' });
      let state = 12345;
      const random = (length: number) =>
        Float32Array.from({ length }, () => {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          return state / 2 ** 31 - 1;
        });
      const found: string[] = [];
      for (const [m, n, k] of shapes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = random(m * k);
            const b = random(k * n);
            const out = new Float32Array(m * n).fill(Number.NaN);
            kernels.matmul(a, b, out, {
              batch: 1,
              m,
              n,
              k,
              transA,
              transB,
              aBatchStride: 0,
              bBatchStride: 0,
            });
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let exact = 0;
                let magnitude = 0;
                for (let p = 0; p < k; p++) {
                  const product = a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j];
                  exact += product;
                  magnitude += Math.abs(product);
                }
                // Float32 accumulation error is bounded by about k units of roundoff times sum |a||b|.
                const bound = (k + 2) * 2 ** -24 * magnitude + 1e-30;
                const got = out[i * n + j];
                if (!(Math.abs(got - exact) <= bound) && found.length < 5) {
                  found.push(
                    `${m}x${n}x${k} transA=${transA} transB=${transB} [${i},${j}]: ${got} vs ${exact}`,
                  );
                }
              }
            }
          }
        }
      }
      return found;
    },
    { url: wasmModule, shapes },
  );
  assert.deepEqual(mismatches, []);
});
