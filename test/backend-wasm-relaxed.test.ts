// The relaxed-SIMD build of the WebAssembly kernels against the reference backend (the shared
// conformance suite, one thread and two), and the choice between it and the plain build.
// Node 20 runs relaxed SIMD only behind --experimental-wasm-relaxed-simd: there this file
// runs the suite by starting itself again under that flag.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { relaxedWasmBase64 } from '../src/backend/wasm/binary.js';
import {
  chooseWasmBuild,
  createWasmKernels,
  createWasmKernelsSync,
  relaxedSimdSupported,
  type WasmKernels,
} from '../src/backend/wasm/index.js';
import { ChainruleError } from '../src/errors.js';
import { kernelConformanceTests } from './helpers/kernel-conformance.js';

const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
/** Set in the run this file starts under RELAXED_FLAG, so that it never starts another. */
const RERUN = 'CHAINRULE_RELAXED_RERUN';

if (relaxedSimdSupported()) {
  for (const threads of [1, 2]) {
    describe(`WasmKernels (relaxed build) with threads=${threads}`, () => {
      let kernels: WasmKernels;
      before(async () => {
        kernels = await createWasmKernels({ threads, build: 'relaxed' });
      });
      after(async () => {
        await kernels.close();
      });

      test('runs the relaxed build', () => {
        assert.equal(kernels.build.build, 'relaxed');
        assert.equal(kernels.threads, threads);
      });

      kernelConformanceTests(() => kernels, threads);
    });
  }
} else if (process.env[RERUN]) {
  test(`${RELAXED_FLAG} enables relaxed SIMD`, () => {
    assert.fail(`this Node (${process.version}) validates no relaxed SIMD even under ${RELAXED_FLAG}`);
  });
} else {
  test(`the relaxed build passes the conformance suite in a Node run with ${RELAXED_FLAG}`, () => {
    // Without NODE_TEST_CONTEXT, which `node --test` sets, the run reports in TAP, not to a parent runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(
      process.execPath,
      [RELAXED_FLAG, '--test-reporter=tap', fileURLToPath(import.meta.url)],
      { encoding: 'utf8', env: { ...env, [RERUN]: '1' }, timeout: 300_000 },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, output);
    assert.match(run.stdout, /^# fail 0$/m, output);
    assert.match(run.stdout, /^ok \d+ - WasmKernels \(relaxed build\) with threads=2$/m, output);
  });
}

test('the relaxed-SIMD probe agrees with the engine about the relaxed build', () => {
  const binary = Uint8Array.from(atob(relaxedWasmBase64.single), (c) => c.charCodeAt(0));
  assert.equal(WebAssembly.validate(binary), relaxedSimdSupported());
});

test('by default the relaxed build runs where the engine has relaxed SIMD, else the plain one', () => {
  const kernels = createWasmKernelsSync();
  assert.equal(kernels.build.build, relaxedSimdSupported() ? 'relaxed' : 'plain');
  assert.deepEqual(chooseWasmBuild(undefined, true).build, 'relaxed');
  const fallback = chooseWasmBuild(undefined, false);
  assert.equal(fallback.build, 'plain');
  assert.match(fallback.reason, /no relaxed SIMD/);
});

describe('CHAINRULE_WASM_BUILD', () => {
  const saved = process.env.CHAINRULE_WASM_BUILD;
  after(() => {
    if (saved === undefined) delete process.env.CHAINRULE_WASM_BUILD;
    else process.env.CHAINRULE_WASM_BUILD = saved;
  });

  test('forces the plain build where relaxed SIMD runs', () => {
    process.env.CHAINRULE_WASM_BUILD = 'plain';
    assert.deepEqual(chooseWasmBuild(undefined, true), {
      build: 'plain',
      reason: 'CHAINRULE_WASM_BUILD=plain asked for it',
    });
    assert.equal(createWasmKernelsSync().build.build, 'plain');
  });

  test('that names no build is refused with the builds there are', () => {
    process.env.CHAINRULE_WASM_BUILD = 'fma';
    assert.throws(() => chooseWasmBuild(), {
      name: 'ChainruleError',
      message: 'CHAINRULE_WASM_BUILD=fma is not a WASM build; use one of relaxed, plain',
    });
  });

  test('asking for relaxed where the engine lacks it is refused with the fix', () => {
    process.env.CHAINRULE_WASM_BUILD = 'relaxed';
    assert.throws(
      () => chooseWasmBuild(undefined, false),
      (error: unknown) => {
        assert.ok(error instanceof ChainruleError);
        assert.match(error.message, /^CHAINRULE_WASM_BUILD=relaxed: this engine has no relaxed SIMD/);
        assert.match(error.message, /use the plain build$/);
        return true;
      },
    );
    delete process.env.CHAINRULE_WASM_BUILD;
    assert.throws(() => chooseWasmBuild('relaxed', false), /^ChainruleError: build: 'relaxed'/);
  });
});

test('chainrule info names the WASM build that runs and why', () => {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'chainrule.js');
  // Under this process's flags, so that the rerun's --experimental-wasm-relaxed-simd applies too.
  const info = (env: Record<string, string>) => {
    const { CHAINRULE_WASM_BUILD: _, ...rest } = process.env;
    const run = spawnSync(
      process.execPath,
      [...process.execArgv, bin, 'info', '--backend', 'wasm', '--threads', '1'],
      {
        encoding: 'utf8',
        env: { ...rest, ...env },
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  };
  const { reason } = chooseWasmBuild(undefined, relaxedSimdSupported());
  const expected = relaxedSimdSupported() ? 'relaxed' : 'plain';
  assert.match(info({}), new RegExp(`^wasm +${expected} build \\(${reason}\\)$`, 'm'));
  assert.match(
    info({ CHAINRULE_WASM_BUILD: 'plain' }),
    /^wasm +plain build \(CHAINRULE_WASM_BUILD=plain asked for it\)$/m,
  );
});
