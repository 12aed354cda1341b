// The WebAssembly backend's plain build against the reference backend (the shared conformance
// suite), with one thread and with two, and what is particular to it: its memory and its
// constructors. backend-wasm-relaxed.test.ts runs the relaxed build.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MatmulSpec } from '../src/backend/kernels.js';
import {
  createWasmKernels,
  createWasmKernelsSync,
  type WasmKernels,
  wasmSimdSupported,
} from '../src/backend/wasm/index.js';
import {
  assertMatches,
  contiguous,
  kernelConformanceTests,
  mulberry32,
  uniform,
} from './helpers/kernel-conformance.js';

for (const threads of [1, 2]) {
  describe(`WasmKernels (plain build) with threads=${threads}`, () => {
    let kernels: WasmKernels;
    before(async () => {
      kernels = await createWasmKernels({ threads, build: 'plain' });
    });
    after(async () => {
      await kernels.close();
    });

    test('reports its name and thread count', () => {
      assert.equal(kernels.name, 'wasm');
      assert.equal(kernels.threads, threads);
    });

    kernelConformanceTests(() => kernels, threads);

    test('WebAssembly memory stays flat over many calls', () => {
      const random = mulberry32(12);
      const a = uniform(random, 128 * 300);
      const b = uniform(random, 300 * 200);
      const c = new Float32Array(128 * 200);
      const bias = uniform(random, 200);
      const spec: MatmulSpec = {
        batch: 1,
        m: 128,
        n: 200,
        k: 300,
        transA: false,
        transB: false,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const step = () => {
        kernels.matmul(a, b, c, spec);
        kernels.binary(
          'add',
          contiguous(c, [128, 200]),
          { data: bias, offset: 0, strides: [0, 1] },
          c,
          [128, 200],
        );
        kernels.unary('tanh', c, c);
        kernels.reduce('sum', c, [128, 200], [0], bias);
        kernels.matmul(c, b, a, { ...spec, n: 300, k: 200, transB: true });
      };
      step();
      const warm = kernels.memoryBytes;
      for (let i = 0; i < 200; i++) step();
      assert.equal(kernels.memoryBytes, warm);
    });
  });
}

test('wasmSimdSupported detects SIMD in this Node', () => {
  assert.equal(wasmSimdSupported(), true);
});

test('createWasmKernelsSync gives a working single-threaded backend', () => {
  const kernels = createWasmKernelsSync();
  assert.equal(kernels.threads, 1);
  const out = new Float32Array(4);
  const spec: MatmulSpec = {
    batch: 1,
    m: 2,
    n: 2,
    k: 2,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  kernels.matmul(Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), out, spec);
  assertMatches(out, [19, 22, 43, 50], 'sync matmul');
});

test('createWasmKernels rejects a thread count that is not a positive integer', async () => {
  await assert.rejects(createWasmKernels({ threads: 0 }), RangeError);
  await assert.rejects(createWasmKernels({ threads: 1.5 }), RangeError);
});
