// Line charts as standalone SVG files: readable in any browser or image viewer, no tool needed.

export interface Series {
  name: string;
  points: readonly [number, number][];
  color?: string;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Fixed y range; computed from the data when absent. */
  yRange?: [number, number];
  /** Formats y tick labels (e.g. as percentages). */
  yFormat?: (v: number) => string;
  /** Width in pixels (460 by default). */
  width?: number;
}

// For series that are not learning rules (train and test accuracy): none of RULE_COLORS.
const PALETTE = ['#444444', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const PANEL_W = 460;
const PANEL_H = 320;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };
const LEGEND_ROW = 16;

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function range(values: number[], fallback: [number, number]): [number, number] {
  if (!values.length) return fallback;
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function renderPanel(panel: Panel, x0: number): string {
  const panelWidth = panel.width ?? PANEL_W;
  const w = panelWidth - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const xs = panel.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = panel.series.flatMap((s) => s.points.map((p) => p[1]));
  const [xLo, xHi] = range(xs, [0, 1]);
  const [yLo, yHi] = panel.yRange ?? range(ys, [0, 1]);
  const sx = (v: number) => x0 + MARGIN.left + ((v - xLo) / (xHi - xLo)) * w;
  const sy = (v: number) => MARGIN.top + h - ((v - yLo) / (yHi - yLo)) * h;
  const fmt = panel.yFormat ?? ((v: number) => String(v));
  const parts: string[] = [
    `<text x="${x0 + panelWidth / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${x0 + MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="none" stroke="#888"/>`,
  ];
  for (const t of niceTicks(xLo, xHi)) {
    if (t < xLo || t > xHi) continue;
    parts.push(
      `<line x1="${sx(t)}" y1="${MARGIN.top}" x2="${sx(t)}" y2="${MARGIN.top + h}" stroke="#eee"/>`,
      `<text x="${sx(t)}" y="${MARGIN.top + h + 16}" text-anchor="middle" font-size="11">${t}</text>`,
    );
  }
  for (const t of niceTicks(yLo, yHi)) {
    if (t < yLo || t > yHi) continue;
    parts.push(
      `<line x1="${x0 + MARGIN.left}" y1="${sy(t)}" x2="${x0 + MARGIN.left + w}" y2="${sy(t)}" stroke="#eee"/>`,
      `<text x="${x0 + MARGIN.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${escapeXml(fmt(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + MARGIN.left + w / 2}" y="${PANEL_H - 10}" text-anchor="middle" font-size="12">${escapeXml(panel.xLabel)}</text>`,
    `<text transform="translate(${x0 + 16},${MARGIN.top + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(panel.yLabel)}</text>`,
  );
  panel.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const path = s.points
      .map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(' ');
    if (s.points.length > 1) parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [x, y] of s.points)
      parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    // The legend sits below the plot, one row per series, so it never covers a point.
    const row = PANEL_H + 12 + i * LEGEND_ROW;
    const lx = x0 + MARGIN.left;
    parts.push(
      `<line x1="${lx}" y1="${row - 4}" x2="${lx + 18}" y2="${row - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 24}" y="${row}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  return parts.join('\n');
}

/** One SVG document with the panels side by side. */
export function renderChart(panels: readonly Panel[]): string {
  const offsets = panels.map((_, i) => panels.slice(0, i).reduce((x, p) => x + (p.width ?? PANEL_W), 0));
  const width = panels.reduce((x, p) => x + (p.width ?? PANEL_W), 0);
  const height = PANEL_H + 4 + LEGEND_ROW * Math.max(0, ...panels.map((p) => p.series.length));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels.map((p, i) => renderPanel(p, offsets[i])),
    '</svg>',
    '',
  ].join('\n');
}

export const percent = (v: number) => `${Number((v * 100).toFixed(2))}%`;
