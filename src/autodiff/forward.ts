// Forward mode: the chain rule applied left to right, "as we go". Each value carries a tangent
// (its derivative along one input direction) and every op pushes it on through its JVP the
// moment the value is computed. Nothing is recorded and nothing waits for the end.

import { formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { noGrad, withTangents } from '../ops/dispatch.js';
import { stack } from '../ops/shape.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { vjp } from './reverse.js';

type Fn = (...args: Tensor[]) => Tensor;

/**
 * f's output at the primals and its directional derivative J_f · tangents, from a single
 * left-to-right pass. No reverse graph is built.
 */
export function jvp(
  f: Fn,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): { out: Tensor; tangent: Tensor } {
  if (primals.length !== tangents.length) {
    throw new ShapeError(
      `jvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per primal`,
    );
  }
  const inputs = primals.map((p) => p.detach());
  return jvpAt(
    () => f(...inputs),
    inputs.map((x, i) => [x, tangents[i]]),
  );
}

/**
 * Like jvp, for tensors f reaches by itself rather than through arguments (a module's
 * parameters): f's output, and its derivative when each tensor of `pairs` moves along the
 * tangent paired with it. The tensors are not copied; no reverse graph is built.
 */
export function jvpAt(
  f: () => Tensor,
  pairs: readonly (readonly [Tensor, Tensor])[],
): { out: Tensor; tangent: Tensor } {
  const scope = new WeakMap<Tensor, Tensor>();
  pairs.forEach(([p, t], i) => {
    if (!sameShape(p.shape, t.shape)) {
      throw new ShapeError(
        `jvp: tangent ${i} has shape ${formatShape(t.shape)} but its primal has ${formatShape(p.shape)}`,
      );
    }
    scope.set(p, t.dtype === p.dtype ? t : t.to(p.dtype));
  });
  const out = noGrad(() => withTangents(scope, f));
  return { out, tangent: scope.get(out) ?? zeros(out.shape, { dtype: out.dtype }) };
}

/** A one-hot tensor of `like`'s shape: the i-th standard basis direction. */
function basis(like: Tensor, i: number): Tensor {
  const t = zeros(like.shape, { dtype: like.dtype });
  t.data[i] = 1;
  return t;
}

/** The Jacobian of f at x, shape [...out.shape, ...x.shape]: one forward pass per input element. */
export function jacfwd(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor {
  return (x) => {
    const passes = Array.from({ length: x.size }, (_, i) => jvp(f, [x], [basis(x, i)]));
    const outShape = passes[0]?.out.shape ?? noGrad(() => f(x)).shape;
    return stack(
      passes.map((p) => p.tangent.flatten()),
      1,
    ).reshape([...outShape, ...x.shape]);
  };
}

/** The Jacobian of f at x, shape [...out.shape, ...x.shape]: one backward pass per output element. */
export function jacrev(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor {
  return (x) => {
    const out = noGrad(() => f(x.detach()));
    const rows = Array.from({ length: out.size }, (_, i) => vjp(f, [x], basis(out, i)).grads[0].flatten());
    return stack(rows, 0).reshape([...out.shape, ...x.shape]);
  };
}
