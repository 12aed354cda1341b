// Jacobians, Hessians and Hessian-vector products, built from the two modes: jacfwd pushes one
// basis tangent per input element forward, jacrev pulls one basis cotangent per output element
// back, and since every transform composes, hessian is jacfwd over jacrev (forward-over-reverse,
// as JAX computes it) and hvp is a jvp of the gradient.

import { ChainruleError } from '../errors.js';
import { alias } from '../ops/dispatch.js';
import { stack } from '../ops/shape.js';
import { type DType, type Shape, type Tensor, zeros } from '../tensor/tensor.js';
import {
  type Arg,
  type Argnums,
  type ArgnumsOption,
  checkDifferentiable,
  resolveArgnums,
  splitOutput,
  toArgs,
  toTensor,
} from './args.js';
import { pushForward } from './forward.js';
import { type Differentiable, grad, pullBack, trace } from './reverse.js';

/** A Jacobian for one argnum (the default, 0), a list of them for a list. */
export type Jacobians<N> = N extends readonly number[] ? Tensor[] : Tensor;

/** One-hot tensor of `like`'s shape and dtype: the e-th standard basis direction. */
function basis(like: Tensor, e: number): Tensor {
  const t = zeros(like.shape, { dtype: like.dtype });
  t.data[e] = 1;
  return t;
}

/**
 * The Jacobian [...outShape, ...inShape] from its pieces: rows (one per output element, each
 * shaped like the input) or columns (one per input element, each shaped like the output).
 */
function assemble(
  pieces: readonly Tensor[],
  by: 'rows' | 'columns',
  outShape: Shape,
  inShape: Shape,
  dtype: DType,
): Tensor {
  const shape = [...outShape, ...inShape];
  if (pieces.length === 0) return zeros(shape, { dtype });
  return stack(
    pieces.map((p) => p.flatten()),
    by === 'rows' ? 0 : 1,
  ).reshape(shape);
}

interface JacobianOptions<N extends Argnums> extends ArgnumsOption {
  argnums?: N;
}

type JacobianFn<N, H> = (...args: Arg[]) => H extends true ? [Jacobians<N>, unknown] : Jacobians<N>;

function finish<N>(jacobians: Tensor[], options: ArgnumsOption, aux: unknown) {
  const result = Array.isArray(options.argnums) ? jacobians : jacobians[0];
  return (options.hasAux ? [result, aux] : result) as Jacobians<N>;
}

/**
 * The Jacobian of f with respect to argument argnums (0 by default; a list gives one per
 * argument), shape [...out.shape, ...x.shape]: one forward pass per input element.
 */
export function jacfwd<N extends number | readonly number[] = number, H extends boolean = false>(
  f: Differentiable,
  options: JacobianOptions<N> & { hasAux?: H } = {},
): JacobianFn<N, H> {
  return ((...given: Arg[]) => {
    const args = toArgs('jacfwd', f, given);
    const wrt = resolveArgnums('jacfwd', options.argnums, [0], args.length);
    checkDifferentiable('jacfwd', args, wrt);
    const inputs = args.map((x, i) => (wrt.includes(i) ? alias(x) : x));
    const run = () => f(...inputs);
    let first: { out: Tensor; aux: unknown } | null = null;
    const columns = wrt.map((i) =>
      Array.from({ length: inputs[i].size }, (_, e) => {
        const pass = pushForward('jacfwd', run, [[inputs[i], basis(inputs[i], e)]], options.hasAux);
        first ??= pass;
        return pass.tangent;
      }),
    );
    const { out, aux } = first ?? splitOutput('jacfwd', run(), options.hasAux);
    const jacobians = wrt.map((i, k) => assemble(columns[k], 'columns', out.shape, args[i].shape, out.dtype));
    return finish<N>(jacobians, options, aux);
  }) as JacobianFn<N, H>;
}

/**
 * The Jacobian of f with respect to argument argnums (0 by default; a list gives one per
 * argument), shape [...out.shape, ...x.shape]: one forward pass, one backward pass per output element.
 */
export function jacrev<N extends number | readonly number[] = number, H extends boolean = false>(
  f: Differentiable,
  options: JacobianOptions<N> & { hasAux?: H } = {},
): JacobianFn<N, H> {
  return ((...given: Arg[]) => {
    const args = toArgs('jacrev', f, given);
    const wrt = resolveArgnums('jacrev', options.argnums, [0], args.length);
    const traced = trace('jacrev', f, args, wrt, options.hasAux);
    const { out } = traced;
    const rows = Array.from({ length: out.size }, (_, e) =>
      pullBack(traced, basis(out, e), e < out.size - 1),
    );
    const jacobians = wrt.map((i, k) =>
      assemble(
        rows.map((r) => r[k]),
        'rows',
        out.shape,
        args[i].shape,
        args[i].dtype,
      ),
    );
    return finish<N>(jacobians, options, traced.aux);
  }) as JacobianFn<N, H>;
}

/**
 * The Hessian of scalar f with respect to argument argnums (0 by default), shape
 * [...x.shape, ...x.shape]: jacfwd over jacrev, forward-over-reverse.
 */
export function hessian<H extends boolean = false>(
  f: Differentiable,
  options: { argnums?: number; hasAux?: H } = {},
): JacobianFn<number, H> {
  if (options.argnums !== undefined && typeof options.argnums !== 'number') {
    throw new ChainruleError(
      'hessian: argnums must be one argument index; for the blocks between two arguments use ' +
        'jacfwd(jacrev(f, { argnums: i }), { argnums: j })',
    );
  }
  return jacfwd(jacrev(f, options), options) as JacobianFn<number, H>;
}

/**
 * The Hessian of scalar f at x times the vector v, without forming the Hessian: the forward-mode
 * derivative of the gradient along v (forward-over-reverse), at about the cost of two gradients.
 */
export function hvp(f: (x: Tensor) => Tensor, x: Arg, v: Arg): Tensor {
  const [primal] = toArgs('hvp', f, [x]);
  checkDifferentiable('hvp', [primal], [0]);
  const input = alias(primal);
  const gradient = grad(f, { argnums: 0 });
  return pushForward('hvp', () => gradient(input), [[input, toTensor('hvp', v, 'the vector v')]]).tangent;
}
