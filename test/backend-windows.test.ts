// The reference window kernels against their own definition: im2col and col2im are adjoint.
// Every other backend's window kernels are checked against these by the conformance suite
// (helpers/window-conformance.ts, run from kernelConformanceTests).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Window2dSpec } from '../src/backend/kernels.js';
import { ReferenceKernels } from '../src/backend/reference/index.js';
import { Rng } from '../src/index.js';
import { windowSpecs } from './helpers/window-conformance.js';

const reference = new ReferenceKernels();
const label = (s: Window2dSpec) => JSON.stringify(s);

test('the reference im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>', () => {
  const rng = new Rng(6);
  for (const spec of windowSpecs()) {
    const x = Float64Array.from({ length: spec.batch * spec.channels * spec.height * spec.width }, () =>
      rng.normal(),
    );
    const colsLength =
      (x.length / (spec.height * spec.width)) * spec.kernelH * spec.kernelW * spec.outH * spec.outW;
    const c = Float64Array.from({ length: colsLength }, () => rng.normal());
    const [cols, image] = [new Float64Array(c.length), new Float64Array(x.length)];
    reference.im2col(x, cols, spec);
    reference.col2im(c, image, spec);
    const left = cols.reduce((s, v, i) => s + v * c[i], 0);
    const right = image.reduce((s, v, i) => s + v * x[i], 0);
    assert.ok(
      Math.abs(left - right) <= 1e-9 * Math.max(1, Math.abs(left)),
      `${label(spec)}: ${left} vs ${right}`,
    );
  }
});
