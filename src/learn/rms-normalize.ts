// FF's length normalisation between layers, in its own module: the model builders of both the
// feed-forward and the recurrent FF nets use it, and models.ts imports the recurrent one's, so
// keeping it in models.ts made the two modules import each other (whichever a bundle loads
// first then sees the other uninitialised).

import { rmsNormalize as rmsNormalizeRows } from '../ops/rows.js';
import type { Tensor } from '../tensor/tensor.js';

/** Added to the root mean square before dividing, so an all-zero activity stays zero. */
const RMS_EPSILON = 1e-8;

/** Each row divided by its root mean square: only the direction of the activity passes on. */
export function rmsNormalize(h: Tensor): Tensor {
  return rmsNormalizeRows(h, RMS_EPSILON);
}
