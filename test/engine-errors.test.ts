// Every user error names what is wrong (the op, the shapes or values involved) and how to fix it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arange,
  ChainruleError,
  concat,
  crossEntropy,
  gather,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jvp,
  mm,
  oneHot,
  ShapeError,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
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

// ---- function transforms ------------------------------------------------------------------

const x3 = () => tensor([1, 2, 3], { dtype: 'float64' });
const twoArguments = (a: Tensor, b: Tensor) => a.mul(b).sum();

test('a transform called with fewer arguments than f takes says so, instead of computing NaNs', () => {
  const arity = /f takes 2 arguments but was called with 1; pass every argument \(and argnums/;
  throwsUserError(() => jacrev(twoArguments)(x3()), ChainruleError, /^jacrev: /, arity);
  throwsUserError(() => jacfwd(twoArguments)(x3()), ChainruleError, /^jacfwd: /, arity);
  throwsUserError(() => hessian(twoArguments)(x3()), ChainruleError, arity);
  throwsUserError(() => grad(twoArguments)(x3()), ChainruleError, /^grad: /, arity);
  throwsUserError(() => jvp(twoArguments, [x3()], [x3()]), ChainruleError, /^jvp: /, arity);
  throwsUserError(() => vjp(twoArguments, [x3()]), ChainruleError, /^vjp: /, arity);
  throwsUserError(() => vmap(twoArguments)(x3()), ChainruleError, /^vmap: /, arity);
});

test('an argument that is neither a tensor nor a number names its position and how to wrap it', () => {
  const f = (x: Tensor) => x.sum();
  const g = grad(f) as (...args: unknown[]) => Tensor[];
  throwsUserError(
    () => g([1, 2]),
    ChainruleError,
    /argument 0 is an array, not a Tensor or a number; wrap values with tensor\(/,
  );
  throwsUserError(() => g('3'), ChainruleError, /argument 0 is a string/);
  throwsUserError(() => g(undefined), ChainruleError, /argument 0 is undefined/);
  throwsUserError(
    () => jvp(f, x3() as never, [x3()]),
    ChainruleError,
    /^jvp: primals must be an array with one entry per argument of f \(e\.g\. \[x\]\), got a Tensor/,
  );
  throwsUserError(() => jvp(f, [x3()], [[1, 2, 3] as never]), ChainruleError, /^jvp: tangent 0 is an array/);
  throwsUserError(
    () => (grad as (f: unknown) => () => unknown)(3)(),
    ChainruleError,
    /expected a function to transform, got a number/,
  );
});

test('a derivative with respect to an int32 tensor is refused, with the cast that fixes it', () => {
  const labels = tensor(Int32Array.from([1, 2]));
  const fix = /cast it with \.to\('float32'\)/;
  const f = (x: Tensor) => x.to('float64').sum();
  throwsUserError(
    () => grad(f)(labels),
    ChainruleError,
    /^grad: argument 0 is an int32 tensor, which has no derivative/,
    fix,
  );
  throwsUserError(() => jacrev(f)(labels), ChainruleError, /^jacrev: argument 0 is an int32/, fix);
  throwsUserError(() => jacfwd(f)(labels), ChainruleError, /^jacfwd: argument 0 is an int32/, fix);
  throwsUserError(() => jvp(f, [labels], [labels]), ChainruleError, /^jvp: argument 0 is an int32/, fix);
  throwsUserError(() => vjp(f, [labels]), ChainruleError, /^vjp: argument 0 is an int32/, fix);
  throwsUserError(() => hvp(f, labels, labels), ChainruleError, /^hvp: argument 0 is an int32/, fix);
  throwsUserError(
    () => labels.requireGrad(),
    ChainruleError,
    /int32 tensor holds labels and has no gradient/,
  );
  throwsUserError(() => tensor([1], { dtype: 'int32', requiresGrad: true }), ChainruleError, /int32/);
  // Left out of argnums, an int32 argument is fine.
  const loss = (w: Tensor, y: Tensor) => crossEntropy(w, y);
  const g = grad(loss, { argnums: 0 })(zeros([2, 3], { dtype: 'float64' }), labels);
  assert.deepEqual(g.shape, [2, 3]);
});

test('argnums out of range, repeated or empty is refused', () => {
  const g = (argnums: number | number[]) => () => grad(twoArguments, { argnums })(x3(), x3());
  throwsUserError(
    g(2),
    ChainruleError,
    /argnums 2 names argument 2, but f was called with 2 arguments \(indices 0 to 1\)/,
  );
  throwsUserError(g([0, -1]), ChainruleError, /names argument -1/);
  throwsUserError(g(0.5), ChainruleError, /names argument 0\.5/);
  throwsUserError(g([1, 1]), ChainruleError, /names an argument twice/);
  throwsUserError(g([]), ChainruleError, /argnums is empty/);
  throwsUserError(
    () => jacrev(twoArguments, { argnums: 3 })(x3(), x3()),
    ChainruleError,
    /^jacrev: argnums 3/,
  );
  throwsUserError(
    () => hessian(twoArguments, { argnums: [0, 2] })(x3(), x3()),
    ChainruleError,
    /^hessian: argnums \[0,2\] names argument 2/,
  );
});

test('what f returns is checked: a Tensor, or [output, aux] with hasAux', () => {
  const x = x3();
  throwsUserError(
    () => grad(() => 3 as never)(x),
    ChainruleError,
    /f must return a Tensor, but it returned a number/,
  );
  throwsUserError(
    () => grad((v: Tensor) => [v.sum(), 1] as never)(x),
    ChainruleError,
    /f must return a Tensor, but it returned an array; if its second entry is auxiliary data, pass \{ hasAux: true \}/,
  );
  throwsUserError(
    () => grad((v: Tensor) => v.sum() as never, { hasAux: true })(x),
    ChainruleError,
    /with \{ hasAux: true \}, f must return \[output, aux\] with a Tensor output; it returned a Tensor/,
  );
  throwsUserError(
    () => jvp(grad((v: Tensor) => v.sum()) as never, [x], [x]),
    ChainruleError,
    /^jvp: f must return a Tensor, but it returned an array of 1 Tensor; transforms differentiate one output/,
    /grad\(g, \{ argnums: 0 \}\) gives the first alone/,
  );
  throwsUserError(
    () => jvp((_v: Tensor) => 'v' as never, [x], [x]),
    ChainruleError,
    /^jvp: f must return a Tensor, but it returned a string/,
  );
  throwsUserError(
    () => hvp((v: Tensor) => v.sum(), x, zeros([2])),
    ShapeError,
    /^hvp: tangent 0 has shape \[2\] but its primal has \[3\]/,
  );
});

test('vmap names the argument, axis and sizes that do not fit', () => {
  const add = (a: Tensor, b: Tensor) => a.add(b);
  throwsUserError(
    () => vmap(add)(zeros([3, 2]), zeros([4, 2])),
    ShapeError,
    /^vmap: the mapped axes have different sizes \(argument 0: 3, argument 1: 4\); they must match/,
  );
  throwsUserError(
    () => vmap(add, [0, 2])(zeros([3, 2]), zeros([3, 2])),
    ShapeError,
    /vmap: inAxes maps argument 1 \(shape \[3, 2\]\) over axis 2, which it does not have; use an axis from -2 to 1, or null/,
  );
  throwsUserError(() => vmap(add, null)(zeros([3]), zeros([3])), ChainruleError, /inAxes maps no argument/);
  throwsUserError(
    () => vmap(add, [0])(zeros([3]), zeros([3])),
    ChainruleError,
    /inAxes has 1 entries but f was called with 2 arguments/,
  );
  throwsUserError(
    () => vmap((a: Tensor) => a, 0, 2)(zeros([3, 2])),
    ShapeError,
    /outAxes 2 gives output 0 \(per-example shape \[2\]\) no valid axis; use one from -2 to 1/,
  );
  throwsUserError(() => vmap((a: Tensor) => a)(zeros([0, 2])), ShapeError, /size 0/);
  throwsUserError(
    () => vmap((a: Tensor) => a.sum().item() as never)(zeros([2])),
    ChainruleError,
    /f must return a Tensor or an array of Tensors/,
  );
  throwsUserError(
    () => vmap((a: Tensor) => (a.item() > 0 ? [a] : [a, a]))(tensor([1, -1])),
    ChainruleError,
    /different number of outputs/,
  );
  throwsUserError(
    () =>
      vmap((a: Tensor) => a.slice(0, 0, a.data[0] > 0 ? 1 : 2))(
        tensor([
          [1, 2],
          [-1, 3],
        ]).reshape([2, 2]),
      ),
    ShapeError,
    /vmap: output 0 has shape \[1\] for example 0 but \[2\] for example 1; f must give every example outputs of one shape/,
  );
  throwsUserError(
    () => vmap((a: Tensor) => a, 0, [0, 1])(zeros([2])),
    ChainruleError,
    /outAxes has 2 entries but f returns 1 output; give one per output/,
  );
});
