// vmap by a loop: f runs once per index along the mapped axes, on slices taken with ops, and
// the results are stacked with ops. That is correct for every f and composes with every
// transform (the slices and the stack are differentiable like any op), but it costs one call
// of f per example; there are no per-op batching rules that would fuse the loop into batched ops.

import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { stack } from '../ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Arg, toArgs } from './args.js';

/** Per argument, the axis it is mapped over, or null for an argument every call shares. */
export type InAxes = number | null | readonly (number | null)[];
/** Per output (one number for all), the axis the results are stacked along. */
export type OutAxes = number | readonly number[];

/** What vmap maps over: f's output, or a list of outputs (a grad's gradients, say). */
// biome-ignore lint/suspicious/noExplicitAny: vmap takes functions of any arity
type Batchable = (...args: any[]) => Tensor | readonly Tensor[];

function resolveInAxes(inAxes: InAxes, args: readonly Tensor[]): (number | null)[] {
  const axes = typeof inAxes === 'number' || inAxes === null ? args.map(() => inAxes) : [...inAxes];
  if (axes.length !== args.length) {
    throw new ChainruleError(
      `vmap: inAxes has ${axes.length} entries but f was called with ${args.length} arguments; give one per argument (null for unmapped)`,
    );
  }
  return axes.map((axis, i) => {
    if (axis === null) return null;
    const rank = args[i].ndim;
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
      throw new ShapeError(
        `vmap: inAxes maps argument ${i} (shape ${formatShape(args[i].shape)}) over axis ${axis}, ` +
          `which it does not have; use an axis from ${-rank} to ${rank - 1}, or null to share it`,
      );
    }
    return axis < 0 ? axis + rank : axis;
  });
}

/** The outputs of one call as a list, and whether f returned a list. */
function outputsOf(result: unknown): { list: readonly Tensor[]; isList: boolean } {
  if (result instanceof Tensor) return { list: [result], isList: false };
  if (Array.isArray(result) && result.every((r) => r instanceof Tensor))
    return { list: result, isList: true };
  throw new ChainruleError('vmap: f must return a Tensor or an array of Tensors');
}

/**
 * f mapped over an axis of its arguments (JAX's vmap): vmap(f)(xs) stacks f(x) for each x
 * along axis 0 of xs. inAxes picks the mapped axis per argument (null: shared by every call),
 * outAxes the axis each output is stacked along. A loop over the examples, not batched ops.
 */
export function vmap<F extends Batchable>(
  f: F,
  inAxes: InAxes = 0,
  outAxes: OutAxes = 0,
): (...args: Arg[]) => ReturnType<F> {
  return ((...given: Arg[]) => {
    const args = toArgs('vmap', f, given);
    const axes = resolveInAxes(inAxes, args);
    const mapped = axes.flatMap((axis, i) => (axis === null ? [] : [i]));
    if (mapped.length === 0) {
      throw new ChainruleError(
        'vmap: inAxes maps no argument; map at least one (an axis number) or call f directly',
      );
    }
    const sizes = mapped.map((i) => args[i].shape[axes[i]!]);
    if (sizes.some((n) => n !== sizes[0])) {
      throw new ShapeError(
        `vmap: the mapped axes have different sizes (${mapped.map((i, k) => `argument ${i}: ${sizes[k]}`).join(', ')}); they must match`,
      );
    }
    if (sizes[0] === 0)
      throw new ShapeError('vmap: the mapped axes have size 0, so there is nothing to map over');
    const calls = Array.from({ length: sizes[0] }, (_, b) =>
      outputsOf(
        f(
          ...args.map((x, i) => {
            const axis = axes[i];
            return axis === null ? x : x.slice(axis, b, b + 1).squeeze(axis);
          }),
        ),
      ),
    );
    const [first] = calls;
    for (const [b, call] of calls.entries()) {
      if (call.isList !== first.isList || call.list.length !== first.list.length) {
        throw new ChainruleError('vmap: f returned a different number of outputs for different examples');
      }
      call.list.forEach((t, k) => {
        if (!sameShape(t.shape, first.list[k].shape)) {
          throw new ShapeError(
            `vmap: output ${k} has shape ${formatShape(first.list[k].shape)} for example 0 but ` +
              `${formatShape(t.shape)} for example ${b}; f must give every example outputs of one shape`,
          );
        }
      });
    }
    if (typeof outAxes !== 'number' && outAxes.length !== first.list.length) {
      throw new ChainruleError(
        `vmap: outAxes has ${outAxes.length} entries but f returns ${first.list.length} output${first.list.length === 1 ? '' : 's'}; give one per output`,
      );
    }
    const stacked = first.list.map((_, k) => {
      const axis = typeof outAxes === 'number' ? outAxes : outAxes[k];
      const rank = first.list[k].ndim;
      if (!Number.isInteger(axis) || axis < -rank - 1 || axis > rank) {
        throw new ShapeError(
          `vmap: outAxes ${JSON.stringify(outAxes)} gives output ${k} (per-example shape ` +
            `${formatShape(first.list[k].shape)}) no valid axis; use one from ${-rank - 1} to ${rank}`,
        );
      }
      return stack(
        calls.map((c) => c.list[k]),
        axis,
      );
    });
    return first.isList ? stacked : stacked[0];
  }) as (...args: Arg[]) => ReturnType<F>;
}
