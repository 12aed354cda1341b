// Line charts as Vega-Lite specifications, the one description of a chart that the CLI (which
// renders them to SVG files, src/report/render-svg.ts) and the playground (which renders them live
// in the page) share. Every learning rule is drawn in its colour from rule-colors.ts; legends sit
// below the plot area, so they never cover the data.

import type { TopLevelSpec } from 'vega-lite';
import type { Algorithm } from '../learn/registry.js';
import { RULE_COLORS } from './rule-colors.js';

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** The learning rule the series belongs to, which fixes its colour. */
  rule?: Algorithm;
}

export interface Panel {
  /** Absent where the page captions the chart itself. */
  title?: string;
  xTitle: string;
  yTitle: string;
  series: readonly Series[];
  /** y as percentages (accuracies) or plain numbers. */
  yFormat?: 'percent' | 'number';
  /** A log scale, for a loss that falls by orders of magnitude. */
  yLog?: boolean;
  /** The largest y the axis shows (1 for accuracies). */
  yMax?: number;
  /** x starts at zero (time) rather than at the first point (epochs). */
  xFromZero?: boolean;
  /** A dot on every point, for sparse series such as evaluations. */
  dots?: boolean;
  /** Width of the plot area in pixels, or 'container' to fill the page element it is drawn in. */
  width?: number | 'container';
  height?: number;
}

/** The name of the data set a chart's points live in: the page replaces it as training goes. */
export const CHART_DATA = 'points';

// Series that are not learning rules (train and test accuracy) take these: none of RULE_COLORS.
const NEUTRAL_COLORS = ['#444444', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export interface ChartRow {
  series: string;
  x: number;
  y: number;
}

export const chartRows = (series: readonly Series[]): ChartRow[] =>
  series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));

export function seriesColors(series: readonly Series[]): string[] {
  let neutral = 0;
  return series.map((s) =>
    s.rule ? RULE_COLORS[s.rule] : NEUTRAL_COLORS[neutral++ % NEUTRAL_COLORS.length],
  );
}

const FONT = 'sans-serif';

/** One panel's layer: its data, marks and encodings (no top-level config). */
function panelSpec(panel: Panel, dataName = CHART_DATA) {
  const format = panel.yFormat === 'percent' ? '.0%' : '.3~r';
  const width = panel.width ?? 420;
  const tooltipFormat = panel.yFormat === 'percent' ? '.2%' : '.4~g';
  return {
    ...(panel.title ? { title: { text: panel.title, fontSize: 14 } } : {}),
    width,
    height: panel.height ?? 240,
    data: { name: dataName, values: chartRows(panel.series) },
    mark: { type: 'line' as const, strokeWidth: 2, point: panel.dots ? { size: 28 } : false },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative' as const,
        title: panel.xTitle,
        scale: panel.xFromZero ? { domainMin: 0 } : { zero: false, nice: false },
      },
      y: {
        field: 'y',
        type: 'quantitative' as const,
        title: panel.yTitle,
        axis: { format },
        scale: {
          ...(panel.yLog ? { type: 'log' as const } : { zero: false }),
          ...(panel.yMax === undefined ? {} : { domainMax: panel.yMax }),
        },
      },
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: null,
        // The series' own order and colours, not Vega's sorted default palette.
        scale: { domain: panel.series.map((s) => s.name), range: seriesColors(panel.series) },
        // A label longer than the panel is cut short, not allowed to push the next panel away.
        legend: {
          orient: 'bottom' as const,
          direction: 'vertical' as const,
          labelLimit: typeof width === 'number' ? width : 0,
          symbolType: 'stroke',
        },
      },
      tooltip: [
        { field: 'series', type: 'nominal' as const, title: 'series' },
        { field: 'x', type: 'quantitative' as const, title: panel.xTitle, format: '.4~g' },
        { field: 'y', type: 'quantitative' as const, title: panel.yTitle, format: tooltipFormat },
      ],
    },
  };
}

/** One chart with the panels side by side, each with its own legend below it. */
export function chartSpec(panels: readonly Panel[]): TopLevelSpec {
  const config = {
    font: FONT,
    background: 'white',
    axis: { gridColor: '#eeeeee', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
    legend: { labelFontSize: 11 },
    view: { stroke: '#888888' },
  };
  const autosize = { type: 'fit-x' as const, contains: 'padding' as const };
  if (panels.length === 1) {
    const single = panelSpec(panels[0]);
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config,
      ...(single.width === 'container' ? { autosize } : {}),
      ...single,
    } as TopLevelSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config,
    hconcat: panels.map((panel, i) => panelSpec(panel, `${CHART_DATA}_${i}`)),
    spacing: 48,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  } as TopLevelSpec;
}
