// The papers' tables that `chainrule reproduce` runs, as data: each row names the paper's
// figure and the rule, preset and inference mode that reproduce it. A row's training settings
// live in its preset (one source of truth), so the lead tunes a preset and the table follows.

import type { Algorithm } from '../learn/registry.js';

/** A paper's test error on MNIST, as a fraction, or the range it reports for a family of rows. */
export type PaperFigure = number | readonly [low: number, high: number];

export interface ReproduceRow {
  /** The row's name on the command line (--row NAME) and its directory under --out. */
  name: string;
  /** The paper's setting, in a few words, for the table. */
  setting: string;
  /** The paper's test error. */
  paper: PaperFigure;
  rule: Algorithm;
  preset: string;
  /**
   * The paper's epochs, which the preset must run (test/reproduce.test.ts checks it); absent
   * where our budget is not the paper's, and the preset's epochs are the row's.
   */
  epochs?: number;
  /** The inference mode the row's testError is read by: the preset's (checked by the test). */
  inference: string;
  /**
   * Evaluate after every this many epochs (and the first and last) instead of each: goodness
   * inference scores every label in turn, and over the test set and 10,000 training examples
   * it costs a third to a half of an epoch of training.
   */
  evalEvery?: number;
}

export interface ReproduceTable {
  name: string;
  /** The paper, for the table's heading. */
  source: string;
  rows: readonly ReproduceRow[];
}

const ff = (
  name: string,
  setting: string,
  paper: number,
  epochs: number,
  inference: 'goodness' | 'softmax',
  evalEvery?: number,
): ReproduceRow => ({ name, setting, paper, rule: 'ff', preset: name, epochs, inference, evalEvery });

/** Hinton, "The Forward-Forward Algorithm" (arXiv 2212.13345), section 3: MNIST, permutation-invariant unless noted. */
const FF_PAPER: ReproduceTable = {
  name: 'ff-paper',
  source: 'Hinton 2022, The Forward-Forward Algorithm (arXiv 2212.13345), MNIST test error',
  rows: [
    ff('supervised', 'label in the first 10 pixels, 4 x 2000 ReLU', 0.0136, 60, 'goodness'),
    // The supervised row ran before evaluations could be spaced: it evaluated every epoch.
    ff('supervised-fast', 'the same, learning rate doubled', 0.0146, 40, 'goodness', 5),
    ff(
      'unsupervised',
      'hybrid-image negatives, linear softmax on the last three layers',
      0.0137,
      100,
      'softmax',
    ),
    ff(
      'unsupervised-local',
      'unsupervised with locally connected layers (local receptive fields, no weight sharing)',
      0.0116,
      60,
      'softmax',
    ),
    {
      name: 'recurrent',
      setting: 'top-down recurrence over a static video, 8 damped steps, goodness over steps 3-5',
      paper: 0.0131,
      rule: 'ff-recurrent',
      preset: 'default',
      epochs: 60,
      inference: 'goodness',
      evalEvery: 5,
    },
    ff('jittered', 'supervised, images shifted up to 2 pixels (25 shifts)', 0.0064, 500, 'goodness', 10),
  ],
};

const ren = (name: Algorithm, setting: string, paper: PaperFigure, inference = 'logits'): ReproduceRow => ({
  name,
  setting,
  paper,
  rule: name,
  preset: 'default',
  inference,
});

/**
 * Ren, Kornblith, Liao, Hinton, "Scaling Forward Gradient With Local Losses" (ICLR 2023),
 * Table 3, the small network (S/1/1), MNIST test error; FA and DFA as the range they report.
 */
const FG_LOCAL: ReproduceTable = {
  name: 'fg-local',
  source: 'Ren et al. 2023, Scaling Forward Gradient With Local Losses (ICLR), MNIST test error, small net',
  rows: [
    ren('bp', 'backprop', 0.0266),
    ren('lg-bp', 'local-greedy backprop', 0.0243),
    ren('fg', 'FG-W, weight perturbation', 0.0925),
    ren('fg-a', 'FG-A, activity perturbation', 0.0324),
    ren('lg-fg-w', 'LG-FG-W, local losses', 0.0925),
    ren('lg-fg-a', 'LG-FG-A, local losses', 0.0324),
    ren('fa', 'feedback alignment', [0.028, 0.033]),
    ren('dfa', 'direct feedback alignment', [0.028, 0.033]),
  ],
};

export const REPRODUCE_TABLES: Record<string, ReproduceTable> = {
  [FF_PAPER.name]: FF_PAPER,
  [FG_LOCAL.name]: FG_LOCAL,
};
