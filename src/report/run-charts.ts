// The charts of the CLI's runs, as panels: a training run's curves by epoch (train's curves.svg,
// and `chainrule plot` over one or more metrics.jsonl files) and compare's test accuracy against
// training time (compare.svg, and `chainrule plot` over a compare.json).

import type { Algorithm } from '../learn/registry.js';
import type { Panel } from './charts.js';

export interface RunCurves {
  /** The legend's name for the run: its rule and model. */
  label: string;
  rule?: Algorithm;
  /** Accuracies are null on epochs that were not evaluated: those points are left out. */
  history: readonly {
    epoch: number;
    trainLoss: number;
    trainAccuracy: number | null;
    testAccuracy: number | null;
  }[];
}

/** Loss and accuracy by epoch: train and test accuracy for one run, test accuracy for several. */
export function runPanels(runs: readonly RunCurves[]): Panel[] {
  const loss: Panel = {
    title: 'Training loss',
    xTitle: 'epoch',
    yTitle: 'loss (log scale)',
    yLog: true,
    series: runs.map((r) => ({
      name: r.label,
      rule: r.rule,
      points: r.history.map((m) => [m.epoch, m.trainLoss]),
    })),
  };
  const evaluated = (r: RunCurves, accuracy: 'trainAccuracy' | 'testAccuracy') =>
    r.history.flatMap((m) => (m[accuracy] === null ? [] : [[m.epoch, m[accuracy]] as const]));
  const accuracySeries =
    runs.length === 1
      ? [
          { name: 'train', points: evaluated(runs[0], 'trainAccuracy') },
          { name: 'test', points: evaluated(runs[0], 'testAccuracy') },
        ]
      : runs.map((r) => ({ name: r.label, rule: r.rule, points: evaluated(r, 'testAccuracy') }));
  const title = runs.length === 1 ? 'Accuracy' : 'Test accuracy';
  // A dot on each epoch while they are few enough to tell apart (and a one-epoch run shows).
  const dots = runs.every((r) => r.history.length <= 30);
  return [
    { ...loss, dots },
    { title, xTitle: 'epoch', yTitle: 'accuracy', yFormat: 'percent', series: accuracySeries, dots },
  ];
}

export interface CompareCurve {
  algorithm: Algorithm;
  model: string;
  curve: readonly (readonly [number, number])[];
}

/** Test accuracy against training time, one line per rule. */
export const comparePanels = (dataset: string, rows: readonly CompareCurve[]): Panel[] => [
  {
    title: `Test accuracy against training time (${dataset})`,
    width: 640,
    xTitle: 'training time (s)',
    yTitle: 'test accuracy',
    yFormat: 'percent',
    xFromZero: true,
    dots: true,
    series: rows.map((r) => ({ name: `${r.algorithm}: ${r.model}`, rule: r.algorithm, points: r.curve })),
  },
];
