// Anomaly detection, as torch.autograd.detect_anomaly: while it is on, every op's output is
// checked for NaN and infinity, and the first op to produce one from finite inputs is named
// with its input shapes and where it ran: in the forward pass, or in the backward pass of
// which op. Off by default: dispatch then pays one property read per op.

import { ChainruleError, formatShape } from '../errors.js';
import type { Op } from '../tensor/node.js';
import type { Tensor } from '../tensor/tensor.js';

export class AnomalyError extends ChainruleError {
  override name = 'AnomalyError';
}

/** Read by dispatch on every op; set only through setDetectAnomaly and detectAnomaly. */
export const anomalyMode = { enabled: false };

/** Turns anomaly detection on or off for everything that follows (torch.autograd.set_detect_anomaly). */
export function setDetectAnomaly(enabled: boolean): void {
  anomalyMode.enabled = enabled;
}

/** Runs `fn` with anomaly detection on, restoring the previous mode after. */
export function detectAnomaly<T>(fn: () => T): T {
  const previous = anomalyMode.enabled;
  anomalyMode.enabled = true;
  try {
    return fn();
  } finally {
    anomalyMode.enabled = previous;
  }
}

/** The ops whose backward pass is running, innermost last, as `name([shapes])`. */
const backwardOf: string[] = [];

const call = (op: Op<unknown>, inputs: readonly Tensor[]) =>
  `${op.name}(${inputs.map((t) => formatShape(t.shape)).join(', ')})`;

function firstNonFinite(t: Tensor): number {
  if (t.dtype === 'int32') return -1;
  const data = t.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * Called by dispatch after each op's forward while anomaly mode is on. An op-made NaN throws
 * where it is made, so a non-finite input can only have come from outside the ops.
 */
export function checkOpOutput(op: Op<unknown>, inputs: readonly Tensor[], out: Tensor): void {
  const where = backwardOf.length ? `in the backward pass of ${backwardOf.at(-1)}` : 'in the forward pass';
  const bad = inputs.findIndex((t) => firstNonFinite(t) >= 0);
  if (bad >= 0) {
    const input = inputs[bad];
    throw new AnomalyError(
      `anomaly ${where}: ${call(op, inputs)} received ${input.data[firstNonFinite(input)]} in its input ${bad + 1}, ` +
        'which no op made since detection began: it came from the data, the parameters or an optimiser step',
    );
  }
  const at = firstNonFinite(out);
  if (at >= 0) {
    throw new AnomalyError(
      `anomaly ${where}: ${call(op, inputs)} produced ${out.data[at]} (at index ${at} of its output ` +
        `${formatShape(out.shape)}) from finite inputs`,
    );
  }
}

const traced = new WeakMap<Op<unknown>, Op<unknown>>();

/**
 * The op as recorded in anomaly mode: its VJP (and the cotangent thunks it returns) run under
 * a note of which op's backward pass this is, so an anomaly there is named by it.
 */
export function tracedOp<A>(op: Op<A>): Op<A> {
  const known = traced.get(op as Op<unknown>);
  if (known) return known as Op<A>;
  const within = <T>(label: string, fn: () => T): T => {
    backwardOf.push(label);
    try {
      return fn();
    } finally {
      backwardOf.pop();
    }
  };
  const wrapped: Op<A> = {
    ...op,
    vjp: (g, ctx) => {
      const label = call(op as Op<unknown>, ctx.inputs);
      return within(label, () => op.vjp(g, ctx)).map((thunk) => thunk && (() => within(label, thunk)));
    },
  };
  traced.set(op as Op<unknown>, wrapped as Op<unknown>);
  return wrapped;
}
