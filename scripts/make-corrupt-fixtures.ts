// The corrupt-file corpus under test/fixtures/corrupt/: small broken safetensors files,
// checkpoints, IDX files and PNGs, each with the reader that must refuse it and a fragment of
// the message it must give (manifest.json). test/corrupt-corpus.test.ts replays them all;
// scripts/reliability.ts counts them. Regenerate with
//
//   npx tsc -p . && node dist/scripts/make-corrupt-fixtures.js

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { cast, encodeSafetensors, readIdxFile, tensor } from '../src/index.js';
import { readGreyPng, refuseInverted } from '../src/io/png.js';
import { loadSafetensors } from '../src/io/safetensors-file.js';
import { checkpointOf, encodeCheckpoint, snapshotOf } from '../src/learn/checkpoint.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import type { TrainerSnapshot } from '../src/learn/types.js';

export const CORPUS_DIR = fileURLToPath(new URL('../../test/fixtures/corrupt/', import.meta.url));

export type Reader = 'safetensors' | 'checkpoint' | 'idx' | 'png' | 'image';
export interface CorpusEntry {
  file: string;
  /** How it is read: a safetensors file, a checkpoint restored into its trainer, an IDX data file, a PNG for predict. */
  reader: Reader;
  /** A fragment the error message must contain. */
  error: string;
}

// ---- safetensors ----------------------------------------------------------------------------

