// Batches of examples as tensors: x float32 [batch, rows*cols] (or images [batch, 1, rows, cols])
// and y int32 [batch]. Training loaders may shift each image by a few pixels, seeded per epoch.
// Pixels map to inputs through a Normalization fitted once on the training split and then given
// to every loader (train, test, a single PNG to classify) and saved with the checkpoint, so all
// inputs a model ever sees are scaled the same way.

import { ChainruleError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Split } from './split.js';

export type NormalizeKind = 'standardize' | 'unit' | 'none';

/**
 * How a pixel byte p becomes an input: (p/255 - mean) / std for 'standardize' and 'unit'
 * ('unit' has mean 0 and std 1, so inputs lie in [0, 1]); p itself for 'none'.
 * A plain object, so it can be stored as JSON in checkpoint metadata.
 */
export interface Normalization {
  readonly kind: NormalizeKind;
  readonly mean: number;
  readonly std: number;
}

const UNIT_NORMALIZATION: Normalization = Object.freeze({ kind: 'unit', mean: 0, std: 1 });
const NO_NORMALIZATION: Normalization = Object.freeze({ kind: 'none', mean: 0, std: 1 });

/** Mean and standard deviation of pixel/255 over every pixel of the split (MNIST train: 0.1307, 0.3081). */
export function datasetStats(split: Split): { mean: number; std: number } {
  const histogram = new Float64Array(256);
  const images = split.images;
  for (let i = 0; i < images.length; i++) histogram[images[i]]++;
  // In whole pixel values the sum is exact, so constant images get exactly zero spread.
  let sum = 0;
  for (let v = 0; v < 256; v++) sum += histogram[v] * v;
  const mean = sum / images.length;
  let squares = 0;
  for (let v = 0; v < 256; v++) squares += histogram[v] * (v - mean) ** 2;
  return { mean: mean / 255, std: Math.sqrt(squares / images.length) / 255 };
}

/** The normalization of the given kind; 'standardize' takes its statistics from `train`. */
export function fitNormalization(kind: NormalizeKind, train: Split): Normalization {
  if (kind === 'unit') return UNIT_NORMALIZATION;
  if (kind === 'none') return NO_NORMALIZATION;
  if (kind !== 'standardize') {
    throw new ChainruleError(`unknown normalization '${kind as string}': use standardize, unit or none`);
  }
  const { mean, std } = datasetStats(train);
  if (!(std > 0)) {
    throw new ChainruleError(
      "cannot standardize: every pixel of the training split has the same value (std 0); use 'unit'",
    );
  }
  return Object.freeze({ kind, mean, std });
}

/** Checks a normalization read back from a file (e.g. checkpoint metadata); `source` names the file. */
export function parseNormalization(value: unknown, source: string): Normalization {
  const n = value as Partial<Normalization> | null;
  const valid =
    typeof n === 'object' &&
    n !== null &&
    (n.kind === 'standardize' || n.kind === 'unit' || n.kind === 'none') &&
    typeof n.mean === 'number' &&
    Number.isFinite(n.mean) &&
    typeof n.std === 'number' &&
    Number.isFinite(n.std) &&
    n.std > 0;
  if (!valid) {
    throw new ChainruleError(
      `${source}: invalid normalization ${JSON.stringify(value)}; expected {"kind": "standardize" | "unit" | ` +
        '"none", "mean": number, "std": positive number}; re-save the checkpoint',
    );
  }
  return Object.freeze({ kind: n.kind!, mean: n.mean!, std: n.std! });
}

/** The input value of each of the 256 pixel bytes. */
function pixelTable(normalization: Normalization): Float32Array {
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++) {
    table[p] = normalization.kind === 'none' ? p : (p / 255 - normalization.mean) / normalization.std;
  }
  return table;
}

/** Pixel bytes (e.g. one image to classify) as inputs under `normalization`. */
export function normalizePixels(pixels: ArrayLike<number>, normalization: Normalization): Float32Array {
  const table = pixelTable(normalization);
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]];
  return out;
}

export interface Batch {
  /** float32 [batch, rows*cols], or [batch, 1, rows, cols] with the images option */
  x: Tensor;
  /** int32 [batch] class indices */
  y: Tensor;
}

export interface DataLoaderOptions {
  batchSize: number;
  /** Visit the examples in a fresh seeded order each epoch (default false: file order). */
  shuffle?: boolean;
  /** Seed of the shuffled orders (default 0). Epoch e of a given seed always has the same order. */
  seed?: number;
  /** Fit it on the training split with fitNormalization and pass the same object to every loader. */
  normalize?: Normalization | 'unit' | 'none';
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Use only the first `limit` examples of the split. */
  limit?: number;
  /** Give x as images [batch, 1, rows, cols] (for convolutions) instead of rows [batch, rows*cols]. */
  images?: boolean;
  /**
   * Shift each image by a random whole number of pixels in [-maxShift, maxShift] along each
   * axis, filling with the background (pixel 0), as the Forward-Forward paper's jitter of up
   * to 2 pixels (default 0: no shifts). Seeded by `seed` and the epoch, like the order.
   */
  maxShift?: number;
}

