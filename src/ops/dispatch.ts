// Applying an op: compute its value, then, as the modes require, record a node for reverse
// mode and push tangents forward for forward mode. This is the one place where the two
// directions of the chain rule meet the ops; the walks themselves live in src/autodiff.

import { ChainruleError } from '../errors.js';
import type { Node, Op } from '../tensor/node.js';
import { type Tensor, zeros } from '../tensor/tensor.js';

// ---- reverse mode: recording -------------------------------------------------------------

let gradEnabled = true;
let nextNodeId = 0;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Runs fn without recording a graph (evaluation, optimiser updates). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs fn with recording on, even inside noGrad. */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);

// ---- memory accounting of the recorded graph ------------------------------------------------

/** Bytes held by recorded nodes (activations kept for backward), now and at the peak. */
export const graphMemory = { liveBytes: 0, peakBytes: 0 };

export function resetGraphPeak(): void {
  graphMemory.peakBytes = graphMemory.liveBytes;
}

interface Ledger {
  bytes: number;
  live: boolean;
}
const ledgers = new WeakMap<Node, Ledger>();
// A graph dropped without a backward pass is released when its output is collected.
const unreleased = new FinalizationRegistry<Ledger>((ledger) => settle(ledger));

function settle(ledger: Ledger): void {
  if (!ledger.live) return;
  ledger.live = false;
  graphMemory.liveBytes -= ledger.bytes;
}

/** Frees a node's references to its inputs once backward no longer needs them. */
export function releaseNode(node: Node): void {
  node.inputs = [];
  const ledger = ledgers.get(node);
  if (ledger) settle(ledger);
}

/** True once releaseNode freed the node (every op takes at least one input). */
export function isReleased(node: Node): boolean {
  return node.inputs.length === 0;
}

function record(op: Op<unknown>, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
  const bytes = out.data.byteLength;
  const node: Node = { id: nextNodeId++, op, inputs, attrs, bytes };
  out.node = node;
  const ledger = { bytes, live: true };
  ledgers.set(node, ledger);
  unreleased.register(out, ledger);
  graphMemory.liveBytes += bytes;
  if (graphMemory.liveBytes > graphMemory.peakBytes) graphMemory.peakBytes = graphMemory.liveBytes;
}

// ---- forward mode: tangents ------------------------------------------------------------------

// One map per active jvp; null while a jvp rule itself runs, so rules never carry tangents.
const tangentScopes: (WeakMap<Tensor, Tensor> | null)[] = [];

export function withTangents<T>(scope: WeakMap<Tensor, Tensor> | null, fn: () => T): T {
  tangentScopes.push(scope);
  try {
    return fn();
  } finally {
    tangentScopes.pop();
  }
}

/** Computes a value both modes treat as a constant: no node recorded, no tangent pushed. */
export function constant<T>(fn: () => T): T {
  return noGrad(() => withTangents(null, fn));
}

function currentTangents(): WeakMap<Tensor, Tensor> | null {
  return tangentScopes.length ? tangentScopes[tangentScopes.length - 1] : null;
}

// ---- apply --------------------------------------------------------------------------------

// The tangent sum needs the add op and a broadcast; ops register them here to avoid a cycle.
let combine: {
  add(a: Tensor, b: Tensor): Tensor;
  broadcastTo(t: Tensor, shape: readonly number[]): Tensor;
} | null = null;

export function registerTangentArithmetic(ops: NonNullable<typeof combine>): void {
  combine = ops;
}

export function apply<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const out = op.forward(inputs, attrs);
  if (op.differentiable === false) return out;
  if (gradEnabled && inputs.some((t) => t.requiresGrad || t.node !== null)) {
    record(op as Op<unknown>, inputs, attrs, out);
  }
  const tangents = currentTangents();
  if (tangents) {
    const inputTangents = inputs.map((t) => tangents.get(t));
    if (inputTangents.some((t) => t !== undefined)) {
      tangents.set(out, pushTangents(op, inputs, attrs, out, inputTangents));
    }
  }
  return out;
}

function pushTangents<A>(
  op: Op<A>,
  inputs: readonly Tensor[],
  attrs: A,
  out: Tensor,
  inputTangents: readonly (Tensor | undefined)[],
): Tensor {
  if (!combine) throw new ChainruleError('internal: tangent arithmetic not registered');
  const { add, broadcastTo } = combine;
  return withTangents(null, () => {
    const maps = op.jvp({ inputs, out, attrs });
    let sum: Tensor | null = null;
    inputTangents.forEach((t, i) => {
      const map = maps[i];
      if (t === undefined || !map) return;
      const term = map(t);
      sum = sum ? add(sum, term) : term;
    });
    const tangent: Tensor = sum ?? zeros(out.shape, { dtype: out.dtype });
    return tangent.shape.length === out.shape.length && tangent.shape.every((d, i) => d === out.shape[i])
      ? tangent
      : broadcastTo(tangent, out.shape);
  });
}
