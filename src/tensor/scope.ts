// tidy(fn): a scope around one training step (or any work), as in TensorFlow.js. Tensors made
// inside it end with it unless they live on; the storage they held goes back to a pool that
// the next scope's ops take from, so after the first step a step allocates no new storage.
//
// JavaScript cannot tell which tensors are still referenced, so a scope decides what lives on
// from what it can see: what fn returns (tensors, in arrays and plain objects, with their
// gradients), what was keep()-ed (parameters, optimiser state), and the `.grad` set on a
// tensor from outside the scope (a parameter's gradient, read by an optimiser after it).
// Everything else is released: its storage is recycled, and using the tensor throws
// ReleasedTensorError, so a tensor kept by other means (a field, a closure) fails loudly,
// never reading another tensor's values. A scope whose result still carries a graph for a
// later backward() keeps all it made, since the graph's ops may hold storage it cannot see.

import { ChainruleError } from '../errors.js';
import { leaveScope, openScope, recycle, type Scope } from './pool.js';
import { Tensor } from './tensor.js';

export { type PoolStats, poolStats, ReleasedTensorError } from './pool.js';

const kept = new WeakSet<Tensor>();

/**
 * Makes `t` outlive every scope open now and later: it is never released, and its storage
 * never goes back to the pool (tf.keep). Parameters, buffers and optimiser state are kept.
 */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

/**
 * Runs fn in a scope: the tensors it makes are released when it returns (or throws), except
 * those it returns (in arrays and plain objects too), those keep() was given, and gradients
 * set on tensors from outside the scope. A typed array taken from `.data` inside the scope is
 * the storage itself: copy it (`.slice()`) to keep values past the scope. fn must be
 * synchronous. Scopes nest: what an inner one returns belongs to the outer one.
 */
export function tidy<T>(fn: () => T): T {
  const scope = openScope<Tensor>();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    close(scope, undefined, false);
    throw error;
  }
  if (isThenable(result)) {
    close(scope, undefined, true);
    throw new ChainruleError(
      'tidy(): the function returned a promise; a scope covers synchronous work only, so await ' +
        'outside it and call tidy() on the synchronous parts',
    );
  }
  close(scope, result, false);
  return result;
}

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Ends `scope`: what lives on moves to the parent scope (or leaves scopes at the outermost); the rest is released. */
function close(scope: Scope<Tensor>, result: unknown, keepEverything: boolean): void {
  try {
    const survivors = keepEverything ? null : livingOn(scope, result);
    const parent = scope.parent;
    const living = new Set<ArrayBuffer>();
    for (const t of scope.tensors) {
      if (survivors && !survivors.has(t)) {
        t.releaseForScope();
        continue;
      }
      living.add(t.liveData!.buffer as ArrayBuffer);
      t.scope = parent;
      parent?.tensors.push(t);
    }
    // With a graph alive, storage no tensor holds may still be an op's (saved probabilities): keep all.
    for (const buffer of scope.buffers) {
      if (survivors && !living.has(buffer)) recycle(buffer);
      else parent?.buffers.push(buffer);
    }
    if (parent) for (const owner of scope.gradOwners) if (owner.liveData) parent.gradOwners.push(owner);
  } finally {
    leaveScope(scope);
  }
}

/** The scope's tensors that live on, or null if all must (the result carries a graph). */
function livingOn(scope: Scope<Tensor>, result: unknown): Set<Tensor> | null {
  const survivors = new Set<Tensor>();
  const mark = (t: Tensor | null) => {
    for (; t && t.scope === scope && !survivors.has(t); t = t.grad) survivors.add(t);
  };
  visitTensors(result, mark);
  for (const t of scope.tensors) if (kept.has(t)) mark(t);
  // A gradient survives when its owner does; marking one may save another's owner (a grad of a grad).
  for (let before = -1; before !== survivors.size; ) {
    before = survivors.size;
    for (const owner of scope.gradOwners) {
      if (owner.liveData && (owner.scope !== scope || survivors.has(owner))) mark(owner.grad);
    }
  }
  for (const t of survivors) if (t.node && t.node.inputs.length > 0) return null;
  return survivors;
}

/** Each tensor in a value: itself, or inside arrays and plain objects, to any depth. */
function visitTensors(value: unknown, visit: (t: Tensor) => void, seen = new Set<object>()): void {
  if (value instanceof Tensor) {
    visit(value);
    return;
  }
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) for (const item of value) visitTensors(item, visit, seen);
  else if (proto === Object.prototype || proto === null)
    for (const item of Object.values(value)) visitTensors(item, visit, seen);
}
