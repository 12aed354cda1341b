// Charts as standalone SVG files, readable in any browser or image viewer: the chart's Vega-Lite
// description rendered headless (no DOM, no canvas) in Node.

import type { TopLevelSpec } from 'vega-lite';
import { chartSpec, type Panel } from './charts.js';

// Without a canvas Vega guesses 0.8 em a character, about 1.5 times sans-serif's average: axis
// titles then stand off too far and legends push the next panel away. These widths (em) are
// Helvetica's and Arial's, near enough for DejaVu and Liberation Sans too.
const CHARACTER_WIDTHS: [RegExp, number][] = [
  [/[ijl|'!]/, 0.23],
  [/[ .,:;ftI()[\]/-]/, 0.3],
  [/r/, 0.34],
  [/[mw%MW@]/, 0.86],
  [/[A-Z]/, 0.68],
];
const OTHER_CHARACTER = 0.56;

function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const c of text) em += CHARACTER_WIDTHS.find(([pattern]) => pattern.test(c))?.[1] ?? OTHER_CHARACTER;
  return Math.ceil(em * fontSize);
}

async function library() {
  const vega = await import('./vega.js');
  vega.textMetrics.width = (item, text) => textWidth(String(text ?? '').trim(), item.fontSize ?? 11);
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
