// Jacobians, Hessians and Hessian-vector products, built from the two modes: jacfwd pushes one
// basis tangent per input element forward, jacrev pulls one basis cotangent per output element
// back, and since every transform composes, hessian is jacfwd over jacrev (forward-over-reverse,
// as JAX computes it) and hvp is a jvp of the gradient.

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

/** hessian's result: one Hessian for an argnum (the default, 0), the blocks [i][j] for a list. */
export type Hessians<N> = N extends readonly number[] ? Tensor[][] : Tensor;

/**
 * The Hessian of scalar f with respect to argument argnums (0 by default), shape
 * [...x.shape, ...x.shape]: jacfwd over jacrev, forward-over-reverse. For a list of argnums,
 * the blocks H[i][j] = ∂²f/∂xᵢ∂xⱼ of shape [...xᵢ.shape, ...xⱼ.shape], as JAX nests them.
 */
export function hessian<N extends number | readonly number[] = number, H extends boolean = false>(
  f: Differentiable,
  options: { argnums?: N; hasAux?: H } = {},
): (...args: Arg[]) => H extends true ? [Hessians<N>, unknown] : Hessians<N> {
  const { argnums = 0, hasAux } = options;
  const block = (i: number, j: number) => jacfwd(jacrev(f, { argnums: i, hasAux }), { argnums: j, hasAux });
  if (typeof argnums === 'number') return block(argnums, argnums) as never;
  return ((...args: Arg[]) => {
    const wrt = resolveArgnums('hessian', argnums, [0], toArgs('hessian', f, args).length);
    let aux: unknown;
    const blocks = wrt.map((i) =>
      wrt.map((j) => {
        const result = block(i, j)(...args);
        if (!hasAux) return result as Tensor;
        [, aux] = result as [Tensor, unknown];
        return (result as [Tensor, unknown])[0];
      }),
    );
    return hasAux ? [blocks, aux] : blocks;
  }) as never;
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
