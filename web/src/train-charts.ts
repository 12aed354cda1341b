// The train view's charts against seconds of training, one line per learning rule that trained
// here (loaded checkpoints have no curves): test accuracy for all of them, and the training loss
// in one chart per kind of loss, since Forward-Forward's sum of layer losses and cross-entropy
// measure different things and would only share an axis by accident.

import {
  CategoryScale,
  Chart,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import { type Algorithm, LOSS_SMOOTHING } from '../../src/browser.js';
import { ALGORITHM_NAMES, LOOKS, SHARED_DEFAULTS } from './algorithms.js';
import { h, percent } from './dom.js';
import type { CurvePoint, Session } from './sessions.js';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  CategoryScale,
  Legend,
  Tooltip,
);

/** 1, 2, 3 or 5 times a power of ten: the log axis labels these, so its ticks never crowd. */
function isRoundOnLog(v: number): boolean {
  const mantissa = Number((v / 10 ** Math.floor(Math.log10(v))).toPrecision(3));
  return [1, 2, 3, 5].includes(mantissa);
}

function lineChart(
  canvas: HTMLCanvasElement,
  yTitle: string,
  yFormat: (v: number) => string,
  y: { type: 'linear' | 'logarithmic'; min?: number; max?: number },
) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'seconds of training' } },
        y: {
          ...y,
          title: { display: true, text: yTitle },
          ticks: {
            callback: (v) => (y.type === 'linear' || isRoundOnLog(Number(v)) ? yFormat(Number(v)) : ''),
          },
        },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${yFormat(item.parsed.y ?? 0)}` } },
      },
    },
  });
}

function dataset(
  session: Session,
  points: CurvePoint[],
  dots: boolean,
): ChartDataset<'line', { x: number; y: number }[]> {
  const look = LOOKS[session.algorithm];
  return {
    label: look.title,
    data: points.map((p) => ({ x: p.seconds, y: p.value })),
    borderColor: look.color,
    backgroundColor: look.color,
    borderWidth: 2,
    pointRadius: dots ? 3 : 0,
  };
}

/** A chart in a captioned card; `wide` spans the row. */
function chartCard(title: string, note: string, label: string, wide = false) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const element = h(
    'figure',
    { class: wide ? 'card chart wide' : 'card chart' },
    h('figcaption', {}, title, h('small', {}, note)),
    h('div', { class: 'chart-box' }, canvas),
  );
  return { canvas, element };
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
    const chart = lineChart(card.canvas, 'loss (log scale)', (v) => String(Number(v.toPrecision(2))), {
      type: 'logarithmic',
    });
    return { loss, element: card.element, chart };
  });
  const accuracy = chartCard(
    'Test accuracy',
    ` (${SHARED_DEFAULTS.evaluationsPerEpoch} evaluations per epoch)`,
    'Test accuracy against time, one line per learning rule',
    true,
  );
  const accuracyChart = lineChart(accuracy.canvas, 'test accuracy', (v) => percent(v, 0), {
    type: 'linear',
    max: 1,
  });
  const charts = [...losses.map((l) => l.chart), accuracyChart];
  const element = h('div', { class: 'charts' }, ...losses.map((l) => l.element), accuracy.element);
  return {
    element,
    /** Redraws every chart from the sessions that trained here. */
    update(sessions: Session[]): void {
      const trained = sessions.filter((s) => !s.loaded);
      for (const { loss, chart } of losses) {
        chart.data.datasets = trained
          .filter((s) => LOOKS[s.algorithm].loss === loss)
          .map((s) => dataset(s, s.loss, false));
      }
      accuracyChart.data.datasets = trained.map((s) => dataset(s, s.accuracy, true));
      for (const chart of charts) chart.update('none');
      element.classList.toggle('empty', trained.length === 0);
    },
    resize(): void {
      for (const chart of charts) chart.resize();
    },
  };
}
