// How a rule writes its presets: what each is for, its configuration, and the run it was made for.

import type { NormalizeKind } from '../../data/loader.js';
import type { RulePreset } from '../types.js';

/** A preset whose run trains `epochs` epochs of `batchSize` examples, on standardised inputs unless told. */
export const preset = <C>(
  summary: string,
  config: C,
  run: { epochs: number; batchSize: number; normalization?: NormalizeKind; maxShift?: number },
): RulePreset<C> => ({ summary, config, run: { normalization: 'standardize', ...run } });
