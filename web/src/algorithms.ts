// How the playground presents each learning rule: its name and colour (the CLI's charts' colour). What it is and its
// settings come from the library's rule descriptors: the form starts from each rule's 'quick'
// preset, made for a run in a browser tab to take well under a minute.

import { ALGORITHMS, type Algorithm, RULE_COLORS, rule } from '../../src/browser.js';
import { DEFAULT_TRAIN_EXAMPLES } from './mnist-files.js';
import type { TrainSettings } from './protocol.js';

/** The preset the playground trains with; the form's fields override its settings. */
export const PLAYGROUND_PRESET = 'quick';

export interface AlgorithmLook {
  title: string;
  /** What it is, from the rule's descriptor. */
  summary: string;
  /** What its training loss is, from the descriptor: the loss chart it is drawn in. */
  loss: string;
  color: string;
  defaults: Pick<TrainSettings, 'epochs' | 'batchSize' | 'lr' | 'hidden'>;
}

const TITLES: Record<Algorithm, string> = {
  bp: 'Backprop',
  ff: 'Forward-Forward',
  fg: 'Forward gradient',
  'fg-a': 'Activity-perturbed FG',
  'lg-bp': 'Local losses, backprop',
  'lg-fg-w': 'Local losses, FG weights',
  'lg-fg-a': 'Local losses, FG activities',
  fa: 'Feedback alignment',
  dfa: 'Direct feedback alignment',
  'ff-recurrent': 'Recurrent Forward-Forward',
};

function look(name: Algorithm): AlgorithmLook {
  const r = rule(name);
  const { config, run } = r.presets[PLAYGROUND_PRESET];
  const { hidden, lr } = config as { hidden: number[]; lr: number };
  return {
    title: TITLES[name],
    color: RULE_COLORS[name],
    summary: r.summary,
    loss: r.loss,
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
