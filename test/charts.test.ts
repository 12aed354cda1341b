// The charts of the CLI and the page: every rule drawn in its colour from rule-colors.ts, each
// legend outside its plot area, and SVG files written whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHMS } from '../src/learn/registry.js';
import { chartSpec, type Panel } from '../src/report/charts.js';
import { renderSvg } from '../src/report/render-svg.js';
import { RULE_COLORS } from '../src/report/rule-colors.js';
import { comparePanels, runPanels } from '../src/report/run-charts.js';
import { compile, parse, View } from '../src/report/vega.js';

interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

interface SceneItem {
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  bounds: Box;
  items?: SceneMark[];
}

interface SceneMark {
  role?: string;
  marktype: string;
  items: SceneItem[];
}

/** The plot areas (the frames of the panels) and the legends, in the chart's coordinates. */
async function layout(panels: Panel[]): Promise<{ frames: Box[]; legends: Box[] }> {
  const view = new View(parse(compile(chartSpec(panels)).spec), { renderer: 'none' });
  await view.runAsync();
  const frames: Box[] = [];
  const legends: Box[] = [];
  // A legend's bounds are in its parent's coordinates; a plot area is the group that holds the axes.
  const walk = (mark: SceneMark, dx: number, dy: number) => {
    for (const item of mark.items) {
      const at = { x: dx + (item.x ?? 0), y: dy + (item.y ?? 0) };
      if (mark.role === 'legend') {
        const b = item.bounds;
        legends.push({ x1: dx + b.x1, y1: dy + b.y1, x2: dx + b.x2, y2: dy + b.y2 });
        continue;
      }
      if (item.items?.some((child) => child.role === 'axis'))
        frames.push({ x1: at.x, y1: at.y, x2: at.x + (item.width ?? 0), y2: at.y + (item.height ?? 0) });
      for (const child of item.items ?? []) walk(child, at.x, at.y);
    }
  };
  walk((view.scenegraph() as unknown as { root: SceneMark }).root, 0, 0);
  view.finalize();
  return { frames, legends };
}

const overlap = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

/** Every rule, with points in every corner: no corner of the plot is free for a legend. */
const everyRule = ALGORITHMS.map((algorithm, i) => ({
  algorithm,
  model: `a model for ${algorithm}`,
  curve: [0, 1, 2, 3, 4].map((x) => [x * 10, 0.5 + ((x + i) % 3) * 0.2] as const),
}));

test('each rule is drawn, line and legend symbol, in its colour from rule-colors.ts', async () => {
  const svg = await renderSvg(chartSpec(comparePanels('mnist', everyRule)));
  for (const name of ALGORITHMS) {
    const color = RULE_COLORS[name];
    const line = new RegExp(`<path [^>]*d="M[^"]+"[^>]*stroke="${color}"`, 'i');
    assert.match(svg, line, `${name}'s line in ${color}`);
    assert.match(svg, new RegExp(`>${name}: a model for ${name}</text>`), `${name}'s legend entry`);
  }
  const strokes = new Set([...svg.matchAll(/stroke="(#[0-9a-f]{6})"/gi)].map((m) => m[1].toLowerCase()));
  const ruleColors = new Set(Object.values(RULE_COLORS).map((c) => c.toLowerCase()));
  for (const color of ruleColors) assert.ok(strokes.has(color), color);
});

test('the legends sit outside the plot areas, for one panel and for panels side by side', async () => {
  const history = [1, 2, 3, 4].map((epoch) => ({
    epoch,
    trainLoss: 1 / epoch,
    trainAccuracy: 1 - 0.1 / epoch,
    testAccuracy: 1 - 0.12 / epoch,
  }));
  const runs = ALGORITHMS.map((rule) => ({
    label: `${rule}: a model with a long description`,
    rule,
    history,
  }));
  for (const panels of [comparePanels('mnist', everyRule), runPanels(runs), runPanels(runs.slice(0, 1))]) {
    const { frames, legends } = await layout(panels);
    assert.equal(frames.length, panels.length, 'one plot area per panel');
    assert.equal(legends.length, panels.length, 'one legend per panel');
    for (const legend of legends)
      for (const frame of frames)
        assert.ok(!overlap(legend, frame), `legend ${JSON.stringify(legend)} over ${JSON.stringify(frame)}`);
  }
});
