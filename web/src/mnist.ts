// MNIST in the page: the gzipped IDX files the build serves (mnist-files.ts), decompressed by the
// browser and checked by the library's own IDX parser. Each file is fetched once per page.

import { DATASET_CLASSES, type IdxArray, parseIdx, type Split, splitFromIdx } from '../../src/browser.js';
import { type Attrs, h } from './dom.js';
import { filesFor, MNIST_FILES } from './mnist-files.js';
import { MNIST_SIDE } from './mnist-image.js';

const downloads = new Map<string, Promise<IdxArray>>();

async function download(path: string): Promise<IdxArray> {
  const response = await fetch(new URL(path, document.baseURI));
  if (!response.ok || !response.body) {
    throw new Error(
      `could not download ${path} (HTTP ${response.status}): serve the app built by npm run build:web`,
    );
  }
  const inflated = response.body.pipeThrough(new DecompressionStream('gzip'));
  return parseIdx(new Uint8Array(await new Response(inflated).arrayBuffer()), path);
}

function idxFile(path: string): Promise<IdxArray> {
  let pending = downloads.get(path);
  if (!pending) {
    pending = download(path);
    // A failed download may be retried.
    pending.catch(() => downloads.delete(path));
    downloads.set(path, pending);
  }
  return pending;
}

/** Every file, in order; `onProgress` hears how many have arrived. */
function idxFiles(paths: string[], onProgress: (done: number, total: number) => void): Promise<IdxArray[]> {
  let done = 0;
  onProgress(0, paths.length);
  return Promise.all(
    paths.map((path) =>
      idxFile(path).then((idx) => {
        onProgress(++done, paths.length);
        return idx;
      }),
    ),
  );
}

const CLASSES = DATASET_CLASSES.mnist.length;

/** The first `count` examples of a split. */
function firstOf(split: Split, count: number): Split {
  const n = Math.min(count, split.count);
  const pixels = split.rows * split.cols;
  return { ...split, count: n, images: split.images.slice(0, n * pixels), labels: split.labels.slice(0, n) };
}

function concatenate(parts: IdxArray[]): IdxArray {
  const total = parts.reduce((sum, p) => sum + p.data.length, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    data.set(part.data as Uint8Array, offset);
    offset += part.data.length;
  }
  const [, rows, cols] = parts[0].shape;
  return { dtype: 'uint8', shape: [parts.reduce((sum, p) => sum + p.shape[0], 0), rows, cols], data };
}

function testSplit(images: IdxArray, labels: IdxArray, count: number): Split {
  const split = splitFromIdx(
    { idx: images, source: MNIST_FILES.testImages },
    { idx: labels, source: MNIST_FILES.testLabels },
    CLASSES,
  );
  return firstOf(split, count);
}

/** The first `count` test examples. */
export async function loadTestSplit(
  count: number,
  onProgress: (done: number, total: number) => void,
): Promise<Split> {
  const [images, labels] = await idxFiles([MNIST_FILES.testImages, MNIST_FILES.testLabels], onProgress);
  return testSplit(images, labels, count);
}

export interface MnistSubset {
  train: Split;
  test: Split;
}

/**
 * The first `trainCount` training and `testCount` test examples, as compact copies (cheap to
 * send to workers). `onProgress` hears how many of the needed files have arrived.
 */
export async function loadMnist(
  trainCount: number,
  testCount: number,
  onProgress: (done: number, total: number) => void,
): Promise<MnistSubset> {
  const [testImages, testLabels, trainLabels, ...trainImages] = await idxFiles(
    filesFor(trainCount),
    onProgress,
  );
  const images = concatenate(trainImages);
  const count = images.shape[0];
  const labels: IdxArray = { dtype: 'uint8', shape: [count], data: trainLabels.data.subarray(0, count) };
  const train = splitFromIdx(
    { idx: images, source: 'MNIST training images' },
    { idx: labels, source: MNIST_FILES.trainLabels },
    CLASSES,
  );
  return { train: firstOf(train, trainCount), test: testSplit(testImages, testLabels, testCount) };
}

/** The first `count` test examples, downloaded on the first call (and again after a failure). */
export function testSplitOnce(count: number): () => Promise<Split> {
  let pending: Promise<Split> | null = null;
  return () => {
    if (!pending) {
      pending = loadTestSplit(count, () => {});
      pending.catch(() => {
        pending = null;
      });
    }
    return pending;
  };
}

/** The pixel bytes of example `index`. */
export function imageOf(split: Split, index: number): Uint8Array {
  const pixels = split.rows * split.cols;
  return split.images.subarray(index * pixels, (index + 1) * pixels);
}

/** A digit's 28x28 pixel bytes drawn `zoom` times larger, dark ink on white as the page shows them. */
export function digitCanvas(pixels: Uint8Array, zoom: number, attrs: Attrs): HTMLCanvasElement {
  const side = MNIST_SIDE * zoom;
  const canvas = h('canvas', { width: side, height: side, role: 'img', ...attrs });
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const small = new ImageData(MNIST_SIDE, MNIST_SIDE);
  for (const [i, v] of pixels.entries()) small.data.set([255 - v, 255 - v, 255 - v, 255], 4 * i);
  const scratch = new OffscreenCanvas(MNIST_SIDE, MNIST_SIDE);
  scratch.getContext('2d')!.putImageData(small, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(scratch, 0, 0, side, side);
  return canvas;
}
