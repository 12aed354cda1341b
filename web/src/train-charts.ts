// The train view's two charts: training loss and test accuracy against seconds of training,
// one line per learning rule that trained here (loaded checkpoints have no curves).

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
import { LOOKS, SHARED_DEFAULTS } from './algorithms.js';
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
          ticks: { callback: (v) => yFormat(Number(v)) },
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

export function createTrainCharts() {
  const lossCanvas = h('canvas', {
    role: 'img',
    'aria-label': 'Training loss against time, one line per learning rule',
  });
  const accuracyCanvas = h('canvas', {
    role: 'img',
    'aria-label': 'Test accuracy against time, one line per learning rule',
  });
  const element = h(
    'div',
    { class: 'charts' },
    h(
      'figure',
      { class: 'card chart' },
      h('figcaption', {}, 'Training loss', h('small', {}, ' (mean over the epoch so far)')),
      h('div', { class: 'chart-box' }, lossCanvas),
    ),
    h(
      'figure',
      { class: 'card chart' },
      h(
        'figcaption',
        {},
        'Test accuracy',
        h('small', {}, ` (${SHARED_DEFAULTS.evaluationsPerEpoch} evaluations per epoch)`),
      ),
      h('div', { class: 'chart-box' }, accuracyCanvas),
    ),
  );
  // Each learning rule has its own loss (Forward-Forward sums one per layer), so a log scale shows them all.
  const lossChart = lineChart(lossCanvas, 'loss (log scale)', (v) => String(Number(v.toPrecision(2))), {
    type: 'logarithmic',
  });
  const accuracyChart = lineChart(accuracyCanvas, 'test accuracy', (v) => percent(v, 0), {
    type: 'linear',
    max: 1,
  });
  return {
    element,
    /** Redraws both charts from the sessions that trained here. */
    update(sessions: Session[]): void {
      const trained = sessions.filter((s) => !s.loaded);
      lossChart.data.datasets = trained.map((s) => dataset(s, s.loss, false));
      accuracyChart.data.datasets = trained.map((s) => dataset(s, s.accuracy, true));
      lossChart.update('none');
      accuracyChart.update('none');
      element.classList.toggle('empty', trained.length === 0);
    },
    resize(): void {
      lossChart.resize();
      accuracyChart.resize();
    },
  };
}
