// The CLI's SVG charts: each rule in its one colour, and the legend outside the data.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHMS } from '../src/learn/registry.js';
import { RULE_COLORS } from '../src/report/rule-colors.js';
import { renderChart } from '../src/report/svg-plot.js';

test('the legend sits below the plot area and each rule is drawn in its colour', () => {
  const series = ALGORITHMS.map((name, i) => ({
    name: `${name}: a model`,
    color: RULE_COLORS[name],
    // Points everywhere, corners included: no corner of the plot is free for a legend.
    points: [0, 1, 2, 3, 4].map((x) => [x, (x + i) % 3] as [number, number]),
  }));
  const svg = renderChart([{ title: 'Loss', xLabel: 'epoch', yLabel: 'loss', series }]);
  const plot = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(svg)!;
  const plotBottom = Number(plot[2]) + Number(plot[4]);
  const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1]);
  for (const name of ALGORITHMS) {
    const color = RULE_COLORS[name];
    assert.match(svg, new RegExp(`<path d="[^"]+" fill="none" stroke="${color}"`), `${name}'s line`);
    const label = new RegExp(`<text x="[\\d.]+" y="([\\d.]+)" font-size="11">${name}: a model</text>`).exec(
      svg,
    );
    assert.ok(label, `${name} has a legend entry`);
    const y = Number(label[1]);
    assert.ok(
      y > plotBottom + 16 && y <= height,
      `${name}'s legend row at y=${y}, below the plot (${plotBottom})`,
    );
  }
});
