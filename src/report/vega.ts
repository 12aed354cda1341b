// The chart library: Vega-Lite compiles a chart's description to Vega, which renders it. `npm pack`
// bundles this module with both libraries into one file (scripts/bundle-vega.mjs), so the package
// carries under 1 MB of them rather than the 19 MB their npm install takes.

import * as vega from 'vega';

export { compile } from 'vega-lite';
export const { parse, View } = vega;

interface TextItem {
  fontSize?: number;
}

/** Vega's text measurer, which a renderer without a canvas may replace (vega-typings omit it). */
export const textMetrics = (
  vega as unknown as { textMetrics: { width: (item: TextItem, text: string) => number } }
).textMetrics;
