// safetensors: interop with PyTorch through committed fixtures (see
// scripts/make-safetensors-fixtures.py), round trips, atomic writes, and rejection of bad files.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CHAINRULE_FIXTURE_PATH, chainruleFixture } from '../scripts/write-safetensors-fixture.js';
import {
  ChainruleError,
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type Tensor,
  tensor,
} from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/safetensors/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'chainrule-safetensors-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: number[];
}

const DECODED_DTYPE: Record<string, string> = {
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  F64: 'float64',
  I32: 'int32',
  I64: 'int32',
  U8: 'int32',
};

test('reads the file torch wrote: every dtype, shape, value and metadata string', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'torch-written.expected.json'), 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<string, ExpectedTensor>;
  };
  const { tensors, metadata } = loadSafetensors(join(FIXTURES, 'torch-written.safetensors'));
  assert.deepEqual(metadata, expected.metadata);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
  for (const [name, want] of Object.entries(expected.tensors)) {
    const got = tensors[name];
    assert.equal(got.dtype, DECODED_DTYPE[want.dtype], name);
    assert.deepEqual(got.shape, want.shape, name);
    assert.deepEqual(Array.from(got.data), want.values, name);
  }
});

test('encoding the fixture tensors reproduces the file torch verified, byte for byte', () => {
  const { tensors, metadata } = chainruleFixture();
  const committed = new Uint8Array(readFileSync(CHAINRULE_FIXTURE_PATH));
  assert.deepEqual(encodeSafetensors(tensors, metadata), committed);
});

function assertSameTensors(got: Record<string, Tensor>, want: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    assert.equal(got[name].dtype, t.dtype, name);
    assert.deepEqual(got[name].shape, t.shape, name);
    assert.deepEqual(got[name].data, t.data, name);
  }
}

const roundTripTensors = () => ({
  f32: tensor(new Float32Array([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 3.4e38, 1e-45]), {
    shape: [2, 3],
  }),
  f64: tensor(new Float64Array([Math.PI, Number.MIN_VALUE, -Number.MAX_VALUE]), { shape: [3, 1] }),
  i32: tensor(new Int32Array([-2147483648, 0, 2147483647, 5]), { shape: [2, 1, 2] }),
  scalar: tensor(new Float64Array([-2.5]), { shape: [] }),
  empty: tensor(new Int32Array(0), { shape: [4, 0] }),
});

test('float32, float64, int32, scalars and empty tensors round-trip with metadata', () => {
  const tensors = roundTripTensors();
  const metadata = { config: JSON.stringify({ lr: 0.1, layers: [784, 10] }), empty: '', 'ü ✓': 'ünïcode' };
  const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata), 'round-trip');
  assertSameTensors(decoded.tensors, tensors);
  assert.deepEqual(decoded.metadata, metadata);
  assert.deepEqual(decodeSafetensors(encodeSafetensors(tensors), 'no metadata').metadata, {});
});

test('the header is padded to 8 bytes and every tensor starts aligned to its element size', () => {
  const bytes = encodeSafetensors(roundTripTensors(), { a: 'odd length' });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const size: Record<string, number> = { F64: 8, F32: 4, I32: 4 };
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, data_offsets } = info as { dtype: string; data_offsets: [number, number] };
    assert.equal((8 + headerLength + data_offsets[0]) % size[dtype], 0, name);
  }
});

test('equal inputs encode identically whatever the insertion order', () => {
  const a = tensor([1, 2]);
  const b = tensor([[3]], { dtype: 'float64' });
  assert.deepEqual(encodeSafetensors({ a, b }), encodeSafetensors({ b, a }));
});

test('decoded tensors own their memory', () => {
  const bytes = encodeSafetensors({ w: tensor([1, 2, 3]) });
  const { tensors } = decodeSafetensors(bytes, 'copy');
  bytes.fill(0xff, bytes.length - 12);
  assert.deepEqual(Array.from(tensors.w.data), [1, 2, 3]);
});

test('encoding rejects non-string metadata and the reserved name', () => {
  assert.throws(
    () => encodeSafetensors({}, { epoch: 3 as unknown as string }),
    /metadata 'epoch' is a number; metadata values must be strings \(store structured values with JSON.stringify\)/,
  );
  assert.throws(() => encodeSafetensors({ __metadata__: tensor([1]) }), /'__metadata__' is reserved/);
});

/** A file with the given header object and data section, for crafting broken files. */
function craft(header: unknown, data = new Uint8Array(0), headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });

