// How the playground presents each learning rule: its name and colour. What it is and its
// settings come from the library's rule descriptors: the form starts from each rule's 'quick'
// preset, made for a run in a browser tab to take well under a minute.

import { ALGORITHMS, type Algorithm, rule } from '../../src/browser.js';
import { DEFAULT_TRAIN_EXAMPLES } from './mnist-files.js';
import type { TrainSettings } from './protocol.js';

/** The preset the playground trains with; the form's fields override its settings. */
export const PLAYGROUND_PRESET = 'quick';

export interface AlgorithmLook {
  title: string;
  /** What it is, from the rule's descriptor. */
  summary: string;
  color: string;
  defaults: Pick<TrainSettings, 'epochs' | 'batchSize' | 'lr' | 'hidden'>;
}

const COLORS: Record<Algorithm, { title: string; color: string }> = {
  bp: { title: 'Backprop', color: '#2563c9' },
  ff: { title: 'Forward-Forward', color: '#d9731a' },
  fg: { title: 'Forward gradient', color: '#1f9254' },
  'fg-a': { title: 'Activity-perturbed FG', color: '#2f9e8f' },
  'lg-bp': { title: 'Local losses, backprop', color: '#6b5bd2' },
  'lg-fg-w': { title: 'Local losses, FG weights', color: '#8f6b2f' },
  'lg-fg-a': { title: 'Local losses, FG activities', color: '#b0407a' },
  fa: { title: 'Feedback alignment', color: '#5a7d1e' },
  dfa: { title: 'Direct feedback alignment', color: '#c43d3d' },
};

function look(name: Algorithm): AlgorithmLook {
  const r = rule(name);
  const { config, run } = r.presets[PLAYGROUND_PRESET];
  const { hidden, lr } = config as { hidden: number[]; lr: number };
  return {
    ...COLORS[name],
    summary: r.summary,
    defaults: { epochs: run.epochs, batchSize: run.batchSize, lr, hidden },
  };
}

export const LOOKS = Object.fromEntries(ALGORITHMS.map((name) => [name, look(name)])) as Record<
  Algorithm,
  AlgorithmLook
>;

export const ALGORITHM_NAMES = ALGORITHMS;

/** Settings every learning rule of one comparison shares. */
export const SHARED_DEFAULTS: Pick<
  TrainSettings,
  'trainExamples' | 'testExamples' | 'seed' | 'evaluationsPerEpoch'
> = {
  trainExamples: DEFAULT_TRAIN_EXAMPLES,
  testExamples: 2000,
  seed: 0,
  evaluationsPerEpoch: 4,
};
