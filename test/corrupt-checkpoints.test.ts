// Checkpoints and weight files a user should never be able to load: weights of the wrong
// kind, values that cannot be weights, headers the reference loader refuses, and paths that
// are not files at all (a device that never ends, a pipe that blocks, a huge sparse file).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RUN, withHeader } from '../scripts/make-corrupt-fixtures.js';
import {
  BatchNorm1d,
  ChainruleError,
  cast,
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadSafetensors,
  Sequential,
  tensor,
} from '../src/index.js';
import { decodeCheckpoint, encodeCheckpoint, snapshotOf } from '../src/learn/checkpoint.js';
import { createTrainer, restoreTrainer } from '../src/learn/registry.js';
import type { TrainerSnapshot } from '../src/learn/types.js';

const scratch = mkdtempSync(join(tmpdir(), 'chainrule-corrupt-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ChainruleError, `expected a ChainruleError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** A small trainer's snapshot with one tensor replaced, taken through checkpoint bytes and back. */
function tampered(
  name: string,
  change: (t: TrainerSnapshot['tensors'][string]) => TrainerSnapshot['tensors'][string],
) {
  const snapshot = createTrainer('bp', { hidden: [4], inputs: 6 }, { seed: 0 }).snapshot();
  assert.ok(snapshot.tensors[name], `the snapshot has ${name}`);
  snapshot.tensors[name] = change(snapshot.tensors[name]);
  return snapshotOf(decodeCheckpoint(encodeCheckpoint('bp', snapshot, RUN), 'bad.safetensors'));
}

test('an integer tensor where a float weight belongs is refused, not cast', () => {
  const snapshot = tampered('model.0.weight', (w) => cast(w, 'int32'));
  rejects(
    () => restoreTrainer('bp', snapshot, 'bad.safetensors'),
    /^bad\.safetensors: loadStateDict: '0\.weight' holds integers \(int32\) but the module keeps float32 there; save it as a float tensor$/,
  );
});

test('NaN or infinite weights are refused at load, naming the tensor and the index', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const snapshot = tampered('model.3.bias', (b) => {
      const data = b.data.slice();
      data[2] = bad;
      return tensor(data, { dtype: b.dtype }).reshape(b.shape);
    });
    rejects(
      () => restoreTrainer('bp', snapshot, 'bad.safetensors'),
      new RegExp(`'3\\.bias' holds ${bad} at index 2; only finite values can be loaded`),
    );
  }
});

test('a negative running variance is refused; a fraction in an integer counter too', () => {
  const negative = tampered('model.1.running_var', (v) => tensor([1, -0.5, 1, 1]).reshape(v.shape));
  rejects(
    () => restoreTrainer('bp', negative, 'bad.safetensors'),
    /'1\.running_var' holds the variance -0\.5 at index 1; a variance is never negative/,
  );
  const bn = new BatchNorm1d(2);
  rejects(
    () => bn.loadStateDict({ ...bn.stateDict(), num_batches_tracked: tensor(2.5) }),
    /'num_batches_tracked' holds 2\.5 at index 0, but the module keeps integers there/,
  );
  // Whole numbers saved as floats (as some exporters write counters) still load.
  bn.loadStateDict({ ...bn.stateDict(), num_batches_tracked: tensor(3) });
  assert.equal(bn.numBatchesTracked.item(), 3);
});

test('every problem is reported at once and nothing is loaded', () => {
  const model = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
  const before = model.stateDict();
  const dict = model.stateDict();
  dict['0.bias'] = tensor([Number.NaN, 0]);
  dict['1.running_var'] = tensor([-1, 1]);
  dict['0.weight'] = tensor([
    [1, 2],
    [3, 4],
  ]);
  rejects(() => model.loadStateDict(dict), /'0\.bias' holds NaN.*; '1\.running_var' holds the variance -1/);
  assert.deepEqual([...model.stateDict()['0.weight'].data], [...before['0.weight'].data]);
});

test('a byte-order mark or any start but { is refused, as the reference loader does', () => {
  rejects(
    () => decodeSafetensors(withHeader('\uFEFF{}'), 'bom.safetensors'),
    /^bom\.safetensors is not a valid safetensors file: its header starts with U\+FEFF, but a header is a JSON object starting with '\{'/,
  );
  rejects(() => decodeSafetensors(withHeader(' {}'), 'space'), /starts with U\+0020/);
  rejects(() => decodeSafetensors(withHeader(''), 'empty'), /its header is empty/);
});

test('a key named twice in the header is refused: __metadata__, a tensor, or a field', () => {
  const w = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const data = new Uint8Array(4);
  const cases: [string, string][] = [
    [`{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"},"w":${w}}`, '__metadata__'],
    [`{"w":${w},"w":${w}}`, 'w'],
    ['{"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', 'dtype'],
    [`{"__metadata__":{"k":"1","k":"2"},"w":${w}}`, 'k'],
  ];
  for (const [header, key] of cases) {
    rejects(
      () => decodeSafetensors(withHeader(header, data), 'dup'),
      new RegExp(`its header names '${key}' twice`),
    );
  }
  // The same names in different objects, and names inside strings, are not duplicates.
  const fine = `{"__metadata__":{"w":"{\\"w\\":1}","dtype":"x"},"w":${w}}`;
  assert.deepEqual(Object.keys(decodeSafetensors(withHeader(fine, data), 'fine').tensors), ['w']);
});

test('loadSafetensors refuses what is not a regular file before reading it', () => {
  const fifo = join(scratch, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const cases: [string, RegExp][] = [
    ['/dev/zero', /^file \/dev\/zero is a character device, not a regular file/],
    [scratch, /is a folder, not a regular file/],
    [fifo, /pipe is a named pipe, not a regular file/],
  ];
  for (const [path, pattern] of cases) rejects(() => loadSafetensors(path), pattern);
});

test('a huge sparse file fails on its header or its size, without being read', () => {
  const sparse = join(scratch, 'sparse.safetensors');
  writeFileSync(sparse, '');
  truncateSync(sparse, 3 * 2 ** 30);
  rejects(() => loadSafetensors(sparse), /is 3221225472 bytes, more than the 2147483647 chainrule reads/);
  truncateSync(sparse, 2 ** 30);
  const rss = process.memoryUsage().rss;
  rejects(() => loadSafetensors(sparse), /its header is empty/);
  // A header declaring more than the file holds is caught from its first 8 bytes.
  const lying = join(scratch, 'lying.safetensors');
  const bytes = encodeSafetensors({ w: tensor([1, 2]) });
  new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
  writeFileSync(lying, bytes);
  rejects(() => loadSafetensors(lying), /header length 1099511627776 exceeds the 100000000-byte limit/);
  assert.ok(process.memoryUsage().rss - rss < 100 * 2 ** 20, 'the sparse gigabyte was never read');
});