/** Safetensors bytes with the header text given exactly (and the declared length, if given). */
export function withHeader(text: string, data = new Uint8Array(0), declared?: bigint): Uint8Array {
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (shape: number[], offsets: number[]) =>
  JSON.stringify({ dtype: 'F32', shape, data_offsets: offsets });
const four = new Uint8Array(4);

function safetensorsCases(): [string, Uint8Array, string][] {
  const good = encodeSafetensors({ w: tensor([1, 2, 3]) }, { note: 'x' });
  const badUtf8 = withHeader('{"ab": 1}');
  badUtf8[10] = 0xff;
  return [
    ['tiny.safetensors', good.subarray(0, 5), 'fewer than the 8-byte header length'],
    [
      'huge-header-length.safetensors',
      withHeader('{}', new Uint8Array(0), 2n ** 60n),
      'exceeds the 100000000-byte limit',
    ],
    [
      'header-past-end.safetensors',
      withHeader('{}', new Uint8Array(0), 4096n),
      'runs past the end of the file',
    ],
    ['bom.safetensors', withHeader('\uFEFF{}'), 'starts with U+FEFF'],
    ['space-first.safetensors', withHeader(' {}'), 'starts with U+0020'],
    ['empty-header.safetensors', withHeader(''), 'its header is empty'],
    ['not-json.safetensors', withHeader('{"w": {"dtype": "F32",'), 'header is not valid JSON'],
    ['bad-utf8.safetensors', badUtf8, 'header is not valid UTF-8'],
    ['array-header.safetensors', withHeader('[1,2]'), 'starts with U+005B'],
    [
      'duplicate-metadata.safetensors',
      withHeader(`{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"},"w":${f32([1], [0, 4])}}`, four),
      "names '__metadata__' twice",
    ],
    [
      'duplicate-tensor.safetensors',
      withHeader(`{"w":${f32([1], [0, 4])},"w":${f32([1], [0, 4])}}`, four),
      "names 'w' twice",
    ],
    [
      'duplicate-field.safetensors',
      withHeader('{"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', four),
      "names 'dtype' twice",
    ],
    [
      'unknown-dtype.safetensors',
      withHeader('{"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)),
      'has dtype "F8"',
    ],
    [
      'negative-shape.safetensors',
      withHeader(`{"w":${f32([-1], [0, 4])}}`, four),
      'a shape is a list of non-negative integers',
    ],
    [
      'reversed-offsets.safetensors',
      withHeader(`{"w":${f32([1], [4, 0])}}`, four),
      'expected [begin, end] with begin <= end',
    ],
    [
      'size-mismatch.safetensors',
      withHeader(`{"w":${f32([2], [0, 4])}}`, four),
      'needs 8 bytes but its data_offsets [0, 4] span 4',
    ],
    [
      'overlap.safetensors',
      withHeader(`{"a":${f32([1], [0, 4])},"b":${f32([1], [0, 4])}}`, four),
      'overlaps the tensor before it',
    ],
    ['gap.safetensors', withHeader(`{"a":${f32([1], [4, 8])}}`, new Uint8Array(8)), 'gap of 4 unused bytes'],
    [
      'trailing.safetensors',
      withHeader(`{"a":${f32([1], [0, 4])}}`, new Uint8Array(12)),
      '8 bytes follow the last tensor',
    ],
    ['metadata-number.safetensors', withHeader('{"__metadata__":{"epoch":3}}'), "metadata 'epoch' is 3"],
    ['truncated-data.safetensors', good.subarray(0, good.length - 4), 'it is truncated'],
  ];
}

// ---- checkpoints ----------------------------------------------------------------------------

/** The run part of the small checkpoints made here and in the tests. */
export const RUN = {
  dataset: 'mnist',
  normalization: { kind: 'standardize', mean: 0.1307, std: 0.3081 },
  epoch: 1,
  step: 1,
  metrics: {},
  run: { seed: 0, batchSize: 8, epochs: 1, limit: null },
};

function checkpointWith(
  change: (tensors: TrainerSnapshot['tensors']) => void,
  metadata?: Record<string, string>,
): Uint8Array {
  const snapshot = createTrainer('bp', { hidden: [2], inputs: 4, classes: 3 }, { seed: 0 }).snapshot();
  change(snapshot.tensors);
  const bytes = encodeCheckpoint('bp', snapshot, RUN);
  if (!metadata) return bytes;
  return encodeSafetensors(snapshot.tensors, metadata);
}

const replaced = (name: string, index: number, value: number) => (tensors: TrainerSnapshot['tensors']) => {
  const data = tensors[name].data.slice();
  data[index] = value;
  tensors[name] = tensor(data, { dtype: tensors[name].dtype, shape: tensors[name].shape });
};

function checkpointCases(): [string, Uint8Array, string][] {
  return [
    [
      'int-weight.safetensors',
      checkpointWith((t) => {
        t['model.0.weight'] = cast(t['model.0.weight'], 'int32');
      }),
      "'0.weight' holds integers (int32)",
    ],
    [
      'nan-weight.safetensors',
      checkpointWith(replaced('model.0.weight', 1, Number.NaN)),
      "'0.weight' holds NaN at index 1",
    ],
    [
      'inf-bias.safetensors',
      checkpointWith(replaced('model.3.bias', 0, Number.POSITIVE_INFINITY)),
      "'3.bias' holds Infinity at index 0",
    ],
    [
      'negative-running-var.safetensors',
      checkpointWith(replaced('model.1.running_var', 1, -2)),
      'holds the variance -2 at index 1',
    ],
    [
      'no-metadata.safetensors',
      checkpointWith(() => {}, {}),
      "not a chainrule checkpoint (its metadata has no 'format')",
    ],
    [
      'bad-metadata-json.safetensors',
      checkpointWith(() => {}, { format: '{', version: '1' }),
      "checkpoint metadata 'format' is not valid JSON",
    ],
  ];
}

// ---- IDX ------------------------------------------------------------------------------------

function idx(shape: number[], payload: Uint8Array, code = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + payload.length);
  out[2] = code;
  out[3] = shape.length;
  for (const [i, d] of shape.entries()) new DataView(out.buffer).setUint32(4 + 4 * i, d, false);
  out.set(payload, 4 + 4 * shape.length);
  return out;
}

function idxCases(): [string, Uint8Array, string][] {
  const good = idx([2, 2], new Uint8Array([1, 2, 3, 4]));
  const zeros = gzipSync(new Uint8Array(2 ** 20));
  return [
    ['empty-idx', new Uint8Array(0), 'is too short to be an IDX file'],
    ['not-idx', new TextEncoder().encode('hello world'), 'is not an IDX file: it starts with 68 65 6c 6c'],
    ['bad-type-code', idx([1], new Uint8Array(1), 0x07), 'is not an IDX file'],
    ['truncated-header', good.subarray(0, 6), 'is truncated: its header declares 2 dimensions'],
    [
      'truncated-data',
      good.subarray(0, 14),
      'is truncated: header says 2x2 uint8 = 4 bytes of data but the file has 2',
    ],
    ['trailing-data', idx([2, 2], new Uint8Array(6)), 'has 2 bytes of trailing data'],
    ['damaged.gz', gzipSync(good).subarray(0, 15), 'is a damaged gzip file'],
    // 1 KiB on disk, 16 MiB once inflated: more than its 2x2 header declares.
    [
      'bomb.gz',
      Buffer.concat([gzipSync(good), ...new Array(16).fill(zeros)]),
      'inflates to more than the 16 bytes its IDX header declares',
    ],
    [
      'declares-too-much.gz',
      gzipSync(idx([65536, 65536], new Uint8Array(0))),
      'more than the 1073741824 chainrule reads',
    ],
  ];
}

// ---- PNG ------------------------------------------------------------------------------------

/** A PNG whose header claims `width` x `height` with a stub body: refusing it first proves it was not decoded. */
export function claimedPng(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    out.set(data, 8);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(16))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function greyPng(pixel: (x: number, y: number) => number): Uint8Array {
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) {
    const v = pixel(i % 28, Math.floor(i / 28));
    png.data.set([v, v, v, 255], 4 * i);
  }
  return PNG.sync.write(png);
}

