// What Forward-Forward's layers are shown, as plain data for the network view: an image with a
// label written over its first pixels (positive with the true label, negative with a wrong
// one), the threshold θ a layer's goodness is judged against, and the goodness distributions
// of positive and negative data. Pure, so it is tested without a browser.

/** Settings of a Forward-Forward network that decide its thresholds (its hyperparameters). */
export interface FFThresholdSettings {
  hidden: number[];
  readoutFrom: number;
  goodness: 'mean' | 'sum';
  /** null: each layer's natural threshold (1 for mean goodness, the width for sum). */
  threshold: number | null;
}

/**
 * The image as FF's layers receive it, in pixel bytes: the first `classes` pixels replaced by a
 * one-hot of `label` at full white (FFTrainer writes its labelValue, a white pixel's input).
 */
export function labelledImage(image: Uint8Array, label: number, classes: number): Uint8Array {
  const out = image.slice();
  for (let c = 0; c < classes; c++) out[c] = c === label ? 255 : 0;
  return out;
}

/** A wrong label for `truth`, different for each example index: the negative data's label. */
export const negativeLabel = (truth: number, index: number, classes: number) =>
  (truth + 1 + (index % (classes - 1))) % classes;

/** θ of each layer, as FFTrainer sets it. */
export function layerThresholds(s: FFThresholdSettings): number[] {
  return s.hidden.map((width) => s.threshold ?? (s.goodness === 'sum' ? width : 1));
}

/**
 * The line that summed goodness per label is judged against: the goodness FF classifies by
 * sums layers readoutFrom..L, so a label is "positive on average" above the sum of their θ.
 */
export function readoutThreshold(s: FFThresholdSettings): number {
  return layerThresholds(s)
    .slice(s.readoutFrom - 1)
    .reduce((a, b) => a + b, 0);
}

/** Goodness of each image with its true label (positive) and with every wrong label (negative). */
export function goodnessSamples(examples: { label: number; goodness: number[] }[]): {
  positive: number[];
  negative: number[];
} {
  return {
    positive: examples.map((e) => e.goodness[e.label]),
    negative: examples.flatMap((e) => e.goodness.filter((_, c) => c !== e.label)),
  };
}

export interface Histogram {
  from: number;
  width: number;
  /** The fraction of the values in each bin. */
  fractions: number[];
}

/** `values` in `bins` equal bins over [from, to]; values outside fall into the end bins. */
export function histogram(values: number[], bins: number, from: number, to: number): Histogram {
  const width = (to - from) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - from) / width)))]++;
  return { from, width, fractions: counts.map((c) => c / Math.max(1, values.length)) };
}
