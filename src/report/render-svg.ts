// Charts as standalone SVG files, readable in any browser or image viewer: the chart's Vega-Lite
// description rendered headless (no DOM, no canvas) in Node.

import type { TopLevelSpec } from 'vega-lite';
import { chartSpec, type Panel } from './charts.js';

// Without a canvas Vega guesses 0.8 em a character, about 1.5 times sans-serif's average: legends
// then take more room than their text and push the next panel away. 0.52 em is close, and the gap
// between panels absorbs the rest.
const SANS_SERIF_EM_PER_CHARACTER = 0.52;

async function library() {
  const vega = await import('./vega.js');
  vega.textMetrics.width = (item, text) =>
    Math.ceil(SANS_SERIF_EM_PER_CHARACTER * (item.fontSize ?? 11) * String(text ?? '').trim().length);
  return vega;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: commands that draw no chart never pay for the library.
  const { compile, parse, View } = await library();
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/** The panels side by side in one SVG document. */
export const renderChart = (panels: readonly Panel[]): Promise<string> => renderSvg(chartSpec(panels));
