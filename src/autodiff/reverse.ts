// Reverse mode: the chain rule applied from the output back to the inputs. The forward pass
// recorded a node per op; backward() orders them topologically (iteratively, so a graph of any
// depth works), then visits them output-first, pulling each cotangent back through its op's
// VJP and adding up the contributions a tensor receives from every consumer.

import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { alias, enableGrad, isGradEnabled, isReleased, noGrad, releaseNode } from '../ops/dispatch.js';
import { attachMethods } from '../tensor/methods.js';
import type { Node } from '../tensor/node.js';
import { ones, type Tensor, zeros } from '../tensor/tensor.js';
import {
  type Arg,
  type Argnums,
  type ArgnumsOption,
  type AuxOption,
  checkDifferentiable,
  resolveArgnums,
  splitOutput,
  toArgs,
  toList,
  toTensor,
} from './args.js';

/** One step of a backward pass, as `explain` and the playground show it. */
export interface BackwardStep {
  node: Node;
  /** The tensor the node produced, and dL/d(that tensor). */
  out: Tensor;
  outGrad: Tensor;
  /** dL/d(input) contributed through this node, per input (null where none flows). */
  inputGrads: (Tensor | null)[];
}

export interface BackwardOptions {
  /**
   * Keep the graph so backward can run again over it (and it can be inspected). Defaults to
   * createGraph, since a recorded gradient refers back to the graph it came from.
   */
  retainGraph?: boolean;
  /** Record the backward computation itself, for higher derivatives. */
  createGraph?: boolean;
  /** Store the gradient of every tensor in the graph in its `.grad`, not only of leaves. */
  retainGrads?: boolean;
  onStep?: (step: BackwardStep) => void;
}

/**
 * Tensors with nodes, ordered so each comes after everything it was computed from. Tensors in
 * `stopAt` end the walk: they are treated as inputs, and nothing they were computed from is visited.
 */
export function topologicalOrder(root: Tensor, stopAt?: ReadonlySet<Tensor>): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const expands = (t: Tensor) => t.node !== null && !stopAt?.has(t);
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t) || !expands(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.node!.inputs) if (expands(input) && !visited.has(input)) stack.push([input, false]);
  }
  return order;
}

function accumulate(into: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  const previous = into.get(t);
  into.set(t, previous ? previous.add(g) : g);
}

export function backward(root: Tensor, cotangent?: Tensor, options: BackwardOptions = {}): void {
  if (!root.node && !root.requiresGrad) {
    throw new ChainruleError(
      'backward(): this tensor does not depend on any tensor that requires a gradient; ' +
        'create the inputs with { requiresGrad: true } (or call .requireGrad()) before computing it',
    );
  }
  reverseSweep(root, cotangent, options, accumulateLeaf);
}

/**
 * The reverse pass from `root` (seeded with `cotangent`, 1 for a scalar) down to the tensors in
 * `wrt`, returning d(root)/d(each) without touching any `.grad`: torch.autograd.grad. The walk
 * stops at them, so a `wrt` tensor may itself have been computed from others.
 */
export function gradients(
  root: Tensor,
  wrt: readonly Tensor[],
  cotangent?: Tensor,
  options: Pick<BackwardOptions, 'createGraph' | 'retainGraph'> = {},
): Tensor[] {
  const stops = new Set(wrt);
  const found = new Map<Tensor, Tensor>();
  if (root.node || root.requiresGrad) {
    reverseSweep(root, cotangent, options, (t, g) => stops.has(t) && accumulate(found, t, g), stops);
  }
  return wrt.map((t) => found.get(t) ?? zeros(t.shape, { dtype: t.dtype }));
}

/**
 * Visits the graph output-first, pulling each cotangent back through its op's VJP and adding
 * up what a tensor receives from every consumer; a gradient that reaches a tensor the walk
 * does not go past (a leaf, or one in `stopAt`) is handed to `deliver`.
 */
