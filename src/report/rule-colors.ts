// One colour per learning rule, for every chart that draws rules side by side: the CLI's SVGs
// and the playground's charts take theirs from here.

import type { Algorithm } from '../learn/registry.js';

export const RULE_COLORS: Record<Algorithm, string> = {
  bp: '#2563c9',
  ff: '#d9731a',
  fg: '#1f9254',
  'fg-a': '#2f9e8f',
  'lg-bp': '#6b5bd2',
  'lg-fg-w': '#8f6b2f',
  'lg-fg-a': '#b0407a',
  fa: '#5a7d1e',
  dfa: '#c43d3d',
  'ff-recurrent': '#a0522d',
};
