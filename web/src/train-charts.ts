// The train view's charts against seconds of training, one line per learning rule that trained
// here (loaded checkpoints have no curves): test accuracy for all of them, and the training loss
// in one chart per kind of loss, since Forward-Forward's sum of layer losses and cross-entropy
// measure different things and would only share an axis by accident. The charts are the CLI's
// (src/report/charts.ts), drawn live by the same library: new points replace the chart's data.

import { type Algorithm, LOSS_SMOOTHING } from '../../src/browser.js';
import { CHART_DATA, chartRows, chartSpec, type Panel, type Series } from '../../src/report/charts.js';
import { ALGORITHM_NAMES, LOOKS, SHARED_DEFAULTS } from './algorithms.js';
import { h } from './dom.js';
import type { CurvePoint, Session } from './sessions.js';

/** A chart in a captioned card; `wide` spans the row. */
function chartCard(title: string, note: string, label: string, wide = false) {
  // Vega labels the element it draws in as its own: the label sits on the one around it.
  const box = h('div');
  const element = h(
    'figure',
    { class: wide ? 'card chart wide' : 'card chart' },
    h('figcaption', {}, title, h('small', {}, note)),
    h('div', { class: 'chart-box', role: 'img', 'aria-label': label }, box),
  );
  return { box, element };
}

/** The kinds of loss the rules train with, each with the rules that use it, in the table's order. */
function lossKinds(): Map<string, Algorithm[]> {
  const kinds = new Map<string, Algorithm[]>();
  for (const name of ALGORITHM_NAMES) {
    const { loss } = LOOKS[name];
    kinds.set(loss, [...(kinds.get(loss) ?? []), name]);
  }
  return kinds;
}

const SMOOTHED_OVER = Math.round(1 / (1 - LOSS_SMOOTHING));
const PLOT_HEIGHT = 180;

const series = (session: Session, points: CurvePoint[]): Series => ({
  name: LOOKS[session.algorithm].title,
  rule: session.algorithm,
  points: points.map((p) => [p.seconds, p.value] as const),
});

// The chart library is most of the page's code: it loads once the page is idle (or with the
// first curve, if that comes first), so neither the first paint nor a training run waits for it.
type ChartLibrary = typeof import('../../src/report/vega.js');
let library: ChartLibrary | undefined;
let loading: Promise<ChartLibrary> | undefined;
const loadLibrary = () =>
  (loading ??= import('../../src/report/vega.js').then((loaded) => {
    library = loaded;
    return loaded;
  }));
/** Redrawing four SVG charts costs more than a frame: they follow the run a few times a second. */
const REDRAW_EVERY_MS = 250;

/**
 * One live chart: the view is built when its set of lines changes (the legend and colours are part
 * of the spec) and otherwise only handed the new points.
 */
function liveChart(box: HTMLElement, panel: Omit<Panel, 'series'>) {
  let view: InstanceType<ChartLibrary['View']> | undefined;
  let drawn = '';
  let waiting: Series[] | undefined;
  const draw = (lines: Series[]): void => {
    if (!library) {
      if (lines.length === 0) return;
      // Drawn once the library is here, with the newest lines.
      if (!waiting)
        void loadLibrary().then(() => {
          draw(waiting!);
          waiting = undefined;
        });
      waiting = lines;
      return;
    }
    const { compile, parse, View } = library;
    const names = lines.map((l) => l.name).join('\n');
    if (view && names === drawn) {
      void view.data(CHART_DATA, chartRows(lines)).runAsync();
      return;
    }
    view?.finalize();
    box.replaceChildren();
    drawn = names;
    view = undefined;
    if (lines.length === 0) return;
    const spec = chartSpec([{ ...panel, series: lines, width: 'container', height: PLOT_HEIGHT }]);
    view = new View(parse(compile(spec).spec), { renderer: 'svg', container: box, hover: true });
    void view.runAsync();
  };
  return {
    draw,
    resize(): void {
      if (view && box.clientWidth > 0) void view.signal('width', box.clientWidth).runAsync();
    },
  };
}

export function createTrainCharts() {
  const losses = [...lossKinds()].map(([loss, names]) => {
    const titles = names.map((n) => LOOKS[n].title).join(', ');
    const card = chartCard(
      `Training loss: ${loss}`,
      ` (${titles}; moving average over about ${SMOOTHED_OVER} batches)`,
      `Training loss (${loss}) against time: ${titles}`,
    );
    card.element.dataset.loss = loss;
    // A log scale: the loss falls by orders of magnitude over a run.
    const chart = liveChart(card.box, {
      xTitle: 'seconds of training',
      yTitle: 'loss (log scale)',
      yLog: true,
      xFromZero: true,
    });
    return { loss, element: card.element, chart };
  });
  const accuracy = chartCard(
    'Test accuracy',
    ` (${SHARED_DEFAULTS.evaluationsPerEpoch} evaluations per epoch)`,
    'Test accuracy against time, one line per learning rule',
    true,
  );
  const accuracyChart = liveChart(accuracy.box, {
    xTitle: 'seconds of training',
    yTitle: 'test accuracy',
    yFormat: 'percent',
    yMax: 1,
    xFromZero: true,
    dots: true,
  });
  const charts = [...losses.map((l) => l.chart), accuracyChart];
  const element = h('div', { class: 'charts' }, ...losses.map((l) => l.element), accuracy.element);
  requestIdleCallback(() => void loadLibrary());
  const redraw = (sessions: Session[]) => {
    const trained = sessions.filter((s) => !s.loaded);
    for (const { loss, chart } of losses)
      chart.draw(trained.filter((s) => LOOKS[s.algorithm].loss === loss).map((s) => series(s, s.loss)));
    accuracyChart.draw(trained.map((s) => series(s, s.accuracy)));
    element.classList.toggle('empty', trained.length === 0);
  };
  let latest: Session[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let drawnAt = -Infinity;
  return {
    element,
    /** Redraws every chart from the sessions that trained here, at most every REDRAW_EVERY_MS. */
    update(sessions: Session[]): void {
      latest = sessions;
      if (timer !== undefined) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          // Hidden since: the view's return calls update again.
          if (element.closest('[hidden]')) return;
          drawnAt = performance.now();
          redraw(latest);
        },
        Math.max(0, drawnAt + REDRAW_EVERY_MS - performance.now()),
      );
    },
    resize(): void {
      for (const chart of charts) chart.resize();
    },
  };
}
