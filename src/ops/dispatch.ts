// Applying an op: compute its value, then, as the modes require, record a node for reverse
// mode and push tangents forward for forward mode. This is the one place where the two
// directions of the chain rule meet the ops; the walks themselves live in src/autodiff.

import { ChainruleError } from '../errors.js';
import type { Node, Op } from '../tensor/node.js';
import { type Tensor, zeros } from '../tensor/tensor.js';
import { anomalyMode, checkOpOutput, tracedOp } from './anomaly.js';

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
  // The registry's cleanup runs only when the event loop turns; a training loop that never
  // yields would pile up one registration per op until then, so a settled one leaves now.
  unreleased.unregister(ledger);
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
  const node: Node = { id: nextNodeId++, op: anomalyMode.enabled ? tracedOp(op) : op, inputs, attrs, bytes };
  out.node = node;
  const ledger = { bytes, live: true };
  ledgers.set(node, ledger);
  unreleased.register(out, ledger, ledger);
  graphMemory.liveBytes += bytes;
  if (graphMemory.liveBytes > graphMemory.peakBytes) graphMemory.peakBytes = graphMemory.liveBytes;
}

// ---- forward mode: tangents, one level per active jvp --------------------------------------

// Each jvp opens a level: a map from the tensors it perturbs to their tangents. Levels nest
// (a jvp inside a jvp, a jvp over a gradient): an op's value is a number in ε_0 … ε_{n-1}, with
// ε_k² = 0, carried one level at a time. Level k's tangent is computed by the op's JVP rule with
// only levels below k visible, so the rule's own ops carry the outer tangents (tangents of
// tangents) and never their own level's (which keeps two jvps from confusing their tangents).
type Level = WeakMap<Tensor, Tensor>;
const levels: Level[] = [];
/** How many levels apply() sees: all of them, except while a level's JVP rule runs. */
let visibleLevels = 0;

function withVisibleLevels<T>(count: number, fn: () => T): T {
  const previous = visibleLevels;
  visibleLevels = count;
  try {
    return fn();
  } finally {
    visibleLevels = previous;
  }
}

/**
 * True while an op's result could join a recorded graph or carry a tangent. A VJP rule may
 * compute with plain kernels, outside the ops, and a cached value may stand in for the op
 * that computes it, only when it is false (a backward pass that builds no graph of its own).
 */
export function isDifferentiating(): boolean {
  return gradEnabled || visibleLevels > 0;
}

/** Runs fn with a new innermost forward-mode level whose tangents `level` holds. */
export function withTangentLevel<T>(level: Level, fn: () => T): T {
  const depth = visibleLevels;
  const shadowed = levels[depth];
  levels[depth] = level;
  try {
    return withVisibleLevels(depth + 1, fn);
  } finally {
    if (shadowed) levels[depth] = shadowed;
    else levels.length = depth;
  }
}

/** Computes a value both modes treat as a constant: no node recorded, no tangent pushed. */
export function constant<T>(fn: () => T): T {
  return noGrad(() => withVisibleLevels(0, fn));
}

/**
 * A new tensor sharing t's values, joined to t in every active mode: recorded as t's
 * successor when reverse mode tracks t, carrying t's tangent at every forward-mode level. A
 * transform hands its function such aliases, so its own seeds never touch the caller's tensors.
 */
export function alias(t: Tensor): Tensor {
  if (!aliasOp) throw new ChainruleError('internal: the alias op is not registered');
  return apply(aliasOp, [t], { shape: [...t.shape] });
}

// ---- apply --------------------------------------------------------------------------------

// The tangent sum needs the add op and a broadcast, and alias a shape-keeping op; ops register
// them here to avoid an import cycle.
let combine: {
  add(a: Tensor, b: Tensor): Tensor;
  broadcastTo(t: Tensor, shape: readonly number[]): Tensor;
} | null = null;
let aliasOp: Op<{ shape: number[] }> | null = null;

export function registerDispatchOps(ops: NonNullable<typeof combine>, alias: Op<{ shape: number[] }>): void {
  combine = ops;
  aliasOp = alias;
}

export function apply<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  // No jvp active (every training step): the value and its node, nothing more.
  return visibleLevels === 0
    ? applyPrimal(op, inputs, attrs)
    : applyAtLevel(visibleLevels - 1, op, inputs, attrs);
}

function applyPrimal<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const out = op.forward(inputs, attrs);
  if (anomalyMode.enabled) checkOpOutput(op as Op<unknown>, inputs, out);
  if (op.differentiable === false) return out;
  if (gradEnabled && inputs.some((t) => t.requiresGrad || t.node !== null)) {
    record(op as Op<unknown>, inputs, attrs, out);
  }
  return out;
}

/** The op at levels 0..k: its value (carrying levels below k), then its tangent at level k. */
function applyAtLevel<A>(k: number, op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const out = withVisibleLevels(k, () => apply(op, inputs, attrs));
  if (op.differentiable === false) return out;
  const level = levels[k];
  const inputTangents = inputs.map((t) => level.get(t));
  if (inputTangents.some((t) => t !== undefined)) {
    level.set(
      out,
      withVisibleLevels(k, () => pushTangents(op, inputs, attrs, out, inputTangents)),
    );
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
}