function reverseSweep(
  root: Tensor,
  cotangent: Tensor | undefined,
  options: BackwardOptions,
  deliver: (t: Tensor, g: Tensor) => void,
  stopAt?: ReadonlySet<Tensor>,
): void {
  if (cotangent === undefined && root.size !== 1) {
    throw new ShapeError(
      `backward(): the output has shape ${formatShape(root.shape)}, not a scalar; ` +
        'pass a cotangent of that shape, or reduce it first (e.g. .sum() or .mean())',
    );
  }
  const given = cotangent ?? ones(root.shape, { dtype: root.dtype });
  const seed = given.dtype === root.dtype ? given : given.to(root.dtype);
  if (!sameShape(seed.shape, root.shape)) {
    throw new ShapeError(
      `backward(): cotangent shape ${formatShape(seed.shape)} does not match output shape ${formatShape(root.shape)}`,
    );
  }
  const retainGraph = options.retainGraph ?? options.createGraph ?? false;
  const walked = topologicalOrder(root, stopAt);
  // Checked before the pruning below, which cannot see past a freed node.
  const freed = walked.find((t) => isReleased(t.node!));
  if (freed) {
    throw new ChainruleError(
      `backward(): the graph through ${freed.node!.op.name} (node ${freed.node!.id}) was already freed by an ` +
        'earlier backward pass; pass { retainGraph: true } to the first backward() to run backward over it again',
    );
  }
  const needed = stopAt ? leadingTo(walked, stopAt) : null;
  const order = needed ? needed.order : walked;
  const wanted = (input: Tensor) =>
    needed ? needed.reaches.has(input) : input.requiresGrad || input.node !== null;
  const run = options.createGraph ? enableGrad : noGrad;
  run(() => {
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    if (!order.length) deliver(root, seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const out = order[i];
      const node = out.node!;
      const outGrad = grads.get(out);
      grads.delete(out);
      if (options.retainGrads && outGrad) out.grad = out.grad ? out.grad.add(outGrad) : outGrad;
      if (outGrad) {
        const thunks = node.op.vjp(outGrad, { inputs: node.inputs, out, attrs: node.attrs });
        const inputGrads = node.inputs.map((input, j) => {
          const thunk = thunks[j];
          if (!thunk || !wanted(input)) return null;
          const g = thunk();
          if (!sameShape(g.shape, input.shape)) {
            throw new ChainruleError(
              `internal: the VJP of ${node.op.name} gave shape ${formatShape(g.shape)} for an input of shape ${formatShape(input.shape)}`,
            );
          }
          if (input.node && !stopAt?.has(input)) accumulate(grads, input, g);
          else deliver(input, g);
          return g;
        });
        options.onStep?.({ node, out, outGrad, inputGrads });
      }
      if (!retainGraph) releaseNode(node);
    }
  });
}

/**
 * The part of a graph a gradient with respect to `targets` needs: the tensors from which a
 * target is reached (targets included), and their order with the rest left out. The rest (a
 * parameter's own graph a function closed over, say) is neither walked nor freed.
 */
function leadingTo(
  order: readonly Tensor[],
  targets: ReadonlySet<Tensor>,
): { order: Tensor[]; reaches: Set<Tensor> } {
  const reaches = new Set(targets);
  const kept = order.filter((t) => {
    const leads = t.node!.inputs.some((input) => reaches.has(input));
    if (leads) reaches.add(t);
    return leads;
  });
  return { order: kept, reaches };
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.requiresGrad) return;
  leaf.grad = leaf.grad ? leaf.grad.add(g) : g;
}

/** Clears `.grad` on each tensor (optimisers call this between steps). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = null;
}

// ---- function transforms: vjp, valueAndGrad, grad -------------------------------------------

/** A function of tensors to differentiate: its output, or [output, aux] with { hasAux: true }. */
// biome-ignore lint/suspicious/noExplicitAny: a transform takes functions of any arity
export type Differentiable<A = unknown> = (...args: any[]) => Tensor | readonly [Tensor, A];
/** grad's result for the argnums asked: one gradient for an index, a list for a list (or by default). */
export type Grads<N> = N extends number ? Tensor : Tensor[];

/** f traced for a reverse pass at the arguments, differentiated with respect to `wrt`. */
export interface Traced {
  /** The tensors f was called with: fresh aliases at the indices in wrt, the arguments elsewhere. */
  inputs: Tensor[];
  wrt: readonly number[];
  out: Tensor;
  aux: unknown;
  /** An outer reverse pass tracks the result: the pull-backs are recorded so it can go through them. */
  nested: boolean;
}

/**
 * Runs f on aliases of the arguments in `wrt` (so the caller's tensors and their .grad are
 * never touched), recording the graph a pull-back walks. Each alias stays joined to its
 * argument, so an outer transform (a jvp, or a grad of this grad) still sees through it.
 */
export function trace(
  transform: string,
  f: Differentiable,
  args: readonly Tensor[],
  wrt: readonly number[],
  hasAux?: boolean,
): Traced {
  checkDifferentiable(transform, args, wrt);
  const inputs = [...args];
  for (const i of wrt) {
    const x = alias(args[i]);
    inputs[i] = x.node ? x : x.requireGrad();
  }
  const { out, aux } = splitOutput(
    transform,
    enableGrad(() => f(...inputs)),
    hasAux,
  );
  const stops = new Set(wrt.map((i) => inputs[i]));
  return { inputs, wrt, out, aux, nested: isGradEnabled() && tracksBeyond(out, stops) };
}

