// Image-classification datasets in memory: raw pixel bytes and label bytes, checked against each
// other. Pure: the Node loader (datasets.ts) and the browser both build splits from parsed IDX.

import { ChainruleError } from '../errors.js';
import type { IdxArray } from './idx.js';

export type DatasetName = 'mnist' | 'fashion-mnist';

export const DATASET_CLASSES: Record<DatasetName, readonly string[]> = {
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  'fashion-mnist': [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
};

/** `count` grey images of rows x cols bytes each, stored one after another, and their labels. */
export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface Dataset {
  name: DatasetName;
  classes: readonly string[];
  train: Split;
  test: Split;
}

/** A parsed IDX file and the name it came from, for error messages. */
export interface IdxSource {
  idx: IdxArray;
  source: string;
}

/**
 * Pairs an images file ([count, rows, cols] ubyte) with a labels file ([count] ubyte) and checks
 * that they agree and that every label names one of `classCount` classes.
 */
export function splitFromIdx(images: IdxSource, labels: IdxSource, classCount: number): Split {
  if (images.idx.dtype !== 'uint8' || images.idx.shape.length !== 3) {
    throw new ChainruleError(
      `${images.source} holds ${images.idx.dtype} data of shape ${images.idx.shape.join('x')}, but an ` +
        'images file must hold unsigned bytes shaped count x rows x cols (idx3-ubyte); check the file names',
    );
  }
  if (labels.idx.dtype !== 'uint8' || labels.idx.shape.length !== 1) {
    throw new ChainruleError(
      `${labels.source} holds ${labels.idx.dtype} data of shape ${labels.idx.shape.join('x')}, but a ` +
        'labels file must hold one unsigned byte per image (idx1-ubyte); check the file names',
    );
  }
  const [count, rows, cols] = images.idx.shape;
  if (labels.idx.shape[0] !== count) {
    throw new ChainruleError(
      `${labels.source} holds ${labels.idx.shape[0]} labels but ${images.source} holds ${count} images; ` +
        'the two files must come from the same release, re-download both',
    );
  }
  const labelBytes = labels.idx.data as Uint8Array;
  for (let i = 0; i < labelBytes.length; i++) {
    if (labelBytes[i] >= classCount) {
      throw new ChainruleError(
        `${labels.source}: label ${labelBytes[i]} of example ${i} is outside 0..${classCount - 1}; ` +
          'the file is corrupt or belongs to another dataset',
      );
    }
  }
  return { images: images.idx.data as Uint8Array, labels: labelBytes, count, rows, cols };
}

/** Builds a dataset from its four parsed files, checking that train and test images agree in size. */
export function datasetFromIdx(
  name: DatasetName,
  files: { trainImages: IdxSource; trainLabels: IdxSource; testImages: IdxSource; testLabels: IdxSource },
): Dataset {
  const classes = DATASET_CLASSES[name];
  const train = splitFromIdx(files.trainImages, files.trainLabels, classes.length);
  const test = splitFromIdx(files.testImages, files.testLabels, classes.length);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new ChainruleError(
      `${files.trainImages.source} holds ${train.rows}x${train.cols} images but ${files.testImages.source} ` +
        `holds ${test.rows}x${test.cols}; both splits must come from the same dataset`,
    );
  }
  return { name, classes, train, test };
}
