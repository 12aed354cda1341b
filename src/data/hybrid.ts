// Hybrid images, the negative data of unsupervised Forward-Forward (Hinton 2022, section 3.2):
// two different digits mixed through a mask with large coherent regions, so a hybrid has the
// short-range statistics of a real image (strokes stay strokes) but not its long-range shape.
// The mask is a random bit image blurred with [1/4, 1/2, 1/4] along rows and columns several
// times, then thresholded at 0.5. Everything is drawn from the Rng given, so a seeded trainer
// makes the same negatives again after a resume.

import { ChainruleError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import { allocate, Tensor } from '../tensor/tensor.js';

/**
 * How many times the bit image is blurred in each direction. The paper says "repeatedly"; six
 * passes give regions a few pixels across on a 28x28 image (a single pass leaves it close to
 * salt and pepper, dozens leave one or two blobs, i.e. mostly one digit).
 */
export const HYBRID_BLUR_PASSES = 6;

/** One [1/4, 1/2, 1/4] pass along the rows or the columns, edge pixels repeated. */
function blurPass(
  image: Float64Array,
  height: number,
  width: number,
  along: 'rows' | 'columns',
): Float64Array {
  const out = new Float64Array(image.length);
  // A pass walks `lines` lines of `length` pixels, neighbours `step` apart; at an edge the
  // pixel itself stands in for its missing neighbour. (It runs twelve times per image per
  // step, so it indexes directly instead of clamping through a closure.)
  const [lines, length, step, lineStep] =
    along === 'rows' ? [height, width, 1, width] : [width, height, width, 1];
  for (let line = 0; line < lines; line++) {
    const start = line * lineStep;
    for (let k = 0; k < length; k++) {
      const at = start + k * step;
      const before = k > 0 ? at - step : at;
      const after = k < length - 1 ? at + step : at;
      out[at] = 0.25 * image[before] + 0.5 * image[at] + 0.25 * image[after];
    }
  }
  return out;
}

/**
 * The blurred random bit image before thresholding, [height·width] in [0, 1]: exposed so tests
 * can check its smoothness; hybridMask thresholds it.
 */
export function blurredBits(
  rng: Rng,
  height: number,
  width: number,
  passes = HYBRID_BLUR_PASSES,
): Float64Array {
  let image: Float64Array = Float64Array.from({ length: height * width }, () =>
    rng.uniform() < 0.5 ? 1 : 0,
  );
  for (let p = 0; p < passes; p++)
    image = blurPass(blurPass(image, height, width, 'rows'), height, width, 'columns');
  return image;
}

/** A 0/1 mask [height·width]: the blurred bit image thresholded at 0.5. */
export function hybridMask(rng: Rng, height: number, width: number, passes = HYBRID_BLUR_PASSES): Uint8Array {
  return Uint8Array.from(blurredBits(rng, height, width, passes), (v) => (v > 0.5 ? 1 : 0));
}

/** What hybridImages made: the images, and for each row the partner it was mixed with. */
export interface Hybrids {
  /** [batch, height·width]: mask·x[r] + (1 - mask)·x[partner[r]], a fresh mask per row. */
  images: Tensor;
  /** For each row, the row of the batch whose digit fills the mask's zeros. */
  partners: Int32Array;
  /** The masks, row after row [batch·height·width]. */
  masks: Uint8Array;
}

/**
 * A hybrid of each row of x [batch, height·width] with another row of the batch whose label
 * differs (drawn uniformly among those; any other row where the batch holds one class only).
 */
export function hybridImages(
  x: Tensor,
  labels: Int32Array,
  rng: Rng,
  image: { height: number; width: number },
): Hybrids {
  const [batch, features] = x.shape;
  const pixels = image.height * image.width;
  if (x.ndim !== 2 || features !== pixels || labels.length !== batch)
    throw new ChainruleError(
      `hybrid images: need [batch, ${pixels}] images with one label each, got [${x.shape.join(', ')}] and ${labels.length} labels`,
    );
  if (batch < 2)
    throw new ChainruleError('hybrid images mix two images of a minibatch: use a batch size of 2 or more');
  const out = allocate(x.dtype, x.size);
  const partners = new Int32Array(batch);
  const masks = new Uint8Array(batch * pixels);
  for (let r = 0; r < batch; r++) {
    const others: number[] = [];
    for (let s = 0; s < batch; s++) if (labels[s] !== labels[r]) others.push(s);
    partners[r] = others.length > 0 ? others[rng.int(others.length)] : (r + 1 + rng.int(batch - 1)) % batch;
    const mask = hybridMask(rng, image.height, image.width);
    masks.set(mask, r * pixels);
    const a = r * pixels;
    const b = partners[r] * pixels;
    for (let p = 0; p < pixels; p++) out[a + p] = mask[p] ? x.data[a + p] : x.data[b + p];
  }
  return { images: new Tensor(out, [batch, pixels]), partners, masks };
}