/**
 * True when something other than the traced arguments' fresh leaves is tracked in out's graph:
 * an argument an outer pass records, or a tensor requiring grad that f closed over.
 */
function tracksBeyond(out: Tensor, stops: ReadonlySet<Tensor>): boolean {
  for (const x of stops) if (x.node) return true;
  if (out.requiresGrad && !stops.has(out)) return true;
  return topologicalOrder(out, stops).some((t) =>
    t.node!.inputs.some((x) => x.requiresGrad && !stops.has(x)),
  );
}

/**
 * The cotangent pulled back to each traced argument in wrt, recorded when an outer pass tracks
 * the traced graph or the cotangent itself (a grad of a vjp whose cotangent depends on x).
 */
export function pullBack(traced: Traced, cotangent?: Tensor, retainGraph = false): Tensor[] {
  const { inputs, wrt, out, nested } = traced;
  const record = nested || (cotangent !== undefined && isGradEnabled() && cotangent.tracksGrad);
  return gradients(
    out,
    wrt.map((i) => inputs[i]),
    cotangent,
    { createGraph: record, retainGraph: retainGraph || record },
  );
}

/** The traced output to hand back: cut from the reverse graph unless an outer pass needs it. */
export function tracedOutput({ out, nested }: Traced): Tensor {
  return nested ? out : noGrad(() => alias(out));
}

const everyIndex = (args: readonly unknown[]) => args.map((_, i) => i);

/**
 * The output of f at the primals, and the cotangent pulled back to each primal:
 * (cotangent)ᵀ · J_f. The cotangent defaults to 1 for a scalar output.
 */
export function vjp<A = undefined>(
  f: Differentiable<A>,
  primals: readonly Arg[],
  cotangent?: Arg,
  options: AuxOption = {},
): { out: Tensor; grads: Tensor[]; aux: A } {
  const args = toArgs('vjp', f, toList('vjp', primals, 'primals'));
  const traced = trace('vjp', f, args, everyIndex(args), options.hasAux);
  const seed = cotangent === undefined ? undefined : toTensor('vjp', cotangent, 'the cotangent');
  const grads = pullBack(traced, seed);
  return { out: tracedOutput(traced), grads, aux: traced.aux as A };
}

/**
 * f's value and its gradient (f must return a scalar) with respect to the arguments argnums
 * names: every argument by default (a list of gradients), one if argnums is a number.
 */
export function valueAndGrad<A = undefined, N extends Argnums | undefined = undefined>(
  f: Differentiable<A>,
  options: ArgnumsOption & { argnums?: N } = {},
): (...args: Arg[]) => { value: Tensor; grads: Grads<N>; aux: A } {
  return valueAndGradNamed('valueAndGrad', f, options);
}

function valueAndGradNamed<A, N extends Argnums | undefined>(
  transform: string,
  f: Differentiable<A>,
  options: ArgnumsOption & { argnums?: N },
): (...args: Arg[]) => { value: Tensor; grads: Grads<N>; aux: A } {
  return (...given) => {
    const args = toArgs(transform, f, given);
    const wrt = resolveArgnums(transform, options.argnums, everyIndex(args), args.length);
    const traced = trace(transform, f, args, wrt, options.hasAux);
    if (traced.out.size !== 1) {
      throw new ShapeError(
        `${transform}: f must return a scalar, got shape ${formatShape(traced.out.shape)}; use vjp or jacrev for other outputs`,
      );
    }
    const grads = pullBack(traced);
    return {
      value: tracedOutput(traced),
      grads: (typeof options.argnums === 'number' ? grads[0] : grads) as Grads<N>,
      aux: traced.aux as A,
    };
  };
}

/** The gradient of scalar f with respect to each argument (or the ones argnums names). */
export function grad<N extends Argnums | undefined = undefined>(
  f: Differentiable,
  options?: { argnums?: N; hasAux?: false },
): (...args: Arg[]) => Grads<N>;
/** With { hasAux: true }: f returns [scalar, aux]; the gradient comes back as [gradient, aux]. */
export function grad<A, N extends Argnums | undefined = undefined>(
  f: Differentiable<A>,
  options: { argnums?: N; hasAux: true },
): (...args: Arg[]) => [Grads<N>, A];
export function grad(f: Differentiable, options: ArgnumsOption = {}) {
  const vg = valueAndGradNamed('grad', f, options);
  return (...args: Arg[]) => {
    const { grads, aux } = vg(...args);
    return options.hasAux ? [grads, aux] : grads;
  };
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    backward(cotangent?: Tensor, options?: BackwardOptions): void;
  }
}

attachMethods({ backward });
