// How a recurrent Forward-Forward net settles on one image, as plain data: the worker gathers
// it from the trainer (settlingOf), the network view draws it (each layer's units as a grid,
// scaled for display, how much each step changed them, the winning label). Pure, so it is
// tested without a browser.

import { ChainruleError, noGrad, type Tensor, type Trainer } from '../../src/browser.js';
import type { Settling } from './protocol.js';

/** The trainer's settling on the single image x [1, ...], with every label it scores clamped in turn. */
export function settlingOf(trainer: Trainer, x: Tensor): Settling {
  const { settle, scoredSteps, labelScores } = trainer;
  if (!settle || !scoredSteps || !labelScores)
    throw new ChainruleError(
      `${trainer.algorithm} does not settle over time steps: only a recurrent network (ff-recurrent) does`,
    );
  if (x.shape[0] !== 1)
    throw new ChainruleError(`settling is shown one image at a time, got a batch of ${x.shape[0]}`);
  return noGrad(() => {
    const scores = [...labelScores.call(trainer, x).data];
    const runs = scores.map((_, label) => settle.call(trainer, x, label));
    const widths = runs[0][0].map((activity) => activity.shape[1]);
    const units = widths.reduce((a, b) => a + b, 0);
    const activity = runs.map((steps) => {
      const out = new Float32Array(steps.length * units);
      steps.forEach((layers, t) => {
        let offset = t * units;
        for (const layer of layers) {
          out.set(layer.data, offset);
          offset += layer.size;
        }
      });
      return out;
    });
    const goodness = runs.map((steps) =>
      steps.map((layers) => layers.reduce((sum, layer) => sum + layer.square().sum().item(), 0)),
    );
    return { widths, steps: runs[0].length, scored: scoredSteps, activity, goodness, scores };
  });
}

/** One layer's units at one step (0-based), for one label. */
export function layerActivity(s: Settling, label: number, step: number, layer: number): Float32Array {
  const units = s.widths.reduce((a, b) => a + b, 0);
  const offset = step * units + s.widths.slice(0, layer).reduce((a, b) => a + b, 0);
  return s.activity[label].subarray(offset, offset + s.widths[layer]);
}

/** The largest activity of a layer over every label and step: the top of its display scale. */
export function layerScale(s: Settling, layer: number): number {
  let top = 0;
  for (let label = 0; label < s.activity.length; label++)
    for (let t = 0; t < s.steps; t++)
      for (const v of layerActivity(s, label, t, layer)) top = Math.max(top, v);
  return top;
}

/**
 * How much a layer changed at each step, relative to its size: ‖h_t − h_{t−1}‖ / ‖h_t‖ (h_0 is
 * zero, so the first step is 1; 0 where the layer is silent). Damping makes it shrink.
 */
export function relativeChanges(s: Settling, label: number, layer: number): number[] {
  return Array.from({ length: s.steps }, (_, t) => {
    const now = layerActivity(s, label, t, layer);
    const before = t ? layerActivity(s, label, t - 1, layer) : null;
    let [change, size] = [0, 0];
    for (const [i, v] of now.entries()) {
      change += (v - (before?.[i] ?? 0)) ** 2;
      size += v * v;
    }
    return size ? Math.sqrt(change / size) : 0;
  });
}

/** The label with the highest score: the prediction. */
export const winner = (scores: readonly number[]) => scores.indexOf(Math.max(...scores));

/** Columns and rows of a near-2:1 grid that holds `width` units, one cell each. */
export function unitGrid(width: number): { cols: number; rows: number } {
  const cols = Math.ceil(Math.sqrt(2 * width));
  return { cols, rows: Math.ceil(width / cols) };
}
