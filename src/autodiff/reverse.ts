// Reverse mode: the chain rule applied from the output back to the inputs. The forward pass
// recorded a node per op; backward() orders them topologically (iteratively, so a graph of any
// depth works), then visits them output-first, pulling each cotangent back through its op's
// VJP and adding up the contributions a tensor receives from every consumer.

import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { enableGrad, isReleased, noGrad, releaseNode } from '../ops/dispatch.js';
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

/** Tensors with nodes, ordered so each comes after everything it was computed from. */
export function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t) || !t.node) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.node.inputs) if (input.node && !visited.has(input)) stack.push([input, false]);
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
  const order = topologicalOrder(root);
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
    if (!order.length) accumulateLeaf(root, seed);
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
          if (input.node) accumulate(grads, input, g);
          else accumulateLeaf(input, g);
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

/** f evaluated on fresh leaves holding the primals' values, so user tensors' .grad is never touched. */
function trace(f: Fn, primals: readonly Tensor[]): { leaves: Tensor[]; out: Tensor } {
  const leaves = primals.map((p) => p.detach().requireGrad());
  return { leaves, out: enableGrad(() => f(...leaves)) };
}

function pullBack(
  leaves: readonly Tensor[],
  out: Tensor,
  cotangent?: Tensor,
): { out: Tensor; grads: Tensor[] } {
  if (out.node || out.requiresGrad) backward(out, cotangent);
  const grads = leaves.map((l) => l.grad ?? zeros(l.shape, { dtype: l.dtype }));
  return { out: out.detach(), grads };
}

/**
 * The output of f at the primals, and the cotangent pulled back to each primal:
 * (cotangent)ᵀ · J_f. The cotangent defaults to 1 for a scalar output.
 */
export function vjp(f: Fn, primals: readonly Tensor[], cotangent?: Tensor): { out: Tensor; grads: Tensor[] } {
  const { leaves, out } = trace(f, primals);
  return pullBack(leaves, out, cotangent);
}

/** f's value and its gradient with respect to every argument (f must return a scalar). */
export function valueAndGrad(f: Fn): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...args) => {
    const { leaves, out } = trace(f, args);
    if (out.size !== 1) {
      throw new ShapeError(
        `valueAndGrad: f must return a scalar, got shape ${formatShape(out.shape)}; use vjp for other outputs`,
      );
    }
    const { out: value, grads } = pullBack(leaves, out);
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
