// Forward mode: the chain rule applied left to right, "as we go". Each value carries a tangent
// (its derivative along one input direction) and every op pushes it on through its JVP the
// moment the value is computed. Each jvp opens its own level (src/ops/dispatch.ts), so jvps
// nest, and a jvp over a gradient carries tangents through the recorded reverse pass too.

import { formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { alias, noGrad, withTangentLevel } from '../ops/dispatch.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { type Arg, type AuxOption, checkDifferentiable, splitOutput, toArgs, toList } from './args.js';
import type { Differentiable } from './reverse.js';

/**
 * f's output at `pairs`' tensors moved along their tangents, and its derivative: one pass at
 * a new forward-mode level. Reverse mode records what it would for the same computation.
 */
export function pushForward(
  transform: string,
  f: () => unknown,
  pairs: readonly (readonly [Tensor, Tensor])[],
  hasAux?: boolean,
): { out: Tensor; tangent: Tensor; aux: unknown } {
  const level = new WeakMap<Tensor, Tensor>();
  pairs.forEach(([p, t], i) => {
    if (!sameShape(p.shape, t.shape)) {
      throw new ShapeError(
        `${transform}: tangent ${i} has shape ${formatShape(t.shape)} but its primal has ${formatShape(p.shape)}`,
      );
    }
    level.set(p, t.dtype === p.dtype ? t : t.to(p.dtype));
  });
  const { out, aux } = splitOutput(transform, withTangentLevel(level, f), hasAux);
  return { out, tangent: level.get(out) ?? zeros(out.shape, { dtype: out.dtype }), aux };
}

/**
 * f's output at the primals and its directional derivative J_f · tangents, from a single
 * left-to-right pass. Composes with every transform: inside a grad, the pass is recorded for
 * the reverse sweep; inside another jvp, both tangents are carried without confusing them.
 */
export function jvp<A = undefined>(
  f: Differentiable<A>,
  primals: readonly Arg[],
  tangents: readonly Arg[],
  options: AuxOption = {},
): { out: Tensor; tangent: Tensor; aux: A } {
  const xs = toArgs('jvp', f, toList('jvp', primals, 'primals'));
  const ts = toList('jvp', tangents, 'tangents');
  if (xs.length !== ts.length) {
    throw new ShapeError(`jvp: ${xs.length} primals but ${ts.length} tangents; give one tangent per primal`);
  }
  checkDifferentiable(
    'jvp',
    xs,
    xs.map((_, i) => i),
  );
  const inputs = xs.map(alias);
  const result = pushForward(
    'jvp',
    () => f(...inputs),
    inputs.map((x, i) => [x, ts[i]]),
    options.hasAux,
  );
  return { ...result, aux: result.aux as A };
}

/**
 * Like jvp, for tensors f reaches by itself rather than through arguments (a module's
 * parameters): f's output, and its derivative when each tensor of `pairs` moves along the
 * tangent paired with it. A training pass: the tensors are not copied and no reverse graph is
 * recorded (use jvp to differentiate the result again).
 */
export function jvpAt(
  f: () => Tensor,
  pairs: readonly (readonly [Tensor, Tensor])[],
): { out: Tensor; tangent: Tensor } {
  const { out, tangent } = noGrad(() => pushForward('jvpAt', f, pairs));
  return { out, tangent };
}
