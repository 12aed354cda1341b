// The native backend against the reference backend (the shared conformance suite) on every
// instruction set this CPU runs and on one thread and several, then what is particular to it:
// in-place work on typed-array views, its fallback for everything else, and its settings.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Kernels, MatmulSpec } from '../src/backend/kernels.js';
import {
  createNativeKernels,
  ISAS,
  loadNativeAddon,
  type NativeBackend,
} from '../src/backend/native/index.js';
import { ReferenceKernels } from '../src/backend/reference/index.js';
import { createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { ChainruleError } from '../src/errors.js';
import {
  assertMatches,
  checkMatmul,
  kernelConformanceTests,
  mulberry32,
  reference,
  uniform,
} from './helpers/kernel-conformance.js';

const addon = loadNativeAddon();
const skip = addon.loaded ? false : `no native addon: ${addon.reason}`;
const isas = addon.loaded ? addon.isas : [];

test('the native addon is built and loads wherever CI runs', { skip: !process.env.CI }, () => {
  assert.equal(addon.loaded, true, addon.loaded ? '' : addon.reason);
});

for (const isa of isas) {
  // 3 threads: more than the development machine's cores, and an odd split of every job.
  for (const threads of [1, 3]) {
    describe(`NativeKernels isa=${isa} threads=${threads}`, () => {
      const kernels = createNativeKernels(createWasmKernelsSync(), { isa, threads });

      test('reports its name, instruction set and threads', () => {
        assert.equal(kernels.name, 'native');
        assert.equal(kernels.isa, isa);
        assert.equal(kernels.threads, threads);
      });

      kernelConformanceTests(() => kernels, ISAS.indexOf(isa) * 10 + threads);
    });
  }
}

describe('the native backend', { skip }, () => {
  const make = (options = {}, fallback: Kernels = new ReferenceKernels()): NativeBackend =>
    createNativeKernels(fallback, options);

  test('works in place on typed-array views into larger buffers', () => {
    const random = mulberry32(21);
    const kernels = make({ threads: 2 });
    const spec: MatmulSpec = {
      batch: 1,
      m: 37,
      n: 29,
      k: 41,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
    };
    const buffer = uniform(random, 37 * 41 + 29 * 41 + 37 * 29 + 30);
    const a = buffer.subarray(3, 3 + 37 * 41);
    const b = buffer.subarray(10 + 37 * 41, 10 + 37 * 41 + 29 * 41);
    const out = buffer.subarray(20 + 37 * 41 + 29 * 41, 20 + 37 * 41 + 29 * 41 + 37 * 29);
    const before = buffer.slice();
    const expected = new Float32Array(37 * 29);
    reference.matmul(a.slice(), b.slice(), expected, spec);
    kernels.matmul(a, b, out, spec);
    assertMatches(out, expected, 'matmul into a view', (_i, e) => 1e-5 * (1 + Math.abs(e)));
    const outStart = 20 + 37 * 41 + 29 * 41;
    for (let i = 0; i < buffer.length; i++) {
      if (i < outStart || i >= outStart + out.length)
        assert.equal(buffer[i], before[i], `element ${i} untouched`);
    }
    const x = buffer.subarray(5, 1005);
    const copy = x.slice();
    kernels.unary('tanh', x, x);
    reference.unary('tanh', copy, copy);
    assertMatches(x, copy, 'tanh in place on a view', (_i, e) => 1e-6 * Math.abs(e) + 1e-38);
  });

  test('window and index kernels refuse arrays too short for their spec instead of overrunning them', () => {
    const kernels = make();
    const spec = {
      ...{ batch: 2, channels: 3, height: 5, width: 5, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1 },
      ...{ padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: 3, outW: 3 },
    };
    const image = new Float32Array(150);
    const cols = new Float32Array(2 * 3 * 9 * 9);
    const short = new Float32Array(10);
    assert.throws(() => kernels.im2col(short, cols, spec), /too short/);
    assert.throws(() => kernels.im2col(image, short, spec), /too short/);
    assert.throws(() => kernels.col2im(short, image, spec), /too short/);
    assert.throws(() => kernels.maxPool2d(image, new Float32Array(54), new Int32Array(3), spec), /too short/);
    assert.throws(() => kernels.gather(image, new Int32Array(20), short), /too short/);
    assert.throws(() => kernels.scatterAdd(short, new Int32Array(20), image), /too short/);
    // Indices outside the array read NaN and add nothing, as the reference's do.
    const out = new Float32Array(2);
    kernels.gather(image.fill(1), Int32Array.from([-1, 150]), out);
    assert.deepEqual([...out], [Number.NaN, Number.NaN]);
    kernels.scatterAdd(Float32Array.from([5, 6]), Int32Array.from([-1, 150]), image);
    assert.ok(image.every((v) => v === 0));
  });

  test('hands what it does not run natively to its fallback, including kernels it has never heard of', () => {
    const calls: string[] = [];
    const fallback = new (class extends ReferenceKernels {
      override argmax(...args: Parameters<ReferenceKernels['argmax']>) {
        calls.push('argmax');
        super.argmax(...args);
      }
      override binary(...args: Parameters<ReferenceKernels['binary']>) {
        calls.push(`binary ${args[0]}`);
        super.binary(...args);
      }
      /** Stands for a kernel another change adds to the Kernels interface. */
      futureKernel(value: number): number {
        calls.push('futureKernel');
        return value * 2;
      }
    })();
    const kernels = make({}, fallback) as NativeBackend & { futureKernel(value: number): number };
    const out = new Int32Array(2);
    kernels.argmax(Float32Array.from([1, 3, 2, 0, 5, 4]), 2, 3, 1, out);
    assert.deepEqual([...out], [1, 1]);
    const view = { data: Float32Array.from([2, 3]), offset: 0, strides: [1] };
    kernels.binary('pow', view, view, new Float32Array(2), [2]);
    kernels.binary('add', view, view, new Float32Array(2), [2]);
    assert.equal(kernels.futureKernel(21), 42);
    assert.deepEqual(calls, ['argmax', 'binary pow', 'futureKernel']);
  });

  test('the instruction set comes from the option, else CHAINRULE_ISA, and must be one this CPU runs', () => {
    const previous = process.env.CHAINRULE_ISA;
    try {
      for (const isa of isas) {
        process.env.CHAINRULE_ISA = isa;
        assert.equal(make().isa, isa);
      }
      delete process.env.CHAINRULE_ISA;
      assert.equal(make().isa, isas.at(-1), 'the widest by default');
      process.env.CHAINRULE_ISA = 'sse9';
      assert.throws(() => make(), {
        name: 'ChainruleError',
        message: /CHAINRULE_ISA=sse9 is not an instruction set/,
      });
      const missing = ISAS.find((isa) => !isas.includes(isa));
      if (missing) {
        process.env.CHAINRULE_ISA = missing;
        assert.throws(() => make(), {
          name: 'ChainruleError',
          message: new RegExp(`CHAINRULE_ISA=${missing}: this CPU runs only ${isas.join(', ')}`),
        });
      }
    } finally {
      if (previous === undefined) delete process.env.CHAINRULE_ISA;
      else process.env.CHAINRULE_ISA = previous;
    }
  });

  test('rejects a thread count that is not a positive integer', () => {
    assert.throws(() => make({ threads: 0 }), ChainruleError);
    assert.throws(() => make({ threads: 2.5 }), /threads: 2.5 is not a positive integer/);
  });

  test('large products split across threads agree with one thread', () => {
    const random = mulberry32(22);
    for (const threads of [2, 5]) {
      const kernels = make({ threads });
      checkMatmul(kernels, random, {
        batch: 2,
        m: 257,
        n: 515,
        k: 300,
        transA: true,
        transB: false,
        aBatchStride: 0,
        bBatchStride: 300 * 515,
      });
      // More rows than the threads pack at once; one column panel (A read in place); a
      // batch large enough that each thread takes whole matrices.
      for (const [m, n, k] of [
        [2000, 100, 30],
        [3001, 7, 300],
      ]) {
        checkMatmul(kernels, random, {
          batch: 1,
          m,
          n,
          k,
          transA: false,
          transB: true,
          aBatchStride: 0,
          bBatchStride: 0,
        });
      }
      checkMatmul(kernels, random, {
        batch: 40,
        m: 40,
        n: 50,
        k: 45,
        transA: true,
        transB: false,
        aBatchStride: 45 * 40,
        bBatchStride: 45 * 50,
      });
    }
  });
});
