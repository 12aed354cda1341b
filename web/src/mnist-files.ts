// Where the built app serves MNIST: gzipped IDX files, the training images cut into chunks so
// that a small training subset downloads only the chunks it needs. The build plugin writes
// these files; the page fetches them. Paths are relative to the page.

export const MNIST_TRAIN_COUNT = 60_000;
export const MNIST_TEST_COUNT = 10_000;
/** Training images per chunk file. */
export const TRAIN_CHUNK = 10_000;

const dir = 'data/mnist';

export const MNIST_FILES = {
  testImages: `${dir}/t10k-images.idx.gz`,
  testLabels: `${dir}/t10k-labels.idx.gz`,
  trainLabels: `${dir}/train-labels.idx.gz`,
  /** The chunk holding training images [chunk * TRAIN_CHUNK, (chunk + 1) * TRAIN_CHUNK). */
  trainImages: (chunk: number) => `${dir}/train-images-${chunk}.idx.gz`,
};

/** The files that training on the first `count` examples needs: test images, test labels, train labels, image chunks. */
export function filesFor(count: number): string[] {
  const chunks = Array.from({ length: Math.ceil(count / TRAIN_CHUNK) }, (_, k) => MNIST_FILES.trainImages(k));
  return [MNIST_FILES.testImages, MNIST_FILES.testLabels, MNIST_FILES.trainLabels, ...chunks];
}

/** The training subset the app offers by default (and caches for offline use). */
export const DEFAULT_TRAIN_EXAMPLES = 20_000;