function pngCases(): [string, Uint8Array, string, Reader][] {
  const valid = greyPng(() => 0);
  const badCrc = Uint8Array.from(valid);
  badCrc[29] ^= 0xff; // the IHDR chunk's CRC
  return [
    ['not-png.png', new TextEncoder().encode('GIF89a...'), 'is not a PNG image', 'png'],
    ['huge.png', claimedPng(20000, 20000), 'is 20000x20000, but the model takes 784 pixels', 'png'],
    ['strip.png', claimedPng(784, 1), 'is 784x1', 'png'],
    ['bad-crc.png', badCrc, 'is not a readable PNG image', 'png'],
    [
      'inverted.png',
      greyPng((x, y) => (x >= 12 && x < 16 && y >= 4 && y < 24 ? 0 : 255)),
      'looks inverted',
      'image',
    ],
  ];
}

/** Reads `path` as `reader` does, as far as chainrule goes before training or predicting. */
export function readAs(reader: Reader, path: string): unknown {
  switch (reader) {
    case 'safetensors':
      return loadSafetensors(path);
    case 'checkpoint': {
      const checkpoint = checkpointOf(loadSafetensors(path, { what: 'checkpoint' }), path);
      return restoreTrainer(checkpoint.metadata.algorithm, snapshotOf(checkpoint), path);
    }
    case 'idx':
      return readIdxFile(path);
    case 'png':
      return readGreyPng(path, 784);
    case 'image': {
      const image = readGreyPng(path, 784);
      refuseInverted(image, path);
      return image;
    }
  }
}

export function writeCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  rmSync(dir, { recursive: true, force: true });
  const entries: CorpusEntry[] = [];
  const groups: [string, [string, Uint8Array, string, Reader?][], Reader][] = [
    ['safetensors', safetensorsCases(), 'safetensors'],
    ['checkpoint', checkpointCases(), 'checkpoint'],
    ['idx', idxCases(), 'idx'],
    ['png', pngCases(), 'png'],
  ];
  for (const [folder, cases, reader] of groups) {
    mkdirSync(join(dir, folder), { recursive: true });
    for (const [name, bytes, error, own] of cases) {
      writeFileSync(join(dir, folder, name), bytes);
      entries.push({ file: `${folder}/${name}`, reader: own ?? reader, error });
    }
  }
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(entries, null, 2)}\n`);
  return entries;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entries = writeCorpus();
  process.stdout.write(`wrote ${entries.length} corrupt files and manifest.json to ${CORPUS_DIR}\n`);
}
