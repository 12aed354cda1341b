// How the playground presents each learning rule: its name, colour, and settings small enough
// for a run in a browser tab to take well under a minute.

import { ALGORITHMS, type Algorithm } from '../../src/browser.js';
import { DEFAULT_TRAIN_EXAMPLES } from './mnist-files.js';
import type { TrainSettings } from './protocol.js';

export interface AlgorithmLook {
  title: string;
  /** What it is, from the library's own list. */
  summary: string;
  color: string;
  /** Whether it trains a stack of hidden layers (a list of widths) or the one-hidden-layer seed network. */
  layers: 'one' | 'many';
  defaults: Pick<TrainSettings, 'epochs' | 'batchSize' | 'lr' | 'hidden'>;
}

export const LOOKS: Record<Algorithm, AlgorithmLook> = {
  bp: {
    title: 'Backprop',
    summary: ALGORITHMS.bp,
    color: '#2563c9',
    layers: 'one',
    defaults: { epochs: 2, batchSize: 64, lr: 1e-2, hidden: [256] },
  },
  ff: {
    title: 'Forward-Forward',
    summary: ALGORITHMS.ff,
    color: '#d9731a',
    layers: 'many',
    defaults: { epochs: 2, batchSize: 100, lr: 1e-3, hidden: [256, 256] },
  },
  fg: {
    title: 'Forward gradient',
    summary: ALGORITHMS.fg,
    color: '#1f9254',
    layers: 'many',
    defaults: { epochs: 1, batchSize: 64, lr: 3e-3, hidden: [32] },
  },
};

export const ALGORITHM_NAMES = Object.keys(LOOKS) as Algorithm[];

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
