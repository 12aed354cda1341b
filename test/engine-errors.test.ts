// Every user error names what is wrong (the op, the shapes or values involved) and how to fix it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arange,
  ChainruleError,
  concat,
  crossEntropy,
  gather,
  jvp,
  mm,
  oneHot,
  ShapeError,
  tensor,
  valueAndGrad,
  vjp,
  where,
  zeros,
} from '../src/index.js';

/** Asserts fn throws an error of the given class whose message matches every pattern. */
function throwsUserError(fn: () => unknown, kind: typeof ChainruleError, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof kind, `expected a ${kind.name}, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const grad2 = () => zeros([2], { dtype: 'float64', requiresGrad: true });

test('broadcast mismatch names the op and both shapes', () => {
  throwsUserError(
    () => zeros([2, 3]).add(zeros([4])),
    ShapeError,
    /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together/,
    /sizes must match or one of them must be 1/,
  );
  throwsUserError(
    () => where(zeros([2]), zeros([3]), zeros([2])),
    ShapeError,
    /^where: shapes \[2\] and \[3\] and \[2\]/,
  );
  throwsUserError(
    () => zeros([2, 3]).broadcastTo([3, 3]),
    ShapeError,
    /^broadcastTo: .*\[2, 3\] and \[3, 3\]/,
  );
});

test('matmul mismatch names both shapes and the inner sizes', () => {
  throwsUserError(
    () => zeros([2, 3]).matmul(zeros([4, 5])),
    ShapeError,
    /^matmul: shapes \[2, 3\] and \[4, 5\] do not chain \(inner sizes 3 and 4\)/,
  );
  throwsUserError(
    () => mm(zeros([2, 3]), zeros([4, 5]), true, true),
    ShapeError,
    /inner sizes 2 and 5, after transposes/,
  );
  throwsUserError(
    () => zeros([2, 2, 3]).matmul(zeros([3, 3, 4])),
    ShapeError,
    /^matmul of \[2, 2, 3\] and \[3, 3, 4\]: batch dimensions/,
  );
  throwsUserError(() => mm(zeros([3]), zeros([3, 2])), ShapeError, /use matmul\(\) for vectors/);
});

test('backward of a non-scalar without a cotangent says to pass one or reduce', () => {
  throwsUserError(
    () => grad2().mul(2).backward(),
    ShapeError,
    /output has shape \[2\], not a scalar/,
    /pass a cotangent .* or reduce it first/,
  );
});

test('a cotangent of the wrong shape names both shapes', () => {
  throwsUserError(
    () =>
      grad2()
        .mul(2)
        .backward(zeros([3])),
    ShapeError,
    /cotangent shape \[3\] does not match output shape \[2\]/,
  );
  throwsUserError(
    () => vjp((x) => x.mul(2), [zeros([2])], zeros([2, 1])),
    ShapeError,
    /cotangent shape \[2, 1\] does not match output shape \[2\]/,
  );
});

test('backward on a tensor that needs no gradient says how to ask for one', () => {
  throwsUserError(
    () => zeros([2]).sum().backward(),
    ChainruleError,
    /does not depend on any tensor that requires a gradient/,
    /\{ requiresGrad: true \}/,
  );
});

test('valueAndGrad of a non-scalar function points to vjp', () => {
  throwsUserError(() => valueAndGrad((x) => x.mul(2))(zeros([3])), ShapeError, /got shape \[3\]; use vjp/);
});

test('reshape to the wrong size names the element count and both shapes', () => {
  throwsUserError(
    () => zeros([2, 3]).reshape([4]),
    ShapeError,
    /^reshape: cannot view 6 elements of shape \[2, 3\] as \[4\]/,
  );
  throwsUserError(() => zeros([2, 3]).reshape([-1, -1]), ShapeError, /only one dimension may be -1/);
});

test('a bad axis names the op, the axis, the rank and the valid range', () => {
  throwsUserError(
    () => zeros([2, 3]).sum(2),
    ShapeError,
    /^sum: axis 2 is out of range for a tensor of rank 2; use an axis from -2 to 1/,
  );
  throwsUserError(() => zeros([2, 3]).slice(-3, 0, 1), ShapeError, /^slice: axis -3/);
  throwsUserError(
    () => zeros([2, 3]).permute([0, 0]),
    ShapeError,
    /^permute: dims \[0, 0\] must list each of the 2 axes once/,
  );
  throwsUserError(
    () => concat([zeros([2, 3]), zeros([3, 2])]),
    ShapeError,
    /^concat: shapes \[2, 3\] and \[3, 2\] differ outside axis 0/,
  );
});

test('arithmetic on int32 tensors says to cast', () => {
  const labels = tensor(Int32Array.from([1, 2]));
  throwsUserError(() => labels.add(1), ChainruleError, /int32/, /\.to\('float32'\)/);
  throwsUserError(
    () => labels.add(labels),
    ChainruleError,
    /^add: int32 tensors hold labels/,
    /\.to\('float32'\)/,
  );
  throwsUserError(() => labels.exp(), ChainruleError, /^exp: int32/);
});

test('oneHot labels outside the classes, or not integers, are rejected', () => {
  throwsUserError(
    () => oneHot([0, 3], 3),
    ShapeError,
    /label 3 is not a class index in \[0, 2\]/,
    /number of classes \(3\)/,
  );
  throwsUserError(() => oneHot([-1], 3), ShapeError, /label -1 /);
  throwsUserError(() => oneHot([1.5], 3), ShapeError, /label 1\.5 /);
  throwsUserError(
    () => crossEntropy(zeros([2, 3]), [0, 5]),
    ShapeError,
    /label 5 is not a class index in \[0, 2\]/,
  );
  throwsUserError(() => crossEntropy(zeros([2, 3]), [0]), ShapeError, /2 rows of logits but 1 labels/);
  throwsUserError(() => gather(zeros([2, 3]), [2]), ShapeError, /label 2 /);
});

test('jvp tangents must match the primals in number and shape', () => {
  throwsUserError(
    () => jvp((x) => x, [zeros([2])], [zeros([3])]),
    ShapeError,
    /^jvp: tangent 0 has shape \[3\] but its primal has \[2\]/,
  );
  throwsUserError(() => jvp((x) => x, [zeros([2])], []), ShapeError, /1 primals but 0 tangents/);
});

test('tensor creation rejects ragged arrays, bad sizes and a zero step', () => {
  throwsUserError(() => tensor([[1, 2], [3]]), ShapeError, /nested arrays must be rectangular/);
  throwsUserError(
    () => tensor(new Float32Array(5), { shape: [2, 3] }),
    ShapeError,
    /5 values cannot fill shape \[2, 3\] \(needs 6\)/,
  );
  throwsUserError(() => zeros([2, -1]), ShapeError, /invalid shape \[2, -1\]/);
  throwsUserError(() => zeros([2]).item(), ShapeError, /item\(\): the tensor has 2 elements/);
  throwsUserError(() => arange(0, 1, 0), ChainruleError, /step must not be 0/);
});
