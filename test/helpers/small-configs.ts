// Every learning rule at a tiny size, for tests that build and step all of them quickly.

import type { Algorithm } from '../../src/learn/registry.js';

/** Each rule's config with hidden layers of `width` units (lg-fg-a's groups must divide it). */
export function smallConfigs(width: number): Record<Algorithm, object> {
  const one = { hidden: [width] };
  const two = { hidden: [width, width] };
  return {
    bp: one,
    // Fully connected, so the locally connected preset takes these widths too.
    ff: { ...two, receptiveFields: null },
    fg: one,
    'fg-a': two,
    'lg-bp': two,
    'lg-fg-w': two,
    'lg-fg-a': { ...two, groups: 4 },
    fa: two,
    dfa: two,
    'ff-recurrent': two,
  };
}
