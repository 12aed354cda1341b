// Reverse mode: the chain rule applied from the output back to the inputs. The forward pass
// recorded a node per op; backward() orders them topologically (iteratively, so a graph of any
// depth works), then visits them output-first, pulling each cotangent back through its op's
// VJP and adding up the contributions a tensor receives from every consumer.

import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { apply, enableGrad, isGradEnabled, isReleased, noGrad, releaseNode } from '../ops/dispatch.js';
import { reshapeOp } from '../ops/shape.js';
import type { Node } from '../tensor/node.js';
import { ones, Tensor, zeros } from '../tensor/tensor.js';

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
  const order = topologicalOrder(root, stopAt);
  const freed = order.find((t) => isReleased(t.node!));
  if (freed) {
    throw new ChainruleError(
      `backward(): the graph through ${freed.node!.op.name} (node ${freed.node!.id}) was already freed by an ` +
        'earlier backward pass; pass { retainGraph: true } to the first backward() to run backward over it again',
    );
  }
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
          if (!thunk || !(input.requiresGrad || input.node)) return null;
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

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.requiresGrad) return;
  leaf.grad = leaf.grad ? leaf.grad.add(g) : g;
}

/** Clears `.grad` on each tensor (optimisers call this between steps). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = null;
}

type Fn = (...args: Tensor[]) => Tensor;

/**
 * f evaluated on fresh tensors holding the primals' values, so user tensors' .grad is never
 * touched. Inside an outer differentiation (grad of grad), a primal the outer pass tracks
 * stays connected to it through a new node, and the pull-back records its own graph, so the
 * gradients returned can be differentiated again.
 */
function trace(f: Fn, primals: readonly Tensor[]): { inputs: Tensor[]; out: Tensor; nested: boolean } {
  const tracked = primals.map((p) => isGradEnabled() && (p.requiresGrad || p.node !== null));
  const inputs = primals.map((p, i) =>
    tracked[i] ? apply(reshapeOp, [p], { shape: [...p.shape] }) : p.detach().requireGrad(),
  );
  return { inputs, out: enableGrad(() => f(...inputs)), nested: tracked.includes(true) };
}

function pullBack(
  { inputs, out, nested }: ReturnType<typeof trace>,
  cotangent?: Tensor,
): { out: Tensor; grads: Tensor[] } {
  const grads = gradients(out, inputs, cotangent, { createGraph: nested });
  return { out: nested ? out : out.detach(), grads };
}

/**
 * The output of f at the primals, and the cotangent pulled back to each primal:
 * (cotangent)ᵀ · J_f. The cotangent defaults to 1 for a scalar output.
 */
export function vjp(f: Fn, primals: readonly Tensor[], cotangent?: Tensor): { out: Tensor; grads: Tensor[] } {
  return pullBack(trace(f, primals), cotangent);
}

/** f's value and its gradient with respect to every argument (f must return a scalar). */
export function valueAndGrad(f: Fn): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...args) => {
    const traced = trace(f, args);
    if (traced.out.size !== 1) {
      throw new ShapeError(
        `valueAndGrad: f must return a scalar, got shape ${formatShape(traced.out.shape)}; use vjp for other outputs`,
      );
    }
    const { out: value, grads } = pullBack(traced);
    return { value, grads };
  };
}

/** The gradient of scalar f with respect to each argument. */
export function grad(f: Fn): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...args) => vg(...args).grads;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    backward(cotangent?: Tensor, options?: BackwardOptions): void;
  }
}

Tensor.prototype.backward = function (this: Tensor, cotangent?: Tensor, options?: BackwardOptions) {
  backward(this, cotangent, options);
};