test('corrupt and truncated files are rejected with the file name and the reason', () => {
  const good = encodeSafetensors({ w: tensor([1, 2, 3]) }, { note: 'x' });
  const cases: [string, Uint8Array, RegExp][] = [
    ['tiny', good.subarray(0, 5), /has 5 bytes, fewer than the 8-byte header length/],
    [
      'cut in header',
      good.subarray(0, 30),
      /header length \d+ runs past the end of the file \(30 bytes\): it is truncated/,
    ],
    [
      'cut in data',
      good.subarray(0, good.length - 4),
      /'w' ends at byte 12 .* only 8 data bytes: it is truncated/,
    ],
    ['huge header', craft({}, new Uint8Array(0), '{}').fill(0xff, 0, 8), /exceeds the 100000000-byte limit/],
    ['not json', craft(null, undefined, '{"w": {"dtype": "F32",'), /header is not valid JSON/],
    ['bad utf-8', craft(null, undefined, '{"ab": 1}').fill(0xff, 10, 11), /header is not valid UTF-8/],
    [
      'array header',
      craft([1, 2]),
      /header starts with U\+005B, but a header is a JSON object starting with '\{'/,
    ],
    [
      'unknown dtype',
      craft({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /'w' has dtype "F8_E4M3"; chainrule reads F64, F32, I32, F16, BF16, I64/,
    ],
    ['negative dim', craft({ w: f32([-1], [0, 4]) }, new Uint8Array(4)), /shape \[-1\]; a shape is a list/],
    ['offsets reversed', craft({ w: f32([1], [4, 0]) }, new Uint8Array(4)), /data_offsets \[4,0\]; expected/],
    [
      'size mismatch',
      craft({ w: f32([2, 2], [0, 12]) }, new Uint8Array(12)),
      /'w' of shape \[2, 2\] and dtype F32 needs 16 bytes but its data_offsets \[0, 12\] span 12/,
    ],
    [
      'overlap',
      craft({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, new Uint8Array(12)),
      /'b' \(bytes 4..12\) overlaps the tensor before it/,
    ],
    [
      'gap',
      craft({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, new Uint8Array(12)),
      /gap of 4 unused bytes before tensor 'b'/,
    ],
    ['trailing', craft({ a: f32([1], [0, 4]) }, new Uint8Array(7)), /3 bytes follow the last tensor's data/],
    [
      'numeric metadata',
      craft({ __metadata__: { epoch: 3 }, a: f32([1], [0, 4]) }, new Uint8Array(4)),
      /metadata 'epoch' is 3, but safetensors metadata values must be strings/,
    ],
    [
      'i64 out of range',
      craft({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8).fill(0x7f)),
      /'a' holds 9187201950435737471 at index 0, outside int32/,
    ],
  ];
  for (const [source, bytes, reason] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, source),
      (err: Error) => {
        assert.ok(err instanceof ChainruleError, source);
        assert.match(err.message, new RegExp(`^${source} is not a valid safetensors file: `), source);
        assert.match(err.message, reason, source);
        return true;
      },
    );
  }
});

test('saveSafetensors writes atomically and leaves no temporary files', () => {
  const dir = join(scratch, 'save');
  mkdirSync(dir);
  const path = join(dir, 'model.safetensors');
  saveSafetensors(path, { w: tensor([1, 2]) }, { step: '1' });
  saveSafetensors(path, { w: tensor([3, 4, 5]) }, { step: '2' });
  const loaded = loadSafetensors(path);
  assert.deepEqual(Array.from(loaded.tensors.w.data), [3, 4, 5]);
  assert.deepEqual(loaded.metadata, { step: '2' });
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
});

test('a failed save leaves the existing file untouched and no temporary file behind', () => {
  const dir = join(scratch, 'fail');
  mkdirSync(dir);
  const path = join(dir, 'model.safetensors');
  saveSafetensors(path, { w: tensor([1, 2]) });
  const before = readFileSync(path);
  assert.throws(
    () => saveSafetensors(path, { w: tensor([9]) }, { bad: 1 as unknown as string }),
    /must be strings/,
  );
  assert.deepEqual(readFileSync(path), before);

  // Renaming over a non-empty folder fails after the temporary file was written.
  const blocked = join(dir, 'blocked.safetensors');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'keep'), 'x');
  assert.throws(
    () => saveSafetensors(blocked, { w: tensor([1]) }),
    (err: Error) =>
      err instanceof ChainruleError && /^cannot write .*blocked\.safetensors: /.test(err.message),
  );
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.safetensors', 'model.safetensors']);
  assert.deepEqual(readdirSync(blocked), ['keep']);

  assert.throws(
    () => saveSafetensors(join(dir, 'no-such-dir', 'm.safetensors'), { w: tensor([1]) }),
    /folder .*no-such-dir does not exist; check the path/,
  );
});

test('loadSafetensors names a missing file', () => {
  assert.throws(
    () => loadSafetensors(join(scratch, 'absent.safetensors')),
    /^ChainruleError: file .*absent\.safetensors does not exist$/,
  );
});