/**
 * Iterating a loader runs one epoch and advances `epoch`, so successive `for...of` loops see
 * successive shuffles; `batches(e)` replays epoch e, and setting `epoch` resumes a run.
 */
export class DataLoader implements Iterable<Batch> {
  readonly split: Split;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly normalization: Normalization;
  readonly dropLast: boolean;
  /** Examples used per epoch. */
  readonly count: number;
  readonly images: boolean;
  readonly maxShift: number;
  /** The epoch the next iteration runs. */
  epoch = 0;
  private readonly table: Float32Array;

  constructor(split: Split, options: DataLoaderOptions) {
    const { batchSize, limit } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ChainruleError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new ChainruleError(`DataLoader: limit must be a positive integer, got ${limit}`);
    }
    const maxShift = options.maxShift ?? 0;
    const smallestSide = Math.min(split.rows, split.cols);
    if (!Number.isInteger(maxShift) || maxShift < 0 || (maxShift > 0 && maxShift >= smallestSide)) {
      throw new ChainruleError(
        `DataLoader: maxShift must be an integer from 0 to ${smallestSide - 1} pixels (the images are ` +
          `${split.rows}x${split.cols}), got ${maxShift}`,
      );
    }
    this.split = split;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 0;
    this.normalization = resolveNormalization(options.normalize ?? 'unit');
    this.dropLast = options.dropLast ?? false;
    this.images = options.images ?? false;
    this.maxShift = maxShift;
    this.count = Math.min(limit ?? split.count, split.count);
    this.table = pixelTable(this.normalization);
    if (this.count === 0) throw new ChainruleError('DataLoader: the split holds no examples');
    if (this.length === 0) {
      throw new ChainruleError(
        `DataLoader: ${this.count} examples make no full batch of ${batchSize} and dropLast is set; ` +
          'lower the batch size or raise the limit',
      );
    }
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.count / this.batchSize) : Math.ceil(this.count / this.batchSize);
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.batches(this.epoch++);
  }

  /** The order in which epoch `epoch` visits the examples. */
  order(epoch: number): Int32Array {
    if (this.shuffle) return new Rng(epochSeed(this.seed, epoch)).permutation(this.count);
    const identity = new Int32Array(this.count);
    for (let i = 0; i < identity.length; i++) identity[i] = i;
    return identity;
  }

  *batches(epoch: number): Generator<Batch> {
    const order = this.order(epoch);
    const { images, labels, rows, cols } = this.split;
    const pixels = rows * cols;
    const table = this.table;
    const shifts = this.maxShift > 0 ? new Rng(epochSeed(this.seed ^ SHIFT_STREAM, epoch)) : null;
    const span = 2 * this.maxShift + 1;
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize;
      const size = Math.min(this.batchSize, this.count - start);
      const x = new Float32Array(size * pixels);
      const y = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const example = order[start + i];
        const from = example * pixels;
        const to = i * pixels;
        if (shifts) {
          const down = shifts.int(span) - this.maxShift;
          const right = shifts.int(span) - this.maxShift;
          shiftImage(images, from, x, to, rows, cols, down, right, table);
        } else {
          for (let p = 0; p < pixels; p++) x[to + p] = table[images[from + p]];
        }
        y[i] = labels[example];
      }
      const shape = this.images ? [size, 1, rows, cols] : [size, pixels];
      yield { x: new Tensor(x, shape), y: new Tensor(y, [size]) };
    }
  }
}

/** Separates the shifts' random stream from the shuffles' for the same seed. */
const SHIFT_STREAM = 0x5f3759df;

/**
 * Writes the rows x cols image at images[from] into x[to], moved `down` rows and `right`
 * columns (negative: up, left); uncovered pixels get the background, pixel value 0.
 */
function shiftImage(
  images: Uint8Array,
  from: number,
  x: Float32Array,
  to: number,
  rows: number,
  cols: number,
  down: number,
  right: number,
  table: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const source = r - down;
    for (let c = 0; c < cols; c++) {
      const column = c - right;
      const inside = source >= 0 && source < rows && column >= 0 && column < cols;
      x[to + r * cols + c] = table[inside ? images[from + source * cols + column] : 0];
    }
  }
}

function resolveNormalization(normalize: Normalization | 'unit' | 'none' | 'standardize'): Normalization {
  if (normalize === 'unit') return UNIT_NORMALIZATION;
  if (normalize === 'none') return NO_NORMALIZATION;
  if (normalize === 'standardize') {
    throw new ChainruleError(
      "DataLoader: 'standardize' needs the training split's statistics: pass " +
        "fitNormalization('standardize', dataset.train) to the train and the test loader alike",
    );
  }
  return parseNormalization(normalize, 'DataLoader normalize option');
}

/** Murmur3's finalizer: spreads every input bit over the whole word. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed per (seed, epoch) pair, so no epoch of one seed repeats an epoch of a neighbouring seed. */
function epochSeed(seed: number, epoch: number): number {
  return mix32(seed ^ mix32(epoch + 0x6a09e667));
}
